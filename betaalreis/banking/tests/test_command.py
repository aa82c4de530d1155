"""`betaalreis import` with bank statements: the printed report, dry runs and the account check."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from betaalreis.banking.samples import SampleEntry, write_camt053
from betaalreis.ledger.models import Payment

from .helpers import CREDITOR_IBAN, make_creditor, make_debtor, make_invoice

# These tests check the English wording of reports and errors.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english_reports")]


def _statement(tmp_path: Path, account: str = CREDITOR_IBAN) -> Path:
    return write_camt053(
        tmp_path / "day.xml", account,
        [
            SampleEntry(Decimal("121.00"), remittance="factuur 2026-0042", reference="R1"),
            SampleEntry(Decimal("20.00"), remittance="factuur 2026-0043", reference="R2"),
            SampleEntry(Decimal("7.50"), remittance="gift", reference="R3"),
            SampleEntry(Decimal("-15.00"), name="Kantoor", reference="R4"),
        ],
    )


def _ledger():
    creditor = make_creditor()
    debtor = make_debtor(creditor, "D1", "Jansen")
    make_invoice(debtor, "2026-0042", "121.00")
    make_invoice(debtor, "2026-0043", "50.00")
    return creditor


def test_import_prints_report(tmp_path: Path):
    _ledger()
    output = StringIO()

    call_command("import", str(_statement(tmp_path)), stdout=output)

    text = output.getvalue()
    assert "camt.053/054" in text
    for line in ("entries read", "matched automatically", "matched partly", "sent to review", "ignored"):
        assert line in text
    assert "€121.00" in text
    assert "-€15.00" in text
    assert Payment.objects.count() == 3


def test_import_prints_report_in_dutch(settings, tmp_path: Path):
    # This module reports in English, so this test sets the Dutch default back.
    settings.BETAALREIS_LANGUAGE = "nl"
    _ledger()
    output = StringIO()

    call_command("import", str(_statement(tmp_path)), stdout=output)

    text = output.getvalue()
    for line in ("boekingen gelezen", "automatisch gematcht", "deels gematcht", "te beoordelen", "genegeerd"):
        assert line in text
    assert f"crediteur acme, rekening {CREDITOR_IBAN}, periode" in text
    assert "entries read" not in text
    # Amounts in the table and the review lines are formatted the Dutch way.
    assert "€\xa0121,00" in text
    assert "€\xa0-15,00" in text
    assert "te beoordelen: 2026-12-01, €\xa07,50, betaler onbekend" in text
    assert "121.00" not in text


def test_import_dry_run_saves_nothing(tmp_path: Path):
    _ledger()
    output = StringIO()

    call_command("import", str(_statement(tmp_path)), "--dry-run", stdout=output)

    assert "dry run" in output.getvalue()
    assert not Payment.objects.exists()


def test_import_other_account_rejected(tmp_path: Path):
    _ledger()
    output = StringIO()
    path = _statement(tmp_path, "NL39RABO0300065264")

    with pytest.raises(CommandError):
        call_command("import", str(path), "--creditor", "acme", stdout=output)

    text = " ".join(output.getvalue().split())
    assert f"{path.name}: rejected, nothing was imported" in text
    assert "value 'NL39RABO0300065264'" in text
    assert "creditor 'acme' has IBAN" in text
    assert "No creditor has this account" in text
    assert "betaalreis creditor load" in text
    assert "import the file without --creditor" in text
    assert not Payment.objects.exists()


def test_import_rejection_exits_nonzero(tmp_path: Path):
    _ledger()
    path = tmp_path / "broken.xml"
    path.write_text(_statement(tmp_path).read_text()[:500])
    output = StringIO()

    with pytest.raises(CommandError):
        call_command("import", str(path), stdout=output)

    assert "malformed XML" in output.getvalue()
    assert not Payment.objects.exists()


def _statement_with_other_id(tmp_path: Path, account_id: str) -> Path:
    """Write a statement whose account is given as Acct/Id/Othr/Id, as some banks do."""
    path = _statement(tmp_path)
    text = path.read_text().replace(f"<Acct><Id><IBAN>{CREDITOR_IBAN}</IBAN></Id>", f"<Acct><Id><Othr><Id>{account_id}</Id></Othr></Id>")
    assert "<Othr>" in text
    path.write_text(text)
    return path


def test_import_othr_iban_finds_creditor(tmp_path: Path):
    _ledger()
    output = StringIO()

    call_command("import", str(_statement_with_other_id(tmp_path, "nl91 abna 0417 1643 00")), stdout=output)

    assert Payment.objects.count() == 3
    assert "matched automatically" in output.getvalue()


def test_import_othr_other_id_names_it(tmp_path: Path):
    _ledger()
    output = StringIO()

    with pytest.raises(CommandError):
        call_command("import", str(_statement_with_other_id(tmp_path, "FP-98765-01")), stdout=output)

    text = " ".join(output.getvalue().split())
    assert "identifies its account by 'FP-98765-01', which is neither an IBAN nor a Dutch account number" in text
    assert "download the bank statement from the bank with the IBAN as its account" in text
    assert "--creditor" not in text
    assert "no creditor has this account as its IBAN" not in text
    assert not Payment.objects.exists()


CORPUS = Path(__file__).resolve().parents[4] / "shared" / "corpus"

# Corpus files whose account no creditor has, and the advice each rejection
# gives. --creditor cannot import them, so no advice may name it.
UNOWNED_ACCOUNT_FILES = {
    "IBAN": (
        "camt053/genkgo_othr-account-id_mixed-ccy-balances_camt053v08.xml",
        "no creditor has this account as its IBAN (bank statement 253EURNL26VAYB8060476890 (line 30)); "
        "add the creditor with this IBAN with `betaalreis creditor add`, or make it a creditor's IBAN with "
        "`betaalreis creditor load`, and import the file again",
    ),
    "Dutch account number": (
        "mt940/fruitl00p_abnamro_trtp-wrapped-midword.txt",
        "the bank statement identifies its account by '534334164', which is not an IBAN, and no creditor's IBAN "
        "ends in it (bank statement ABN AMRO BANK NV/35001 (line 4)); give the creditor of this account the NL "
        "IBAN that ends in this account number, with `betaalreis creditor add` or `betaalreis creditor load`, "
        "and import the file again",
    ),
    "Triodos account number": (
        "mt940/jejik_triodos-legacy_subfields_crlf.txt",
        "give the creditor of this account the NL IBAN that ends in this account number",
    ),
}


@pytest.mark.parametrize("label", list(UNOWNED_ACCOUNT_FILES))
def test_unowned_account_advice(label: str):
    name, advice = UNOWNED_ACCOUNT_FILES[label]
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"corpus file {path} is missing")
    _ledger()
    output = StringIO()

    with pytest.raises(CommandError):
        call_command("import", str(path), stdout=output)

    text = " ".join(output.getvalue().split())
    assert advice in text
    assert "--creditor" not in text
    assert not Payment.objects.exists()
# An MT940 file whose :25: account has the form of an IBAN with wrong check digits.
INVALID_IBAN_FILE = CORPUS / "mt940" / "fruitl00p_rabobank_pref-batch-entries.txt"


@pytest.mark.parametrize("options", [("--creditor", "acme"), ()], ids=["with-creditor", "without-creditor"])
def test_invalid_iban_account_named_once(options):
    _ledger()
    output = StringIO()

    with pytest.raises(CommandError):
        call_command("import", str(INVALID_IBAN_FILE), *options, stdout=output)

    text = " ".join(output.getvalue().split())
    assert "account NL50RABO0123456789 in bank statement 940S130403/0 (line 2) is not a valid IBAN" in text
    assert "the check digits are wrong" in text
    assert "no creditor can import this bank statement, not even with --creditor" in text
    assert "Download the bank statement again from the bank" in text
    assert "betaalreis creditor load" not in text
    assert "choose the creditor with --creditor SLUG" not in text
    assert not Payment.objects.exists()


def test_invalid_iban_account_in_dutch():
    _ledger()
    output = StringIO()

    with pytest.raises(CommandError):
        call_command("import", str(INVALID_IBAN_FILE), "--creditor", "acme", "--lang", "nl", stdout=output)

    text = " ".join(output.getvalue().split())
    assert "rekening NL50RABO0123456789 in rekeningafschrift 940S130403/0 (regel 2) is geen geldig IBAN" in text
    assert "voor geen enkele crediteur te importeren, ook niet met --creditor" in text
    assert "stel haar dan in als IBAN" not in text
