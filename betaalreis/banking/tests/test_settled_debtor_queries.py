"""Payments whose reference names a debtor without open invoices, while a known IBAN gives review candidates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from betaalreis.banking.invoice_index import debtor_in_reference
from betaalreis.banking.matching import match_payments
from betaalreis.banking.models import MatchCandidate
from betaalreis.channels.render.context import debtor_payment_reference
from betaalreis.ledger.models import Creditor, DebtorBankAccount, Payment, PaymentSource, PaymentStatus

from .helpers import PAYER_IBAN, make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

BOOKED = dt.date(2026, 12, 3)


def _ledger(creditor: Creditor, settled_debtors: int) -> tuple[int, list[Payment]]:
    """Return the id of the IBAN's debtor, and one payment per settled debtor that quotes its reference.

    The payer IBAN belongs to a debtor whose open invoice no payment
    amount fits, so the IBAN rule gives review candidates for each payment.
    """
    payer = make_debtor(creditor, "P1", "Pietersen")
    make_invoice(payer, "P-1001", "500.00")
    DebtorBankAccount.objects.create(creditor=creditor, debtor=payer, iban=PAYER_IBAN)
    other = make_creditor(f"{creditor.slug}-other", iban="NL39RABO0300065264")
    stranger = make_debtor(other, "X1", "Vreemde")

    payments: list[Payment] = []
    for number in range(settled_debtors):
        debtor = make_debtor(creditor, f"S{number}", f"Schuldenaar {number}")
        payments.append(Payment.objects.create(
            creditor=creditor, source=PaymentSource.BANK, external_id=f"S-{number}", booking_date=BOOKED,
            amount=Decimal("12.34"), payer_iban=PAYER_IBAN, structured_reference=debtor_payment_reference(debtor),
        ))
    # Another creditor's debtor reference is no reason to keep the payment as credit.
    payments.append(Payment.objects.create(
        creditor=creditor, source=PaymentSource.BANK, external_id="X-1", booking_date=BOOKED,
        amount=Decimal("12.34"), payer_iban=PAYER_IBAN, structured_reference=debtor_payment_reference(stranger),
    ))
    return payer.pk, payments


def _match_queries(settled_debtors: int) -> int:
    creditor = make_creditor(f"acme-{settled_debtors}", iban=f"NL{settled_debtors:02d}ABNA0417164300")
    payer_id, payments = _ledger(creditor, settled_debtors)

    with CaptureQueriesContext(connection) as queries:
        match_payments(creditor, booked_by=BOOKED)

    *settled, stranger = payments
    for payment in settled:
        payment.refresh_from_db()
        assert payment.status == PaymentStatus.REVIEW
        assert "names a debtor without open invoices" in payment.match_reason
        candidates = list(MatchCandidate.objects.filter(payment=payment).order_by("pk").values_list("debtor_id", flat=True))
        assert candidates == [debtor_in_reference(payment.structured_reference), payer_id]
    stranger.refresh_from_db()
    assert stranger.status == PaymentStatus.REVIEW
    assert "names a debtor without open invoices" not in stranger.match_reason
    return len(queries)


def test_settled_debtor_lookup_per_chunk() -> None:
    few = _match_queries(2)
    many = _match_queries(60)

    # One lookup of the referenced debtors per chunk, not one per payment.
    assert many == few
