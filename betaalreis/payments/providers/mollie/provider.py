"""Mollie adapter: payments by the Payments API v2 and its classic webhook.

Mollie's webhook posts only the payment id, unsigned. The adapter therefore
trusts nothing in the call and fetches the payment to learn its status,
refunded amount and charged-back amount.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs

from betaalreis.ledger.models import ZERO
from betaalreis.payments.models import CheckoutStatus
from betaalreis.payments.providers.base import (
    CheckoutCreated,
    CheckoutRequest,
    PaymentProvider,
    PaymentUpdate,
    WebhookRejected,
    format_amount,
)
from betaalreis.payments.providers.mollie.client import MollieClient

# Mollie payment statuses mapped to ours; every documented status is listed.
STATUS_MAP = {
    "open": CheckoutStatus.OPEN,
    "pending": CheckoutStatus.PENDING,
    "authorized": CheckoutStatus.AUTHORIZED,
    "paid": CheckoutStatus.PAID,
    "canceled": CheckoutStatus.CANCELED,
    "expired": CheckoutStatus.EXPIRED,
    "failed": CheckoutStatus.FAILED,
}

LOCALES = {"nl": "nl_NL", "en": "en_US"}


class MollieProvider(PaymentProvider):
    name = "mollie"

    def __init__(self, client: MollieClient | None = None) -> None:
        self.client = client or MollieClient()

    def create_checkout(self, request: CheckoutRequest) -> CheckoutCreated:
        payload = {
            "amount": {"currency": request.currency, "value": format_amount(request.amount)},
            "description": request.description[:255],
            "redirectUrl": request.return_url,
            "cancelUrl": request.cancel_url,
            "webhookUrl": request.webhook_url,
            "locale": LOCALES.get(request.locale, "nl_NL"),
            "metadata": {"reference": request.reference, **request.metadata},
        }
        created = self.client.create_payment(payload, idempotency_key=request.reference)
        return CheckoutCreated(
            provider_id=created["id"],
            checkout_url=created["_links"]["checkout"]["href"],
            status=STATUS_MAP.get(created.get("status", "open"), CheckoutStatus.OPEN),
        )

    def cancel_checkout(self, provider_id: str) -> bool:
        # Mollie cancels only while the payment's isCancelable is true, which
        # depends on the method and status, so the payment is read first.
        payment = self.client.get_payment(provider_id)
        if not payment.get("isCancelable"):
            return False
        return self.client.cancel_payment(provider_id).get("status") == "canceled"

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[PaymentUpdate]:
        fields = parse_qs(body.decode("utf-8", errors="replace"))
        ids = fields.get("id", [])
        if len(ids) != 1 or not ids[0].startswith("tr_"):
            raise WebhookRejected("Mollie webhook without a single payment id (id=tr_...).")

        payment = self.client.get_payment(ids[0])
        return [to_update(payment)]


def to_update(payment: dict[str, Any]) -> PaymentUpdate:
    """Map a Mollie payment object onto a `PaymentUpdate`."""
    status = STATUS_MAP.get(payment.get("status", ""))
    if status is None:
        raise WebhookRejected(f"Mollie payment {payment.get('id')} has unknown status {payment.get('status')!r}.")

    amount = payment.get("amount") or {}
    return PaymentUpdate(
        provider_id=payment["id"],
        status=status,
        amount=_decimal(amount.get("value")),
        currency=amount.get("currency"),
        amount_refunded=_decimal((payment.get("amountRefunded") or {}).get("value")) or ZERO,
        amount_charged_back=_decimal((payment.get("amountChargedBack") or {}).get("value")) or ZERO,
        method=payment.get("method") or "",
        reference=(payment.get("metadata") or {}).get("reference", ""),
        raw=payment,
    )


def _decimal(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise WebhookRejected(f"Mollie sent an amount that is not a number: {value!r}.") from None
