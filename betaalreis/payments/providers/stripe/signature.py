"""Verification of the Stripe-Signature header of webhook calls.

The header reads `t=<unix time>,v1=<hex>[,v1=<hex>...]`. Each v1 value is
the HMAC-SHA256, keyed with an endpoint secret, of `<t>.<raw body>`. A call
is authentic when one v1 value matches for one configured secret, and fresh
when `t` lies within the tolerance of the current time.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

from betaalreis.payments.providers.base import WebhookRejected


def compute_signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """Build a Stripe-Signature header value, as Stripe sends it (used by fakes and tests)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={compute_signature(secret, timestamp, body)}"


def verify_header(
    header: str | None,
    body: bytes,
    secrets: Sequence[str],
    *,
    tolerance_seconds: int,
    now: float | None = None,
) -> None:
    """Raise WebhookRejected unless `header` signs `body` with one of `secrets` in time."""
    if not secrets:
        raise WebhookRejected("STRIPE_WEBHOOK_SECRETS is empty, so no Stripe webhook can be verified.")
    if not header:
        raise WebhookRejected("Stripe webhook without a Stripe-Signature header.")

    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise WebhookRejected(f"Stripe-Signature has a timestamp that is not a number: {value!r}.") from None
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookRejected("Stripe-Signature lacks t= or v1=.")

    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise WebhookRejected(
            f"Stripe-Signature timestamp {timestamp} is more than {tolerance_seconds} s from now."
        )

    for secret in secrets:
        expected = compute_signature(secret, timestamp, body)
        if any(hmac.compare_digest(expected, candidate) for candidate in signatures):
            return
    raise WebhookRejected("Stripe-Signature does not match the body for any configured secret.")
