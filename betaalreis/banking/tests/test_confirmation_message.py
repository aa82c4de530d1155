"""The admin message after confirming a reviewed payment names each part it paid."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from betaalreis.banking.actions import Confirmation
from betaalreis.banking.admin import confirmation_message
from betaalreis.ledger.models import Allocation, AllocationPart, Payment, PaymentSource
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db


def confirmation(credit: str = "0.00") -> Confirmation:
    creditor = make_creditor()
    debtor = make_debtor(creditor, name="Installatiebedrijf Kok B.V.")
    invoice = make_invoice(debtor, "12345.67", due=dt.date(2026, 10, 1), number="F26-2003")
    payment = Payment.objects.create(
        creditor=creditor, debtor=debtor, source=PaymentSource.BANK, external_id="bank-6",
        booking_date=dt.date(2026, 12, 1), amount=Decimal("13448.15"),
    )
    allocations = [
        Allocation.objects.create(creditor=creditor, payment=payment, invoice=invoice, amount=Decimal(amount), part=part)
        for amount, part in (
            ("12345.67", AllocationPart.PRINCIPAL),
            ("898.46", AllocationPart.COSTS),
            ("204.02", AllocationPart.INTEREST),
        )
    ]
    return Confirmation(debtor=debtor, allocations=allocations, credit=Decimal(credit), currency="EUR")


def test_confirmation_names_parts_dutch() -> None:
    with translation.override("nl"):
        message = confirmation_message(confirmation()).replace("\xa0", " ")

    assert message.startswith("Betaling gekoppeld aan Installatiebedrijf Kok B.V. Betaald: ")
    assert "B.V.." not in message
    assert "hoofdsom € 12.345,67 op F26-2003" in message
    assert "incassokosten € 898,46 op F26-2003" in message
    assert "rente € 204,02 op F26-2003" in message


def test_confirmation_names_parts_english() -> None:
    with translation.override("en"):
        message = confirmation_message(confirmation()).replace("\xa0", " ")

    assert "B.V.." not in message
    assert "principal" in message
    assert "collection costs" in message
    assert "interest" in message


def test_confirmation_credit_single_full_stop() -> None:
    with translation.override("nl"):
        message = confirmation_message(confirmation(credit="10.00")).replace("\xa0", " ")

    assert message.endswith("€ 10,00 staat als tegoed bij Installatiebedrijf Kok B.V.")
