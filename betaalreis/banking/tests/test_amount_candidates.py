"""Review candidates for payments that only their amount can place."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from betaalreis.banking.amount_candidates import AMOUNT_ONLY_SCORE, MAX_AMOUNT_CANDIDATES
from betaalreis.banking.matching import match_payments
from betaalreis.banking.models import MatchCandidate
from betaalreis.ledger.models import InvoiceStatus, Payment, PaymentSource, PaymentStatus
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus

from .helpers import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

BOOKED = dt.date(2026, 12, 3)


def _payment(creditor, amount: str) -> Payment:
    return Payment.objects.create(
        creditor=creditor, source=PaymentSource.BANK, external_id=f"A-{amount}", booking_date=BOOKED,
        amount=Decimal(amount), remittance_info="betaling", payer_iban="NL20INGB0001234567",
    )


def _candidates(payment: Payment) -> list[MatchCandidate]:
    return list(MatchCandidate.objects.filter(payment=payment).order_by("debtor_id"))


def test_open_amount_proposes_debtor():
    creditor = make_creditor()
    debtor = make_debtor(creditor, "K1", "Jansen")
    make_invoice(debtor, "2026-1001", "150.00")
    invoice = make_invoice(debtor, "2026-1005", "99.99")
    payment = _payment(creditor, "99.99")

    match_payments(creditor, booked_by=BOOKED)

    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.status == PaymentStatus.REVIEW
    assert invoice.status == InvoiceStatus.OPEN
    (candidate,) = _candidates(payment)
    assert candidate.debtor_id == debtor.pk
    assert candidate.score == AMOUNT_ONLY_SCORE
    assert "only the amount matches" in candidate.reason
    assert list(candidate.invoices.values_list("number", flat=True)) == ["2026-1005"]


def test_sent_message_total_proposes_debtor():
    creditor = make_creditor()
    debtor = make_debtor(creditor, "K1", "Jansen")
    invoice = make_invoice(debtor, "2026-1002", "150.00")
    letter = Communication.objects.create(
        creditor=creditor, debtor=debtor, channel="letter", stage="fourteen_day_letter", language="nl",
        idempotency_key="letter-1", status=CommunicationStatus.SENT, run_date=BOOKED, total_amount=Decimal("190.84"),
    )
    CommunicationInvoice.objects.create(communication=letter, invoice=invoice, open_amount=invoice.open_amount)
    payment = _payment(creditor, "190.84")

    match_payments(creditor, booked_by=BOOKED)

    (candidate,) = _candidates(payment)
    assert candidate.debtor_id == debtor.pk
    assert list(candidate.invoices.values_list("number", flat=True)) == ["2026-1002"]


def test_common_amount_proposes_nobody():
    creditor = make_creditor()
    for number in range(MAX_AMOUNT_CANDIDATES + 1):
        debtor = make_debtor(creditor, f"K{number}", f"Debiteur {number}")
        make_invoice(debtor, f"2026-20{number:02d}", "29.95")
    payment = _payment(creditor, "29.95")

    match_payments(creditor, booked_by=BOOKED)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REVIEW
    assert _candidates(payment) == []
    assert f"{MAX_AMOUNT_CANDIDATES + 1} debtors have an open invoice" in payment.match_reason


def test_no_equal_amount_proposes_nobody():
    creditor = make_creditor()
    make_invoice(make_debtor(creditor, "K1", "Jansen"), "2026-1005", "99.98")
    payment = _payment(creditor, "99.99")

    match_payments(creditor, booked_by=BOOKED)

    assert _candidates(payment) == []
