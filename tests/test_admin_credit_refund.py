"""The admin form that records a partial refund of a debtor's credit, per creditor and with change permission."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from betaalreis.ledger.actions import do_allocate_payment
from betaalreis.ledger.credit import debtor_credit
from betaalreis.ledger.models import CreditorAccess, Debtor, Payment, PaymentSource, TimelineEvent
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

DEBTOR_IBAN = "NL02ABNA0123456789"


def _overpaid_debtor(slug: str) -> Debtor:
    """Return a debtor of a new creditor who paid EUR 100.00 for an invoice of EUR 60.00: EUR 40.00 credit."""
    creditor = make_creditor(slug, iban="NL91ABNA0417164300" if slug == "acme" else "NL18RABO0123459876")
    debtor = make_debtor(creditor, customer_number=f"{slug}-1")
    invoice = make_invoice(debtor, "60.00", due=dt.date(2026, 11, 1), number=f"{slug}-F1")
    payment = Payment.objects.create(
        creditor=creditor, debtor=debtor, source=PaymentSource.BANK, external_id=f"{slug}-bank-1",
        booking_date=dt.date(2026, 11, 20), amount=Decimal("100.00"),
    )
    do_allocate_payment(payment, [invoice], source="test", reason="bank transfer")
    return debtor


def _client(username: str, debtor: Debtor, *codenames: str) -> Client:
    user = User.objects.create(username=username, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="ledger", codename__in=codenames))
    CreditorAccess.objects.create(user=user, creditor=debtor.creditor)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def debtor() -> Debtor:
    return _overpaid_debtor("acme")


def _url(debtor: Debtor) -> str:
    return reverse("admin:ledger_debtor_refund_credit", args=[debtor.pk])


def test_partial_refund_recorded(debtor):
    client = _client("anna", debtor, "view_debtor", "change_debtor")
    assert "Deel terugbetalen" in client.get(reverse("admin:ledger_debtor_change", args=[debtor.pk])).content.decode()

    response = client.post(_url(debtor), {
        "currency": "EUR", "amount": "15.00", "iban": "nl02 abna 0123 4567 89", "note": "op verzoek per mail",
    })

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:ledger_debtor_change", args=[debtor.pk])
    assert debtor_credit([debtor.pk])[debtor.pk]["EUR"] == Decimal("25.00")
    refund = Payment.objects.get(debtor=debtor, amount=Decimal("-15.00"))
    assert refund.payer_iban == DEBTOR_IBAN
    assert refund.remittance_info.endswith("op verzoek per mail")
    event = TimelineEvent.objects.get(debtor=debtor, summary__startswith="Tegoed terugbetaald")
    assert event.source == "user:anna"
    assert event.data["iban"] == "NL02**********6789"
    assert "(op verzoek per mail)" in event.summary


def test_refund_above_credit_rejected(debtor):
    client = _client("anna", debtor, "view_debtor", "change_debtor")

    response = client.post(_url(debtor), {"currency": "EUR", "amount": "40.01", "iban": DEBTOR_IBAN, "note": ""})

    assert response.status_code == 200
    assert "Het bedrag is hoger dan het tegoed van" in response.content.decode()
    assert debtor_credit([debtor.pk])[debtor.pk]["EUR"] == Decimal("40.00")
    assert not Payment.objects.filter(debtor=debtor, amount__lt=0).exists()


def test_refund_invalid_iban_rejected(debtor):
    client = _client("anna", debtor, "view_debtor", "change_debtor")

    response = client.post(_url(debtor), {"currency": "EUR", "amount": "10.00", "iban": "NL02ABNA0123456780"})

    assert response.status_code == 200
    assert "Ongeldige IBAN" in response.content.decode()
    assert not Payment.objects.filter(debtor=debtor, amount__lt=0).exists()


def test_refund_needs_change_permission(debtor):
    client = _client("viewer", debtor, "view_debtor")

    response = client.post(_url(debtor), {"currency": "EUR", "amount": "10.00", "iban": DEBTOR_IBAN})

    assert response.status_code == 403
    assert not Payment.objects.filter(debtor=debtor, amount__lt=0).exists()


def test_refund_of_other_creditor_not_found(debtor):
    other = _overpaid_debtor("polder")
    client = _client("piet", other, "view_debtor", "change_debtor")

    get = client.get(_url(debtor))
    post = client.post(_url(debtor), {"currency": "EUR", "amount": "10.00", "iban": DEBTOR_IBAN})

    assert get.status_code == 404
    assert post.status_code == 404
    assert not Payment.objects.filter(debtor=debtor, amount__lt=0).exists()
