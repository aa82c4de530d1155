"""Per-provider send rate limits: a token bucket per provider account.

With `REDIS_URL` set, every process shares one bucket per account in
Redis, so several dispatch workers on one account together keep to its
rate. Without it, each process has its own buckets and each worker gets
the full rate.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from django.conf import settings

logger = logging.getLogger(__name__)


_TOLERANCE = 1e-9


class TokenBucket:
    """Allows `rate` acquisitions per second on average, with bursts up to `burst`."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"Rate must be positive, got {rate}.")
        self.rate = rate
        self.burst = burst if burst is not None else max(rate, 1.0)
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is free; return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                # The tolerance stops a float remainder such as 0.9999999999
                # from asking for a sleep too short to move the clock.
                if self._tokens >= 1 - _TOLERANCE:
                    self._tokens = max(self._tokens - 1, 0.0)
                    return waited
                shortfall = (1 - self._tokens) / self.rate
            self._sleep(shortfall)
            waited += shortfall


# Refills the bucket in KEYS[1] (a hash of tokens and the time of the last
# update) at ARGV[1] tokens per second up to ARGV[2], then takes one token.
# Returns "0" when it took one, else the seconds until one is free. The
# clock is the Redis server's, so workers on several machines agree on it.
# The bucket expires once it would be full again anyway.
_TAKE_TOKEN_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or burst
local updated = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
local wait = 0
if tokens >= 1 - 1e-9 then
  tokens = math.max(tokens - 1, 0)
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.9f', tokens), 'updated', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return string.format('%.6f', wait)
"""

# After a Redis error, use the in-process bucket this long before trying
# Redis again, so an outage does not add a connect timeout to every send.
REDIS_RETRY_SECONDS = 30.0


class RedisTokenBucket:
    """A token bucket kept in Redis under `key`, shared by every process that uses the same key.

    Each take is one atomic script call. When Redis fails, the process
    falls back to its own in-process bucket at the same rate for
    REDIS_RETRY_SECONDS, so sending goes on at up to the full rate per
    process until Redis is back.
    """

    def __init__(
        self,
        client: redis.Redis,
        key: str,
        rate: float,
        burst: float | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"Rate must be positive, got {rate}.")
        self.key = key
        self.rate = rate
        self.burst = burst if burst is not None else max(rate, 1.0)
        self._script = client.register_script(_TAKE_TOKEN_SCRIPT)
        self._sleep = sleep
        self._fallback = TokenBucket(rate, self.burst, sleep=sleep)
        self._redis_down_until = 0.0

    def try_acquire(self) -> float:
        """Take one token if one is free and return 0.0, else return the seconds until one is."""
        return float(self._script(keys=[self.key], args=[repr(self.rate), repr(self.burst)]))

    def acquire(self) -> float:
        """Take one token, sleeping until one is free; return the seconds waited."""
        waited = 0.0
        while True:
            if time.monotonic() < self._redis_down_until:
                return waited + self._fallback.acquire()
            try:
                shortfall = self.try_acquire()
            except redis.RedisError as exc:
                self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
                logger.warning("shared rate limiter unavailable, using the in-process bucket",
                               extra={"key": self.key, "retry_seconds": REDIS_RETRY_SECONDS,
                                      "error": f"{type(exc).__name__}: {exc}"})
                continue
            if shortfall <= 0:
                return waited
            self._sleep(shortfall)
            waited += shortfall


class Bucket(Protocol):
    def acquire(self) -> float: ...


_buckets: dict[tuple[str, str, str, float], Bucket] = {}
_clients: dict[str, redis.Redis] = {}
_registry_lock = threading.Lock()


def bucket_for(provider: str, account_key: str, rate: float) -> Bucket:
    """Return the bucket of one provider account at `rate` messages per second.

    With the REDIS_URL setting the bucket lives in Redis under
    `<BETAALREIS_RATE_LIMIT_PREFIX>ratelimit:<provider>:<account key>`.
    """
    url = str(getattr(settings, "REDIS_URL", "") or "")
    key = (url, provider, account_key, rate)
    with _registry_lock:
        bucket = _buckets.get(key)
        if bucket is None:
            bucket = _buckets[key] = _new_bucket(url, provider, account_key, rate)
        return bucket


def _new_bucket(url: str, provider: str, account_key: str, rate: float) -> Bucket:
    if not url:
        return TokenBucket(rate)
    client = _clients.get(url)
    if client is None:
        # No retries with backoff inside redis-py: on an error the bucket
        # falls back at once (see RedisTokenBucket.acquire).
        client = _clients[url] = redis.Redis.from_url(
            url, socket_timeout=2.0, socket_connect_timeout=2.0, retry=Retry(NoBackoff(), 0)
        )
    prefix = str(getattr(settings, "BETAALREIS_RATE_LIMIT_PREFIX", "betaalreis:"))
    return RedisTokenBucket(client, f"{prefix}ratelimit:{provider}:{account_key}", rate)


def reset_buckets() -> None:
    """Forget every bucket held in this process, for tests and benchmarks; Redis keeps its own."""
    with _registry_lock:
        _buckets.clear()
