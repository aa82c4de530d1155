"""Import errors show an amount as the file writes it, not as Betaalreis parsed it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from betaalreis.imports.registry import ImportRejected
from betaalreis.imports.tabular import TabularInvoiceImporter
from betaalreis.ledger.models import Creditor, Invoice

pytestmark = pytest.mark.usefixtures("english_reports")

WriteFile = Callable[..., Path]

HEADER = "Factuurnummer;Klantnummer;Naam;Vervaldatum;Bedrag;Openstaand"


def rejected(path: Path, creditor: Creditor) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        TabularInvoiceImporter().run(path, creditor)
    return caught.value


@pytest.mark.parametrize(
    ("total", "open_amount", "problem"),
    [
        ("250,00", "250,00-", "has the opposite sign of the total 250.00"),
        ("-250,00", "250,00", "has the opposite sign of the total -250.00"),
        ("100,00", "1.150,00", "is more than the invoice total 100.00"),
    ],
)
def test_open_amount_error_shows_file_text(
    creditor: Creditor, write_file: WriteFile, total: str, open_amount: str, problem: str
) -> None:
    path = write_file(
        "teken.csv",
        f"{HEADER}\n"
        "A-1001;K1;Jan de Vries;15-09-2026;1.234,56;1.234,56\n"
        f"A-1002;K2;Piet Jansen;15-10-2026;{total};{open_amount}\n",
    )

    error = rejected(path, creditor)

    assert [(e.row, e.field, e.value) for e in error.errors] == [(3, "Openstaand", open_amount)]
    assert error.errors[0].problem.startswith(problem)
    assert Invoice.objects.count() == 0
