"""The shared rate limiter against the real Redis on 127.0.0.1 (REDIS_URL, else db 5)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from betaalreis.channels.ratelimit import RedisTokenBucket, TokenBucket, bucket_for, reset_buckets
from betaalreis.testing import TEST_REDIS_URL, redis_reachable

REDIS_URL = TEST_REDIS_URL

pytestmark = pytest.mark.skipif(not redis_reachable(REDIS_URL), reason=f"Redis at {REDIS_URL} is not reachable")


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(REDIS_URL)
    yield connection
    connection.close()


@pytest.fixture
def key(client: redis.Redis) -> Iterator[str]:
    name = f"betaalreis-test:{uuid.uuid4().hex}:ratelimit:twilio:account_sid=AC1"
    yield name
    client.delete(name)


def test_two_instances_share_burst(client, key):
    # One token per 1000 seconds and a burst of 2: two processes together
    # get two messages at once, not two each.
    first = RedisTokenBucket(client, key, rate=0.001, burst=2)
    second = RedisTokenBucket(redis.Redis.from_url(REDIS_URL), key, rate=0.001, burst=2)

    assert first.try_acquire() == 0.0
    assert second.try_acquire() == 0.0
    assert 990 < first.try_acquire() <= 1000
    assert 990 < second.try_acquire() <= 1000


def test_in_process_buckets_do_not_share():
    first = TokenBucket(0.001, burst=2)
    second = TokenBucket(0.001, burst=2)
    waits: list[float] = []
    for bucket in (first, first, second, second):
        bucket._sleep = waits.append  # noqa: SLF001 - a sleep would last 1000 seconds
        bucket.acquire()

    assert waits == []


def test_acquire_sleeps_for_shortfall(client, key):
    holder = RedisTokenBucket(client, key, rate=0.001, burst=1)
    holder.try_acquire()
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        # Stand-in for waiting 1000 seconds: empty the key, so the bucket is full again.
        sleeps.append(seconds)
        client.delete(key)

    waiter = RedisTokenBucket(client, key, rate=0.001, burst=1, sleep=sleep)
    waited = waiter.acquire()

    assert len(sleeps) == 1
    assert 990 < sleeps[0] <= 1000
    assert waited == sleeps[0]


def test_key_expires_when_full(client, key):
    RedisTokenBucket(client, key, rate=10, burst=10).try_acquire()

    ttl_ms = client.pttl(key)

    # Full again after burst / rate = 1 s, plus one second of margin.
    assert 0 < ttl_ms <= 2000


class SleepCalled(Exception):
    pass


def test_unreachable_redis_falls_back(key):
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        # The in-process fallback would wait 1000 seconds; record and stop.
        sleeps.append(seconds)
        raise SleepCalled

    bucket = RedisTokenBucket(dead, key, rate=0.001, burst=1, sleep=sleep)

    assert bucket.acquire() == 0.0
    with pytest.raises(SleepCalled):
        bucket.acquire()
    assert len(sleeps) == 1
    assert 990 < sleeps[0] <= 1000


def test_bucket_for_uses_redis_setting(settings, client):
    prefix = f"betaalreis-test:{uuid.uuid4().hex}:"
    settings.REDIS_URL = REDIS_URL
    settings.BETAALREIS_RATE_LIMIT_PREFIX = prefix
    reset_buckets()
    try:
        bucket = bucket_for("twilio", "account_sid=AC1", 5.0)
        bucket.acquire()

        assert isinstance(bucket, RedisTokenBucket)
        assert client.exists(f"{prefix}ratelimit:twilio:account_sid=AC1") == 1
    finally:
        client.delete(f"{prefix}ratelimit:twilio:account_sid=AC1")
        reset_buckets()


def test_bucket_for_without_redis(settings):
    settings.REDIS_URL = ""
    reset_buckets()

    assert isinstance(bucket_for("twilio", "account_sid=AC1", 5.0), TokenBucket)
    reset_buckets()
