"""A file that changes the amounts of an invoice Betaalreis already allocated money to.

The books may raise a total after the debtor paid, or may not have booked a
payment that Betaalreis matched yet. The open amount is the file's total less
what was received, counting a payment both saw once.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from betaalreis.dunning.run import run_cycle
from betaalreis.ledger.actions import do_allocate_payment, unallocated_amount
from betaalreis.ledger.models import (
    Creditor,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentSource,
    TimelineEvent,
    TimelineKind,
)

pytestmark = pytest.mark.usefixtures("english_reports")

WriteFile = Callable[..., Path]

HEADER = "Factuurnummer;Relatie;Naam;Factuurdatum;Vervaldatum;Bedrag;Openstaand\n"
FIRST = HEADER + "F105;1004;Piet Jansen;01-11-2026;01-12-2026;45,00;45,00\n"
# The books raised the total to 60,00 and have not booked Piet's payment.
RAISED = HEADER + "F105;1004;Piet Jansen;01-11-2026;01-12-2026;60,00;60,00\n"
# The books raised the total and booked the payment of 45,00.
RAISED_AND_BOOKED = HEADER + "F105;1004;Piet Jansen;01-11-2026;01-12-2026;60,00;15,00\n"
TOTAL_ONLY = "Factuurnummer;Relatie;Naam;Factuurdatum;Vervaldatum;Bedrag\n"


def _import(path: Path) -> str:
    output = io.StringIO()
    call_command("import", str(path), "--creditor", "acme", stdout=output)
    return output.getvalue()


def _invoice() -> Invoice:
    return Invoice.objects.get(number="F105")


def _pay(amount: str) -> Payment:
    """Book a bank payment by the debtor of F105 and apply it to F105; the rest stays credit."""
    invoice = _invoice()
    payment = Payment.objects.create(
        creditor=invoice.creditor, debtor=invoice.debtor, source=PaymentSource.BANK,
        external_id=f"bank-{amount}", booking_date=dt.date(2026, 12, 8), amount=Decimal(amount),
    )
    do_allocate_payment(payment, [invoice], source="test", reason="invoice number in remittance")
    return payment


@pytest.fixture
def paid(creditor: Creditor, write_file: WriteFile) -> Payment:
    """F105 of 45,00 imported and paid with 100,00, so 55,00 is the debtor's credit."""
    _import(write_file("first.csv", FIRST))
    payment = _pay("100.00")
    assert _invoice().status == InvoiceStatus.PAID
    return payment


def test_raised_total_reopens_shortfall(paid: Payment, write_file: WriteFile) -> None:
    output = _import(write_file("raised.csv", RAISED))

    invoice = _invoice()
    assert invoice.total == Decimal("60.00")
    assert invoice.open_amount == Decimal("15.00")
    assert invoice.status == InvoiceStatus.OPEN
    assert "of which the books have not booked 45.00 yet. The open amount is now 15.00" in output
    assert "Invoice F105 is open again (15.00)" in output


def test_raised_total_on_timeline(paid: Payment, write_file: WriteFile) -> None:
    _import(write_file("raised.csv", RAISED))

    event = TimelineEvent.objects.get(kind=TimelineKind.INVOICE_CHANGED, invoice__number="F105")
    assert event.data["changes"]["total"] == {"old": "45.00", "new": "60.00"}
    assert event.data["changes"]["open_amount"] == {"old": "0.00", "new": "15.00"}
    assert event.data["changes"]["status"] == {"old": InvoiceStatus.PAID, "new": InvoiceStatus.OPEN}
    assert "totaal €\xa045,00 → €\xa060,00" in event.summary
    assert "weer open" in event.summary


def test_raised_total_imported_twice(paid: Payment, write_file: WriteFile) -> None:
    _import(write_file("raised.csv", RAISED))

    output = _import(write_file("raised.csv", RAISED))

    assert _invoice().open_amount == Decimal("15.00")
    assert TimelineEvent.objects.filter(kind=TimelineKind.INVOICE_CHANGED).count() == 1
    assert "open again" not in output


def test_next_run_applies_credit(paid: Payment, write_file: WriteFile, betaalreis_home: Path) -> None:
    _import(write_file("raised.csv", RAISED))

    run_cycle(dt.date(2026, 12, 9), _invoice().creditor, dispatch_messages=False)

    invoice = _invoice()
    assert invoice.open_amount == Decimal("0.00")
    assert invoice.status == InvoiceStatus.PAID
    assert unallocated_amount(paid) == Decimal("40.00")


def test_raised_total_after_run_imported_again(
    paid: Payment, write_file: WriteFile, betaalreis_home: Path
) -> None:
    _import(write_file("raised.csv", RAISED))
    run_cycle(dt.date(2026, 12, 9), _invoice().creditor, dispatch_messages=False)

    _import(write_file("raised.csv", RAISED))

    assert _invoice().open_amount == Decimal("0.00")
    assert _invoice().status == InvoiceStatus.PAID


def test_books_booked_payment(paid: Payment, write_file: WriteFile) -> None:
    output = _import(write_file("booked.csv", RAISED_AND_BOOKED))

    assert _invoice().open_amount == Decimal("15.00")
    assert "have not booked" not in output


def test_total_only_file_subtracts_allocations(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("first.csv", TOTAL_ONLY + "F105;1004;Piet Jansen;01-11-2026;01-12-2026;45,00\n"))
    _pay("45.00")

    _import(write_file("raised.csv", TOTAL_ONLY + "F105;1004;Piet Jansen;01-11-2026;01-12-2026;60,00\n"))

    assert _invoice().open_amount == Decimal("15.00")
    assert _invoice().status == InvoiceStatus.OPEN


def test_unbooked_payment_not_reopened(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("first.csv", FIRST))
    _pay("45.00")

    _import(write_file("same.csv", FIRST.replace("01-11-2026", "02-11-2026")))

    assert _invoice().open_amount == Decimal("0.00")
    assert _invoice().status == InvoiceStatus.PAID


def test_total_below_received_noted(paid: Payment, write_file: WriteFile) -> None:
    output = _import(write_file("lowered.csv", FIRST.replace("45,00;45,00", "40,00;40,00")))

    assert _invoice().open_amount == Decimal("0.00")
    assert _invoice().status == InvoiceStatus.PAID
    assert "5.00 more than the new total 40.00" in output


def test_rejected_file_changes_nothing(paid: Payment, write_file: WriteFile) -> None:
    bad_row = "F106;1004;Piet Jansen;01-11-2026;31-02-2026;10,00;10,00\n"

    with pytest.raises(CommandError):
        _import(write_file("raised.csv", RAISED + bad_row))

    invoice = _invoice()
    assert invoice.total == Decimal("45.00")
    assert invoice.open_amount == Decimal("0.00")
    assert invoice.status == InvoiceStatus.PAID
