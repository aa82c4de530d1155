"""MT940 layouts: ASN's structured and labelled :86:, bunq's preamble, and ABN AMRO's layout from before SEPA."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from betaalreis.banking.importers import Mt940Importer
from betaalreis.banking.mt940_reader import parse_information, read_mt940
from betaalreis.imports.registry import HEAD_BYTES

ASN = """{1:F01ASNBNL21XXXX0000000000}{2:I940ASNBNL21XXXXN}{4:
:20:0000000000
:25:NL81ASNB0708491429
:28C:1/1
:60F:C261130EUR100,00
:61:2612011201C25,50N541NONREF
:86:/TRTP/SEPA OVERBOEKING/IBAN/NL91ABNA0417164300/BIC/ABNANL2A/NAME/
J. DE VRIES/REMI/FACTUUR 2026-0042/EREF/NOTPROVIDED
:61:2612011201C4,50N541NONREF
:86:BETALING KLANT 88 REK: NL02ABNA0123456789/NAAM: P. BAKKER
:62F:C261201EUR130,00
-}
"""

BUNQ = """BUNQ
:20:BUNQ1
:25:NL31BUNQ2025391463
:28C:12
:60F:C261130EUR0,00
:61:2612011201C12,00NTRFNONREF
:86:NL02ABNA0123456789 M. Jansen Factuur 2026-0043
:62F:C261201EUR12,00
"""


def test_asn_structured_and_labels(tmp_path: Path):
    path = tmp_path / "asn.sta"
    path.write_text(ASN)

    assert Mt940Importer.detect(path, path.read_bytes()[:HEAD_BYTES])
    (statement,) = read_mt940(path)
    structured, labelled = (entry.transactions[0] for entry in statement.entries)

    assert statement.account == "NL81ASNB0708491429"
    assert structured.counterparty_name == "J. DE VRIES"
    assert structured.counterparty_iban == "NL91ABNA0417164300"
    assert structured.remittance_info == "FACTUUR 2026-0042"
    assert structured.end_to_end_id == ""
    assert labelled.counterparty_iban == "NL02ABNA0123456789"
    assert labelled.counterparty_name == "P. BAKKER"
    assert labelled.remittance_info == "BETALING KLANT 88"
    assert statement.closing_balance == Decimal("130.00")


def test_bunq_preamble_and_free_text(tmp_path: Path):
    path = tmp_path / "bunq.sta"
    path.write_text(BUNQ)

    assert Mt940Importer.detect(path, path.read_bytes()[:HEAD_BYTES])
    (statement,) = read_mt940(path)
    (entry,) = statement.entries

    assert statement.account == "NL31BUNQ2025391463"
    assert entry.amount == Decimal("12.00")
    assert entry.transactions[0].counterparty_iban == "NL02ABNA0123456789"
    assert entry.transactions[0].remittance_info == "M. Jansen Factuur 2026-0043"


def test_information_cntp_layout():
    info = parse_information("/EREF/E2E-9//CNTP/NL02ABNA0123456789/ABNANL2A/Bakker BV/Utrecht///REMI/STRD/CUR/5000056789012345/")

    assert info.iban == "NL02ABNA0123456789"
    assert info.bic == "ABNANL2A"
    assert info.name == "Bakker BV"
    assert info.structured_reference == "5000056789012345"
    assert info.end_to_end_id == "E2E-9"


ABN_DOMESTIC = """ABNANL2A
940
ABNANL2A
:20:ABN AMRO BANK NV
:25:534334164
:28:19321/1
:60F:C261130EUR100,00
:61:2612011201C25,50N541NONREF
:86:/TRTP/SEPA OVERBOEKING/IBAN/NL91ABNA0417164300/BIC/ABNANL2A/NAME/
J. DE VRIES/REMI/FACTUUR 2026-0042/EREF/NOTPROVIDED
:62F:C261201EUR125,50
-
"""


@pytest.mark.django_db
def test_domestic_account_finds_creditor(tmp_path: Path):
    from betaalreis.ledger.models import Creditor, Payment

    path = tmp_path / "abn.sta"
    path.write_text(ABN_DOMESTIC)
    creditor = Creditor.objects.create(slug="abn", legal_name="ABN klant B.V.", iban="NL87ABNA0534334164")
    Creditor.objects.create(slug="other", legal_name="Ander B.V.", iban="NL91ABNA0417164300")

    report = Mt940Importer().run(path, None)

    assert report.counts["new payments"] == 1
    assert Payment.objects.get().creditor == creditor


@pytest.mark.django_db
@pytest.mark.usefixtures("english_reports")
def test_domestic_account_two_creditors_rejected(tmp_path: Path):
    from betaalreis.imports.registry import ImportRejected
    from betaalreis.ledger.models import Creditor

    path = tmp_path / "abn.sta"
    path.write_text(ABN_DOMESTIC)
    Creditor.objects.create(slug="abn", legal_name="ABN klant B.V.", iban="NL87ABNA0534334164")
    # The same account number at another bank: the statement names neither for sure.
    Creditor.objects.create(slug="rabo", legal_name="Rabo klant B.V.", iban="NL12RABO0534334164")

    with pytest.raises(ImportRejected) as rejected:
        Mt940Importer().run(path, None)

    assert "the IBANs of several creditors (abn, rabo) end in this account number" in str(rejected.value.errors[0])


@pytest.mark.django_db
@pytest.mark.usefixtures("english_reports")
def test_other_creditors_account_rejected(tmp_path: Path):
    from betaalreis.imports.registry import ImportRejected
    from betaalreis.ledger.models import Creditor, Payment

    path = tmp_path / "abn.sta"
    path.write_text(ABN_DOMESTIC)
    Creditor.objects.create(slug="abn", legal_name="ABN klant B.V.", iban="NL87ABNA0534334164")
    other = Creditor.objects.create(slug="other", legal_name="Ander B.V.", iban="NL91ABNA0417164300")

    with pytest.raises(ImportRejected) as rejected:
        Mt940Importer().run(path, other)

    assert "creditor 'other' has IBAN NL91ABNA0417164300" in str(rejected.value.errors[0])
    assert "The account belongs to creditor 'abn'" in str(rejected.value.errors[0])
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_creditor_for_dutch_account_forms():
    from betaalreis.banking.store import creditors_for_dutch_account
    from betaalreis.ledger.models import Creditor

    creditor = Creditor.objects.create(slug="abn", legal_name="ABN klant B.V.", iban="NL87ABNA0534334164")

    for written in ("534334164", "0534334164", "ABNANL2A/0534334164", "0534334164EUR", "53.43.34.164"):
        assert creditors_for_dutch_account(written) == [creditor], written
    for written in ("34164", "1534334164", "0", "NL87ABNA0534334164"):
        assert creditors_for_dutch_account(written) == [], written


def test_abn_amro_legacy_account_and_name(corpus: Path):
    statements = read_mt940(corpus / "mt940/zilverline_abnamro_mixed-legacy-and-sepa_multi-statement.txt")
    names = {entry.raw: entry.transactions[0].counterparty_name for statement in statements for entry in statement.entries}

    assert names["54.49.42.108 ABC BOOM KK"] == "ABC BOOM KK"
    # Card payments (BEA) name the shop in a layout of their own, which is not read.
    card = next(raw for raw in names if raw.startswith("BEA   NR:MA1402"))
    assert names[card] == ""
    # The structured and labelled layouts keep their own name fields.
    structured = next(raw for raw in names if raw.startswith("/TRTP/SEPA OVERBOEKING"))
    assert names[structured] == "FOOBAR"
    labelled = next(raw for raw in names if raw.startswith("SEPA IDEAL"))
    assert names[labelled] == "NS GROEP INZAKE NSR IDEA"


LEGACY_GIRO = """ABNANL2A
940
ABNANL2A
:20:ABN AMRO BANK NV
:25:534334164
:28:1301/1
:60F:C140112EUR100,00
:61:1401130113C25,00N658NONREF
:86:GIRO 1234567 J. JANSEN
FACTUUR 2026-0042
:62F:C140113EUR125,00
-
"""


def test_abn_amro_legacy_giro_name(tmp_path: Path):
    path = tmp_path / "giro.sta"
    path.write_text(LEGACY_GIRO)

    (statement,) = read_mt940(path)
    (transaction,) = statement.entries[0].transactions

    assert transaction.counterparty_name == "J. JANSEN"
    assert "FACTUUR 2026-0042" in transaction.remittance_info
