"""Payments on handed-over invoices go to review, so no costs or interest are waived unseen."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from betaalreis.banking.matching import match_payments
from betaalreis.banking.models import MatchCandidate
from betaalreis.ledger.models import (
    Allocation,
    DebtorKind,
    InvoiceStatus,
    Payment,
    PaymentSource,
    PaymentStatus,
    TimelineEvent,
)

from .helpers import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

BOOKED = dt.date(2026, 12, 3)


def _payment(creditor, amount: str, text: str) -> Payment:
    return Payment.objects.create(
        creditor=creditor, source=PaymentSource.BANK, external_id=f"H-{amount}-{text}", booking_date=BOOKED,
        amount=Decimal(amount), remittance_info=text,
    )


@pytest.fixture
def handed_over():
    creditor = make_creditor()
    debtor = make_debtor(creditor, "K1", "Bakker Bouw B.V.")
    debtor.kind = DebtorKind.BUSINESS
    debtor.save(update_fields=["kind"])
    invoice = make_invoice(
        debtor, "2026-1004", "12500.00", due=dt.date(2026, 8, 31), status=InvoiceStatus.HANDED_OVER
    )
    return creditor, debtor, invoice


def test_principal_payment_goes_to_review(handed_over):
    creditor, debtor, invoice = handed_over
    payment = _payment(creditor, "12500.00", "fact 2026-1004")

    report = match_payments(creditor, booked_by=BOOKED)

    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert report.review == 1
    assert report.matched == 0
    assert payment.status == PaymentStatus.REVIEW
    assert "handed over to the collection agency" in payment.match_reason
    assert invoice.status == InvoiceStatus.HANDED_OVER
    assert invoice.open_amount == Decimal("12500.00")
    assert not Allocation.objects.filter(payment=payment).exists()
    assert not TimelineEvent.objects.filter(invoice=invoice, data__reason="charges_waived").exists()
    (candidate,) = MatchCandidate.objects.filter(payment=payment)
    assert candidate.debtor_id == debtor.pk
    assert list(candidate.invoices.values_list("number", flat=True)) == ["2026-1004"]


def test_open_invoice_of_same_debtor_still_matched(handed_over):
    creditor, debtor, _ = handed_over
    open_invoice = make_invoice(debtor, "2026-1010", "250.00")
    payment = _payment(creditor, "250.00", "factuur 2026-1010")

    report = match_payments(creditor, booked_by=BOOKED)

    payment.refresh_from_db()
    open_invoice.refresh_from_db()
    assert report.matched == 1
    assert payment.status == PaymentStatus.MATCHED
    assert open_invoice.status == InvoiceStatus.PAID


def test_long_review_reason_kept_whole():
    creditor = make_creditor()
    debtor = make_debtor(creditor, "K1", "Bakker Bouw B.V.")
    numbers = [f"2026-10{index:02d}" for index in range(12)]
    for number in numbers:
        make_invoice(debtor, number, "100.00", due=dt.date(2026, 8, 31), status=InvoiceStatus.HANDED_OVER)
    payment = _payment(creditor, "1200.00", "facturen " + " ".join(numbers))

    match_payments(creditor, booked_by=BOOKED)

    (candidate,) = MatchCandidate.objects.filter(payment=payment)
    candidate.refresh_from_db()
    assert len(candidate.reason) > 300
    assert candidate.reason.endswith("because booking only the principal waives the costs and interest")
    assert candidate.reason.count("2026-1011") == 2
    payment.refresh_from_db()
    assert len(payment.match_reason) > 300
    assert payment.match_reason.endswith("because booking only the principal waives the costs and interest")
