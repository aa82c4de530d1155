"""`betaalreis import` rejects a damaged bank statement in Dutch, or in English with `--lang en`."""

from __future__ import annotations

import logging
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from betaalreis.banking.importers import Camt05xImporter
from betaalreis.banking.models import BankStatement
from betaalreis.banking.samples import SampleEntry, write_camt053
from betaalreis.imports.registry import ImportRejected
from betaalreis.ledger.models import Payment

from .helpers import CREDITOR_IBAN, make_creditor

pytestmark = pytest.mark.django_db

# Words of the English texts that a Dutch report must not contain.
ENGLISH_WORDS = ("rejected", "statement", "line ", "malformed", "balance", "entry", "invalid", "expected")


def _import(path: Path, *arguments: str) -> str:
    """Run `betaalreis import` on `path`, check that it fails and imports nothing, and return its output."""
    output = StringIO()

    with pytest.raises(CommandError):
        call_command("import", str(path), *arguments, stdout=output, stderr=output)

    assert not Payment.objects.exists()
    assert not BankStatement.objects.exists()
    return output.getvalue()


def _truncated_camt(tmp_path: Path) -> Path:
    entries = [SampleEntry(Decimal("10.00"), remittance="factuur 2026-0042", reference=f"R{number}") for number in range(3)]
    text = write_camt053(tmp_path / "whole.xml", CREDITOR_IBAN, entries).read_text()
    path = tmp_path / "truncated.xml"
    path.write_text(text[:500])
    return path


def _broken_mt940(tmp_path: Path, corpus: Path) -> Path:
    text = (corpus / "mt940/zilverline_triodos-iban_wrapped-eref.txt").read_text()
    broken = text.replace(":60F:C180222EUR0,00", ":60F:C18022XEUR0,00")
    assert broken != text
    path = tmp_path / "broken.sta"
    path.write_text(broken)
    return path


def _mistyped_mt940_tag(tmp_path: Path, corpus: Path) -> Path:
    text = (corpus / "mt940/zilverline_triodos-iban_wrapped-eref.txt").read_text()
    path = tmp_path / "typo.sta"
    path.write_text(text.replace(":62F:", ":6X:"))
    return path


def _unbalanced_camt(tmp_path: Path) -> Path:
    return write_camt053(
        tmp_path / "afwijkend.xml", CREDITOR_IBAN,
        [SampleEntry(Decimal("96.00"), remittance="factuur 2026-0042"), SampleEntry(Decimal("4.00"), remittance="gift")],
        opening=Decimal("1000.00"),
        closing=Decimal("1095.00"),
    )


# Per file and language: the --lang arguments and the texts the output must contain.
CASES = {
    "truncated camt.053, Dutch": ("truncated", (), (
        "truncated.xml: geweigerd, er is niets geïmporteerd.",
        ", kolom ",
        ", veld 'XML': ongeldige XML",
        "ongeldige XML: het bestand houdt midden in de XML op, dus het is afgebroken",
        "download het rekeningafschrift opnieuw bij de bank",
    )),
    "truncated camt.053, English": ("truncated", ("--lang", "en"), (
        "truncated.xml: rejected, nothing was imported.",
        ", column ",
        ", field 'XML': malformed XML",
        "malformed XML: the file ends in the middle of the XML, so it is truncated",
        "download the bank statement from the bank again",
    )),
    "broken MT940 tag, Dutch": ("mt940", (), (
        "broken.sta: geweigerd, er is niets geïmporteerd.",
        "regel 4, veld ':60F:', waarde 'C18022XEUR0,00': ",
        "ongeldige MT940-tag; het bestand is beschadigd of geen MT940",
    )),
    "broken MT940 tag, English": ("mt940", ("--lang", "en"), (
        "broken.sta: rejected, nothing was imported.",
        "line 4, field ':60F:', value 'C18022XEUR0,00': ",
        "invalid MT940 tag; the file is damaged or not MT940",
    )),
    "unknown MT940 tag, Dutch": ("typo", (), (
        "typo.sta: geweigerd, er is niets geïmporteerd.",
        "regel 22, veld ':6X:', waarde 'C180228EUR7728,78': onbekende MT940-tag",
        "Is het bestand bewerkt, download het rekeningafschrift dan opnieuw bij de bank.",
    )),
    "unknown MT940 tag, English": ("typo", ("--lang", "en"), (
        "typo.sta: rejected, nothing was imported.",
        "line 22, field ':6X:', value 'C180228EUR7728,78': unknown MT940 tag",
        "If the file was edited, download the bank statement from the bank again.",
    )),
    "balances do not add up, Dutch": ("unbalanced", (), (
        "afwijkend.xml: geweigerd, er is niets geïmporteerd.",
        "bestand, veld 'saldi', waarde '1000.00 → 1095.00'",
        "rekeningafschrift STMT-1 (regel ",
        "beginsaldo €\xa01.000,00 plus 2 boekingen (€\xa0+100,00) is €\xa01.100,00",
        "maar het eindsaldo is €\xa01.095,00 (verschil €\xa0-5,00)",
        "vraag de bank om een volledige export",
    )),
    "balances do not add up, English": ("unbalanced", ("--lang", "en"), (
        "afwijkend.xml: rejected, nothing was imported.",
        "file, field 'balances', value '1000.00 → 1095.00'",
        "bank statement STMT-1 (line ",
        "opening balance €1,000.00 plus 2 entries (+€100.00) is €1,100.00",
        "but the closing balance is €1,095.00 (difference -€5.00)",
        "ask the bank for a complete export",
    )),
}


@pytest.mark.parametrize("case", CASES)
def test_rejection_in_report_language(tmp_path: Path, corpus: Path, case: str):
    kind, arguments, expected = CASES[case]
    make_creditor()
    if kind == "truncated":
        path = _truncated_camt(tmp_path)
    elif kind == "mt940":
        path = _broken_mt940(tmp_path, corpus)
    elif kind == "typo":
        path = _mistyped_mt940_tag(tmp_path, corpus)
    else:
        path = _unbalanced_camt(tmp_path)

    output = _import(path, *arguments)

    for text in expected:
        assert text in output, text
    # Neither libxml2's nor mt-940's own English message is shown.
    assert "Premature end" not in output
    assert "Unable to parse" not in output
    if arguments:
        assert "geweigerd" not in output
        assert "row " not in output
    else:
        for word in ENGLISH_WORDS:
            assert word not in output, word
        # "rij" (row) and "waarde 'kolom" belong to tables, not to XML and MT940 files.
        assert "rij " not in output
        assert "waarde 'kolom" not in output


@pytest.mark.parametrize(("language", "expected"), [
    ("nl", "het bestand kan niet worden gelezen: het bestand bestaat niet. Controleer het pad en de leesrechten."),
    ("en", "cannot read the file: the file does not exist. Check the path and the read permissions."),
])
def test_missing_file_reason_translated(tmp_path: Path, language: str, expected: str):
    make_creditor()

    with translation.override(language), pytest.raises(ImportRejected) as rejected:
        Camt05xImporter().run(tmp_path / "weg.xml", None)

    assert expected in str(rejected.value)
    assert "No such file" not in str(rejected.value)



def test_broken_transaction_named_without_library_log(tmp_path: Path, corpus: Path):
    make_creditor()
    text = (corpus / "mt940/zilverline_triodos-iban_wrapped-eref.txt").read_text()
    broken = text.replace(":61:180222C4383,23NET0NONREF", ":61:1802XXC4383,23NET0NONREF")
    assert broken != text
    path = tmp_path / "broken61.sta"
    path.write_text(broken)

    output = _import(path)

    assert "':61:'" in output
    # The library logs the tag with its whole regular expression at ERROR;
    # the console of `betaalreis import` must not show that.
    assert not logging.getLogger("mt940.tags.61").isEnabledFor(logging.ERROR)


@pytest.mark.parametrize(("arguments", "where", "balances"), [
    ((), "rij 4, veld 'Saldo na mutatie', waarde ", "plus €\xa0+1.240,12 is €\xa01.624,50, niet €\xa01.624,40"),
    (("--lang", "en"), "row 4, field 'Saldo na mutatie', value ", "plus +€1,240.12 is €1,624.50, not €1,624.40"),
])
def test_csv_problem_names_row(tmp_path: Path, corpus: Path, arguments: tuple[str, ...], where: str, balances: str):
    lines = (corpus / "csv/ing-nl_betaalrekening_export-2023_semicolon.csv").read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace('"1240,02"', '"1240,12"')
    path = tmp_path / "export.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    make_creditor()

    output = _import(path, *arguments)

    assert where in output
    assert balances in output
