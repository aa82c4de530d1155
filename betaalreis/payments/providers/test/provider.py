"""The built-in test provider, for the demo and the tests.

It has no outside service: its checkout page is a view of this installation
(`payments:test_checkout`), where the payer chooses to pay, fail or cancel.
That page then reports the outcome through the same webhook path as a real
provider, signed with an HMAC keyed from SECRET_KEY, so a forged call is
rejected like any other.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from django.urls import reverse
from django.utils.crypto import salted_hmac

from betaalreis.payments.models import CheckoutStatus
from betaalreis.payments.providers.base import (
    CheckoutCreated,
    CheckoutRequest,
    PaymentProvider,
    PaymentUpdate,
    WebhookRejected,
)

SIGNATURE_HEADER = "X-Betaalreis-Signature"
_SALT = "betaalreis.payments.test-provider"

# Outcomes the test checkout page offers, mapped to our statuses.
OUTCOMES = {
    "paid": CheckoutStatus.PAID,
    "failed": CheckoutStatus.FAILED,
    "canceled": CheckoutStatus.CANCELED,
    "expired": CheckoutStatus.EXPIRED,
    "pending": CheckoutStatus.PENDING,
}


def sign(body: bytes) -> str:
    return salted_hmac(_SALT, body, algorithm="sha256").hexdigest()


def build_webhook(
    provider_id: str,
    status: str,
    *,
    amount_refunded: Decimal | None = None,
    amount_charged_back: Decimal | None = None,
) -> tuple[bytes, dict[str, str]]:
    """Build a signed webhook body and headers for one test payment."""
    payload: dict[str, str] = {"id": provider_id, "status": status}
    if amount_refunded is not None:
        payload["amount_refunded"] = str(amount_refunded)
    if amount_charged_back is not None:
        payload["amount_charged_back"] = str(amount_charged_back)
    body = json.dumps(payload, sort_keys=True).encode("utf-8")
    return body, {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body)}


class TestProvider(PaymentProvider):
    name = "test"

    def create_checkout(self, request: CheckoutRequest) -> CheckoutCreated:
        provider_id = f"test_{secrets.token_urlsafe(12)}"
        return CheckoutCreated(
            provider_id=provider_id,
            checkout_url=reverse("payments:test_checkout", kwargs={"provider_id": provider_id}),
            status=CheckoutStatus.OPEN,
        )

    def cancel_checkout(self, provider_id: str) -> bool:
        # The test checkout page already refuses a superseded checkout (`payments.views.test_checkout`).
        return True

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[PaymentUpdate]:
        signature = headers.get(SIGNATURE_HEADER, "")
        if not signature or not hmac.compare_digest(signature, sign(body)):
            raise WebhookRejected(f"Test provider webhook without a valid {SIGNATURE_HEADER} header.")

        try:
            payload = json.loads(body)
            provider_id = payload["id"]
            status = OUTCOMES[payload["status"]]
            refunded = _optional_decimal(payload.get("amount_refunded"))
            charged_back = _optional_decimal(payload.get("amount_charged_back"))
        except (ValueError, KeyError, TypeError, InvalidOperation):
            raise WebhookRejected("Test provider webhook body is not {id, status} JSON.") from None

        return [
            PaymentUpdate(
                provider_id=provider_id,
                status=status,
                amount_refunded=refunded,
                amount_charged_back=charged_back,
                method="test",
                raw=payload,
            )
        ]


def _optional_decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)
