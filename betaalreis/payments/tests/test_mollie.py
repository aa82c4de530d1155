"""Mollie adapter: wire format, webhook by fetch, errors, recorded payloads."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from betaalreis.ledger.models import InvoiceStatus, Payment
from betaalreis.payments.models import CheckoutPayment, CheckoutStatus, WebhookEvent, WebhookOutcome
from betaalreis.payments.providers.mollie.provider import to_update
from betaalreis.payments.tests.conftest import load_fixture
from betaalreis.payments.tests.drivers import MollieDriver
from betaalreis.portal.links import make_portal_token
from betaalreis.portal.tests.factories import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def mollie(client, settings, fake_mollie):
    settings.BETAALREIS_PAYMENT_PROVIDER = "mollie"
    return MollieDriver(client, fake_mollie)


def test_create_sends_documented_payload(mollie):
    debtor = make_debtor(make_creditor())
    invoice = make_invoice(debtor, "F-001", "1234.5")

    checkout = mollie.start(debtor, [invoice])

    request = next(r for r in mollie.fake.state.requests if r["method"] == "POST")
    payload = json.loads(request["body"])
    assert payload["amount"] == {"currency": "EUR", "value": "1234.50"}
    assert payload["webhookUrl"].endswith("/webhooks/payments/mollie/")
    assert payload["redirectUrl"].endswith(f"/portal/payments/{checkout.public_token}/")
    assert payload["metadata"]["reference"].startswith(f"br-{checkout.pk}-")
    assert payload["locale"] == "nl_NL"
    assert request["headers"]["Idempotency-Key"] == payload["metadata"]["reference"]
    assert checkout.checkout_url.startswith("https://www.mollie.com/checkout/")
    assert checkout.provider_id.startswith("tr_")


def test_redirect_goes_to_mollie_checkout(mollie):
    debtor = make_debtor(make_creditor())
    invoice = make_invoice(debtor, "F-001", "10.00")
    mollie.client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))

    response = mollie.client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [invoice.pk]})

    assert response.status_code == 302
    assert response["Location"].startswith("https://www.mollie.com/checkout/")
    assert "https://www.mollie.com" in response["Content-Security-Policy"]


def test_pending_then_expired(mollie):
    debtor = make_debtor(make_creditor())
    invoice = make_invoice(debtor, "F-001", "10.00")
    checkout = mollie.start(debtor, [invoice])
    body = f"id={checkout.provider_id}".encode()

    mollie.fake.set_status(checkout.provider_id, "pending")
    mollie.webhook(body, {}, "application/x-www-form-urlencoded")
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.PENDING

    mollie.fake.set_status(checkout.provider_id, "expired")
    mollie.webhook(body, {}, "application/x-www-form-urlencoded")
    checkout.refresh_from_db()
    invoice.refresh_from_db()
    assert checkout.status == CheckoutStatus.EXPIRED
    assert invoice.status == InvoiceStatus.OPEN


def test_pending_payment_blocks_second_payment(mollie):
    debtor = make_debtor(make_creditor())
    invoice = make_invoice(debtor, "F-001", "10.00")
    checkout = mollie.start(debtor, [invoice])
    mollie.fake.set_status(checkout.provider_id, "pending")
    mollie.webhook(f"id={checkout.provider_id}".encode(), {}, "application/x-www-form-urlencoded")

    again = mollie.client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [invoice.pk]})

    assert again.status_code == 302
    assert again["Location"] == reverse("portal:overview")
    assert CheckoutPayment.objects.count() == 1


def test_chargeback_reopens_invoice(mollie):
    debtor = make_debtor(make_creditor())
    invoice = make_invoice(debtor, "F-001", "10.00")
    checkout = mollie.start(debtor, [invoice])
    mollie.report_paid(checkout)

    mollie.fake.set_status(checkout.provider_id, "paid", amountChargedBack={"value": "10.00", "currency": "EUR"})
    mollie.webhook(f"id={checkout.provider_id}".encode(), {}, "application/x-www-form-urlencoded")

    checkout.refresh_from_db()
    invoice.refresh_from_db()
    assert checkout.status == CheckoutStatus.CHARGED_BACK
    assert invoice.status == InvoiceStatus.OPEN
    assert invoice.open_amount == Decimal("10.00")


def test_unreachable_mollie_asks_for_retry(mollie):
    debtor = make_debtor(make_creditor())
    invoice = make_invoice(debtor, "F-001", "10.00")
    checkout = mollie.start(debtor, [invoice])
    mollie.fake.set_status(checkout.provider_id, "paid")
    mollie.fake.state.fail_next = 1

    first = mollie.webhook(f"id={checkout.provider_id}".encode(), {}, "application/x-www-form-urlencoded")
    assert first.status_code == 503
    assert Payment.objects.count() == 0

    retry = mollie.webhook(f"id={checkout.provider_id}".encode(), {}, "application/x-www-form-urlencoded")
    assert retry.status_code == 200
    assert Payment.objects.count() == 1


def test_unknown_payment_id_changes_nothing(mollie):
    response = mollie.webhook(b"id=tr_doesnotexist", {}, "application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert Payment.objects.count() == 0


def test_webhook_without_id_rejected(mollie):
    response = mollie.webhook(b"payment=paid", {}, "application/x-www-form-urlencoded")

    assert response.status_code == 400


def test_rejected_create_shows_message(mollie):
    debtor = make_debtor(make_creditor())
    invoice = make_invoice(debtor, "F-001", "10.00", currency="USD")
    mollie.client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))

    response = mollie.client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [invoice.pk]}, follow=True)

    assert "Betalen lukt nu even niet" in response.content.decode()
    assert CheckoutPayment.objects.get().status == CheckoutStatus.FAILED


def test_recorded_paid_payload_maps():
    update = to_update(load_fixture("mollie_payment_paid.json"))

    assert update.status == CheckoutStatus.PAID
    assert update.amount == Decimal("151.25")
    assert update.currency == "EUR"
    assert update.amount_refunded == Decimal("0.00")
    assert update.method == "ideal"
    assert update.reference == "br-1-abcdefgh"


def test_recorded_expired_payload_maps():
    update = to_update(load_fixture("mollie_payment_expired.json"))

    assert update.status == CheckoutStatus.EXPIRED
    assert update.method == ""


def test_webhook_without_mollie_key_is_not_found(client, settings, caplog):
    # The demo's set-up: the test provider is in use and Mollie has no key.
    settings.BETAALREIS_PAYMENT_PROVIDER = "test"
    settings.MOLLIE_API_KEY = ""
    url = reverse("payments:webhook", kwargs={"provider": "mollie"})

    with caplog.at_level("WARNING"):
        response = client.post(url, data="id=tr_WDqYK6vllg", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 404
    assert {record.levelname for record in caplog.records} == {"WARNING"}
    assert "webhook for unconfigured provider" in [record.getMessage() for record in caplog.records]
    event = WebhookEvent.objects.get()
    assert (event.provider, event.outcome, event.body) == ("mollie", WebhookOutcome.FAILED, "id=tr_WDqYK6vllg")
    assert "MOLLIE_API_KEY is missing" in event.detail
