"""`betaalreis import` rejects a damaged bank statement in Dutch, or in English with `--lang en`."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from betaalreis.banking.models import BankStatement
from betaalreis.banking.samples import SampleEntry, write_camt053
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


def _unbalanced_camt(tmp_path: Path) -> Path:
    return write_camt053(
        tmp_path / "afwijkend.xml", CREDITOR_IBAN,
        [SampleEntry(Decimal("96.00"), remittance="factuur 2026-0042"), SampleEntry(Decimal("4.00"), remittance="gift")],
        opening=Decimal("1000.00"),
        closing=Decimal("1095.00"),
    )


def test_truncated_camt_dutch(tmp_path: Path):
    make_creditor()

    output = _import(_truncated_camt(tmp_path))

    assert "truncated.xml: geweigerd, er is niets geïmporteerd." in output
    assert "veld 'XML', waarde 'kolom " in output
    assert "het bestand houdt midden in de XML op, dus het is afgebroken" in output
    assert "download het rekeningafschrift opnieuw bij de bank" in output
    assert "Premature end" not in output
    for word in ENGLISH_WORDS:
        assert word not in output, word


def test_truncated_camt_english(tmp_path: Path):
    make_creditor()

    output = _import(_truncated_camt(tmp_path), "--lang", "en")

    assert "truncated.xml: rejected, nothing was imported." in output
    assert "field 'XML', value 'column " in output
    assert "the file ends in the middle of the XML, so it is truncated" in output
    assert "download the bank statement from the bank again" in output
    assert "Premature end" not in output
    assert "geweigerd" not in output


def test_broken_mt940_tag_dutch(tmp_path: Path, corpus: Path):
    make_creditor()

    output = _import(_broken_mt940(tmp_path, corpus))

    assert "broken.sta: geweigerd, er is niets geïmporteerd." in output
    assert "rij 4, veld ':60F:', waarde 'C18022XEUR0,00': " in output
    assert "Unable to parse" not in output
    assert "ongeldige MT940-tag; het bestand is beschadigd of geen MT940" in output
    for word in ENGLISH_WORDS:
        assert word not in output, word


def test_broken_mt940_tag_english(tmp_path: Path, corpus: Path):
    make_creditor()

    output = _import(_broken_mt940(tmp_path, corpus), "--lang", "en")

    assert "broken.sta: rejected, nothing was imported." in output
    assert "row 4, field ':60F:', value 'C18022XEUR0,00': " in output
    assert "Unable to parse" not in output
    assert "invalid MT940 tag; the file is damaged or not MT940" in output
    assert "geweigerd" not in output


def test_unbalanced_statement_dutch(tmp_path: Path):
    make_creditor()

    output = _import(_unbalanced_camt(tmp_path))

    assert "afwijkend.xml: geweigerd, er is niets geïmporteerd." in output
    assert "bestand, veld 'saldi', waarde '1000.00 → 1095.00'" in output
    assert "rekeningafschrift STMT-1 (regel " in output
    assert "beginsaldo 1000.00 plus 2 boekingen (+100.00) is 1100.00" in output
    assert "maar het eindsaldo is 1095.00 (verschil -5.00)" in output
    assert "vraag de bank om een volledige export" in output
    for word in ENGLISH_WORDS:
        assert word not in output, word


def test_unbalanced_statement_english(tmp_path: Path):
    make_creditor()

    output = _import(_unbalanced_camt(tmp_path), "--lang", "en")

    assert "afwijkend.xml: rejected, nothing was imported." in output
    assert "file, field 'balances', value '1000.00 → 1095.00'" in output
    assert "bank statement STMT-1 (line " in output
    assert "opening balance 1000.00 plus 2 entries (+100.00) is 1100.00" in output
    assert "but the closing balance is 1095.00 (difference -5.00)" in output
    assert "ask the bank for a complete export" in output
    assert "geweigerd" not in output
