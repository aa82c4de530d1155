"""Moneybird exports without a customer number: each contact gets a stable derived debtor number."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from betaalreis.imports.derived_numbers import derive_customer_number
from betaalreis.imports.tests.test_tabular import rejected, run
from betaalreis.ledger.models import Creditor, Debtor, Invoice

pytestmark = pytest.mark.usefixtures("english_reports")

WriteFile = Callable[..., Path]
FIXTURES = Path(__file__).parent / "fixtures"

HEADER = "Factuurnummer,Contact,Adres,Postcode,Plaats,Factuurdatum,Vervaldatum,Totaal incl. btw,Openstaand bedrag\n"


def _without_column(path: Path, header: str) -> str:
    """Return the CSV at `path` without the column `header`, as a Moneybird export without it reads."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    index = rows[0].index(header)
    output = io.StringIO()
    csv.writer(output, lineterminator="\n").writerows([row[:index] + row[index + 1:] for row in rows])
    return output.getvalue()


def _numbers() -> dict[str, str]:
    return dict(Debtor.objects.values_list("name", "customer_number"))


def test_fixture_without_klantnummer_imports(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("moneybird.csv", _without_column(FIXTURES / "moneybird.csv", "Klantnummer"))

    report = run(path, creditor)

    numbers = _numbers()
    assert report.counts["debtors new"] == 2
    assert set(numbers) == {"Bakker, J.", "De Groot"}
    assert all(number.startswith("MB-") for number in numbers.values())
    assert numbers["Bakker, J."] != numbers["De Groot"]
    assert Invoice.objects.get(number="2026-0042").debtor.customer_number == numbers["Bakker, J."]
    note = " ".join(report.notes)
    assert "2 contacts without a customer number got a debtor number derived from" in note
    assert f"Bakker, J. = {numbers['Bakker, J.']}" in note
    assert "Add the column 'Klantnummer' to the export" in note


def test_derived_numbers_stable_on_reimport(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("moneybird.csv", _without_column(FIXTURES / "moneybird.csv", "Klantnummer"))
    run(path, creditor)
    first = _numbers()

    report = run(path, creditor)

    assert _numbers() == first
    assert report.counts.get("debtors new", 0) == 0
    assert Debtor.objects.count() == 2


def test_address_tells_namesakes_apart(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("moneybird.csv", HEADER + (
        "MB-1,Jansen,Kerkstraat 1,1234 AB,Utrecht,2026-10-01,2026-10-15,10.00,10.00\n"
        "MB-2,Jansen,Dorpsweg 9,9876 ZX,Zwolle,2026-10-01,2026-10-15,20.00,20.00\n"
        "MB-3,JANSEN,Kerkstraat  1,1234AB,utrecht,2026-10-01,2026-10-15,30.00,30.00\n"
    ))

    run(path, creditor)

    first, second, third = (Invoice.objects.get(number=f"MB-{index}").debtor for index in (1, 2, 3))
    assert first.pk != second.pk
    assert first.pk == third.pk
    assert first.customer_number == derive_customer_number("", "Jansen", "Kerkstraat 1", "1234 AB", "Utrecht")
    assert first.postal_code == "1234 AB"


def test_contact_id_column_used(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("moneybird.csv", (
        "Factuurnummer,Contact ID,Contact,Vervaldatum,Openstaand bedrag\n"
        "2026-7,407012459837130694,Kapsalon Knip,2026-11-15,60.50\n"
        "2026-8,,Bloemist Roos,2026-11-15,12.00\n"
    ))

    report = run(path, creditor)

    numbers = _numbers()
    assert numbers["Kapsalon Knip"] == "MB-407012459837130694"
    assert numbers["Bloemist Roos"] == derive_customer_number("", "Bloemist Roos", "", "", "")
    assert "derived from Moneybird's contact id, or from name and address where that is empty" in " ".join(report.notes)


def test_empty_klantnummer_cell_derived(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("moneybird.csv", (
        "Factuurnummer,Klantnummer,Contact,Vervaldatum,Openstaand bedrag\n"
        "2026-1,17,Kapsalon Knip,2026-11-15,60.50\n"
        "2026-2,,Bloemist Roos,2026-11-15,12.00\n"
    ))

    report = run(path, creditor)

    numbers = _numbers()
    assert numbers["Kapsalon Knip"] == "17"
    assert numbers["Bloemist Roos"].startswith("MB-")
    assert "1 contact without a customer number got a debtor number" in " ".join(report.notes)


def test_other_package_still_needs_number(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("namen.csv", "Factuurnummer;Naam;Vervaldatum;Openstaand\nF1;Bakker;31-10-2026;10,00\n")

    error = rejected(path, creditor)

    assert "the file names the customer only by name ('Naam')" in error.errors[0].problem
    assert Debtor.objects.count() == 0


def test_bad_row_rejects_whole_file(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("moneybird.csv", HEADER + (
        "2026-1,Jansen,Kerkstraat 1,1234 AB,Utrecht,2026-10-01,2026-10-15,10.00,10.00\n"
        "2026-2,,,,,2026-10-01,2026-10-15,20.00,20.00\n"
        "2026-3,De Groot,Dorpsweg 9,9876 ZX,Zwolle,2026-10-01,2026-13-45,30.00,30.00\n"
    ))
    output = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import", str(path), "--creditor", "acme", stdout=output)

    text = " ".join(output.getvalue().split())
    assert Debtor.objects.count() == 0
    assert Invoice.objects.count() == 0
    assert "missing; every invoice needs the debtor's customer number" in text
    assert "2026-13-45" in text


def test_note_in_dutch(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("moneybird.csv", _without_column(FIXTURES / "moneybird.csv", "Klantnummer"))
    output = io.StringIO()

    call_command("import", str(path), "--creditor", "acme", "--lang", "nl", stdout=output)

    text = " ".join(output.getvalue().split())
    assert "2 contacten zonder klantnummer kregen een debiteurnummer afgeleid uit de naam en het adres" in text
    assert "Voeg de kolom 'Klantnummer' toe aan de export" in text
