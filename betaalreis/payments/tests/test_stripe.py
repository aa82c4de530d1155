"""Stripe adapter: form-encoded Checkout Sessions and signed webhooks."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
from django.urls import reverse

from betaalreis.ledger.models import InvoiceStatus, Payment
from betaalreis.payments.models import CheckoutStatus, WebhookEvent, WebhookOutcome
from betaalreis.payments.providers.base import WebhookRejected
from betaalreis.payments.providers.stripe.provider import event_to_update
from betaalreis.payments.providers.stripe.signature import sign_header, verify_header
from betaalreis.payments.tests.conftest import load_fixture
from betaalreis.payments.tests.drivers import StripeDriver
from betaalreis.portal.tests.factories import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

SECRETS = ["whsec_current_secret"]


@pytest.fixture
def stripe(client, settings, fake_stripe):
    settings.BETAALREIS_PAYMENT_PROVIDER = "stripe"
    return StripeDriver(client, fake_stripe)


@pytest.fixture
def started(stripe):
    debtor = make_debtor(make_creditor())
    invoice = make_invoice(debtor, "F-001", "151.25")
    return stripe.start(debtor, [invoice]), invoice


def test_create_sends_form_in_cents(stripe, started):
    checkout, _invoice = started

    request = next(r for r in stripe.fake.state.requests if r["method"] == "POST")
    form = {key: values[0] for key, values in parse_qs(request["body"].decode()).items()}
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][currency]"] == "eur"
    assert form["line_items[0][price_data][unit_amount]"] == "15125"
    assert form["line_items[0][quantity]"] == "1"
    assert form["client_reference_id"] == form["metadata[reference]"]
    assert form["payment_intent_data[metadata][reference]"] == form["metadata[reference]"]
    assert form["success_url"].endswith(f"/portal/payments/{checkout.public_token}/")
    assert checkout.checkout_url.startswith("https://checkout.stripe.com/")


def test_unsigned_webhook_rejected(stripe, started):
    checkout, invoice = started
    session = stripe.fake.complete(checkout.provider_id)
    body = json.dumps({"type": "checkout.session.completed", "data": {"object": session}}).encode()

    response = stripe.webhook(body, {}, "application/json")

    assert response.status_code == 400
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.REJECTED


def test_stale_signature_rejected(stripe, started):
    checkout, invoice = started

    response = stripe._event(
        "checkout.session.completed", stripe.fake.complete(checkout.provider_id), timestamp=int(time.time()) - 3600
    )

    assert response.status_code == 400
    assert Payment.objects.count() == 0


def test_previous_secret_still_accepted(stripe, started):
    checkout, invoice = started

    response = stripe._event(
        "checkout.session.completed", stripe.fake.complete(checkout.provider_id), secret="whsec_previous_secret"
    )

    assert response.status_code == 200
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID


def test_async_payment_pending_then_failed(stripe, started):
    checkout, invoice = started
    session = stripe.fake.complete(checkout.provider_id, paid=False)

    stripe._event("checkout.session.completed", session)
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.PENDING

    stripe._event("checkout.session.async_payment_failed", session)
    checkout.refresh_from_db()
    invoice.refresh_from_db()
    assert checkout.status == CheckoutStatus.FAILED
    assert invoice.status == InvoiceStatus.OPEN


def test_async_payment_succeeded_pays(stripe, started):
    checkout, invoice = started
    session = stripe.fake.complete(checkout.provider_id, paid=False)
    stripe._event("checkout.session.completed", session)

    stripe._event("checkout.session.async_payment_succeeded", dict(session, payment_status="paid"))

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID


def test_dispute_funds_withdrawn_is_chargeback(stripe, started):
    checkout, invoice = started
    stripe.report_paid(checkout)
    checkout.refresh_from_db()
    dispute = dict(load_fixture("stripe_dispute_funds_withdrawn.json")["data"]["object"])
    dispute["payment_intent"] = checkout.provider_secondary_id

    response = stripe._event("charge.dispute.funds_withdrawn", dispute)

    assert response.status_code == 200
    checkout.refresh_from_db()
    invoice.refresh_from_db()
    assert checkout.status == CheckoutStatus.CHARGED_BACK
    assert checkout.amount_charged_back == Decimal("151.25")
    assert invoice.status == InvoiceStatus.OPEN


def test_ignored_event_answers_200(stripe):
    event = load_fixture("stripe_customer_created.json")

    response = stripe._event(event["type"], event["data"]["object"])

    assert response.status_code == 200
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.IGNORED


def test_recorded_session_completed_maps():
    event = load_fixture("stripe_checkout_session_completed.json")

    update = event_to_update(event["type"], event["data"]["object"])

    assert update.status == CheckoutStatus.PAID
    assert update.amount == Decimal("151.25")
    assert update.currency == "EUR"
    assert update.secondary_id == "pi_3QdLrq2eZvKYlo2C1XoM4m2R"
    assert update.reference == "br-1-abcdefgh"


def test_recorded_refund_maps_to_payment_intent():
    event = load_fixture("stripe_charge_refunded.json")

    update = event_to_update(event["type"], event["data"]["object"])

    assert update.provider_id == ""
    assert update.secondary_id == "pi_3QdLrq2eZvKYlo2C1XoM4m2R"
    assert update.status is None
    assert update.amount_refunded == Decimal("151.25")


@pytest.mark.parametrize(
    "header",
    ["", "t=abc,v1=00", "v1=" + "0" * 64, "t=1700000000", "garbage"],
)
def test_malformed_signature_headers_rejected(header):
    with pytest.raises(WebhookRejected):
        verify_header(header, b"{}", SECRETS, tolerance_seconds=300, now=1700000000)


def test_signature_over_other_body_rejected():
    header = sign_header("whsec_current_secret", b'{"a": 1}', 1700000000)

    with pytest.raises(WebhookRejected):
        verify_header(header, b'{"a": 2}', SECRETS, tolerance_seconds=300, now=1700000000)


def test_signature_accepts_any_matching_v1():
    good = sign_header("whsec_current_secret", b"{}", 1700000000).split(",")[1]
    header = f"t=1700000000,v1={'0' * 64},{good}"

    verify_header(header, b"{}", SECRETS, tolerance_seconds=300, now=1700000100)


def test_empty_secret_list_rejects_everything():
    header = sign_header("whsec_current_secret", b"{}", 1700000000)

    with pytest.raises(WebhookRejected):
        verify_header(header, b"{}", [], tolerance_seconds=300, now=1700000000)


def test_unsigned_webhook_keeps_only_start_of_body(stripe, started):
    body = b'{"type": "checkout.session.completed", "padding": "' + b"a" * 2_000_000 + b'"}'

    response = stripe.webhook(body, {}, "application/json")

    assert response.status_code == 400
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookOutcome.REJECTED
    assert len(event.body) == 2_000
    assert event.body.startswith('{"type": "checkout.session.completed"')
    assert "Only the first 2,000 of 2,000,053 characters are kept." in event.detail


def test_webhook_without_secrets_is_not_found(client, settings, caplog):
    # Stripe has an API key but no webhook signing secret, as when an operator forgot one setting.
    settings.STRIPE_API_KEY = "sk_test_fake_4eC39HqLyjWDarjtT1zdp7dc"
    settings.STRIPE_WEBHOOK_SECRETS = []
    url = reverse("payments:webhook", kwargs={"provider": "stripe"})

    with caplog.at_level("WARNING"):
        response = client.post(url, data="{}", content_type="application/json")

    assert response.status_code == 404
    assert response.content == b"provider not configured\n"
    messages = [record.getMessage() for record in caplog.records]
    assert messages == ["webhook for unconfigured provider"]
    event = WebhookEvent.objects.get()
    assert (event.provider, event.outcome, event.body) == ("stripe", WebhookOutcome.FAILED, "{}")
    assert "STRIPE_WEBHOOK_SECRETS is missing" in event.detail
