"""The portal from a sign-in link to a paid invoice, with the test provider."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse, set_script_prefix

from betaalreis.ledger.models import InvoiceStatus, Payment, PaymentSource, TimelineEvent
from betaalreis.payments.models import CheckoutPayment, CheckoutStatus
from betaalreis.payments.providers.test.provider import build_webhook
from betaalreis.payments.services import OPEN_CHECKOUT_BLOCKS_FOR, handle_webhook
from betaalreis.portal.links import make_portal_token, portal_url, read_portal_token
from betaalreis.portal.tests.factories import give_claim_stage, make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db


def sign_in(client, debtor) -> None:
    response = client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:overview")


def test_link_signs_in_and_lists_invoices(client):
    debtor = make_debtor(make_creditor())
    make_invoice(debtor, "F-001", "121.00")
    make_invoice(debtor, "F-002", "30.25")

    sign_in(client, debtor)
    page = client.get(reverse("portal:overview"))

    assert page.status_code == 200
    html = page.content.decode()
    assert "F-001" in html
    assert "F-002" in html
    assert "151,25" in html
    assert TimelineEvent.objects.filter(debtor=debtor, summary="Betaalpagina geopend").count() == 1


def test_portal_url_is_absolute_link_to_sign_in(client, settings):
    debtor = make_debtor(make_creditor())
    url = portal_url(debtor)

    assert url.startswith(settings.BETAALREIS_BASE_URL + "/p/")
    response = client.get(url.removeprefix(settings.BETAALREIS_BASE_URL))
    assert response.status_code == 302


def test_portal_url_matches_reverse(settings):
    debtor = make_debtor(make_creditor())

    url = portal_url(debtor)

    token = url.removeprefix(settings.BETAALREIS_BASE_URL).split("/")[2]
    assert read_portal_token(token) == debtor.pk
    expected = settings.BETAALREIS_BASE_URL + reverse("portal:account", kwargs={"token": token})
    assert url == expected


def test_portal_url_keeps_script_prefix(settings):
    debtor = make_debtor(make_creditor())
    set_script_prefix("/betaalreis/")
    try:
        url = portal_url(debtor)
    finally:
        set_script_prefix("/")

    assert url.startswith(settings.BETAALREIS_BASE_URL + "/betaalreis/p/")


def test_pay_with_test_provider_allocates(client):
    debtor = make_debtor(make_creditor())
    first = make_invoice(debtor, "F-001", "121.00")
    second = make_invoice(debtor, "F-002", "30.25", days_overdue=-2)
    untouched = make_invoice(debtor, "F-003", "10.00")
    sign_in(client, debtor)

    start = client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [first.pk, second.pk]})
    assert start.status_code == 302
    checkout = CheckoutPayment.objects.get()
    assert start["Location"] == checkout.checkout_url
    assert checkout.amount == Decimal("151.25")
    assert checkout.status == CheckoutStatus.OPEN

    pay_page = client.get(checkout.checkout_url)
    assert pay_page.status_code == 200
    done = client.post(checkout.checkout_url, {"outcome": "paid"})
    assert done.status_code == 302

    checkout.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    untouched.refresh_from_db()
    assert checkout.status == CheckoutStatus.PAID
    assert first.status == InvoiceStatus.PAID
    assert first.open_amount == Decimal("0.00")
    assert second.status == InvoiceStatus.PAID
    assert untouched.status == InvoiceStatus.OPEN
    payment = Payment.objects.get(source=PaymentSource.PSP)
    assert payment.amount == Decimal("151.25")
    assert payment.external_id == f"test:{checkout.provider_id}"

    receipt = client.get(done["Location"])
    assert "ontvangen" in receipt.content.decode()


def test_paid_invoice_cannot_be_paid_again(client):
    debtor = make_debtor(make_creditor())
    invoice = make_invoice(debtor, "F-001", "50.00")
    sign_in(client, debtor)
    client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [invoice.pk]})
    checkout = CheckoutPayment.objects.get()
    client.post(checkout.checkout_url, {"outcome": "paid"})

    again = client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [invoice.pk]})
    page = client.get(reverse("portal:overview"))

    assert again.status_code == 302
    assert CheckoutPayment.objects.count() == 1
    html = page.content.decode()
    assert "geen openstaande facturen" in html
    assert "Betaald" in html


def test_repeated_paid_outcome_books_once(client):
    debtor = make_debtor(make_creditor())
    invoice = make_invoice(debtor, "F-001", "50.00")
    sign_in(client, debtor)
    client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [invoice.pk]})
    checkout = CheckoutPayment.objects.get()

    from betaalreis.payments import services
    from betaalreis.payments.providers.test.provider import build_webhook

    for _ in range(3):
        body, headers = build_webhook(checkout.provider_id, "paid")
        services.handle_webhook("test", body, headers)

    assert Payment.objects.count() == 1
    assert invoice.allocations.count() == 1


def test_failed_payment_leaves_invoice_open(client):
    debtor = make_debtor(make_creditor())
    invoice = make_invoice(debtor, "F-001", "50.00")
    sign_in(client, debtor)
    client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [invoice.pk]})
    checkout = CheckoutPayment.objects.get()

    client.post(checkout.checkout_url, {"outcome": "failed"})

    checkout.refresh_from_db()
    invoice.refresh_from_db()
    assert checkout.status == CheckoutStatus.FAILED
    assert invoice.status == InvoiceStatus.OPEN
    assert Payment.objects.count() == 0


def test_pages_carry_strict_csp(client):
    debtor = make_debtor(make_creditor())
    make_invoice(debtor, "F-001", "50.00")
    sign_in(client, debtor)

    response = client.get(reverse("portal:overview"))

    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["Cache-Control"] == "no-store"


def test_pay_form_requires_csrf(client):
    from django.test import Client

    debtor = make_debtor(make_creditor())
    invoice = make_invoice(debtor, "F-001", "50.00")
    strict = Client(enforce_csrf_checks=True)
    sign_in(strict, debtor)

    response = strict.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [invoice.pk]})

    assert response.status_code == 403
    assert CheckoutPayment.objects.count() == 0


def test_english_page_after_language_switch(client):
    debtor = make_debtor(make_creditor(), language="en")
    make_invoice(debtor, "F-001", "50.00")
    sign_in(client, debtor)

    page = client.get(reverse("portal:overview"))

    html = page.content.decode()
    assert '<html lang="en">' in html
    assert "My invoices" in html
    assert "€50.00" in html


def test_second_pay_reuses_open_checkout(client):
    debtor = make_debtor(make_creditor())
    invoice = make_invoice(debtor, "F-001", "100.00", days_overdue=60)
    sign_in(client, debtor)

    first = client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [invoice.pk]})
    second = client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [invoice.pk]})

    checkout = CheckoutPayment.objects.get()
    assert first["Location"] == checkout.checkout_url
    assert second["Location"] == checkout.checkout_url


def test_interest_paid_online_booked_to_interest(client):
    debtor = make_debtor(make_creditor())
    invoice = give_claim_stage(make_invoice(debtor, "F-001", "100.00", days_overdue=60))
    sign_in(client, debtor)
    client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [invoice.pk]})
    checkout = CheckoutPayment.objects.get()

    client.post(checkout.checkout_url, {"outcome": "paid"})

    interest = checkout.amount - Decimal("100.00")
    assert interest > Decimal("0.00")
    payment = Payment.objects.get(source=PaymentSource.PSP)
    assert payment.amount == checkout.amount
    parts = dict(payment.allocations.values_list("part", "amount"))
    assert parts == {"principal": Decimal("100.00"), "interest": interest}
    assert not TimelineEvent.objects.filter(debtor=debtor, data__has_key="credit").exists()
    assert not TimelineEvent.objects.filter(debtor=debtor, data__reason="charges_waived").exists()


def test_paying_paid_invoice_again_books_credit(client):
    debtor = make_debtor(make_creditor())
    invoice = make_invoice(debtor, "F-001", "50.00")
    sign_in(client, debtor)
    client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [invoice.pk]})
    first = CheckoutPayment.objects.get()
    # A second checkout for the same invoice, as after an open checkout stopped blocking.
    CheckoutPayment.objects.filter(pk=first.pk).update(
        created_at=first.created_at - OPEN_CHECKOUT_BLOCKS_FOR - dt.timedelta(hours=1)
    )
    client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [invoice.pk]})
    second = CheckoutPayment.objects.exclude(pk=first.pk).get()

    client.post(first.checkout_url, {"outcome": "paid"})
    # Paying the first made the second lapse here, but a real provider was not
    # told and can still report it paid.
    body, headers = build_webhook(second.provider_id, "paid")
    handle_webhook("test", body, headers)

    from betaalreis.banking.matching import match_payments
    from betaalreis.ledger.models import PaymentStatus

    match_payments(debtor.creditor)
    payments = Payment.objects.filter(source=PaymentSource.PSP).order_by("pk")
    assert [p.status for p in payments] == [PaymentStatus.MATCHED, PaymentStatus.MATCHED]
    assert payments[1].allocations.count() == 0
    credit = TimelineEvent.objects.get(debtor=debtor, data__credit="50.00")
    assert "die al betaald was" in credit.summary


def test_overview_dates_use_babel_dutch(client):
    from betaalreis.portal.dates import format_long_date, format_medium_date

    debtor = make_debtor(make_creditor())
    make_invoice(debtor, "F-001", "50.00", due_date=dt.date(2026, 10, 9))
    make_invoice(debtor, "F-002", "50.00", due_date=dt.date(2027, 3, 4))
    sign_in(client, debtor)

    html = client.get(reverse("portal:overview")).content.decode()

    assert "9 okt 2026" in html
    assert "4 mrt 2027" in html
    assert "Okt" not in html
    assert "Mrt" not in html
    assert format_medium_date(dt.date(2026, 10, 9), "en") == "9 Oct 2026"
    assert format_long_date(dt.date(2027, 3, 4), "nl") == "4 maart 2027"
