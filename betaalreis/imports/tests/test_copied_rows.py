"""A row that repeats an earlier row cell for cell is imported once and named in the report."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from betaalreis.imports.tabular import TabularInvoiceImporter
from betaalreis.ledger.models import Creditor, Invoice

pytestmark = pytest.mark.usefixtures("english_reports")

WriteFile = Callable[..., Path]

HEADER = "Factuurnummer;Klantnummer;Naam;Vervaldatum;Bedrag;Openstaand;Omschrijving"
ROWS = [
    "A-1001;K1;Jan de Vries;15-09-2026;1.234,56;1.234,56;Brood",
    "A-1002;K2;Piet Jansen;15-10-2026;250,00;250,00;Taart",
    "A-1003;K3;John Smith;15-08-2026;300,00;300,00;Koek",
]


def test_copied_csv_row_named(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("dubbel.csv", "\n".join([HEADER, *ROWS, ROWS[0]]) + "\n")

    report = TabularInvoiceImporter().run(path, creditor)

    assert report.counts["rows"] == 4
    assert report.counts["invoices new"] == 3
    assert "1 row is an exact copy of an earlier row and was imported once: row 5 equals row 2." in report.notes
    assert Invoice.objects.get(number="A-1001").open_amount == Decimal("1234.56")


def test_several_copies_named_in_one_note(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("dubbel.csv", "\n".join([HEADER, *ROWS, ROWS[1], ROWS[0], ROWS[1]]) + "\n")

    report = TabularInvoiceImporter().run(path, creditor)

    assert (
        "3 rows are exact copies of earlier rows and were imported once: "
        "row 5 equals row 3, row 6 equals row 2, row 7 equals row 3."
    ) in report.notes
    assert Invoice.objects.count() == 3


def test_invoice_lines_not_called_copies(creditor: Creditor, write_file: WriteFile) -> None:
    # Two lines of one invoice differ in their description, so neither is a copy.
    line = ROWS[0].replace("Brood", "Bezorging")
    path = write_file("regels.csv", "\n".join([HEADER, *ROWS, line]) + "\n")

    report = TabularInvoiceImporter().run(path, creditor)

    assert not [note for note in report.notes if "exact cop" in note]
    assert Invoice.objects.count() == 3


def test_copied_xlsx_row_named(creditor: Creditor, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Factuurnummer", "Klantnummer", "Naam", "Vervaldatum", "Bedrag", "Openstaand"])
    row = ["A-1001", "K1", "Jan de Vries", "15-09-2026", 1234.56, 1234.56]
    sheet.append(row)
    sheet.append(["A-1002", "K2", "Piet Jansen", "15-10-2026", 250, 250])
    sheet.append(row)
    path = tmp_path / "dubbel.xlsx"
    workbook.save(path)

    report = TabularInvoiceImporter().run(path, creditor)

    assert "1 row is an exact copy of an earlier row and was imported once: row 4 equals row 2." in report.notes
    assert Invoice.objects.count() == 2
