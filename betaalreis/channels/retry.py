"""Backoff with jitter for the quick retries an adapter makes inside one `send` call.

A message whose `send` still fails with a temporary error goes back to
dispatch, which waits minutes before the next attempt
(`betaalreis.outbox.dispatch.retry_delay`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry settings for the quick retries inside one `send` call."""

    attempts: int = 3
    base_seconds: float = 0.5
    max_seconds: float = 8.0


def retry_policy() -> RetryPolicy:
    configured = getattr(settings, "BETAALREIS_PROVIDER_RETRY", {}) or {}
    return RetryPolicy(**configured)


def backoff_seconds(
    attempt: int,
    policy: RetryPolicy,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Return the wait before retry number `attempt` (1 for the first retry).

    Full jitter: a uniform draw between 0 and base * 2^(attempt - 1), capped
    at `max_seconds`. A provider's Retry-After wins when it is longer, up to
    the same cap, because waiting less only earns another 429.
    """
    draw = (rng or random).uniform(0, policy.base_seconds * 2 ** (attempt - 1))
    wait = max(draw, retry_after or 0.0)
    return min(wait, policy.max_seconds)
