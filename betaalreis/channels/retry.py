"""Backoff with jitter for temporary provider errors.

Two time scales: `backoff_seconds` spaces the few quick retries an adapter
makes inside one `send` call; `next_attempt_at` returns the moment a
message whose send failed with a temporary error may be tried again, for dispatch to store as `not_before`.
"""

from __future__ import annotations

import datetime as dt
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


# Dispatch waits at least this long before retrying a message, doubling per
# attempt up to the cap.
REQUEUE_BASE = dt.timedelta(minutes=2)
REQUEUE_MAX = dt.timedelta(hours=2)


def next_attempt_at(
    attempts: int, now: dt.datetime, *, rng: random.Random | None = None
) -> dt.datetime:
    """Return the earliest moment to retry a message after `attempts` failed hand-overs.

    The delay doubles per attempt from REQUEUE_BASE up to REQUEUE_MAX, and a
    jitter of up to half the delay spreads messages that failed together.
    """
    exponent = max(attempts - 1, 0)
    delay = min(REQUEUE_BASE * 2**exponent, REQUEUE_MAX)
    jitter = delay * (rng or random).uniform(0, 0.5)
    return now + delay + jitter
