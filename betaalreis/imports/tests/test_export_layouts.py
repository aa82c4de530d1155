"""Headers and rows of Dutch accounting package exports (Exact, Twinfield, Moneybird, AFAS)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from django.utils import translation

from betaalreis.imports import contacts
from betaalreis.imports.headers import _ALIASES, HEADER_ALIASES
from betaalreis.imports.tables import load_mapping, map_headers
from betaalreis.imports.tests.test_tabular import rejected, run
from betaalreis.ledger.models import Creditor, Debtor, DebtorKind

# These tests check the English wording of problem texts and notes.
pytestmark = pytest.mark.usefixtures("english_reports")

WriteFile = Callable[..., Path]

FIXTURES = Path(__file__).parent / "fixtures"
RELATIE_HEADER = "Relatie;Naam;Factuur;Factuurdatum;Vervaldatum;Bedrag;Openstaand"
RELATIE_ROW = "1001;Bakkerij Jansen;20260101;01-10-2026;31-10-2026;100,00;100,00"


def test_aliases_name_one_field_each() -> None:
    listed = sum(len(aliases) for aliases in _ALIASES.values())

    assert len(HEADER_ALIASES) == listed


def test_mapped_column_not_guessed_again(creditor: Creditor, write_file: WriteFile) -> None:
    mapping = write_file("map.toml", '[columns]\ncustomer_number = "Relatie"\n')
    path = write_file("exact.csv", f"{RELATIE_HEADER}\n{RELATIE_ROW}\n")

    report = run(path, creditor, mapping=load_mapping(mapping))

    assert report.counts["invoices new"] == 1
    debtor = Debtor.objects.get()
    assert debtor.customer_number == "1001"
    assert debtor.name == "Bakkerij Jansen"


def test_mapped_field_not_guessed_elsewhere() -> None:
    headers = ["Factuurnummer", "Klantnummer", "Naam", "Klantnaam", "Vervaldatum", "Bedrag"]

    match = map_headers(headers, {"name": 3})

    assert match.columns["name"] == 3
    assert match.clashes == []


def test_relatie_next_to_naam_is_number(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("exact.csv", f"{RELATIE_HEADER}\n{RELATIE_ROW}\n")

    run(path, creditor)

    debtor = Debtor.objects.get()
    assert debtor.customer_number == "1001"
    assert debtor.name == "Bakkerij Jansen"


def test_relatie_next_to_relatiecode_is_name(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file(
        "export.csv",
        "Relatiecode;Relatie;Factuurnummer;Vervaldatum;Openstaand\nR7;Bakkerij Jansen;F1;31-10-2026;5,00\n",
    )

    run(path, creditor)

    debtor = Debtor.objects.get()
    assert debtor.customer_number == "R7"
    assert debtor.name == "Bakkerij Jansen"


def test_debiteur_next_to_number_stays_name() -> None:
    headers = ["Factuurnummer", "Debiteurnummer", "Debiteur", "Contact", "Openstaand"]

    columns = map_headers(headers).columns

    assert columns["name"] == 2
    assert columns["contact_person"] == 3


def test_lone_relatie_rejected_naming_options(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("export.csv", "Relatie;Factuurnummer;Vervaldatum;Openstaand\n1001;F1;31-10-2026;5,00\n")

    error = rejected(path, creditor)

    assert len(error.errors) == 1
    assert error.errors[0].value == "Relatie"
    assert 'customer_number = "Relatie" or name = "Relatie"' in error.errors[0].problem


def test_moneybird_contact_is_name(creditor: Creditor) -> None:
    report = run(FIXTURES / "moneybird.csv", creditor)

    assert report.counts["debtors new"] == 2
    assert Debtor.objects.get(customer_number="3001").name == "Bakker, J."
    assert Debtor.objects.get(customer_number="3002").name == "De Groot"
    assert Debtor.objects.get(customer_number="3002").contact_person == ""


def test_contact_next_to_name_is_person() -> None:
    headers = ["Factuurnummer", "Klantnummer", "Bedrijfsnaam", "Contact", "Openstaand"]

    columns = map_headers(headers).columns

    assert columns["company_name"] == 2
    assert columns["contact_person"] == 3
    assert "name" not in columns


def test_afas_debtor_headers(creditor: Creditor) -> None:
    report = run(FIXTURES / "afas.csv", creditor)

    assert report.counts["invoices new"] == 2
    assert Debtor.objects.get(customer_number="2001").name == "Pietersen Installatie"


@pytest.mark.parametrize(
    ("header", "field_name"),
    [
        ("Relatiecode", "customer_number"),
        ("Nummer debiteur", "customer_number"),
        ("Naam debiteur", "name"),
        ("Naam relatie", "name"),
        ("Openstaand saldo", "open_amount"),
        ("Bedrag openstaand", "open_amount"),
        ("Factuurbedrag incl. btw", "total"),
        ("Valuta code", "currency"),
    ],
)
def test_package_header_recognised(header: str, field_name: str) -> None:
    columns = map_headers(["Factuurnummer", header]).columns

    assert columns.get(field_name) == 1


@pytest.mark.parametrize("column", ["Bedrag", "Openstaand"])
def test_overlong_amount_is_row_error(creditor: Creditor, write_file: WriteFile, column: str) -> None:
    amounts = {"Bedrag": "1,00", "Openstaand": "1,00", column: "99999999999999,99"}
    path = write_file(
        "big.csv",
        "Factuurnummer;Klantnummer;Naam;Vervaldatum;Bedrag;Openstaand\n"
        f"BIG-1;5009;Big;15-10-2026;{amounts['Bedrag']};{amounts['Openstaand']}\n",
    )

    error = rejected(path, creditor, dry_run=True)

    assert len(error.errors) == 1
    assert error.errors[0].row == 2
    assert error.errors[0].field == column
    assert error.errors[0].value == "99999999999999,99"
    assert "maximum amount" in error.errors[0].problem
    assert "big.csv" in str(error)


def test_xlsx_date_out_of_range_is_row_error(creditor: Creditor, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Factuurnummer", "Klantnummer", "Naam", "Vervaldatum", "Openstaand"])
    sheet.append(["F1", "K1", "Een", dt.datetime(2999, 1, 31), 10.0])
    path = tmp_path / "datum.xlsx"
    workbook.save(path)

    error = rejected(path, creditor)

    assert [(e.row, e.field, e.value) for e in error.errors] == [(2, "Vervaldatum", "2999-01-31")]
    assert "outside the years 1900 to 2199" in error.errors[0].problem


def test_exact_totals_row_skipped_and_checked(creditor: Creditor) -> None:
    report = run(FIXTURES / "exact_openstaand.csv", creditor)

    assert report.counts["invoices new"] == 4
    assert report.counts["credit notes new"] == 1
    assert (
        "Row 8 is a totals row and was not imported. Its sums (Bedrag 4,512.09, Openstaand 4,012.09) "
        "equal the rows above it."
    ) in report.notes
    assert Debtor.objects.get(customer_number="1003").name == "Müller GmbH"


TOTALS_HEADER = "Relatie;Naam;Factuur;Vervaldatum;Valuta;Bedrag;Openstaand"
TOTALS_ROWS = "1;Een;F1;31-10-2026;EUR;100,00;60,00\n2;Twee;F2;31-10-2026;EUR;50,50;50,50\n"


@pytest.mark.parametrize("word", ["Totaal", "Total", "Totalen", "Subtotaal", "TOTAAL EUR"])
def test_totals_row_words(creditor: Creditor, write_file: WriteFile, word: str) -> None:
    path = write_file("totaal.csv", f"{TOTALS_HEADER}\n{TOTALS_ROWS}{word};;;;;150,50;110,50\n")

    report = run(path, creditor)

    assert report.counts["invoices new"] == 2
    assert any(note.startswith("Row 4 is a totals row") for note in report.notes)


def test_totals_row_that_differs_rejected(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("totaal.csv", f"{TOTALS_HEADER}\n{TOTALS_ROWS}Totaal;;;;;150,50;1.105,00\n")

    error = rejected(path, creditor)

    assert len(error.errors) == 1
    assert (error.errors[0].row, error.errors[0].field, error.errors[0].value) == (4, "Openstaand", "1.105,00")
    assert "the totals row gives 1,105.00, but the rows above add up to 110.50" in error.errors[0].problem


def test_totals_note_groups_thousands_in_dutch(creditor: Creditor) -> None:
    with translation.override("nl"):
        report = run(FIXTURES / "exact_openstaand.csv", creditor)

    assert (
        "Rij 8 is een totaalregel en is niet geïmporteerd. De sommen (Bedrag 4.512,09, Openstaand 4.012,09) "
        "zijn gelijk aan de rijen erboven."
    ) in report.notes


def test_subtotal_row_inside_file_not_checked(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file(
        "totaal.csv",
        f"{TOTALS_HEADER}\n1;Een;F1;31-10-2026;EUR;100,00;60,00\nSubtotaal 1;;;;;999,00;999,00\n"
        "2;Twee;F2;31-10-2026;EUR;50,50;50,50\n",
    )

    report = run(path, creditor)

    assert report.counts["invoices new"] == 2
    assert "Row 3 is a totals row and was not imported." in report.notes


def test_totals_row_with_currencies_noted(creditor: Creditor, write_file: WriteFile) -> None:
    rows = TOTALS_ROWS.replace("F2;31-10-2026;EUR", "F2;31-10-2026;USD")
    path = write_file("totaal.csv", f"{TOTALS_HEADER}\n{rows}Totaal;;;;;1,00;1,00\n")

    report = run(path, creditor)

    assert report.counts["invoices new"] == 2
    assert any("were not checked, because the rows have several currencies" in note for note in report.notes)


def test_debtor_named_totaal_is_no_totals_row(creditor: Creditor, write_file: WriteFile) -> None:
    row = "Totaal Installatie;Totaal Installatie;;31-10-2026;EUR;5,00;5,00"
    path = write_file("totaal.csv", f"{TOTALS_HEADER}\n{row}\n")

    error = rejected(path, creditor)

    assert error.errors[0].field == "Factuur"
    assert "every row needs an invoice number" in error.errors[0].problem


@pytest.mark.parametrize(
    ("name", "form"),
    [
        ("Café Zoë B.V.", "B.V."),
        ("Bakkerij Jansen bv", "B.V."),
        ("Holding B. V.", "B.V."),
        ("Philips N.V.", "N.V."),
        ("De Vries en Zn. VOF", "V.O.F."),
        ("Beheer C.V.", "C.V."),
        ("Müller GmbH", "GmbH"),
        ("Smith Ltd.", "Ltd"),
        ("Dupont S.A.", "S.A."),
        ("Peeters BVBA", "B.V.B.A."),
        ("Jan Bakker", ""),
        ("BV de Toekomst", ""),
        ("Bavo", ""),
    ],
)
def test_legal_form_at_end_of_name(name: str, form: str) -> None:
    assert contacts.legal_form(name) == form


def test_legal_form_makes_new_debtor_business(creditor: Creditor) -> None:
    report = run(FIXTURES / "exact_openstaand.csv", creditor)

    assert Debtor.objects.get(customer_number="1001").kind == DebtorKind.BUSINESS
    assert Debtor.objects.get(customer_number="1003").kind == DebtorKind.BUSINESS
    assert Debtor.objects.get(customer_number="1004").kind == DebtorKind.CONSUMER
    assert (
        "2 new debtors stored as businesses because their names end in a legal form (B.V.: 1, GmbH: 1): "
        "the file has no consumer/business column."
    ) in report.notes


def test_legal_form_keeps_stored_consumer(creditor: Creditor, write_file: WriteFile) -> None:
    Debtor.objects.create(creditor=creditor, customer_number="1", name="Jansen", kind=DebtorKind.CONSUMER)
    path = write_file("vof.csv", f"{TOTALS_HEADER}\n1;Jansen VOF;F1;31-10-2026;EUR;10,00;10,00\n")

    report = run(path, creditor)

    assert Debtor.objects.get(customer_number="1").kind == DebtorKind.CONSUMER
    assert any(
        note.startswith("Stored as consumers, although the name ends in a legal form such as B.V.: debtors 1.")
        for note in report.notes
    )


def test_new_consumers_counted_in_note(creditor: Creditor) -> None:
    report = run(FIXTURES / "exact_openstaand.csv", creditor)

    consumer_notes = [note for note in report.notes if "14-day letter" in note]
    assert consumer_notes == [
        "2 new debtors stored as consumers, for whom the 14-day letter applies: the file gives no kind "
        "(consumer/business) and no company name, KvK number, VAT id or legal form at the end of the name "
        "(such as B.V. or GmbH)."
    ]


def test_no_consumer_note_without_new_consumers(creditor: Creditor, write_file: WriteFile) -> None:
    Debtor.objects.create(creditor=creditor, customer_number="1", name="Jansen", kind=DebtorKind.CONSUMER)
    path = write_file(
        "known.csv",
        f"{TOTALS_HEADER}\n1;Jansen;F1;31-10-2026;EUR;10,00;10,00\n2;Bakker B.V.;F2;31-10-2026;EUR;20,00;20,00\n",
    )

    report = run(path, creditor)

    assert Debtor.objects.get(customer_number="2").kind == DebtorKind.BUSINESS
    assert [note for note in report.notes if "14-day letter" in note] == []
