"""The column for a debtor's agreement to electronic communication, in CSV and XLSX imports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from betaalreis.imports.registry import ImportRejected
from betaalreis.imports.tabular import TabularInvoiceImporter
from betaalreis.ledger.models import Creditor, Debtor

pytestmark = pytest.mark.usefixtures("english_reports")

WriteFile = Callable[..., Path]


def agreement_of(number: str) -> bool:
    return Debtor.objects.get(customer_number=number).electronic_agreement


@pytest.mark.parametrize("header", [
    "Akkoord met elektronische communicatie",
    "Akkoord e-mail",
    "E-mail akkoord",
    "Agreed to electronic communication",
    "Email consent",
])
def test_csv_agreement_header(creditor: Creditor, write_file: WriteFile, header: str) -> None:
    path = write_file(
        "posten.csv",
        f"Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Totaal;{header}\n"
        "F-1;K1;Eva de Vries;01-11-2026;100,00;ja\n"
        "F-2;K2;Frank Bos;01-11-2026;50,00;nee\n"
        "F-3;K3;Gert Mol;01-11-2026;50,00;\n",
    )

    TabularInvoiceImporter().run(path, creditor)

    assert agreement_of("K1") is True
    assert agreement_of("K2") is False
    assert agreement_of("K3") is False
    first = Debtor.objects.get(customer_number="K1")
    assert first.electronic_agreement_at is not None
    assert "posten.csv" in first.electronic_agreement_source


def test_xlsx_boolean_cells(creditor: Creditor, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Invoice number", "Customer number", "Name", "Due date", "Total", "Electronic communication"])
    sheet.append(["F-1", "K1", "Eva de Vries", "2026-11-01", 100, True])
    sheet.append(["F-2", "K2", "Frank Bos", "2026-11-01", 50, False])
    path = tmp_path / "posten.xlsx"
    workbook.save(path)

    TabularInvoiceImporter().run(path, creditor)

    assert agreement_of("K1") is True
    assert agreement_of("K2") is False


def test_reimport_withdraws_and_empty_keeps(creditor: Creditor, write_file: WriteFile) -> None:
    header = "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Totaal;Akkoord e-mail\n"
    TabularInvoiceImporter().run(write_file("eerste.csv", header + "F-1;K1;Eva de Vries;01-11-2026;100,00;ja\n"
                                             "F-2;K2;Frank Bos;01-11-2026;50,00;ja\n"), creditor)

    TabularInvoiceImporter().run(write_file("tweede.csv", header + "F-1;K1;Eva de Vries;01-11-2026;100,00;nee\n"
                                             "F-2;K2;Frank Bos;01-11-2026;50,00;\n"), creditor)

    withdrawn = Debtor.objects.get(customer_number="K1")
    assert withdrawn.electronic_agreement is False
    assert withdrawn.electronic_agreement_at is None
    assert withdrawn.electronic_agreement_source == ""
    assert agreement_of("K2") is True


def test_unknown_agreement_value_rejects_file(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file(
        "posten.csv",
        "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Totaal;Akkoord e-mail\n"
        "F-1;K1;Eva de Vries;01-11-2026;100,00;misschien\n",
    )

    with pytest.raises(ImportRejected) as caught:
        TabularInvoiceImporter().run(path, creditor)

    (error,) = caught.value.errors
    assert error.value == "misschien"
    assert "write yes or no" in error.problem
    assert not Debtor.objects.exists()
