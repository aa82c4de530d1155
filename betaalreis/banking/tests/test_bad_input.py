"""Damaged or hostile statement files are rejected with their position, and nothing is imported."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from betaalreis.banking.importers import Camt05xImporter, Mt940Importer
from betaalreis.banking.models import BankStatement, BankTransaction
from betaalreis.banking.mt940_reader import read_mt940
from betaalreis.banking.samples import SampleEntry, write_camt053
from betaalreis.imports.registry import HEAD_BYTES, ImportRejected, find_importer
from betaalreis.ledger.models import Payment

from .helpers import CREDITOR_IBAN, make_creditor

# These tests check the English wording of reports and errors.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english_reports")]

CAMT_HEAD = '<?xml version="1.0"?>\n'
NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


def _reject(path: Path) -> str:
    make_creditor()
    importer = find_importer(path)
    with pytest.raises(ImportRejected) as rejected:
        importer().run(path, None)
    assert not Payment.objects.exists()
    assert not BankStatement.objects.exists()
    assert not BankTransaction.objects.exists()
    message = str(rejected.value)
    assert str(path) in message
    return message


def _good_camt(tmp_path: Path) -> Path:
    return write_camt053(
        tmp_path / "good.xml", CREDITOR_IBAN,
        [SampleEntry(Decimal("10.00"), remittance="a", reference=f"R{number}") for number in range(5)],
    )


def test_truncated_xml(tmp_path: Path):
    path = tmp_path / "truncated.xml"
    text = _good_camt(tmp_path).read_text()
    truncated = text[: len(text) * 2 // 3]
    path.write_text(truncated)

    message = _reject(path)

    assert "malformed XML" in message
    assert f"line {truncated.count(chr(10)) + 1}" in message


def test_external_entity(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    path = tmp_path / "xxe.xml"
    path.write_text(
        f'{CAMT_HEAD}<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        f'<Document xmlns="{NAMESPACE}"><BkToCstmrStmt><Stmt><Id>&xxe;</Id></Stmt></BkToCstmrStmt></Document>'
    )

    message = _reject(path)

    assert "DTD" in message
    assert "top secret" not in message


def test_entity_bomb(tmp_path: Path):
    entities = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{n} "{("&a" + str(n - 1) + ";") * 10}">' for n in range(1, 10))
    path = tmp_path / "bomb.xml"
    path.write_text(
        f"{CAMT_HEAD}<!DOCTYPE Document [{entities}]>\n"
        f'<Document xmlns="{NAMESPACE}"><BkToCstmrStmt><Stmt><Id>&a9;</Id></Stmt></BkToCstmrStmt></Document>'
    )

    message = _reject(path)

    assert "entity" in message


def test_csv_saved_as_xml(tmp_path: Path, corpus: Path):
    path = tmp_path / "export.xml"
    path.write_bytes((corpus / "csv/ing-nl_betaalrekening_export-2023_semicolon.csv").read_bytes())

    message = _reject(path)

    assert "line 1" in message
    assert "not XML" in message
    assert '"Datum"' in message


def test_broken_mt940_tag(tmp_path: Path, corpus: Path):
    text = (corpus / "mt940/zilverline_triodos-iban_wrapped-eref.txt").read_text()
    path = tmp_path / "broken.sta"
    path.write_text(text.replace(":60F:C180222EUR0,00", ":60F:C18022XEUR0,00"))

    message = _reject(path)

    assert "line 4" in message
    assert ":60F:" in message


@pytest.mark.parametrize(("original", "changed", "tag", "line"), [
    (":62F:", ":6X:", ":6X:", 22),
    ("\n:61:180227C3456,29", "\n:99:EXTRA\n:61:180227C3456,29", ":99:", 8),
    # A tag of letters only is not taken for a continuation of :28C:.
    ("\n:28C:1\n", "\n:28C:1\n:NS:22extra\n", ":NS:", 4),
])
def test_unknown_mt940_tag_rejected(tmp_path: Path, corpus: Path, original: str, changed: str, tag: str, line: int):
    text = (corpus / "mt940/zilverline_triodos-iban_wrapped-eref.txt").read_text()
    edited = text.replace(original, changed, 1)
    assert edited != text
    path = tmp_path / "typo.sta"
    path.write_text(edited)

    message = _reject(path)

    assert f"line {line}, field '{tag}'" in message
    assert "unknown MT940 tag" in message
    assert "download the bank statement from the bank again" in message
    assert "difference" not in message


def test_mt942_and_optional_tags_accepted(tmp_path: Path):
    path = tmp_path / "tags.sta"
    path.write_text(
        ":20:STMT1\n:21:NONREF\n:25:NL91ABNA0417164300\n:28C:1/1\n:13D:2612011200+0100\n:34F:EURD0,\n"
        ":60F:C261130EUR100,00\n:61:2612011201C25,50N541NONREF\n:86:/TRTP/SEPA OVERBOEKING/NAME/J. DE VRIES/REMI/A\n"
        ":90D:0EUR0,00\n:90C:1EUR25,50\n:62F:C261201EUR125,50\n:64:C261201EUR125,50\n:65:C261202EUR125,50\n"
        ":86:/SUM/0/1/0,00/25,50/\n"
    )

    (statement,) = read_mt940(path)

    assert statement.opening_balance == Decimal("100.00")
    assert statement.closing_balance == Decimal("125.50")
    assert [entry.amount for entry in statement.entries] == [Decimal("25.50")]
    assert statement.entries[0].transactions[0].counterparty_name == "J. DE VRIES"


def test_mt940_without_balances(tmp_path: Path):
    path = tmp_path / "nobalance.sta"
    path.write_text(":20:X\n:25:NL91ABNA0417164300\n:28C:1\n:61:2612011201C10,00NTRFNONREF\n:86:test\n")

    message = _reject(path)

    assert "missing opening balance (:60F:) or closing balance (:62F:)" in message


def test_balances_do_not_add_up(tmp_path: Path):
    path = write_camt053(
        tmp_path / "unbalanced.xml", CREDITOR_IBAN,
        [SampleEntry(Decimal("10.00"), reference="R1"), SampleEntry(Decimal("5.00"), reference="R2")],
        opening=Decimal("100.00"), closing=Decimal("120.00"),
    )

    message = _reject(path)

    assert "opening balance €100.00" in message
    assert "(+€15.00)" in message
    assert "closing balance is €120.00" in message
    assert "difference +€5.00" in message


def test_batch_details_do_not_add_up(tmp_path: Path):
    path = tmp_path / "batch.xml"
    path.write_text(
        f'{CAMT_HEAD}<Document xmlns="{NAMESPACE}"><BkToCstmrStmt><Stmt><Id>B</Id>'
        f"<Acct><Id><IBAN>{CREDITOR_IBAN}</IBAN></Id></Acct>\n"
        '<Ntry><Amt Ccy="EUR">30.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-12-01</Dt></BookgDt>'
        '<NtryDtls><TxDtls><Amt Ccy="EUR">10.00</Amt></TxDtls><TxDtls><Amt Ccy="EUR">10.00</Amt></TxDtls></NtryDtls></Ntry>'
        "</Stmt></BkToCstmrStmt></Document>"
    )

    message = _reject(path)

    assert "line 3" in message
    assert "add up to €20.00" in message


def test_unknown_account_needs_creditor_iban(tmp_path: Path):
    path = write_camt053(tmp_path / "other.xml", "NL39RABO0300065264", [SampleEntry(Decimal("1.00"), reference="R")])

    message = _reject(path)

    assert "NL39RABO0300065264" in message
    assert "add the creditor with this IBAN with `betaalreis creditor add`" in message
    assert "--creditor" not in message


def test_bad_amount(tmp_path: Path):
    path = _good_camt(tmp_path)
    path.write_text(path.read_text().replace('<Amt Ccy="EUR">10.00</Amt><CdtDbtInd>', '<Amt Ccy="EUR">10,00</Amt><CdtDbtInd>', 1))

    message = _reject(path)

    assert "'10,00'" in message
    assert "line 7" in message


def test_detect_ignores_foreign_xml(tmp_path: Path, corpus: Path):
    for path in (corpus / "ubl").iterdir():
        head = path.read_bytes()[:HEAD_BYTES]
        assert not Camt05xImporter.detect(path, head)
        assert not Mt940Importer.detect(path, head)


def test_binary_file_value_not_printed(tmp_path: Path):
    path = tmp_path / "binary.xml"
    path.write_bytes(b"\x00\x01\xff\xfe" * 100)

    message = _reject(path)

    assert "400 bytes of binary data" in message
    assert "\x00" not in message
    assert "\ufffd" not in message


def test_truncated_xml_position_once(tmp_path: Path):
    path = tmp_path / "truncated.xml"
    text = _good_camt(tmp_path).read_text()
    path.write_text(text[: len(text) * 2 // 3])

    message = _reject(path)

    assert message.count("column") == 1


def test_one_entry_unbalanced_singular(tmp_path: Path):
    path = write_camt053(
        tmp_path / "unbalanced.xml", CREDITOR_IBAN, [SampleEntry(Decimal("96.00"), remittance="a")], closing=Decimal("1095.00")
    )

    message = _reject(path)

    assert "plus 1 entry (+€96.00)" in message
    assert "1 entries" not in message


@pytest.mark.parametrize("amount", ["1e3", "1E1", "NaN", "Infinity", "-Infinity", "sNaN"])
def test_non_plain_amount_rejected(tmp_path: Path, amount: str):
    path = _good_camt(tmp_path)
    path.write_text(path.read_text().replace('<Amt Ccy="EUR">10.00</Amt><CdtDbtInd>', f'<Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>', 1))

    message = _reject(path)

    assert f"'{amount}'" in message
    assert "line 7" in message
    assert "decimal point" in message


def _statement_with(tmp_path: Path, summary: str, details: str, entry_amount: str = "30.00") -> Path:
    path = tmp_path / "statement.xml"
    path.write_text(
        f'{CAMT_HEAD}<Document xmlns="{NAMESPACE}"><BkToCstmrStmt><Stmt><Id>B</Id>'
        f"<Acct><Id><IBAN>{CREDITOR_IBAN}</IBAN></Id></Acct>\n"
        f"{summary}\n"
        f'<Ntry><Amt Ccy="EUR">{entry_amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
        "<BookgDt><Dt>2026-12-01</Dt></BookgDt>\n"
        f"<NtryDtls>{details}</NtryDtls></Ntry>"
        "</Stmt></BkToCstmrStmt></Document>"
    )
    return path


@pytest.mark.parametrize("total", ["3e1", "NaN", "Infinity"])
def test_summary_sum_non_plain_rejected(tmp_path: Path, total: str):
    summary = f"<TxsSummry><TtlCdtNtries><NbOfNtries>1</NbOfNtries><Sum>{total}</Sum></TtlCdtNtries></TxsSummry>"
    path = _statement_with(tmp_path, summary, '<TxDtls><Amt Ccy="EUR">30.00</Amt></TxDtls>')

    message = _reject(path)

    assert f"'{total}'" in message
    assert "line 3" in message
    assert "TxsSummry/TtlCdtNtries/Sum" in message


TWO_TRANSACTIONS = '<TxDtls><Amt Ccy="EUR">10.00</Amt></TxDtls><TxDtls><Amt Ccy="EUR">20.00</Amt></TxDtls>'


@pytest.mark.parametrize(
    ("batch", "details", "field", "expected"),
    [
        ("<NbOfTxs>3</NbOfTxs>", TWO_TRANSACTIONS, "NbOfTxs", "names 3 transactions but contains 2"),
        ('<TtlAmt Ccy="EUR">35.00</TtlAmt>', TWO_TRANSACTIONS, "TtlAmt", "batch total is €35.00"),
        ('<TtlAmt Ccy="EUR">1e3</TtlAmt>', TWO_TRANSACTIONS, "TtlAmt", "'1e3'"),
        ('<TtlAmt Ccy="EUR">25.00</TtlAmt>', "", "TtlAmt", "add up to €30.00"),
    ],
)
def test_batch_declaration_contradicts_details(tmp_path: Path, batch: str, details: str, field: str, expected: str):
    path = _statement_with(tmp_path, "", f"<Btch><PmtInfId>P1</PmtInfId>{batch}</Btch>{details}")

    message = _reject(path)

    assert f"Btch/{field}" in message
    assert expected in message
    assert "line 5" in message


@pytest.mark.parametrize(
    ("batch", "details"),
    [
        ('<NbOfTxs>2</NbOfTxs><TtlAmt Ccy="EUR">30.00</TtlAmt>', TWO_TRANSACTIONS),
        ('<NbOfTxs>5</NbOfTxs><TtlAmt Ccy="EUR">30.00</TtlAmt>', ""),
        ('<NbOfTxs>5</NbOfTxs><TtlAmt Ccy="EUR">30.00</TtlAmt>', '<TxDtls><Amt Ccy="EUR">30.00</Amt></TxDtls>'),
    ],
)
def test_batch_declaration_that_fits_accepted(tmp_path: Path, batch: str, details: str):
    make_creditor()
    path = _statement_with(tmp_path, "", f"<Btch><PmtInfId>P1</PmtInfId>{batch}</Btch>{details}")

    Camt05xImporter().run(path, None)

    assert BankStatement.objects.count() == 1
    assert sum(BankTransaction.objects.values_list("amount", flat=True)) == Decimal("30.00")
