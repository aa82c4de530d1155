"""Per-provider send rate limits: a token bucket per provider account.

NOTE: the buckets live in one process. Several dispatch workers on one
account each get the full rate, so give each worker rate / workers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


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


_buckets: dict[tuple[str, str, float], TokenBucket] = {}
_registry_lock = threading.Lock()


def bucket_for(provider: str, account_key: str, rate: float) -> TokenBucket:
    """Return the shared bucket of one provider account at `rate` messages per second."""
    key = (provider, account_key, rate)
    with _registry_lock:
        bucket = _buckets.get(key)
        if bucket is None:
            bucket = _buckets[key] = TokenBucket(rate)
        return bucket


def reset_buckets() -> None:
    """Forget every bucket, for tests and benchmarks."""
    with _registry_lock:
        _buckets.clear()
