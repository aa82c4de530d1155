"""CSV and XLSX invoice imports: formats, debtors, bad rows and re-imports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from django.db import connection
from django.test.utils import CaptureQueriesContext

from betaalreis.imports.registry import ImportRejected, ImportReport
from betaalreis.imports.tables import load_mapping
from betaalreis.imports.tabular import TabularInvoiceImporter, read_invoice_table
from betaalreis.ledger.actions import do_allocate_payment
from betaalreis.ledger.models import (
    Creditor,
    Debtor,
    DebtorBankAccount,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payment,
    PaymentSource,
    TimelineEvent,
    TimelineKind,
)

# These tests check the English wording of reports and errors.
pytestmark = pytest.mark.usefixtures("english_reports")

WriteFile = Callable[..., Path]

DUTCH_HEADER = "Factuurnummer;Debiteurnummer;Naam;Factuurdatum;Vervaldatum;Totaal;Openstaand"


def run(path: Path, creditor: Creditor, **options: object) -> ImportReport:
    return TabularInvoiceImporter().run(path, creditor, **options)


def rejected(path: Path, creditor: Creditor, **options: object) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        run(path, creditor, **options)
    return caught.value


def test_cp1252_semicolon_decimal_comma(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file(
        "openstaand.csv",
        f"{DUTCH_HEADER}\r\n"
        "F-1001;D-1;Café De Ster;01-03-2025;15-03-2025;€ 1.234,56;1.234,56\r\n"
        "F-1002;D-2;Brasserie Noël;2-3-2025;16-3-2025;99,95;50\r\n",
        encoding="cp1252",
    )

    report = run(path, creditor)

    assert "Windows-1252" in report.format
    assert report.counts["invoices new"] == 2
    assert report.amounts["open in file (EUR)"] == "1284.56"
    assert Debtor.objects.get(customer_number="D-1").name == "Café De Ster"
    assert Debtor.objects.get(customer_number="D-2").name == "Brasserie Noël"
    first = Invoice.objects.get(number="F-1001")
    assert first.open_amount == Decimal("1234.56")
    assert first.issue_date == dt.date(2025, 3, 1)
    second = Invoice.objects.get(number="F-1002")
    assert second.total == Decimal("99.95")
    assert second.open_amount == Decimal("50.00")
    assert second.due_date == dt.date(2025, 3, 16)


def test_utf8_bom_english_headers_decimal_point(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file(
        "invoices.csv",
        "\ufeffInvoice Number,Customer ID,Customer Name,Invoice Date,Due Date,Total,Balance,Currency\n"
        'INV-1,C-1,"Smith & Sons, Ltd",2025-01-10,2025-02-09,"1,234.56","1,000.00",EUR\n'
        "INV-2,C-1,\"Smith & Sons, Ltd\",2025-01-11,2025-02-10,250.5,0,EUR\n",
    )

    report = run(path, creditor)

    assert "UTF-8 with BOM" in report.format
    assert "separator ','" in report.format
    assert report.counts["invoices new"] == 2
    first = Invoice.objects.get(number="INV-1")
    assert first.total == Decimal("1234.56")
    assert first.open_amount == Decimal("1000.00")
    paid = Invoice.objects.get(number="INV-2")
    assert paid.status == InvoiceStatus.PAID
    assert paid.total == Decimal("250.50")
    assert Debtor.objects.get().name == "Smith & Sons, Ltd"


def test_utf16_tab_separated(creditor: Creditor, write_file: WriteFile) -> None:
    text = (
        "Factuurnr.\tDeb.nr.\tNaam\tVervalt\tSaldo\r\n"
        "7001\t42\tJansen Ĳzerhandel\t20250301\t12,50\r\n"
    )
    path = write_file("export.txt", text, encoding="utf-16")

    report = run(path, creditor)

    assert "UTF-16" in report.format
    invoice = Invoice.objects.get(number="7001")
    assert invoice.open_amount == Decimal("12.50")
    assert invoice.due_date == dt.date(2025, 3, 1)
    assert invoice.debtor.name == "Jansen Ĳzerhandel"


def test_date_formats_mixed(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file(
        "dates.csv",
        "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Openstaand\n"
        "A1;1;Een;31-12-2024;1,00\n"
        "A2;1;Een;1-2-2025;1,00\n"
        "A3;1;Een;20250315;1,00\n"
        "A4;1;Een;2025-04-30;1,00\n"
        "A5;1;Een;05/06/2025;1,00\n",
    )

    run(path, creditor)

    due = dict(Invoice.objects.values_list("number", "due_date"))
    assert due == {
        "A1": dt.date(2024, 12, 31),
        "A2": dt.date(2025, 2, 1),
        "A3": dt.date(2025, 3, 15),
        "A4": dt.date(2025, 4, 30),
        "A5": dt.date(2025, 6, 5),
    }


SLASH_HEADER = "Invoice number,Customer number,Name,Due date,Amount\n"


@pytest.mark.parametrize(
    ("rows", "noted"),
    [
        ("U-1,K1,Klant,10/11/2026,1.00\nU-2,K1,Klant,12/01/2026,1.00\n", True),
        ("U-1,K1,Klant,10/11/2026,1.00\nU-2,K1,Klant,25/01/2026,1.00\n", False),
        ("U-1,K1,Klant,10-11-2026,1.00\n", False),
    ],
)
def test_ambiguous_slash_dates_noted(write_file: WriteFile, rows: str, noted: bool) -> None:
    batch = read_invoice_table(write_file("dates.csv", SLASH_HEADER + rows))

    notes = [note for note in batch.notes if "read day first" in note]
    assert bool(notes) is noted
    if noted:
        assert "10/11/2026" in notes[0]


def test_xlsx_with_preamble_and_typed_cells(creditor: Creditor, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Openstaande posten per 31-03-2025"])
    sheet.append([])
    sheet.append(["Factuurnr.", "Deb.nr.", "Naam", "Boekstuk", "Vervalt", "Factuur", "Saldo", "Soort"])
    sheet.append([12300139, 3332, "Zorggroep Noord", dt.datetime(2024, 1, 23), dt.datetime(2024, 2, 6),
                  25717.69, 25717.69, "zakelijk"])
    sheet.append(["12300140", "3333", "Piet Jansen", "23-01-2024", "06-02-2024", "1.000,00", "400,00",
                  "particulier"])
    sheet.append(["Totaal", None, None, None, None, None, 26117.69])
    path = tmp_path / "posten.xlsx"
    workbook.save(path)

    report = run(path, creditor)

    assert "XLSX" in report.format
    assert report.counts["invoices new"] == 2
    assert any("totals row" in note for note in report.notes)
    first = Invoice.objects.get(number="12300139")
    assert first.total == Decimal("25717.69")
    assert first.issue_date == dt.date(2024, 1, 23)
    assert first.debtor.customer_number == "3332"
    assert first.debtor.kind == "business"
    second = Invoice.objects.get(number="12300140")
    assert second.total == Decimal("1000.00")
    assert second.open_amount == Decimal("400.00")
    assert second.debtor.kind == "consumer"


def test_xlsx_formula_without_result_named(creditor: Creditor, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Factuurnummer", "Debiteurnummer", "Naam", "Vervaldatum", "Totaal", "Openstaand"])
    sheet.append(["F-1", "K1", "Eva de Vries", "01-11-2026", 100, "=E2"])
    sheet.append(["F-2", "K2", "Frank Bos", "01-11-2026", 50, 50])
    path = tmp_path / "formules.xlsx"
    # openpyxl stores formulas without a result, as some export scripts do.
    workbook.save(path)

    error = rejected(path, creditor)

    assert len(error.errors) == 1
    assert (error.errors[0].row, error.errors[0].field, error.errors[0].value) == (2, "Openstaand", "=E2")
    assert "cell F2 contains a formula without a calculated value" in error.errors[0].problem
    assert Invoice.objects.count() == 0


def test_xlsx_sheet_chosen_by_mapping(creditor: Creditor, tmp_path: Path, write_file: WriteFile) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.title = "Toelichting"
    workbook.active.append(["Deze werkmap bevat de openstaande posten op het tweede blad."])
    sheet = workbook.create_sheet("Posten")
    sheet.append(["Nr", "Klant", "Naam klant", "Uiterlijk", "Nog open"])
    sheet.append(["P-1", "K-1", "Een", dt.date(2025, 5, 1), 12.5])
    path = tmp_path / "werkmap.xlsx"
    workbook.save(path)
    mapping = write_file(
        "mapping.toml",
        '[columns]\ninvoice_number = "Nr"\ncustomer_number = "Klant"\nname = "Naam klant"\n'
        'due_date = "Uiterlijk"\nopen_amount = "Nog open"\n[format]\nsheet = "Posten"\n',
    )

    report = run(path, creditor, mapping=load_mapping(mapping))

    assert "sheet 'Posten'" in report.format
    invoice = Invoice.objects.get()
    assert invoice.open_amount == Decimal("12.50")
    assert invoice.due_date == dt.date(2025, 5, 1)


def test_debtor_contact_data(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file(
        "contact.csv",
        "Factuurnummer;Debiteurnummer;Naam;Bedrijfsnaam;E-mail;Mobiel;Telefoon;Adres;Postcode;"
        "Plaats;Taal;KvK;BTW;IBAN;Vervaldatum;Openstaand\n"
        "1;D1;Anna de Vries;;anna@example.nl;06-12345678;;Dorpsstraat 1;1234ab;Ede;nl;;;"
        "NL91 ABNA 0417 1643 00;01-05-2025;10,00\n"
        "2;D2;Jan Bakker;Bakker Bouw B.V.;info@bakker.example, admin@bakker.example;;"
        "+32 470 12 34 56;Kerkweg 2;5678 CD;Oss;Engels;12345678;NL004495445B01;;01-05-2025;20,00\n"
        "3;D3;Kees;;;;020-1234567;;;;;;;;01-05-2025;30,00\n",
    )

    report = run(path, creditor)

    assert report.counts["bank accounts new"] == 1
    anna = Debtor.objects.get(customer_number="D1")
    assert anna.kind == "consumer"
    assert anna.mobile == "+31612345678"
    assert anna.postal_code == "1234 AB"
    assert anna.language == "nl"
    assert DebtorBankAccount.objects.get(debtor=anna).iban == "NL91ABNA0417164300"
    bakker = Debtor.objects.get(customer_number="D2")
    assert bakker.name == "Bakker Bouw B.V."
    assert bakker.contact_person == "Jan Bakker"
    assert bakker.kind == "business"
    assert bakker.email == "info@bakker.example"
    assert bakker.extra_emails == ["admin@bakker.example"]
    assert bakker.phone == "+32470123456"
    assert bakker.mobile == "+32470123456"
    assert bakker.language == "en"
    assert bakker.kvk_number == "12345678"
    assert bakker.vat_id == "NL004495445B01"
    kees = Debtor.objects.get(customer_number="D3")
    assert kees.phone == "+31201234567"
    assert kees.mobile == ""


def test_new_debtor_gets_creditor_language(creditor: Creditor, write_file: WriteFile) -> None:
    creditor.default_language = "en"
    creditor.save()
    path = write_file(
        "taal.csv",
        "Factuurnummer;Debiteurnummer;Naam;Taal;Vervaldatum;Openstaand\n"
        "F1;D1;Een;;01-03-2025;10,00\n"
        "F2;D2;Twee;Nederlands;01-03-2025;10,00\n",
    )

    run(path, creditor)

    assert Debtor.objects.get(customer_number="D1").language == "en"
    assert Debtor.objects.get(customer_number="D2").language == "nl"


def test_bad_rows_reported_and_nothing_imported(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file(
        "fouten.csv",
        f"{DUTCH_HEADER};E-mail;Mobiel\n"
        "F1;D1;Goed;01-03-2025;15-03-2025;10,00;10,00;goed@example.nl;0612345678\n"
        "F2;D2;Slechte datum;01-03-2025;31-02-2025;10,00;10,00;;\n"
        "F3;D3;Slecht bedrag;01-03-2025;15-03-2025;tien;10,00;;\n"
        "F4;D4;Slechte mail;01-03-2025;15-03-2025;10,00;10,00;geen-mail;\n"
        "F5;D5;Vaste lijn;01-03-2025;15-03-2025;10,00;10,00;;020 1234567\n"
        "F6;;Geen nummer;01-03-2025;15-03-2025;10,00;10,00;;\n"
        "F7;D7;Te veel open;01-03-2025;15-03-2025;10,00;12,00;;\n"
        ";D8;Geen factuur;01-03-2025;15-03-2025;10,00;10,00;;\n",
    )

    error = rejected(path, creditor)

    found = {(e.row, e.field, e.value) for e in error.errors}
    assert (3, "Vervaldatum", "31-02-2025") in found
    assert (4, "Totaal", "tien") in found
    assert (5, "E-mail", "geen-mail") in found
    assert (6, "Mobiel", "020 1234567") in found
    assert (7, "Debiteurnummer", "") in found
    assert (8, "Openstaand", "12,00") in found
    assert (9, "Factuurnummer", "") in found
    assert len(error.errors) == 7
    problems = {e.row: e.problem for e in error.errors}
    assert "not a real date" in problems[3]
    assert "not a mobile number" in problems[6]
    assert "more than the invoice total" in problems[8]
    assert "row 3, field 'Vervaldatum', value '31-02-2025'" in str(error)
    assert Invoice.objects.count() == 0
    assert Debtor.objects.count() == 0


def test_overlong_numbers_rejected_not_cut(creditor: Creditor, write_file: WriteFile) -> None:
    long_number = "F" + "1" * 64
    path = write_file(
        "lang.csv",
        "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Openstaand\n"
        f"{long_number};D1;Een;01-03-2025;1,00\n"
        f"F2;{'D' * 65};Twee;01-03-2025;1,00\n",
    )

    error = rejected(path, creditor)

    assert [(e.row, e.field) for e in error.errors] == [(2, "Factuurnummer"), (3, "Debiteurnummer")]
    assert all("longer than 64 characters" in e.problem for e in error.errors)


def test_ambiguous_amount_column_rejected(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file(
        "dubbelzinnig.csv",
        "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Openstaand\n"
        "F1;D1;Een;01-03-2025;1.234\n"
        "F2;D1;Een;01-03-2025;500\n",
    )

    error = rejected(path, creditor)

    assert [(e.row, e.field, e.value) for e in error.errors] == [(2, "Openstaand", "1.234")]
    assert "cannot tell whether the separator" in error.errors[0].problem
    assert Invoice.objects.count() == 0


def test_mixed_decimal_formats_in_column_rejected(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file(
        "gemengd.csv",
        "Factuurnummer,Debiteurnummer,Naam,Vervaldatum,Openstaand\n"
        'F1,D1,Een,01-03-2025,"1.234,56"\n'
        'F2,D1,Een,01-03-2025,"1,234.56"\n'
        "F3,D1,Een,01-03-2025,abc\n",
    )

    error = rejected(path, creditor)

    # The file error names the column, and a row error only a value that is no amount in any notation.
    assert [(e.row, e.field, e.value) for e in error.errors] == [(None, "Openstaand", ""), (4, "Openstaand", "abc")]
    assert "mixes decimal comma" in error.errors[0].problem
    assert error.errors[1].problem.startswith("not an amount")


def test_mixed_decimal_formats_reported_once(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file(
        "gemengd.csv",
        "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Totaal;Openstaand\n"
        "F1;D1;Een;01-03-2025;1.234,56;1.234,56\n"
        "F2;D2;Twee;01-03-2025;1,234.56;1,234.56\n"
        "F3;D3;Drie;01-03-2025;12,50;12,50\n"
        "F4;D4;Vier;01-03-2025;7;7\n",
    )

    error = rejected(path, creditor)

    assert [(e.row, e.field, e.value) for e in error.errors] == [(None, "Totaal", ""), (None, "Openstaand", "")]
    assert error.errors[0].problem == (
        "the column mixes decimal comma ('1.234,56') and decimal point ('1,234.56'); "
        "export all amounts in one format"
    )
    assert Invoice.objects.count() == 0



def test_missing_required_columns_named(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("kort.csv", "Factuurnummer;Naam;Openstaand\nF1;Een;10,00\n")

    error = rejected(path, creditor)

    fields = {e.field for e in error.errors}
    assert fields == {"customer number", "due date"}
    assert all("The headers are 'Factuurnummer', 'Naam', 'Openstaand'" in e.problem for e in error.errors)


def test_two_columns_for_one_field_rejected(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file(
        "dubbel.csv",
        "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Openstaand;Saldo\nF1;D1;Een;01-03-2025;1,00;1,00\n",
    )

    error = rejected(path, creditor)

    assert error.errors[0].field == "open amount"
    assert "both 'Openstaand' and 'Saldo'" in error.errors[0].problem


def test_mapping_file_for_unknown_layout(creditor: Creditor, write_file: WriteFile) -> None:
    mapping = write_file(
        "mapping.toml",
        '[columns]\ninvoice_number = "Docnr"\ncustomer_number = "Relatiecode"\nname = "Relatie"\n'
        'due_date = "Uiterlijk"\nopen_amount = "Nog open"\n'
        '[format]\ndelimiter = "|"\ndecimal_separator = ","\ndate_format = "%d.%m.%Y"\n'
        '[defaults]\nkind = "zakelijk"\ncurrency = "EUR"\n',
    )
    path = write_file(
        "vreemd.csv",
        "Docnr|Relatiecode|Relatie|Uiterlijk|Nog open\nX-1|R9|Vreemd B.V.|31.01.2025|1.234\n",
    )

    assert not TabularInvoiceImporter.detect(path, path.read_bytes())
    report = run(path, creditor, mapping=load_mapping(mapping))

    assert report.counts["invoices new"] == 1
    invoice = Invoice.objects.get(number="X-1")
    assert invoice.open_amount == Decimal("1234.00")
    assert invoice.due_date == dt.date(2025, 1, 31)
    assert invoice.debtor.kind == "business"


def test_mapping_naming_missing_column(creditor: Creditor, write_file: WriteFile) -> None:
    mapping = write_file(
        "mapping.toml",
        '[columns]\ninvoice_number = "Docnr"\ncustomer_number = "Klant"\ndue_date = "Datum"\n'
        'open_amount = "Bestaat niet"\n[format]\nheader_row = 1\n',
    )
    path = write_file("vreemd.csv", "Docnr;Klant;Datum;Bedrag\n1;2;01-01-2025;3\n")

    error = rejected(path, creditor, mapping=load_mapping(mapping))

    assert error.errors[0].value == "Bestaat niet"
    assert "no such column" in error.errors[0].problem


def test_reimport_changes_nothing(creditor: Creditor, write_file: WriteFile) -> None:
    content = f"{DUTCH_HEADER}\nF1;D1;Een;01-03-2025;15-03-2025;100,00;100,00\n"
    path = write_file("eerste.csv", content)
    run(path, creditor)
    before = list(Invoice.objects.values_list("number", "open_amount", "status", "updated_at"))
    events = TimelineEvent.objects.count()

    report = run(path, creditor)

    assert report.counts["invoices new"] == 0
    assert report.counts["invoices changed"] == 0
    assert report.counts["invoices unchanged"] == 1
    assert report.counts["debtors updated"] == 0
    assert list(Invoice.objects.values_list("number", "open_amount", "status", "updated_at")) == before
    assert TimelineEvent.objects.count() == events


def test_import_writes_one_event_per_debtor(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file(
        "twee.csv",
        f"{DUTCH_HEADER}\nF1;D1;Een;01-03-2025;15-03-2025;100,00;100,00\n"
        "F2;D1;Een;01-03-2025;15-03-2025;50,00;50,00\n",
    )

    run(path, creditor)

    event = TimelineEvent.objects.get()
    assert event.kind == TimelineKind.IMPORT
    assert event.data["invoices"] == ["F1", "F2"]
    assert event.source == "import:twee.csv"
    assert "F1, F2" in event.summary
    assert event.summary.startswith("2 facturen geïmporteerd (")


def test_import_event_singular_for_one_invoice(creditor: Creditor, write_file: WriteFile) -> None:
    run(write_file("een.csv", f"{DUTCH_HEADER}\nF1;D1;Een;01-03-2025;15-03-2025;100,00;100,00\n"), creditor)

    event = TimelineEvent.objects.get()
    assert event.summary.startswith("1 factuur geïmporteerd (F1)"), event.summary


def test_changed_open_amount_updates_and_records(creditor: Creditor, write_file: WriteFile) -> None:
    run(write_file("dag1.csv", f"{DUTCH_HEADER}\nF1;D1;Een;01-03-2025;15-03-2025;100,00;100,00\n"), creditor)

    report = run(
        write_file("dag2.csv", f"{DUTCH_HEADER}\nF1;D1;Een;01-03-2025;15-03-2025;100,00;60,00\n"), creditor
    )

    assert report.counts["invoices changed"] == 1
    invoice = Invoice.objects.get(number="F1")
    assert invoice.open_amount == Decimal("60.00")
    assert invoice.status == InvoiceStatus.OPEN
    event = TimelineEvent.objects.get(kind=TimelineKind.INVOICE_CHANGED)
    assert event.invoice == invoice
    assert event.data["changes"]["open_amount"] == {"old": "100.00", "new": "60.00"}
    assert event.source == "import:dag2.csv"


def test_open_amount_zero_marks_paid(creditor: Creditor, write_file: WriteFile) -> None:
    run(write_file("dag1.csv", f"{DUTCH_HEADER}\nF1;D1;Een;01-03-2025;15-03-2025;100,00;100,00\n"), creditor)

    run(write_file("dag2.csv", f"{DUTCH_HEADER}\nF1;D1;Een;01-03-2025;15-03-2025;100,00;0,00\n"), creditor)

    invoice = Invoice.objects.get(number="F1")
    assert invoice.status == InvoiceStatus.PAID
    event = TimelineEvent.objects.get(kind=TimelineKind.INVOICE_CHANGED)
    assert event.data["changes"]["status"] == {"old": "open", "new": "paid"}


def test_old_file_does_not_reopen_paid_invoice(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("dag1.csv", f"{DUTCH_HEADER}\nF1;D1;Een;01-03-2025;15-03-2025;100,00;100,00\n")
    run(path, creditor)
    invoice = Invoice.objects.get(number="F1")
    payment = Payment.objects.create(
        creditor=creditor, debtor=invoice.debtor, source=PaymentSource.BANK, external_id="bank-1",
        booking_date=dt.date(2025, 3, 20), amount=Decimal("100.00"),
    )
    do_allocate_payment(payment, [invoice], source="test", reason="test")

    run(path, creditor)
    later = write_file("dag2.csv", f"{DUTCH_HEADER}\nF1;D1;Een;01-03-2025;15-03-2025;100,00;90,00\n")
    report = run(later, creditor)

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.open_amount == Decimal("0.00")
    assert any("of which the books have not booked 90.00 yet" in note for note in report.notes)


def test_credit_note_linked_and_applied(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file(
        "credit.csv",
        f"{DUTCH_HEADER};Originele factuur\n"
        "F1;D1;Een;01-03-2025;15-03-2025;100,00;100,00;\n"
        "C1;D1;Een;05-03-2025;05-03-2025;-30,00;-30,00;F1\n",
    )

    report = run(path, creditor)

    assert report.counts["credit notes new"] == 1
    assert report.counts["credit notes applied"] == 1
    credit_note = Invoice.objects.get(number="C1")
    assert credit_note.kind == InvoiceKind.CREDIT_NOTE
    assert credit_note.corrects.number == "F1"
    assert credit_note.status == InvoiceStatus.CREDITED
    assert Invoice.objects.get(number="F1").open_amount == Decimal("70.00")

    again = run(path, creditor)
    assert again.counts["invoices unchanged"] == 2
    assert Invoice.objects.get(number="F1").open_amount == Decimal("70.00")


def test_invoice_of_other_debtor_rejected(creditor: Creditor, write_file: WriteFile) -> None:
    run(write_file("a.csv", f"{DUTCH_HEADER}\nF1;D1;Een;01-03-2025;15-03-2025;100,00;100,00\n"), creditor)

    error = rejected(
        write_file("b.csv", f"{DUTCH_HEADER}\nF1;D2;Twee;01-03-2025;15-03-2025;100,00;100,00\n"), creditor
    )

    assert error.errors[0].row == 2
    assert "already belongs to debtor D1" in error.errors[0].problem
    assert not Debtor.objects.filter(customer_number="D2").exists()


def test_invoice_lines_grouped_by_number(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file(
        "regels.csv",
        "Invoice Number,Invoice Status,Customer ID,Customer Name,Due Date,Item Total,Total,Balance\n"
        "INV-1,Sent,C1,Highlander,2021-01-28,25.50,489.75,489.75\n"
        "INV-1,Sent,C1,Highlander,2021-01-28,464.25,489.75,489.75\n"
        "INV-2,Overdue,C2,Defenders,2021-01-28,460.00,460.00,100.00\n",
    )

    report = run(path, creditor)

    assert report.counts["rows"] == 3
    assert report.counts["invoices new"] == 2
    assert Invoice.objects.get(number="INV-1").total == Decimal("489.75")
    assert Invoice.objects.get(number="INV-2").open_amount == Decimal("100.00")


def test_invoice_lines_that_disagree_rejected(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file(
        "regels.csv",
        "Invoice Number,Customer ID,Customer Name,Due Date,Total,Balance\n"
        "INV-1,C1,Highlander,2021-01-28,489.75,489.75\n"
        "INV-1,C1,Highlander,2021-01-28,489.75,400.00\n",
    )

    error = rejected(path, creditor)

    assert error.errors[0].row == 3
    assert "also on row 2 with another value for 'Balance'" in error.errors[0].problem


def test_draft_invoices_skipped_and_counted(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file(
        "concept.csv",
        "Factuurnummer;Status;Debiteurnummer;Naam;Vervaldatum;Openstaand\n"
        "F1;Concept;D1;Een;01-03-2025;10,00\n"
        "F2;Verstuurd;D2;Twee;01-03-2025;20,00\n",
    )

    report = run(path, creditor)

    assert report.counts["skipped: draft"] == 1
    assert report.amounts["skipped draft (EUR)"] == "10.00"
    assert list(Invoice.objects.values_list("number", flat=True)) == ["F2"]
    assert not Debtor.objects.filter(customer_number="D1").exists()


def test_draft_and_sent_rows_of_one_invoice_rejected(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file(
        "status.csv",
        "Factuurnummer;Status;Debiteurnummer;Naam;Vervaldatum;Openstaand\n"
        "F1;Concept;D1;Een;01-03-2025;10,00\n"
        "F1;Verstuurd;D1;Een;01-03-2025;10,00\n",
    )

    error = rejected(path, creditor)

    assert [(e.row, e.field, e.value) for e in error.errors] == [(3, "Status", "Verstuurd")]
    assert "another status on row 2" in error.errors[0].problem


def test_dry_run_saves_nothing(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("proef.csv", f"{DUTCH_HEADER}\nF1;D1;Een;01-03-2025;15-03-2025;100,00;100,00\n")

    report = run(path, creditor, dry_run=True)

    assert report.counts["invoices new"] == 1
    assert report.notes[0] == "Dry run: nothing was saved. The notes below say what an import without --dry-run would save."
    assert Invoice.objects.count() == 0
    assert Debtor.objects.count() == 0


def test_dry_run_notes_say_nothing_stored(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("proef.csv", "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Openstaand\nF1;D1;Een;15-03-2025;100,00\n")

    report = run(path, creditor, dry_run=True, open_items=True)

    assert "No total column: the open amount is taken as the invoice total." in report.notes
    assert not [note for note in report.notes[1:] if " is stored" in note or " are stored" in note]


def test_header_only_file_rejected(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("leeg.csv", f"{DUTCH_HEADER}\n")

    error = rejected(path, creditor)

    assert [(e.row, e.value) for e in error.errors] == [(None, "leeg.csv")]
    assert "the file has a header row but no invoice rows" in error.errors[0].problem


def test_too_long_text_rejected_not_cut(creditor: Creditor, write_file: WriteFile) -> None:
    long_name = "Stichting" + " Zeer Lange Naam" * 18
    header = "Factuurnummer;Debiteurnummer;Naam;Straat;Factuurdatum;Vervaldatum;Totaal;Openstaand"
    path = write_file("lang.csv", (
        f"{header}\n"
        "D-1;K30;Eva de Vries;Dorpsstraat 1;01-10-2026;01-11-2026;100,00;100,00\n"
        f"D-2;K31;{long_name};Dorpsstraat 2;01-10-2026;01-11-2026;120,00;120,00\n"
    ))

    error = rejected(path, creditor)

    assert [(e.row, e.field, e.value) for e in error.errors] == [(3, "Naam", long_name)]
    assert f"is {len(long_name)} characters long, but 200 fit" in error.errors[0].problem
    assert Debtor.objects.count() == 0


def test_text_of_maximum_length_stored_whole(creditor: Creditor, write_file: WriteFile) -> None:
    name = "N" * 200
    path = write_file("precies.csv", f"{DUTCH_HEADER}\nD-1;K30;{name};01-10-2026;01-11-2026;100,00;100,00\n")

    run(path, creditor)

    assert Debtor.objects.get(customer_number="K30").name == name


def test_text_limits_match_ledger_fields() -> None:
    from betaalreis.imports.contacts import MAX_TEXT_LENGTHS

    limits = {
        "name": Debtor._meta.get_field("name").max_length,
        "company_name": Debtor._meta.get_field("name").max_length,
        "contact_person": Debtor._meta.get_field("contact_person").max_length,
        "street": Debtor._meta.get_field("street").max_length,
        "city": Debtor._meta.get_field("city").max_length,
        "description": Invoice._meta.get_field("description").max_length,
    }
    assert MAX_TEXT_LENGTHS == limits


def test_one_number_two_names_rejected(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("namen.csv", (
        f"{DUTCH_HEADER}\n"
        "D-1;K30;Eva de Vries;01-10-2026;01-11-2026;100,00;100,00\n"
        "D-2;K30;Frank Bos;01-10-2026;01-11-2026;120,00;120,00\n"
    ))

    error = rejected(path, creditor)

    assert [(e.row, e.value) for e in error.errors] == [(3, "K30")]
    assert "is also on row 2, but with another name ('Eva de Vries' on row 2, 'Frank Bos' here)" in error.errors[0].problem
    assert Debtor.objects.count() == 0
    assert Invoice.objects.count() == 0


def test_one_debtor_several_invoices_merged(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("namen.csv", (
        f"{DUTCH_HEADER}\n"
        "D-1;K30;Eva de Vries;01-10-2026;01-11-2026;100,00;100,00\n"
        "D-2;K30;EVA DE VRIES ;01-10-2026;01-11-2026;120,00;120,00\n"
        "D-3;K30;;01-10-2026;01-11-2026;20,00;20,00\n"
    ))

    report = run(path, creditor)

    assert report.counts["invoices new"] == 3
    assert Debtor.objects.get().name == "EVA DE VRIES"
    assert Invoice.objects.filter(debtor__customer_number="K30").count() == 3


def test_every_bad_row_in_one_report(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("raar.csv", (
        f"{DUTCH_HEADER}\n"
        "F-1;K50;Hans;01-09-2026;01-10-2026;25,00;25,00\n"
        "F-3;K51;;01-09-2026;01-10-2026;25,00;25,00\n"
        ";K53;Jan;01-09-2026;01-10-2026;25,00;25,00\n"
    ))

    error = rejected(path, creditor)

    assert [(e.row, e.field) for e in error.errors] == [(3, "Naam"), (4, "Factuurnummer")]
    assert "debtor K51 is new and has no name" in error.errors[0].problem
    assert Debtor.objects.count() == 0


def test_debtor_update_keeps_unlisted_fields(creditor: Creditor, write_file: WriteFile) -> None:
    run(write_file(
        "a.csv", f"{DUTCH_HEADER};E-mail\nF1;D1;Een;01-03-2025;15-03-2025;100,00;100,00;een@example.nl\n"
    ), creditor)

    report = run(write_file(
        "b.csv", f"{DUTCH_HEADER};Plaats\nF2;D1;Een B.V.;01-03-2025;15-03-2025;5,00;5,00;Delft\n"
    ), creditor)

    debtor = Debtor.objects.get()
    assert report.counts["debtors updated"] == 1
    assert debtor.email == "een@example.nl"
    assert debtor.name == "Een B.V."
    assert debtor.city == "Delft"
    update = TimelineEvent.objects.get(kind=TimelineKind.IMPORT, data__has_key="changed_fields")
    assert update.data["changed_fields"] == ["city", "name"]


def test_large_file_uses_bulk_queries(creditor: Creditor, write_file: WriteFile) -> None:
    lines = [f"{DUTCH_HEADER};E-mail"]
    for number in range(10_000):
        lines.append(
            f"F{number:05d};D{number % 2500:04d};Debiteur {number % 2500};01-03-2025;15-03-2025;"
            f"1.{number % 1000:03d},50;{number % 100},25;d{number % 2500}@example.nl"
        )
    path = write_file("groot.csv", "\n".join(lines) + "\n")

    with CaptureQueriesContext(connection) as first:
        report = run(path, creditor)
    with CaptureQueriesContext(connection) as second:
        again = run(path, creditor)

    assert report.counts["invoices new"] == 10_000
    assert report.counts["debtors new"] == 2_500
    assert Invoice.objects.filter(creditor=creditor).count() == 10_000
    assert TimelineEvent.objects.filter(kind=TimelineKind.IMPORT).count() == 2_500
    assert again.counts["invoices unchanged"] == 10_000
    # Django sends SQLite at most 999 parameters per statement, so a bulk
    # insert of invoices carries about 50 rows there; a query per row would
    # be over 10,000.
    assert len(first.captured_queries) < 400
    assert len(second.captured_queries) < 60


_HEADERS = {
    "nl": ("Factuurnummer", "Debiteurnummer", "Naam", "Factuurdatum", "Vervaldatum", "Totaal", "Openstaand"),
    "en": ("Invoice Number", "Customer ID", "Customer Name", "Invoice Date", "Due Date", "Total", "Balance"),
}
_DATE_STYLES = {
    "dd-mm-yyyy": lambda day: day.strftime("%d-%m-%Y"),
    "d-m-yyyy": lambda day: f"{day.day}-{day.month}-{day.year}",
    "yyyymmdd": lambda day: day.strftime("%Y%m%d"),
    "iso": lambda day: day.isoformat(),
}


def _format_amount(amount: Decimal, decimal_separator: str, grouped: bool) -> str:
    text = f"{amount:,.2f}" if grouped else f"{amount:.2f}"
    if decimal_separator == ",":
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return text


_invoice_rows = st.lists(
    st.tuples(
        st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)),
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2),
        st.integers(min_value=0, max_value=100),
    ),
    min_size=1,
    max_size=8,
)


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=_invoice_rows,
    language=st.sampled_from(sorted(_HEADERS)),
    delimiter=st.sampled_from([";", ",", "\t"]),
    decimal_separator=st.sampled_from([",", "."]),
    grouped=st.booleans(),
    date_style=st.sampled_from(sorted(_DATE_STYLES)),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
)
def test_reader_round_trip(
    tmp_path: Path,
    rows: list[tuple[dt.date, Decimal, int]],
    language: str,
    delimiter: str,
    decimal_separator: str,
    grouped: bool,
    date_style: str,
    encoding: str,
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(_HEADERS[language])
    for index, (due, total, percent_open) in enumerate(rows):
        open_amount = (total * percent_open / 100).quantize(Decimal("0.01"))
        writer.writerow([
            f"F-{index}", f"D{index % 3}", f"Débiteur {index % 3}",
            _DATE_STYLES[date_style](due), _DATE_STYLES[date_style](due),
            _format_amount(total, decimal_separator, grouped),
            _format_amount(open_amount, decimal_separator, grouped),
        ])
    path = tmp_path / f"round-trip-{encoding}.csv"
    path.write_bytes(buffer.getvalue().encode(encoding))

    batch = read_invoice_table(path)

    assert batch.errors == []
    assert [invoice.number for invoice in batch.invoices] == [f"F-{index}" for index in range(len(rows))]
    for invoice, (due, total, percent_open) in zip(batch.invoices, rows):
        assert invoice.due_date == due
        assert invoice.issue_date == due
        assert invoice.total == total
        assert invoice.open_amount == (total * percent_open / 100).quantize(Decimal("0.01"))
    assert batch.debtors["D0"].name == "Débiteur 0"


def test_bom_with_windows_1252_rejected_clearly(tmp_path) -> None:
    from betaalreis.imports.tables import UnreadableTable, decode_text

    data = b"\xef\xbb\xbffactuurnummer;naam\n1;Caf\xe9\n"

    with pytest.raises(UnreadableTable, match="byte order mark"):
        decode_text(data)


def test_reimport_reallocates_changed_credit_note(creditor: Creditor, write_file: WriteFile) -> None:
    from betaalreis.ledger.credit_notes import apply_unlinked_credit_notes

    rows = "F1;D1;Een;01-03-2025;15-03-2025;100,00;100,00\nC1;D1;Een;05-03-2025;05-03-2025;-40,00;-40,00\n"
    run(write_file("dag1.csv", f"{DUTCH_HEADER}\n{rows}"), creditor)
    apply_unlinked_credit_notes(creditor)

    changed = rows.replace("-40,00;-40,00", "-50,00;-50,00")
    report = run(write_file("dag2.csv", f"{DUTCH_HEADER}\n{changed}"), creditor)

    credit_note = Invoice.objects.get(number="C1")
    assert credit_note.kind == InvoiceKind.CREDIT_NOTE
    assert credit_note.open_amount == Decimal("-50.00")
    assert credit_note.status == InvoiceStatus.OPEN
    assert Invoice.objects.get(number="F1").open_amount == Decimal("100.00")
    assert any("Credit note C1 re-allocated" in note for note in report.notes)

    apply_unlinked_credit_notes(creditor)

    assert Invoice.objects.get(number="F1").open_amount == Decimal("50.00")
