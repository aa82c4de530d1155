"""The fast camt entry reader gives the same statements and errors as the full reader."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from betaalreis.banking import camt_fast
from betaalreis.banking.samples import SampleEntry, write_camt053
from betaalreis.banking.statements import join_remittance

from .helpers import CREDITOR_IBAN, camt_outcome

NAMESPACE_V08 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"

# Entries in shapes that the sample writer does not produce: later versions
# (Sts/Cd, Pty/Nm, BICFI), timestamps, charges, instructed amounts, several
# Ustrd and references, a batch, a postal address that the fast reader
# skips, and invalid values.
ENTRIES = (
    # Later version: status code, party name under Pty, BICFI, DtTm in UTC.
    "<Ntry><Amt Ccy='EUR'>10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
    "<BookgDt><DtTm>2026-11-30T23:30:00Z</DtTm></BookgDt><ValDt><Dt>2026-12-01</Dt></ValDt>"
    "<BkTxCd><Prtry><Cd>N541</Cd></Prtry></BkTxCd>"
    "<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId><MndtId>M1</MndtId></Refs>"
    "<RltdPties><Dbtr><Pty><Nm> Jansen </Nm><PstlAdr><Ctry>NL</Ctry></PstlAdr></Pty></Dbtr>"
    "<DbtrAcct><Id><IBAN>nl91 abna 0417 1643 00</IBAN></Id></DbtrAcct></RltdPties>"
    "<RltdAgts><DbtrAgt><FinInstnId><BICFI>ABNANL2A</BICFI></FinInstnId></DbtrAgt></RltdAgts>"
    "<RmtInf><Ustrd>one</Ustrd><Ustrd> </Ustrd><Ustrd>two</Ustrd>"
    "<Strd><CdtrRefInf><Ref>1111</Ref></CdtrRefInf></Strd><Strd><CdtrRefInf><Ref>2222</Ref></CdtrRefInf></Strd>"
    "</RmtInf></TxDtls></NtryDtls></Ntry>",
    # Debit with charges records, an instructed amount in another currency and a return reason.
    "<Ntry><NtryRef>N2</NtryRef><Amt Ccy='EUR'>5.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd>"
    "<Sts>BOOK</Sts><BookgDt><Dt>2026-12-01</Dt></BookgDt>"
    "<Chrgs><Rcrd><Amt Ccy='EUR'>0.10</Amt></Rcrd><Rcrd><Amt Ccy='EUR'>0.20</Amt></Rcrd></Chrgs>"
    "<NtryDtls><TxDtls><AmtDtls><InstdAmt><Amt Ccy='USD'>6.00</Amt></InstdAmt>"
    "<TxAmt><Amt Ccy='EUR'>4.00</Amt></TxAmt></AmtDtls>"
    "<Chrgs><TtlChrgsAndTaxAmt Ccy='EUR'>0.30</TtlChrgsAndTaxAmt></Chrgs>"
    "<RltdPties><Cdtr><Nm>Payer</Nm></Cdtr></RltdPties>"
    "<RtrInf><Rsn><Prtry>MS03</Prtry></Rsn></RtrInf><AddtlTxInf>extra</AddtlTxInf></TxDtls></NtryDtls>"
    "<AddtlNtryInf>entry info</AddtlNtryInf></Ntry>",
    # No details, pending status and only a value date.
    "<Ntry><Amt Ccy='EUR'>1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>PDNG</Sts>"
    "<ValDt><Dt>2026-12-02</Dt></ValDt><AddtlNtryInf>only info</AddtlNtryInf></Ntry>",
    # A batch of two transactions, read by the full reader.
    "<Ntry><Amt Ccy='EUR'>3.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-12-01</Dt></BookgDt>"
    "<NtryDtls><Btch><PmtInfId>B1</PmtInfId><NbOfTxs>2</NbOfTxs></Btch>"
    "<TxDtls><AmtDtls><TxAmt><Amt Ccy='EUR'>1.00</Amt></TxAmt></AmtDtls></TxDtls>"
    "<TxDtls><AmtDtls><TxAmt><Amt Ccy='EUR'>2.00</Amt></TxAmt></AmtDtls></TxDtls></NtryDtls></Ntry>",
    # A description split over two Ustrd lines at the 140-character limit.
    "<Ntry><Amt Ccy='EUR'>2.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-12-01</Dt></BookgDt>"
    "<NtryDtls><TxDtls><RmtInf><Ustrd>" + "x" * 138 + "F0</Ustrd><Ustrd>02 rest</Ustrd></RmtInf></TxDtls>"
    "</NtryDtls></Ntry>",
    # Two details blocks of one transaction each.
    "<Ntry><Amt Ccy='EUR'>3.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-12-01</Dt></BookgDt>"
    "<NtryDtls><TxDtls><Amt Ccy='EUR'>1.00</Amt></TxDtls></NtryDtls>"
    "<NtryDtls><TxDtls><Amt Ccy='EUR'>2.00</Amt></TxDtls></NtryDtls></Ntry>",
)

INVALID_ENTRIES = (
    "<Ntry><Amt Ccy='EUR'>1,00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-12-01</Dt></BookgDt></Ntry>",
    "<Ntry><Amt Ccy='EUR'>1.00</Amt><CdtDbtInd>CREDIT</CdtDbtInd><BookgDt><Dt>2026-12-01</Dt></BookgDt></Ntry>",
    "<Ntry><Amt Ccy='EUR'>1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>01-12-2026</Dt></BookgDt></Ntry>",
    "<Ntry><Amt Ccy='EUR'>1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt></BookgDt></Ntry>",
    "<Ntry><Amt Ccy='EUR'>1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>",
    "<Ntry><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-12-01</Dt></BookgDt></Ntry>",
    "<Ntry><Amt Ccy='EUR'>1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-12-01</Dt></BookgDt>"
    "<NtryDtls><TxDtls><AmtDtls><TxAmt><Amt Ccy='EUR'>-1</Amt></TxAmt></AmtDtls></TxDtls></NtryDtls></Ntry>",
    "<Ntry><Amt Ccy='EUR'>1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-12-01</Dt></BookgDt>"
    "<Chrgs><Rcrd><Amt Ccy='EUR'>x</Amt></Rcrd></Chrgs></Ntry>",
)


def _statement(path: Path, entries: tuple[str, ...]) -> Path:
    path.write_text(
        f'<?xml version="1.0"?>\n<Document xmlns="{NAMESPACE_V08}"><BkToCstmrStmt><Stmt><Id>S1</Id>'
        f"<Acct><Id><IBAN>{CREDITOR_IBAN}</IBAN></Id></Acct>\n" + "\n".join(entries) + "\n</Stmt></BkToCstmrStmt></Document>\n",
        encoding="utf-8",
    )
    return path


def _read_both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """Return the statements or errors of `path` as read with and without the fast reader."""
    fast = camt_outcome(path)
    with monkeypatch.context() as patch:
        patch.setattr(camt_fast.FastEntryReader, "read", _always_fall_back)
        full = camt_outcome(path)
    return fast, full


def _always_fall_back(*args: object) -> None:
    raise camt_fast.Fallback


def test_fast_reader_matches_full_on_shapes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    fast, full = _read_both(_statement(tmp_path / "shapes.xml", ENTRIES), monkeypatch)
    assert "StatementFileError" not in fast
    assert "Jansen" in fast
    assert fast == full


@pytest.mark.parametrize("entry", INVALID_ENTRIES)
def test_fast_reader_matches_full_on_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: str):
    fast, full = _read_both(_statement(tmp_path / "invalid.xml", (ENTRIES[2], entry)), monkeypatch)
    assert fast.startswith("[RowError(")
    assert fast == full


def test_fast_reader_matches_full_on_samples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    samples = [
        SampleEntry(Decimal("12.50"), name="A & B", iban="NL91ABNA0417164300", remittance="factuur 1", reference="R1"),
        SampleEntry(Decimal("-3.00"), name="Leverancier", end_to_end_id="E2E", reference="R2"),
        SampleEntry(Decimal("-12.50"), reversal=True, return_reason="AC04", name="A & B", reference="R3"),
        SampleEntry(Decimal("7.00"), structured_reference="1234567890123456", status="PDNG"),
    ]
    fast, full = _read_both(write_camt053(tmp_path / "samples.xml", CREDITOR_IBAN, samples), monkeypatch)
    assert "A &amp; B" not in fast
    assert fast == full


@pytest.mark.parametrize("name", sorted(path.name for path in (Path(__file__).resolve().parents[4] / "shared" / "corpus" / "camt053").iterdir()))
def test_fast_reader_matches_full_on_corpus(corpus: Path, monkeypatch: pytest.MonkeyPatch, name: str):
    fast, full = _read_both(corpus / "camt053" / name, monkeypatch)
    assert fast == full


@pytest.mark.parametrize(
    ("lines", "references", "expected"),
    [
        (["one", "two"], [], "one two"),
        (["x" * 138 + "F0", "02"], [], "x" * 138 + "F002"),
        (["x" * 140, "y" * 140, "z"], ["RF18"], "x" * 140 + "y" * 140 + "z RF18"),
        ([], ["1111"], "1111"),
        ([], [], ""),
    ],
)
def test_join_remittance_lines(lines: list[str], references: list[str], expected: str):
    assert join_remittance(lines, references) == expected
