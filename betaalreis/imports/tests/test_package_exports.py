"""Invoice dates and customer numbers of package exports: a plain "Datum", and a Moneybird "Contact".

Moneybird exports without a customer number are tested in test_moneybird_numbers.py.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from betaalreis.imports.tables import map_headers
from betaalreis.ledger.models import Creditor, Invoice

pytestmark = pytest.mark.usefixtures("english_reports")

WriteFile = Callable[..., Path]

# An e-Boekhouden export as seen in use: "Datum" is the invoice date.
EBOEKHOUDEN = (
    "Relatiecode;Relatie;Factuurnummer;Datum;Vervaldatum;Bedrag;Openstaand\n"
    "30001;Bloemist Roos;EB-1;1-10-2026;31-10-2026;125,5;125,5\n"
)


def _import(path: Path) -> str:
    output = io.StringIO()
    call_command("import", str(path), "--creditor", "acme", stdout=output)
    return output.getvalue()


def test_datum_next_to_due_date(creditor: Creditor, write_file: WriteFile) -> None:
    output = _import(write_file("eboekhouden.csv", EBOEKHOUDEN))

    invoice = Invoice.objects.get(number="EB-1")
    assert invoice.issue_date == dt.date(2026, 10, 1)
    assert invoice.due_date == dt.date(2026, 10, 31)
    assert "Columns not used" not in output
    assert "No invoice date column" not in output


def test_datum_imported_twice(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("eboekhouden.csv", EBOEKHOUDEN)
    _import(path)

    output = _import(path)

    assert re.search(r"invoices unchanged\s*│\s*1 ", output)
    assert Invoice.objects.get(number="EB-1").issue_date == dt.date(2026, 10, 1)
    assert Invoice.objects.count() == 1


@pytest.mark.parametrize(
    ("headers", "issue_date_index"),
    [
        (["Factuurnummer", "Datum", "Vervaldatum", "Bedrag"], 1),
        (["Invoice number", "Date", "Due date", "Amount"], 1),
        # Next to an invoice date column, "Datum" may be a booking or print date.
        (["Factuurnummer", "Datum", "Factuurdatum", "Vervaldatum", "Bedrag"], 2),
        # Without a due date column no other column shows what the date is.
        (["Factuurnummer", "Datum", "Bedrag"], None),
        # Two plain date columns: neither is guessed.
        (["Factuurnummer", "Datum", "Date", "Vervaldatum", "Bedrag"], None),
    ],
)
def test_plain_date_header(headers: list[str], issue_date_index: int | None) -> None:
    columns = map_headers(headers).columns

    assert columns.get("issue_date") == issue_date_index


def test_datum_next_to_invoice_date_unused(creditor: Creditor, write_file: WriteFile) -> None:
    output = _import(write_file("export.csv", (
        "Relatiecode;Relatie;Factuurnummer;Datum;Factuurdatum;Vervaldatum;Bedrag\n"
        "30001;Bloemist Roos;EB-1;03-11-2026;1-10-2026;31-10-2026;125,50\n"
    )))

    assert Invoice.objects.get(number="EB-1").issue_date == dt.date(2026, 10, 1)
    assert "Columns not used: 'Datum'." in output


def test_empty_invoice_date_noted(creditor: Creditor, write_file: WriteFile) -> None:
    output = _import(write_file("export.csv", (
        "Relatiecode;Relatie;Factuurnummer;Factuurdatum;Vervaldatum;Bedrag\n"
        "30001;Bloemist Roos;EB-1;;31-10-2026;125,50\n"
        "30001;Bloemist Roos;EB-2;1-10-2026;31-10-2026;10,00\n"
    )))

    assert Invoice.objects.get(number="EB-1").issue_date is None
    assert Invoice.objects.get(number="EB-2").issue_date == dt.date(2026, 10, 1)
    assert "1 invoice without an invoice date (EB-1): letters and the portal leave the invoice date out" in output


def test_missing_invoice_date_column_noted(creditor: Creditor, write_file: WriteFile) -> None:
    output = _import(write_file("export.csv", (
        "Relatiecode;Relatie;Factuurnummer;Vervaldatum;Bedrag\n"
        "30001;Bloemist Roos;EB-1;31-10-2026;125,50\n"
    )))

    assert Invoice.objects.get(number="EB-1").issue_date is None
    assert "No invoice date column: the invoices get no invoice date" in output
    assert "invoice without an invoice date" not in output


def test_file_without_invoice_date_keeps_stored_one(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("dated.csv", (
        "Relatiecode;Relatie;Factuurnummer;Factuurdatum;Vervaldatum;Bedrag\n"
        "30001;Bloemist Roos;EB-1;1-10-2026;31-10-2026;125,50\n"
    )))
    _import(write_file("undated.csv", (
        "Relatiecode;Relatie;Factuurnummer;Vervaldatum;Bedrag\n"
        "30001;Bloemist Roos;EB-1;31-10-2026;125,50\n"
    )))

    assert Invoice.objects.get(number="EB-1").issue_date == dt.date(2026, 10, 1)


MONEYBIRD = (
    'Factuurnummer,Contact,Referentie,Factuurdatum,Vervaldatum,Status,Totaal incl. btw,Openstaand bedrag\n'
    '2026-0042,Kapsalon Knip,Knippen nov,2026-11-01,2026-11-15,Te laat,"€ 60,50","€ 60,50"\n'
)


def test_name_only_rejected_in_dutch(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("namen.csv", "Factuurnummer;Naam;Vervaldatum;Openstaand\nF1;Bakker;31-10-2026;10,00\n")
    output = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import", str(path), "--creditor", "acme", "--lang", "nl", stdout=output)

    text = " ".join(output.getvalue().split())
    assert "het bestand noemt de klant alleen bij naam ('Naam')" in text
    assert "Voeg een kolom 'Klantnummer' toe met het nummer van elke klant in uw boekhouding" in text
    assert "Moneybird" not in text


def test_moneybird_with_customer_number(creditor: Creditor, write_file: WriteFile) -> None:
    with_number = MONEYBIRD.replace("Factuurnummer,Contact,", "Factuurnummer,Klantnummer,Contact,")
    with_number = with_number.replace("2026-0042,Kapsalon", "2026-0042,17,Kapsalon")
    path = write_file("moneybird.csv", with_number)
    _import(path)

    output = _import(path)

    invoice = Invoice.objects.get(number="2026-0042")
    assert invoice.debtor.customer_number == "17"
    assert invoice.debtor.name == "Kapsalon Knip"
    assert invoice.issue_date == dt.date(2026, 11, 1)
    assert re.search(r"invoices unchanged\s*│\s*1 ", output)
    assert Invoice.objects.count() == 1
