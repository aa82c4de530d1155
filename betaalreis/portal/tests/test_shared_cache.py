"""The portal's failed sign-in count in the shared caches that BETAALREIS_CACHE_URL selects.

A second cache connection acts as another server process: it shares
nothing with the first but the Redis server or the database table. The
Redis test uses REDIS_URL, else db 5 on 127.0.0.1, and is skipped when that
server cannot be reached.
"""

from __future__ import annotations

import uuid

import pytest
import redis
from django.core.cache import CacheHandler
from django.core.management import call_command

from betaalreis import deployment
from betaalreis.portal.codes import is_blocked, note_failure
from betaalreis.testing import TEST_REDIS_URL, redis_reachable

REDIS_URL = TEST_REDIS_URL


def other_process_count(address: str) -> int:
    """Return the failure count of `address` as a new cache connection reads it."""
    connection = CacheHandler().create_connection("default")
    return connection.get(f"portal-failures:{address}") or 0


def fail_until_blocked(settings, address: str) -> None:
    settings.BETAALREIS_PORTAL_FAILURES_PER_ADDRESS = 3
    for _ in range(3):
        assert not is_blocked(address)
        note_failure(address)


@pytest.mark.skipif(not redis_reachable(REDIS_URL), reason=f"Redis at {REDIS_URL} is not reachable")
def test_redis_cache_shares_failure_count(settings):
    settings.CACHES = deployment.cache_settings(REDIS_URL)
    # A unique address, because other test runs may use the same Redis database.
    address = f"test-{uuid.uuid4().hex}"

    fail_until_blocked(settings, address)

    assert is_blocked(address)
    assert other_process_count(address) == 3
    redis.Redis.from_url(REDIS_URL).delete(f":1:portal-failures:{address}")


@pytest.mark.django_db
def test_database_cache_shares_failure_count(settings):
    settings.CACHES = deployment.cache_settings("database")
    call_command("createcachetable", verbosity=0)
    address = "203.0.113.7"

    fail_until_blocked(settings, address)

    assert is_blocked(address)
    assert other_process_count(address) == 3
