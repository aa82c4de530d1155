"""XLSX invoice exports whose cells are formulas without a stored result.

openpyxl writes a formula without its result, as many export scripts do,
so every workbook saved here has such cells. Excel and LibreOffice store
the result when they save.
"""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from betaalreis.imports.registry import ImportRejected, find_importer
from betaalreis.imports.tabular import TabularInvoiceImporter
from betaalreis.ledger.models import Creditor, Debtor, Invoice

# These tests check the English wording of reports and errors.
pytestmark = pytest.mark.usefixtures("english_reports")

HEADERS = ["Factuurnummer", "Klantnummer", "Naam", "Factuurdatum", "Vervaldatum", "Bedrag", "Openstaand", "Soort"]
GOOD_ROW = ["5001", "501", "Vaste Vera", "2026-09-01", "2026-09-15", 80, 80, "particulier"]
FORMULA_ROW = ["5003", "502", "Formula Fien", "2026-09-02", "2026-09-16", "=10*12.5", "=F3", "zakelijk"]


def save_workbook(path: Path, rows: list[list[object]]) -> Path:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)
    return path


def rejected(path: Path, creditor: Creditor) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        TabularInvoiceImporter().run(path, creditor)
    return caught.value


def test_formula_file_detected_as_invoices(tmp_path: Path) -> None:
    path = save_workbook(tmp_path / "formules.xlsx", [HEADERS, FORMULA_ROW])

    assert find_importer(path) is TabularInvoiceImporter


def test_command_names_row_and_fields(creditor: Creditor, tmp_path: Path) -> None:
    path = save_workbook(tmp_path / "formules.xlsx", [HEADERS, GOOD_ROW, FORMULA_ROW])
    output = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import", str(path), "--creditor", "acme", stdout=output)

    report = output.getvalue()
    assert "formules.xlsx: rejected, nothing was imported." in report
    assert (
        "row 3, field 'Bedrag', value '=10*12.5': cell F3 contains a formula without a calculated value; "
        "open the file in Excel or LibreOffice, let it recalculate and save it again as XLSX, or export "
        "the values instead of the formulas"
    ) in report
    assert "row 3, field 'Openstaand', value '=F3': cell G3 contains a formula" in report
    assert "unknown file format" not in report
    assert "--mapping" not in report


def test_formula_file_imports_nothing(creditor: Creditor, tmp_path: Path) -> None:
    path = save_workbook(tmp_path / "formules.xlsx", [HEADERS, GOOD_ROW, FORMULA_ROW])

    error = rejected(path, creditor)

    assert [(problem.row, problem.field) for problem in error.errors] == [(3, "Bedrag"), (3, "Openstaand")]
    assert Invoice.objects.count() == 0
    assert Debtor.objects.count() == 0


def test_formula_replaces_missing_error(creditor: Creditor, tmp_path: Path) -> None:
    # The due date is required, but its cell only reads as empty, so "missing" would mislead.
    row = ["5004", "503", "Datum Dirk", "2026-09-02", '="2026-09-"&"16"', 50, 50, "particulier"]
    path = save_workbook(tmp_path / "datum.xlsx", [HEADERS, row])

    error = rejected(path, creditor)

    assert len(error.errors) == 1
    assert error.errors[0].field == "Vervaldatum"
    assert error.errors[0].value == '="2026-09-"&"16"'
    assert "cell E2 contains a formula without a calculated value" in error.errors[0].problem


def test_row_of_formulas_not_skipped(creditor: Creditor, tmp_path: Path) -> None:
    # Every cell of row 3 reads as empty, so without the formulas it would look like a blank row.
    formulas = ['="F-"&"2"', "=B2", "=C2", "=D2", "=E2", "=F2", "=G2", "=H2"]
    path = save_workbook(tmp_path / "alles.xlsx", [HEADERS, GOOD_ROW, formulas])

    error = rejected(path, creditor)

    assert {problem.row for problem in error.errors} == {3}
    assert {problem.field for problem in error.errors} == set(HEADERS)
    assert Invoice.objects.count() == 0


def test_formula_in_unread_column_ignored(creditor: Creditor, tmp_path: Path) -> None:
    headers = [*HEADERS, "Opmerking"]
    path = save_workbook(tmp_path / "opmerking.xlsx", [headers, [*GOOD_ROW, '="bel "&"later"']])

    report = TabularInvoiceImporter().run(path, creditor)

    assert report.counts["invoices new"] == 1
    assert Invoice.objects.get().number == "5001"


def test_totals_row_formula_skipped(creditor: Creditor, tmp_path: Path) -> None:
    second = ["5002", "502", "Tweede Tom", "2026-09-01", "2026-09-15", 20, 20, "particulier"]
    totals = ["Totaal", None, None, None, None, "=SUM(F2:F3)", "=SUM(G2:G3)", None]
    path = save_workbook(tmp_path / "totaal.xlsx", [HEADERS, GOOD_ROW, second, totals])

    report = TabularInvoiceImporter().run(path, creditor)

    assert report.counts["invoices new"] == 2
    assert "Row 4 is a totals row and was not imported." in report.notes


def test_formula_header_named(creditor: Creditor, tmp_path: Path) -> None:
    # The due date header reads as empty, so the header row lacks a required column.
    headers = [*HEADERS[:4], '="Verval"&"datum"', *HEADERS[5:]]
    path = save_workbook(tmp_path / "kop.xlsx", [headers, GOOD_ROW])

    error = rejected(path, creditor)

    assert error.errors[0].row is None
    assert error.errors[0].problem.startswith(
        'cell E1 (="Verval"&"datum") contains a formula without a calculated value'
    )
    assert any(problem.field == "due date" for problem in error.errors[1:])


def test_problem_in_dutch(creditor: Creditor, tmp_path: Path) -> None:
    path = save_workbook(tmp_path / "formules.xlsx", [HEADERS, FORMULA_ROW])

    with translation.override("nl"):
        error = rejected(path, creditor)
        text = str(error.errors[0])

    assert text.startswith("rij 2, veld 'Bedrag', waarde '=10*12.5': cel F2 bevat een formule zonder berekende waarde")
