"""`import --open-items`: a complete open-items list settles what it leaves out."""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from betaalreis.ledger.models import Creditor, Invoice, InvoiceStatus, TimelineEvent, TimelineKind
from betaalreis.testing import CORPUS_DIR

# These tests check the English wording of reports and errors.
pytestmark = pytest.mark.usefixtures("english_reports")

WriteFile = Callable[..., Path]

HEADER = "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Openstaand\n"
THREE_OPEN = HEADER + (
    "F1;D1;Een;01-03-2025;10,00\n"
    "F2;D1;Een;01-03-2025;20,00\n"
    "F3;D2;Twee;01-03-2025;30,00\n"
)
F1_AND_F3 = HEADER + "F1;D1;Een;01-03-2025;10,00\nF3;D2;Twee;01-03-2025;30,00\n"


def _import(path: Path, *options: str) -> str:
    output = io.StringIO()
    call_command("import", str(path), "--creditor", "acme", *options, stdout=output)
    return output.getvalue()


def _status(number: str) -> tuple[str, Decimal]:
    invoice = Invoice.objects.get(number=number)
    return invoice.status, invoice.open_amount


def test_missing_invoice_settled(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("week1.csv", THREE_OPEN))

    output = _import(write_file("week2.csv", F1_AND_F3), "--open-items")

    assert _status("F2") == (InvoiceStatus.PAID, Decimal("0.00"))
    assert _status("F1") == (InvoiceStatus.OPEN, Decimal("10.00"))
    assert _status("F3") == (InvoiceStatus.OPEN, Decimal("30.00"))
    assert "invoices settled (not in open items)" in output
    assert "settled, not in open items (EUR)" in output
    event = TimelineEvent.objects.get(invoice__number="F2", kind=TimelineKind.INVOICE_CHANGED)
    assert event.data["reason"] == "missing_from_open_items"
    assert event.data["changes"]["open_amount"] == {"old": "20.00", "new": "0.00"}
    assert "niet meer in de openstaande posten" in event.summary


def test_without_option_nothing_settled(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("week1.csv", THREE_OPEN))

    _import(write_file("week2.csv", F1_AND_F3))

    assert _status("F2") == (InvoiceStatus.OPEN, Decimal("20.00"))


def test_dry_run_settles_nothing(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("week1.csv", THREE_OPEN))

    output = _import(write_file("week2.csv", F1_AND_F3), "--open-items", "--dry-run")

    assert "invoices settled (not in open items)" in output
    assert _status("F2") == (InvoiceStatus.OPEN, Decimal("20.00"))
    assert not TimelineEvent.objects.filter(kind=TimelineKind.INVOICE_CHANGED).exists()


def test_same_list_twice_changes_nothing(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("week1.csv", THREE_OPEN))
    week2 = write_file("week2.csv", F1_AND_F3)
    _import(week2, "--open-items")
    events = TimelineEvent.objects.count()

    output = _import(week2, "--open-items")

    assert "invoices settled" not in output
    assert TimelineEvent.objects.count() == events


def test_listed_again_reopens(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("week1.csv", THREE_OPEN))
    _import(write_file("week2.csv", F1_AND_F3), "--open-items")

    _import(write_file("week3.csv", THREE_OPEN), "--open-items")

    assert _status("F2") == (InvoiceStatus.OPEN, Decimal("20.00"))


def test_plan_and_handover_kept(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("week1.csv", THREE_OPEN))
    Invoice.objects.filter(number="F2").update(status=InvoiceStatus.PAYMENT_PLAN)
    Invoice.objects.filter(number="F3").update(status=InvoiceStatus.HANDED_OVER)
    only_f1 = HEADER + "F1;D1;Een;01-03-2025;10,00\n"

    output = _import(write_file("week2.csv", only_f1), "--open-items")

    assert _status("F2") == (InvoiceStatus.PAYMENT_PLAN, Decimal("20.00"))
    assert _status("F3") == (InvoiceStatus.HANDED_OVER, Decimal("30.00"))
    assert "Invoice F2 is not in the open items but has status" in output
    assert "Invoice F3 is not in the open items but has status" in output


def test_disputed_invoice_settled(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("week1.csv", THREE_OPEN))
    Invoice.objects.filter(number="F2").update(status=InvoiceStatus.DISPUTED)

    _import(write_file("week2.csv", F1_AND_F3), "--open-items")

    assert _status("F2") == (InvoiceStatus.PAID, Decimal("0.00"))


def test_other_creditor_untouched(creditor: Creditor, write_file: WriteFile) -> None:
    other = Creditor.objects.create(slug="other", legal_name="Other B.V.", iban="NL20INGB0001234567")
    call_command(
        "import", str(write_file("other.csv", THREE_OPEN)), "--creditor", "other", stdout=io.StringIO()
    )
    _import(write_file("week1.csv", THREE_OPEN))

    _import(write_file("week2.csv", F1_AND_F3), "--open-items")

    other_f2 = Invoice.objects.get(creditor=other, number="F2")
    assert other_f2.status == InvoiceStatus.OPEN
    assert other_f2.open_amount == Decimal("20.00")


def test_rejected_file_settles_nothing(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("week1.csv", THREE_OPEN))
    bad = write_file("week2.csv", HEADER + "F1;D1;Een;31-02-2025;10,00\n")

    with pytest.raises(CommandError):
        _import(bad, "--open-items")

    assert _status("F2") == (InvoiceStatus.OPEN, Decimal("20.00"))


def test_two_files_rejected(creditor: Creditor, write_file: WriteFile) -> None:
    first = write_file("a.csv", THREE_OPEN)
    second = write_file("b.csv", F1_AND_F3)

    with pytest.raises(CommandError, match="--open-items takes exactly one file"):
        call_command("import", str(first), str(second), "--open-items", stdout=io.StringIO())

    assert not Invoice.objects.exists()


def test_ubl_file_rejected(creditor: Creditor, write_file: WriteFile) -> None:
    ubl = sorted((CORPUS_DIR / "ubl").glob("*.xml"))[0]
    output = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import", str(ubl), "--creditor", "acme", "--open-items", stdout=output)

    assert "--open-items needs a CSV/XLSX list of all open items" in output.getvalue()
    assert not Invoice.objects.exists()


def test_cancelled_row_written_off(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("week1.csv", THREE_OPEN))
    with_status = (
        "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Openstaand;Status\n"
        "F1;D1;Een;01-03-2025;10,00;open\n"
        "F2;D1;Een;01-03-2025;20,00;Geannuleerd\n"
        "F3;D2;Twee;01-03-2025;30,00;open\n"
    )

    output = _import(write_file("week2.csv", with_status), "--open-items")

    assert _status("F2") == (InvoiceStatus.WRITTEN_OFF, Decimal("0.00"))
    assert _status("F1") == (InvoiceStatus.OPEN, Decimal("10.00"))
    event = TimelineEvent.objects.get(invoice__number="F2", kind=TimelineKind.INVOICE_CHANGED)
    assert event.data["reason"] == "cancelled_in_open_items"
    assert "Settled because the open items leave them out or cancel them: F2." in output


def test_file_without_known_invoices_rejected(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("week1.csv", THREE_OPEN))
    other_ledger = HEADER + "X9;D9;Negen;01-03-2025;90,00\n"
    output = io.StringIO()

    with pytest.raises(CommandError):
        call_command(
            "import", str(write_file("other.csv", other_ledger)), "--creditor", "acme",
            "--open-items", stdout=output,
        )

    assert "would settle all 3 open invoices of creditor 'acme'" in output.getvalue()
    assert _status("F2") == (InvoiceStatus.OPEN, Decimal("20.00"))
    assert not Invoice.objects.filter(number="X9").exists()


def test_settled_numbers_named(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("week1.csv", THREE_OPEN))

    output = _import(write_file("week2.csv", F1_AND_F3), "--open-items", "--dry-run")

    assert "Settled because the open items leave them out or cancel them: F2." in output


ZERO_PADDED = HEADER + "0012;000481;Een;01-03-2025;10,00\n0013;000481;Een;01-03-2025;20,00\n"
# The same list after a round trip through Excel, which reads both columns as numbers.
ZEROS_DROPPED = HEADER + "12;481;Een;01-03-2025;10,00\n"


def test_dropped_zeros_match_ledger(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("week1.csv", ZERO_PADDED))

    output = _import(write_file("week2.csv", ZEROS_DROPPED), "--open-items")

    assert _status("0012") == (InvoiceStatus.OPEN, Decimal("10.00"))
    assert _status("0013") == (InvoiceStatus.PAID, Decimal("0.00"))
    assert not Invoice.objects.filter(number="12").exists()
    assert Invoice.objects.get(number="0012").debtor.customer_number == "000481"
    assert "Invoice number 12 in the file is read as invoice 0012" in output
    assert "Customer number 481 in the file is read as debtor 000481" in output


def test_padded_file_matches_ledger(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("week1.csv", ZEROS_DROPPED))

    _import(write_file("week2.csv", ZERO_PADDED))

    assert sorted(Invoice.objects.values_list("number", flat=True)) == ["0013", "12"]
    assert Invoice.objects.get(number="0013").debtor.customer_number == "481"


def test_both_forms_stay_apart(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("week1.csv", ZERO_PADDED))

    _import(write_file("week2.csv", ZERO_PADDED + "12;000481;Een;01-03-2025;5,00\n"), "--open-items")

    assert _status("0012") == (InvoiceStatus.OPEN, Decimal("10.00"))
    assert _status("12") == (InvoiceStatus.OPEN, Decimal("5.00"))


def test_ambiguous_dropped_zeros_rejected(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("week1.csv", ZERO_PADDED + "012;000481;Een;01-03-2025;7,00\n"))

    output = io.StringIO()

    with pytest.raises(CommandError):
        call_command(
            "import", str(write_file("week2.csv", ZEROS_DROPPED)), "--creditor", "acme",
            "--open-items", stdout=output,
        )

    assert "equals ledger invoices 0012 and 012" in output.getvalue()
    assert _status("0012") == (InvoiceStatus.OPEN, Decimal("10.00"))
    assert not Invoice.objects.filter(number="12").exists()


def test_other_name_rejected(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("week1.csv", ZERO_PADDED))
    output = io.StringIO()

    with pytest.raises(CommandError):
        call_command(
            "import", str(write_file("week2.csv", HEADER + "N1;481;Totaal Ander;01-03-2025;5,00\n")),
            "--creditor", "acme", stdout=output,
        )

    assert "is equal to debtor 000481 in Betaalreis without leading zeros" in output.getvalue()
    assert list(Creditor.objects.get().debtors.values_list("customer_number", flat=True)) == ["000481"]
    assert not Invoice.objects.filter(number="N1").exists()


def test_missing_charged_invoice_records_waiver(creditor: Creditor, write_file: WriteFile) -> None:
    from betaalreis.dunning.models import InvoiceStage
    from betaalreis.dunning.policies import seed_default_policies

    _import(write_file("week1.csv", THREE_OPEN))
    seed_default_policies(creditor)
    f2 = Invoice.objects.get(number="F2")
    # F2 has been overdue since March 2025, so its final notice states interest.
    InvoiceStage.objects.create(invoice=f2, stage="final_notice", stage_date=f2.due_date)

    _import(write_file("week2.csv", F1_AND_F3), "--open-items")

    waived = TimelineEvent.objects.get(invoice=f2, data__reason="charges_waived")
    assert waived.data["closed_by"] == "import"
    assert Decimal(waived.data["interest"]) > Decimal("0.00")
    assert not TimelineEvent.objects.filter(invoice__number="F1", data__reason="charges_waived").exists()
