"""Drivers that act as each provider in the shared adapter tests.

Every driver starts a checkout through the portal and then reports what the
provider would report, over the webhook and in the provider's own format.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

from django.test import Client
from django.urls import reverse

from betaalreis.ledger.models import Debtor, Invoice
from betaalreis.payments.models import CheckoutPayment
from betaalreis.payments.providers.stripe.signature import sign_header
from betaalreis.payments.providers.test.provider import build_webhook
from betaalreis.portal.links import make_portal_token


class Driver:
    name: str

    def __init__(self, client: Client, fake=None) -> None:
        self.client = client
        self.fake = fake

    def start(self, debtor: Debtor, invoices: list[Invoice]) -> CheckoutPayment:
        self.client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))
        response = self.client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [inv.pk for inv in invoices]})
        assert response.status_code == 302, response.content
        return CheckoutPayment.objects.latest("pk")

    def webhook(self, body: bytes, headers: dict[str, str], content_type: str):
        extra = {f"HTTP_{key.upper().replace('-', '_')}": value for key, value in headers.items()}
        return self.client.post(
            reverse("payments:webhook", kwargs={"provider": self.name}), data=body, content_type=content_type, **extra
        )

    def report_paid(self, checkout: CheckoutPayment):
        raise NotImplementedError

    def report_refund(self, checkout: CheckoutPayment, amount: Decimal):
        raise NotImplementedError

    def report_forged_paid(self, checkout: CheckoutPayment):
        raise NotImplementedError


class BuiltInDriver(Driver):
    name = "test"

    def report_paid(self, checkout):
        body, headers = build_webhook(checkout.provider_id, "paid")
        return self.webhook(body, _without_content_type(headers), "application/json")

    def report_refund(self, checkout, amount):
        body, headers = build_webhook(checkout.provider_id, "paid", amount_refunded=amount)
        return self.webhook(body, _without_content_type(headers), "application/json")

    def report_forged_paid(self, checkout):
        body = json.dumps({"id": checkout.provider_id, "status": "paid"}).encode()
        return self.webhook(body, {"X-Betaalreis-Signature": "0" * 64}, "application/json")


class MollieDriver(Driver):
    name = "mollie"

    def report_paid(self, checkout):
        self.fake.set_status(checkout.provider_id, "paid")
        return self.webhook(f"id={checkout.provider_id}".encode(), {}, "application/x-www-form-urlencoded")

    def report_refund(self, checkout, amount):
        self.fake.set_status(checkout.provider_id, "paid", amountRefunded={"value": f"{amount:.2f}", "currency": "EUR"})
        return self.webhook(f"id={checkout.provider_id}".encode(), {}, "application/x-www-form-urlencoded")

    def report_forged_paid(self, checkout):
        # Mollie's webhook is unsigned, so a forger can only post an id; the
        # payment at Mollie is still open, and that is what counts.
        body = f"id={checkout.provider_id}&status=paid".encode()
        return self.webhook(body, {}, "application/x-www-form-urlencoded")


class StripeDriver(Driver):
    name = "stripe"

    def _event(self, event_type: str, obj: dict, secret: str = "whsec_current_secret", timestamp: int | None = None):
        body = json.dumps({"id": "evt_test", "object": "event", "type": event_type, "data": {"object": obj}}).encode()
        header = sign_header(secret, body, timestamp)
        return self.webhook(body, {"Stripe-Signature": header}, "application/json")

    def report_paid(self, checkout):
        return self._event("checkout.session.completed", self.fake.complete(checkout.provider_id))

    def report_refund(self, checkout, amount):
        charge = {
            "id": "ch_test", "object": "charge", "amount": int(checkout.amount * 100),
            "amount_refunded": int(amount * 100), "currency": "eur",
            "payment_intent": checkout.provider_secondary_id, "refunded": True,
        }
        return self._event("charge.refunded", charge)

    def report_forged_paid(self, checkout):
        session = dict(self.fake.state.payments[checkout.provider_id], payment_status="paid", status="complete")
        return self._event("checkout.session.completed", session, secret="whsec_guessed_by_attacker")


def _without_content_type(headers: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key != "Content-Type"}


def now() -> int:
    return int(time.time())


def cancel_requests(driver: MollieDriver | StripeDriver, checkout: CheckoutPayment) -> list[tuple[str, str]]:
    """Return the requests that asked the driver's fake to cancel `checkout`: a DELETE at Mollie, an expire at Stripe."""
    expected = {
        "mollie": ("DELETE", f"/v2/payments/{checkout.provider_id}"),
        "stripe": ("POST", f"/v1/checkout/sessions/{checkout.provider_id}/expire"),
    }[driver.name]
    return [(r["method"], r["path"]) for r in driver.fake.state.requests if (r["method"], r["path"]) == expected]
