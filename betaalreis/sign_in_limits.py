"""Counts of failed sign-ins in Django's default cache, shared by the portal and the admin login.

Each key counts its failures in a fixed window that starts at the first
failure. With the local-memory cache (BETAALREIS_CACHE_URL empty) each
server process counts on its own, so production sets BETAALREIS_CACHE_URL
to Redis or database; `check --deploy` warns about it.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

FAILURE_WINDOW_SECONDS = 15 * 60


def note_failure(key: str) -> int:
    """Count one failed sign-in under `key` and return the failures of the key in the current window."""
    if cache.add(key, 1, FAILURE_WINDOW_SECONDS):
        return 1
    try:
        return cache.incr(key)
    except ValueError:
        # The key expired between add and incr.
        cache.set(key, 1, FAILURE_WINDOW_SECONDS)
        return 1


def failure_count(key: str) -> int:
    """Return the failed sign-ins counted under `key` in the current window."""
    return cache.get(key) or 0


def clear_failures(key: str) -> None:
    """Forget the failed sign-ins counted under `key`."""
    cache.delete(key)


def client_address(request: HttpRequest) -> str:
    """Return the address the sign-in limits count for, by BETAALREIS_PROXY_COUNT.

    With N trusted proxies the client is the Nth entry from the right of
    X-Forwarded-For, because each proxy appends the address it received
    from. A header with fewer entries did not pass all proxies, so
    REMOTE_ADDR counts then, as it does with N = 0.
    """
    remote_address = request.META.get("REMOTE_ADDR", "unknown")
    proxy_count = settings.BETAALREIS_PROXY_COUNT
    if proxy_count <= 0:
        return remote_address
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [entry for entry in forwarded if entry]
    if len(forwarded) < proxy_count:
        return remote_address
    return forwarded[-proxy_count]
