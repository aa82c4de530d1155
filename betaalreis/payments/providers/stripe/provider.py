"""Stripe adapter: Checkout Sessions and signed webhook events.

Every webhook call is verified with the Stripe-Signature header before its
JSON is read. Checkout events name the session (`cs_...`); refund and
chargeback events name the PaymentIntent (`pi_...`), which the session's
completion event reported.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings

from betaalreis.errors import ConfigurationError
from betaalreis.payments.models import CheckoutStatus
from betaalreis.payments.providers.base import (
    CheckoutCreated,
    CheckoutRequest,
    PaymentProvider,
    PaymentUpdate,
    WebhookRejected,
)
from betaalreis.payments.providers.stripe.client import StripeClient
from betaalreis.payments.providers.stripe.signature import verify_header

# Stripe amounts are integers in the currency's minor unit; these have none.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)


def to_minor_units(amount: Decimal, currency: str) -> int:
    if currency.upper() in ZERO_DECIMAL_CURRENCIES:
        return int(amount)
    return int((amount * 100).to_integral_value())


def from_minor_units(value: int, currency: str) -> Decimal:
    if currency.upper() in ZERO_DECIMAL_CURRENCIES:
        return Decimal(value)
    return (Decimal(value) / 100).quantize(Decimal("0.01"))


class StripeProvider(PaymentProvider):
    name = "stripe"

    def __init__(self, client: StripeClient | None = None) -> None:
        self._client = client

    @property
    def client(self) -> StripeClient:
        if self._client is None:
            self._client = StripeClient()
        return self._client

    def create_checkout(self, request: CheckoutRequest) -> CheckoutCreated:
        form = {
            "mode": "payment",
            "line_items[0][price_data][currency]": request.currency.lower(),
            "line_items[0][price_data][unit_amount]": str(to_minor_units(request.amount, request.currency)),
            "line_items[0][price_data][product_data][name]": request.description[:255],
            "line_items[0][quantity]": "1",
            "success_url": request.return_url,
            "cancel_url": request.cancel_url,
            "client_reference_id": request.reference,
            "locale": request.locale if request.locale in {"nl", "en"} else "auto",
            "metadata[reference]": request.reference,
            "payment_intent_data[metadata][reference]": request.reference,
        }
        for key, value in request.metadata.items():
            form[f"metadata[{key}]"] = value

        session = self.client.create_checkout_session(form, idempotency_key=request.reference)
        return CheckoutCreated(
            provider_id=session["id"], checkout_url=session["url"], status=CheckoutStatus.OPEN
        )

    def cancel_checkout(self, provider_id: str) -> bool:
        # Stripe expires only an open session and returns an invalid_request_error
        # (HTTP 400) for any other, which `request_json` raises as a ProviderError.
        return self.client.expire_checkout_session(provider_id).get("status") == "expired"

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[PaymentUpdate]:
        if not settings.STRIPE_WEBHOOK_SECRETS:
            raise ConfigurationError(
                "STRIPE_WEBHOOK_SECRETS is missing. Set it to the whsec_ signing secret of the "
                "webhook endpoint in the Stripe dashboard.",
                code="stripe_not_configured",
            )
        verify_header(
            headers.get("Stripe-Signature"),
            body,
            settings.STRIPE_WEBHOOK_SECRETS,
            tolerance_seconds=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
        )
        try:
            event = json.loads(body)
            event_type = event["type"]
            obj = event["data"]["object"]
        except (ValueError, KeyError, TypeError):
            raise WebhookRejected("Stripe webhook body is not an event with type and data.object.") from None

        update = event_to_update(event_type, obj)
        return [] if update is None else [update]


def event_to_update(event_type: str, obj: dict[str, Any]) -> PaymentUpdate | None:
    """Map one Stripe event onto a `PaymentUpdate`; None for events we do not act on."""
    if event_type.startswith("checkout.session."):
        return _session_update(event_type, obj)

    if event_type == "charge.refunded":
        currency = obj["currency"].upper()
        return PaymentUpdate(
            provider_id="",
            secondary_id=obj.get("payment_intent") or "",
            status=None,
            amount_refunded=from_minor_units(obj["amount_refunded"], currency),
            currency=currency,
            raw=obj,
        )

    if event_type == "charge.dispute.funds_withdrawn":
        currency = obj["currency"].upper()
        return PaymentUpdate(
            provider_id="",
            secondary_id=obj.get("payment_intent") or "",
            status=None,
            amount_charged_back=from_minor_units(obj["amount"], currency),
            currency=currency,
            raw=obj,
        )
    return None


# Checkout Session events mapped to our status; completed depends on payment_status.
SESSION_EVENTS = {
    "checkout.session.async_payment_succeeded": CheckoutStatus.PAID,
    "checkout.session.async_payment_failed": CheckoutStatus.FAILED,
    "checkout.session.expired": CheckoutStatus.EXPIRED,
}


def _session_update(event_type: str, session: dict[str, Any]) -> PaymentUpdate | None:
    if event_type == "checkout.session.completed":
        # Bank methods such as SEPA debit complete the session before the money arrives.
        status = CheckoutStatus.PAID if session.get("payment_status") == "paid" else CheckoutStatus.PENDING
    elif event_type in SESSION_EVENTS:
        status = SESSION_EVENTS[event_type]
    else:
        return None

    currency = (session.get("currency") or "eur").upper()
    amount_total = session.get("amount_total")
    return PaymentUpdate(
        provider_id=session["id"],
        secondary_id=session.get("payment_intent") or "",
        status=status,
        amount=None if amount_total is None else from_minor_units(amount_total, currency),
        currency=currency,
        reference=session.get("client_reference_id") or "",
        raw=session,
    )
