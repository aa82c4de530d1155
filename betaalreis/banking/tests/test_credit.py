"""Debtor credit: the rest of an overpayment pays the debtor's later invoices in the daily run."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from betaalreis.banking.credit import apply_credit, is_large_overpayment
from betaalreis.banking.samples import SampleEntry
from betaalreis.dunning.run import apply_payments
from betaalreis.ledger.actions import unallocated_amount
from betaalreis.ledger.models import Invoice, Payment, TimelineEvent

from .helpers import import_entries, make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def credit(tmp_path: Path):
    """Emma Mulder overpaid an EUR 45 invoice by EUR 5, then got a new EUR 20 invoice."""
    creditor = make_creditor()
    emma = make_debtor(creditor, "D008", "Emma Mulder")
    make_invoice(emma, "2026-1009", "45.00")
    import_entries(tmp_path, [SampleEntry(Decimal("50.00"), name="Emma Mulder", remittance="2026-1009")])
    payment = Payment.objects.get()
    later = make_invoice(emma, "2026-1300", "20.00", due=dt.date(2026, 12, 10))
    return creditor, emma, payment, later


def test_credit_pays_later_invoice(credit):
    creditor, emma, payment, later = credit
    assert unallocated_amount(payment) == Decimal("5.00")

    result = apply_credit(creditor)

    later.refresh_from_db()
    assert later.open_amount == Decimal("15.00")
    assert unallocated_amount(payment) == Decimal("0.00")
    assert result.amounts == {"EUR": Decimal("5.00")}
    assert TimelineEvent.objects.filter(debtor=emma, summary__startswith="Tegoed").exists()


def test_credit_applied_once(credit):
    creditor, _, _, later = credit
    apply_credit(creditor)

    again = apply_credit(creditor)

    later.refresh_from_db()
    assert again.payments == 0
    assert later.open_amount == Decimal("15.00")


def test_run_applies_credit(credit):
    creditor, _, _, later = credit

    applied = apply_payments(creditor)

    assert applied.credit_applied == {"EUR": Decimal("5.00")}
    assert Invoice.objects.get(pk=later.pk).open_amount == Decimal("15.00")


def test_credit_oldest_due_first(credit):
    creditor, emma, _, later = credit
    older = make_invoice(emma, "2026-1299", "3.00", due=dt.date(2026, 11, 20))

    apply_credit(creditor)

    assert Invoice.objects.get(pk=older.pk).open_amount == Decimal("0.00")
    assert Invoice.objects.get(pk=later.pk).open_amount == Decimal("18.00")


def test_credit_not_used_across_creditors(credit, tmp_path: Path):
    _, _, _, later = credit
    other = make_creditor("other", iban="NL39RABO0300065264")

    result = apply_credit(other)

    assert result.payments == 0
    assert Invoice.objects.get(pk=later.pk).open_amount == Decimal("20.00")


@pytest.mark.parametrize("amount,open_amount,large", [
    ("5000.00", "50.00", True),
    ("110.00", "50.00", False),
    ("300.00", "200.00", False),
    ("500.00", "200.00", True),
])
def test_is_large_overpayment(amount, open_amount, large):
    assert is_large_overpayment(Decimal(amount), Decimal(open_amount)) is large


def test_credit_skips_handed_over_invoice(credit):
    creditor, emma, payment, later = credit
    Invoice.objects.filter(pk=later.pk).update(status="handed_over")

    result = apply_credit(creditor)

    later.refresh_from_db()
    assert result.payments == 0
    assert later.open_amount == Decimal("20.00")
    assert later.status == "handed_over"
    assert unallocated_amount(payment) == Decimal("5.00")
