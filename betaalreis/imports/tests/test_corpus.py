"""Every CSV, XLSX and UBL file of the test corpus through `betaalreis import`.

Each file either imports with the counts and totals checked here, or is
rejected with a message that states what the file is and what to do.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum

from betaalreis.imports.registry import HEAD_BYTES, importer_classes
from betaalreis.imports.tabular import TabularInvoiceImporter
from betaalreis.imports.ubl import UblImporter
from betaalreis.ledger.models import Creditor, Debtor, Invoice, InvoiceKind

from .conftest import make_corpus_supplier

# These tests check the English wording of reports and errors.
pytestmark = pytest.mark.usefixtures("english_reports")

BANK_EXPORT_MESSAGE = ("looks like a bank account export", "camt.053 or MT940")


@dataclass(frozen=True)
class Expected:
    """What importing one corpus file must do to an empty ledger."""

    invoices: int = 0
    credit_notes: int = 0
    debtors: int = 0
    open_total: str = "0"
    currency: str = "EUR"
    rejected_with: tuple[str, ...] = ()
    bank_export: bool = False
    output: tuple[str, ...] = ()
    invoice: dict[str, object] = field(default_factory=dict)
    debtor: dict[str, object] = field(default_factory=dict)


EXPECTED: dict[str, Expected] = {
    "csv/ing-nl_betaalrekening_export-2023_semicolon.csv": Expected(
        bank_export=True, rejected_with=BANK_EXPORT_MESSAGE + ("'Af Bij'",),
    ),
    "csv/oca_bank-sheet_metadata-header_debit-credit.csv": Expected(
        bank_export=True, rejected_with=BANK_EXPORT_MESSAGE + ("'Balance at end of period'",),
    ),
    "csv/oca_bank-sheet_metadata-header_debit-credit.xlsx": Expected(
        bank_export=True, rejected_with=BANK_EXPORT_MESSAGE + ("XLSX",),
    ),
    # Every row has customer number 3332 but another name, so they may be
    # four people and the file is rejected. test_open_items_export_columns
    # imports the same rows with one name.
    "csv/nl_openstaande-posten-debiteuren_export.csv": Expected(
        rejected_with=(
            "row 3, field 'Deb.nr.', value '3332': is also on row 2, but with another name "
            "('3332 Demo' on row 2, '3333 Demo' here)",
            "row 4, field 'Deb.nr.'",
            "row 5, field 'Deb.nr.'",
        ),
    ),
    # Every invoice in the Zoho export is a draft: read, grouped by invoice
    # number (13 line rows, 3 invoices) and skipped, because a draft was
    # never sent to the debtor.
    "csv/zoho_invoices_export_one-row-per-line.csv": Expected(
        output=("skipped: draft", "US$1,339.75", "INV-000001, INV-000002, INV-000003"),
    ),
    "ubl/peppol-bis3_allowances-charges_tax-currency-sek.xml": Expected(
        invoices=1, debtors=1, open_total="6125.00",
        invoice={"number": "Snippet1", "total": Decimal("7125.00"), "due_date": dt.date(2017, 12, 1),
                 "payment_reference": "Snippet1"},
        debtor={"customer_number": "4598375937", "name": "Buyer Official Name", "country": "SE",
                "contact_person": "Lisa Johnson", "email": "lj@buyer.se", "kind": "business",
                "language": "en"},
    ),
    "ubl/peppol-bis3_creditnote-correction.xml": Expected(
        credit_notes=1, debtors=1, open_total="-1656.25",
        output=("refers to an invoice with its own number",),
        invoice={"number": "Snippet1", "total": Decimal("-1656.25"), "due_date": dt.date(2017, 11, 13)},
        debtor={"customer_number": "FR23342"},
    ),
    "ubl/peppol-bis3_multi-line_vat-category-s.xml": Expected(
        invoices=1, debtors=1, open_total="8550.00",
        invoice={"number": "Snippet1", "total": Decimal("8550.00")},
    ),
    "ubl/simplerinvoicing_si-ubl-2.0_creditnote-381_two-payment-means.xml": Expected(
        credit_notes=1, debtors=1, open_total="-227.00",
        invoice={"number": "12115118", "payment_reference": "Deb. 10202 / Fact. 12115118"},
        debtor={"customer_number": "10202", "name": "Ontvanger", "kvk_number": "11111111",
                "postal_code": "1111 AA", "street": "Teststraat 123", "city": "Grotestad"},
    ),
    "ubl/simplerinvoicing_si-ubl-2.0_document-allowance.xml": Expected(
        invoices=1, debtors=1, open_total="106.00",
        invoice={"number": "12115118", "total": Decimal("106.00"), "due_date": dt.date(2015, 1, 9)},
    ),
    "ubl/simplerinvoicing_si-ubl-2.0_full-nlcius-invoice.xml": Expected(
        invoices=1, debtors=1, open_total="729.00",
        output=("no due date", "'BE54321' not stored"),
        invoice={"number": "TOSL108", "total": Decimal("1728.70"), "payment_reference": "Payref1"},
        debtor={"customer_number": "88884444", "kvk_number": "87654321"},
    ),
    "ubl/simplerinvoicing_si-ubl-2.0_minimal-invoice.xml": Expected(
        invoices=1, debtors=1, open_total="242.00",
        debtor={"customer_number": "NL1234567890", "kind": "business"},
    ),
    "ubl/simplerinvoicing_si-ubl-2.0_negative-invoice.xml": Expected(
        credit_notes=1, debtors=1, open_total="-121.00",
        invoice={"number": "12115118", "kind": InvoiceKind.CREDIT_NOTE, "payment_reference": ""},
    ),
    "ubl/simplerinvoicing_si-ubl-2.0_supplier-oin-government.xml": Expected(
        invoices=1, debtors=1, open_total="227.00",
        invoice={"number": "12115118", "total": Decimal("227.00")},
    ),
}


def test_every_corpus_file_has_an_expectation(corpus: Path) -> None:
    files = {
        f"{folder}/{path.name}"
        for folder in ("csv", "ubl")
        for path in (corpus / folder).iterdir()
        if path.is_file()
    }

    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(name for name, e in EXPECTED.items() if e.bank_export))
def test_bank_export_not_read_as_invoices(name: str, corpus: Path) -> None:
    path = corpus / name
    head = path.read_bytes()[:HEAD_BYTES]

    assert not TabularInvoiceImporter.detect(path, head)
    assert not UblImporter.detect(path, head)
    description = TabularInvoiceImporter.describe(path, head) or ""
    for fragment in EXPECTED[name].rejected_with:
        assert fragment in description


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file(name: str, creditor: Creditor, corpus: Path) -> None:
    expected = EXPECTED[name]
    output = io.StringIO()
    if name.startswith("ubl/"):
        make_corpus_supplier(creditor)
    arguments = ["import", str(corpus / name), "--creditor", creditor.slug]
    bank_importer_takes_it = expected.bank_export and _bank_importer_detects(corpus / name)

    if expected.rejected_with and not bank_importer_takes_it:
        with pytest.raises(CommandError):
            call_command(*arguments, stdout=output)
        for fragment in expected.rejected_with:
            assert fragment in output.getvalue()
    elif bank_importer_takes_it:
        # Whether the bank importer accepts the file is its own test.
        with contextlib.suppress(CommandError):
            call_command(*arguments, stdout=output)
        assert "invoice table" not in output.getvalue()
    else:
        call_command(*arguments, stdout=output)

    text = output.getvalue()
    for fragment in expected.output:
        assert fragment in text
    invoices = Invoice.objects.filter(creditor=creditor)
    assert invoices.filter(kind=InvoiceKind.INVOICE).count() == expected.invoices
    assert invoices.filter(kind=InvoiceKind.CREDIT_NOTE).count() == expected.credit_notes
    assert Debtor.objects.filter(creditor=creditor).count() == expected.debtors
    open_total = invoices.aggregate(total=Sum("open_amount"))["total"] or Decimal("0")
    assert open_total == Decimal(expected.open_total)
    assert all(invoice.currency == expected.currency for invoice in invoices)

    if expected.invoice:
        invoice = invoices.get(number=expected.invoice["number"])
        for name_, value in expected.invoice.items():
            assert getattr(invoice, name_) == value, name_
    if expected.debtor:
        debtor = Debtor.objects.get(creditor=creditor, customer_number=expected.debtor["customer_number"])
        for name_, value in expected.debtor.items():
            assert getattr(debtor, name_) == value, name_


def test_open_items_export_columns(creditor: Creditor, corpus: Path, tmp_path: Path) -> None:
    text = (corpus / "csv/nl_openstaande-posten-debiteuren_export.csv").read_text(encoding="utf-8")
    path = tmp_path / "one_name.csv"
    path.write_text(text.replace(",3333 Demo,", ",3332 Demo,").replace(",3334 Demo,", ",3332 Demo,")
                    .replace(",3335 Demo,", ",3332 Demo,"), encoding="utf-8")

    call_command("import", str(path), "--creditor", creditor.slug, stdout=io.StringIO())

    invoices = Invoice.objects.filter(creditor=creditor)
    assert invoices.count() == 4
    assert invoices.aggregate(total=Sum("open_amount"))["total"] == Decimal("103812.21")
    invoice = invoices.get(number="21004841")
    assert invoice.total == Decimal("4965.80")
    assert invoice.issue_date == dt.date(2024, 2, 8)
    assert invoice.due_date == dt.date(2024, 2, 22)
    assert invoice.description == "Zorgverzekeringswet - 2024-01-01 / 2024-01-31"
    debtor = Debtor.objects.get(creditor=creditor)
    assert (debtor.customer_number, debtor.name, debtor.kind) == ("3332", "3332 Demo", "consumer")


def _bank_importer_detects(path: Path) -> bool:
    """Return whether a bank statement importer in the settings reads this file.

    Such a file is the bank importer's to test; here it only must not
    become invoices.
    """
    head = path.read_bytes()[:HEAD_BYTES]
    return any(
        importer.detect(path, head)
        for importer in importer_classes()
        if importer not in (TabularInvoiceImporter, UblImporter)
    )


@pytest.mark.parametrize("name", sorted(name for name, e in EXPECTED.items() if not e.rejected_with))
def test_corpus_reimport_changes_nothing(name: str, creditor: Creditor, corpus: Path) -> None:
    if name.startswith("ubl/"):
        make_corpus_supplier(creditor)
    arguments = ["import", str(corpus / name), "--creditor", creditor.slug]
    call_command(*arguments, stdout=io.StringIO())
    before = list(Invoice.objects.values_list("number", "open_amount", "status", "updated_at"))

    output = io.StringIO()
    call_command(*arguments, stdout=output)

    assert list(Invoice.objects.values_list("number", "open_amount", "status", "updated_at")) == before
    assert "invoices new" in output.getvalue()
    assert Invoice.objects.filter(timeline__kind="invoice_changed").count() == 0
