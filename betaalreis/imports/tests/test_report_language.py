"""The language of `betaalreis import` reports: Dutch by default, English with --lang en or the setting."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from betaalreis.imports.registry import RowError
from betaalreis.imports.report_labels import ROW_LABELS, SKIP_REASONS, row_label
from betaalreis.ledger.models import Creditor, Invoice

WriteFile = Callable[..., Path]

GOOD = "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Openstaand\nF1;D1;Een;01-03-2025;10,00\n"
BAD = "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Openstaand\nF2;D2;Twee;31-02-2025;10,00\n"


def _import(*arguments: str) -> str:
    output = io.StringIO()
    call_command("import", *arguments, stdout=output)
    return output.getvalue()


def test_report_dutch_by_default(creditor: Creditor, write_file: WriteFile) -> None:
    text = _import(str(write_file("goed.csv", GOOD)), "--creditor", "acme")

    assert "nieuwe facturen" in text
    assert "openstaand in bestand (EUR)" in text
    assert "invoices new" not in text


def test_report_english_with_lang_option(creditor: Creditor, write_file: WriteFile) -> None:
    text = _import(str(write_file("goed.csv", GOOD)), "--creditor", "acme", "--lang", "en")

    assert "invoices new" in text
    assert "open in file (EUR)" in text
    assert "nieuwe facturen" not in text


def test_setting_picks_english(settings, creditor: Creditor, write_file: WriteFile) -> None:
    settings.BETAALREIS_LANGUAGE = "en"

    text = _import(str(write_file("goed.csv", GOOD)), "--creditor", "acme")

    assert "invoices new" in text


def test_lang_option_overrides_setting(settings, creditor: Creditor, write_file: WriteFile) -> None:
    settings.BETAALREIS_LANGUAGE = "en"

    text = _import(str(write_file("goed.csv", GOOD)), "--creditor", "acme", "--lang", "nl")

    assert "nieuwe facturen" in text


def test_rejection_in_dutch(creditor: Creditor, write_file: WriteFile) -> None:
    bad = write_file("fout.csv", BAD)
    good = write_file("goed.csv", GOOD)
    output = io.StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("import", str(bad), str(good), "--creditor", "acme", stdout=output)

    assert caught.value.returncode == 1
    assert "1 van 2 bestanden geweigerd; de andere zijn geïmporteerd" in str(caught.value)
    assert "fout.csv: geweigerd, er is niets geïmporteerd." in output.getvalue()
    assert "rij 2, veld 'Vervaldatum', waarde '31-02-2025'" in output.getvalue()


def test_rejection_in_english(creditor: Creditor, write_file: WriteFile) -> None:
    output = io.StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("import", str(write_file("fout.csv", BAD)), "--creditor", "acme", "--lang", "en", stdout=output)

    assert "1 of 1 file rejected; no file was imported" in str(caught.value)
    assert "fout.csv: rejected, nothing was imported." in output.getvalue()
    assert "row 2, field 'Vervaldatum', value '31-02-2025'" in output.getvalue()


def test_unknown_lang_rejected(creditor: Creditor, write_file: WriteFile) -> None:
    with pytest.raises(CommandError, match="invalid choice: 'de'"):
        _import(str(write_file("goed.csv", GOOD)), "--lang", "de")


def test_row_error_framed_in_active_language() -> None:
    error = RowError(3, "Bedrag", "abc", "x")

    with translation.override("nl"):
        assert str(error) == "rij 3, veld 'Bedrag', waarde 'abc': x"
    with translation.override("en"):
        assert str(error) == "row 3, field 'Bedrag', value 'abc': x"


@pytest.mark.parametrize("key", sorted(ROW_LABELS))
def test_row_label_english_is_key(key: str) -> None:
    with translation.override("en"):
        assert row_label(key) == key
        assert row_label(f"{key} (EUR)") == f"{key} (EUR)"
    with translation.override("nl"):
        assert row_label(key) != key


@pytest.mark.parametrize("reason", sorted(SKIP_REASONS))
def test_skip_labels_english_is_key(reason: str) -> None:
    with translation.override("en"):
        assert row_label(f"skipped: {reason}") == f"skipped: {reason}"
        assert row_label(f"skipped {reason} (EUR)") == f"skipped {reason} (EUR)"


HEADER = "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Openstaand\n"

# One bad file per kind of problem, with the problem line that a Dutch and an English report print.
PROBLEM_CASES = {
    "bad date": (
        HEADER + "F2;D2;Twee;31-02-2026;10,00\n",
        "rij 2, veld 'Vervaldatum', waarde '31-02-2026': is geen bestaande datum: maand 2 van 2026 "
        "heeft geen dag 31; verbeter de datum",
        "row 2, field 'Vervaldatum', value '31-02-2026': is not a real date: month 2 of 2026 has no "
        "day 31; correct the date",
    ),
    "bad amount": (
        HEADER + "F3;D3;Drie;01-03-2026;tien\n",
        "rij 2, veld 'Openstaand', waarde 'tien': geen bedrag; schrijf het als 1234,56 of 1.234,56",
        "row 2, field 'Openstaand', value 'tien': not an amount; write it like 1234,56 or 1.234,56",
    ),
    "missing column": (
        "Factuurnummer;Debiteurnummer;Naam;Openstaand\nF4;D4;Vier;10,00\n",
        "rij 1, veld 'vervaldatum', waarde '': het bestand heeft geen kolom voor dit veld; voeg de "
        "kolom toe of noem hem in een mappingbestand (--mapping). De kolomkoppen zijn "
        "'Factuurnummer', 'Debiteurnummer', 'Naam', 'Openstaand'",
        "row 1, field 'due date', value '': the file has no column for this field; add one, or name "
        "it in a mapping file (--mapping). The headers are 'Factuurnummer', 'Debiteurnummer', "
        "'Naam', 'Openstaand'",
    ),
    "duplicate invoice number": (
        HEADER + "F5;D5;Vijf;01-03-2026;10,00\nF5;D5;Vijf;01-03-2026;12,00\n",
        "rij 3, veld 'Factuurnummer', waarde 'F5': staat ook op rij 2, met een andere waarde voor "
        "'Openstaand'; de rijen van één factuur moeten overeenkomen, dus verbeter de rij of geef die "
        "een eigen factuurnummer",
        "row 3, field 'Factuurnummer', value 'F5': also on row 2 with another value for "
        "'Openstaand'; rows of one invoice must agree, so correct the row or give it its own invoice "
        "number",
    ),
}


def _rejected_output(path: Path, *options: str) -> str:
    output = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import", str(path), "--creditor", "acme", *options, stdout=output)
    return output.getvalue()


@pytest.mark.parametrize("case", sorted(PROBLEM_CASES))
def test_problem_text_dutch_by_default(case: str, creditor: Creditor, write_file: WriteFile) -> None:
    content, dutch, english = PROBLEM_CASES[case]

    text = _rejected_output(write_file("fout.csv", content))

    assert "fout.csv: geweigerd, er is niets geïmporteerd." in text
    assert dutch in text
    assert english not in text


@pytest.mark.parametrize("case", sorted(PROBLEM_CASES))
def test_problem_text_english_with_lang(case: str, creditor: Creditor, write_file: WriteFile) -> None:
    content, dutch, english = PROBLEM_CASES[case]

    text = _rejected_output(write_file("fout.csv", content), "--lang", "en")

    assert "fout.csv: rejected, nothing was imported." in text
    assert english in text
    assert dutch not in text


# A mapping file with one wrong header, for a file whose headers no built-in layout knows.
MAPPING_WITH_TYPO = (
    '[columns]\ninvoice_number = "Docnr"\ncustomer_number = "Relatiecode"\nname = "Relatie"\n'
    'due_date = "Uiterlijk"\nopen_amount = "Openstaand bedrag"\n'
    '[format]\ndelimiter = ";"\ndecimal_separator = ","\ndate_format = "%d.%m.%Y"\n'
)
UNKNOWN_LAYOUT = "Docnr;Relatiecode;Relatie;Uiterlijk;Nog open\nM-1;M1;Müller GmbH;31.10.2026;1.234,50\n"


@pytest.mark.parametrize(
    ("options", "expected", "generic"),
    [
        (
            (),
            "rij 1, veld 'openstaand bedrag', waarde 'Openstaand bedrag': open_amount = 'Openstaand bedrag' "
            "in map.toml: de kopregel heeft geen kolom met die naam; verbeter de naam in het mappingbestand. "
            "De kolomkoppen zijn 'Docnr', 'Relatiecode', 'Relatie', 'Uiterlijk', 'Nog open'",
            "geen van de eerste 30 rijen",
        ),
        (
            ("--lang", "en"),
            "row 1, field 'open amount', value 'Openstaand bedrag': open_amount = 'Openstaand bedrag' "
            "in map.toml: the header row has no such column; correct the name in the mapping file. "
            "The headers are 'Docnr', 'Relatiecode', 'Relatie', 'Uiterlijk', 'Nog open'",
            "no row in the first 30",
        ),
    ],
)
def test_mapping_typo_names_entry(
    options: tuple[str, ...], expected: str, generic: str, creditor: Creditor, write_file: WriteFile
) -> None:
    mapping = write_file("map.toml", MAPPING_WITH_TYPO)

    text = _rejected_output(write_file("m1.csv", UNKNOWN_LAYOUT), "--mapping", str(mapping), *options)

    assert expected in text
    assert generic not in text


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ((), "geen van de eerste 30 rijen bevat een kolomkop uit map.toml (invoice_number = 'Nummer', "),
        (("--lang", "en"), "none of the first 30 rows contains a header from map.toml (invoice_number = 'Nummer', "),
    ],
)
def test_mapping_matching_no_header(
    options: tuple[str, ...], expected: str, creditor: Creditor, write_file: WriteFile
) -> None:
    mapping = write_file("map.toml", '[columns]\ninvoice_number = "Nummer"\nopen_amount = "Saldo"\n')

    text = _rejected_output(write_file("m1.csv", UNKNOWN_LAYOUT), "--mapping", str(mapping), *options)

    assert expected in text
    assert "--mapping" not in text.split(expected)[1].splitlines()[0]


DUE_BEFORE_ISSUE = (
    "Factuurnummer;Debiteurnummer;Naam;Factuurdatum;Vervaldatum;Openstaand\n"
    "Q-1;20;Quirijn;15-10-2026;01-10-2026;50,00\n"
    "Q-2;20;Quirijn;15-10-2026;29-10-2026;60,00\n"
    "Q-3;20;Quirijn;15-10-2026;15-10-2026;70,00\n"
)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ((), "let op: 1 factuur heeft een vervaldatum vóór de factuurdatum: Q-1 (rij 2). Aanmanen, rente en "
             "fasen rekenen vanaf die vervaldatum. Controleer of de kolommen factuurdatum en vervaldatum niet "
             "verwisseld zijn, en verbeter zo nodig het bestand."),
        (("--lang", "en"), "note: 1 invoice has a due date before its invoice date: Q-1 (row 2). Dunning, "
                           "interest and stages count from that due date. Check that the invoice date and due "
                           "date columns are not swapped, and correct the file if needed."),
    ],
)
def test_due_before_issue_noted(
    options: tuple[str, ...], expected: str, creditor: Creditor, write_file: WriteFile
) -> None:
    text = " ".join(_import(str(write_file("q.csv", DUE_BEFORE_ISSUE)), "--creditor", "acme", *options).split())

    assert expected in text
    assert "Q-2" not in text
    assert "Q-3" not in text


def test_due_before_issue_still_imported(creditor: Creditor, write_file: WriteFile) -> None:
    _import(str(write_file("q.csv", DUE_BEFORE_ISSUE)), "--creditor", "acme")

    assert Invoice.objects.filter(creditor=creditor).count() == 3


SKIPPED_DRAFT = (
    "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Openstaand;Status\n"
    "F6;D6;Zes;01-03-2026;10,00;open\n"
    "F7;D6;Zes;01-03-2026;20,00;concept\n"
)


def test_note_dutch_by_default(creditor: Creditor, write_file: WriteFile) -> None:
    text = _import(str(write_file("concept.csv", SKIPPED_DRAFT)), "--creditor", "acme")

    assert (
        "let op: 1 factuur met status concept overgeslagen (F7): die is nooit verstuurd of is "
        "geannuleerd, dus het is geen vordering."
    ) in text


def test_note_english_with_lang(creditor: Creditor, write_file: WriteFile) -> None:
    text = _import(str(write_file("concept.csv", SKIPPED_DRAFT)), "--creditor", "acme", "--lang", "en")

    assert "note: Skipped 1 draft invoice (F7): it was never sent or was cancelled, so it is not a claim." in text


def test_library_messages_replaced_by_dutch(write_file: WriteFile) -> None:
    from betaalreis.errors import InvalidInput
    from betaalreis.imports import contacts
    from betaalreis.imports.tables import load_mapping
    from betaalreis.imports.values import ValueProblem

    mapping = write_file("kapot.toml", "[columns]\ninvoice_number = \n")

    with translation.override("nl"):
        with pytest.raises(ValueProblem) as iban:
            contacts.parse_iban("NL91ABNA0417164301")
        with pytest.raises(ValueProblem) as vat_id:
            contacts.parse_vat_id("NL123")
        with pytest.raises(InvalidInput) as toml:
            load_mapping(mapping)

    assert str(iban.value) == "geen geldig IBAN: de controlecijfers kloppen niet; controleer de cijfers"
    assert "Invalid" not in str(iban.value)
    assert str(vat_id.value).startswith("geen geldig btw-nummer uit de EU")
    assert "mappingbestand niet gelezen: geen geldige TOML op regel 2, kolom 18" in str(toml.value)


def test_file_problem_named_once() -> None:
    error = RowError(None, "bestand", "kapot.xml", "geen geldige XML")

    with translation.override("nl"):
        assert str(error) == "bestand 'kapot.xml': geen geldige XML"


AMOUNTS = (
    "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Openstaand;Valuta;Status\n"
    "F1;D1;Een;01-03-2025;103.812,21;EUR;\n"
    "F2;D1;Een;01-03-2025;1.339,75;USD;concept\n"
)


def test_invoice_amounts_in_dutch_format(creditor: Creditor, write_file: WriteFile) -> None:
    text = _import(str(write_file("bedragen.csv", AMOUNTS)), "--creditor", "acme")

    assert "€\xa0103.812,21" in text
    assert "US$\xa01.339,75" in text
    assert "103812.21" not in text
    assert "1339.75" not in text


def test_invoice_amounts_in_english_format(creditor: Creditor, write_file: WriteFile) -> None:
    text = _import(str(write_file("bedragen.csv", AMOUNTS)), "--creditor", "acme", "--lang", "en")

    assert "€103,812.21" in text
    assert "US$1,339.75" in text
    assert "103812.21" not in text


@pytest.mark.parametrize(
    ("language", "consumer_note", "business_note"),
    [
        ("nl", "1 nieuwe debiteur als consument opgeslagen",
         "1 nieuwe debiteur als bedrijf opgeslagen omdat de naam eindigt op een rechtsvorm (B.V.: 1)"),
        ("en", "1 new debtor stored as a consumer",
         "1 new debtor stored as a business because its name ends in a legal form (B.V.: 1)"),
    ],
)
def test_kind_notes_start_alike(
    creditor: Creditor, write_file: WriteFile, language: str, consumer_note: str, business_note: str
) -> None:
    # One debtor becomes a consumer by default, the other a business by its legal form.
    path = write_file(
        "soort.csv",
        "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Openstaand\n"
        "F1;D1;Jan de Vries;01-03-2025;10,00\n"
        "F2;D2;Klaas B.V.;01-03-2025;20,00\n",
    )

    text = " ".join(_import(str(path), "--creditor", "acme", "--lang", language).split())

    assert consumer_note in text
    assert business_note in text
