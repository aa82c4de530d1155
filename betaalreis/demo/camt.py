"""Writing camt.053.001.02 bank statements for the demo's incoming payments.

The layout follows what Dutch banks deliver on corporate channels. There is
one statement per account and day, with opening (OPBD) and closing (CLBD)
booked balances. Each payment is one booked SEPA credit transfer entry
(PMNT/RCDT/ESCT) with the payer's name, IBAN and BIC. Its remittance
information is either a structured creditor reference (SCOR, issuer CUR for
a Dutch betalingskenmerk or ISO for an RF reference) or unstructured text.
Elements appear in the order the camt.053.001.02 schema requires.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from lxml import etree

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """One incoming credit transfer on the creditor's account.

    Exactly one of `structured_reference` and `remittance_text` is set,
    because a SEPA transfer carries either structured or unstructured
    remittance information, never both.
    """

    amount: Decimal
    booking_date: dt.date
    account_servicer_reference: str
    end_to_end_id: str
    payer_name: str
    payer_iban: str
    payer_bic: str
    structured_reference: str = ""
    remittance_text: str = ""


@dataclass(frozen=True, slots=True)
class Statement:
    account_iban: str
    account_bic: str
    day: dt.date
    sequence_number: int
    opening_balance: Decimal
    entries: tuple[StatementEntry, ...]

    @property
    def closing_balance(self) -> Decimal:
        return self.opening_balance + sum((entry.amount for entry in self.entries), Decimal("0.00"))

    @property
    def statement_id(self) -> str:
        return f"{self.day:%Y%m%d}{self.account_iban[-10:]}{self.sequence_number:05d}"


def _add(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NAMESPACE}}}{tag}", **attributes)
    if text is not None:
        element.text = text
    return element


def _add_path(parent: etree._Element, *tags: str, text: str) -> etree._Element:
    """Add nested elements, one per tag, with `text` in the innermost one."""
    element = parent
    for tag in tags:
        element = _add(element, tag)
    element.text = text
    return element


def _amount_text(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _add_balance(parent: etree._Element, code: str, amount: Decimal, day: dt.date) -> None:
    balance = _add(parent, "Bal")
    _add_path(balance, "Tp", "CdOrPrtry", "Cd", text=code)
    _add(balance, "Amt", _amount_text(abs(amount)), Ccy="EUR")
    _add(balance, "CdtDbtInd", "CRDT" if amount >= 0 else "DBIT")
    _add_path(balance, "Dt", "Dt", text=day.isoformat())


def _add_entry(parent: etree._Element, entry: StatementEntry) -> None:
    element = _add(parent, "Ntry")
    _add(element, "Amt", _amount_text(entry.amount), Ccy="EUR")
    _add(element, "CdtDbtInd", "CRDT")
    _add(element, "Sts", "BOOK")
    _add_path(element, "BookgDt", "Dt", text=entry.booking_date.isoformat())
    _add_path(element, "ValDt", "Dt", text=entry.booking_date.isoformat())
    _add(element, "AcctSvcrRef", entry.account_servicer_reference)

    domain = _add(_add(element, "BkTxCd"), "Domn")
    _add(domain, "Cd", "PMNT")
    family = _add(domain, "Fmly")
    _add(family, "Cd", "RCDT")
    _add(family, "SubFmlyCd", "ESCT")

    details = _add(_add(element, "NtryDtls"), "TxDtls")
    references = _add(details, "Refs")
    _add(references, "AcctSvcrRef", entry.account_servicer_reference)
    _add(references, "EndToEndId", entry.end_to_end_id)
    _add(_add(_add(details, "AmtDtls"), "TxAmt"), "Amt", _amount_text(entry.amount), Ccy="EUR")

    parties = _add(details, "RltdPties")
    _add_path(parties, "Dbtr", "Nm", text=entry.payer_name[:70])
    _add_path(parties, "DbtrAcct", "Id", "IBAN", text=entry.payer_iban)
    _add_path(details, "RltdAgts", "DbtrAgt", "FinInstnId", "BIC", text=entry.payer_bic)

    remittance = _add(details, "RmtInf")
    if entry.structured_reference:
        reference_info = _add(_add(remittance, "Strd"), "CdtrRefInf")
        reference_type = _add(reference_info, "Tp")
        _add_path(reference_type, "CdOrPrtry", "Cd", text="SCOR")
        issuer = "ISO" if entry.structured_reference.startswith("RF") else "CUR"
        _add(reference_type, "Issr", issuer)
        _add(reference_info, "Ref", entry.structured_reference)
    else:
        _add(remittance, "Ustrd", entry.remittance_text[:140])


def render_statement(statement: Statement, created_at: dt.datetime) -> bytes:
    """Return the camt.053.001.02 document for one statement, UTF-8 encoded."""
    document = etree.Element(f"{{{NAMESPACE}}}Document", nsmap={None: NAMESPACE})
    root = _add(document, "BkToCstmrStmt")
    header = _add(root, "GrpHdr")
    _add(header, "MsgId", f"DEMO{statement.statement_id}")
    _add(header, "CreDtTm", created_at.isoformat(timespec="seconds"))

    element = _add(root, "Stmt")
    _add(element, "Id", statement.statement_id)
    _add(element, "ElctrncSeqNb", str(statement.sequence_number))
    _add(element, "CreDtTm", created_at.isoformat(timespec="seconds"))
    period = _add(element, "FrToDt")
    day_start = dt.datetime.combine(statement.day, dt.time(0, 0), tzinfo=AMSTERDAM)
    day_end = dt.datetime.combine(statement.day, dt.time(23, 59, 59), tzinfo=AMSTERDAM)
    _add(period, "FrDtTm", day_start.isoformat())
    _add(period, "ToDtTm", day_end.isoformat())

    account = _add(element, "Acct")
    _add_path(account, "Id", "IBAN", text=statement.account_iban)
    _add(account, "Ccy", "EUR")
    _add_path(account, "Svcr", "FinInstnId", "BIC", text=statement.account_bic)

    _add_balance(element, "OPBD", statement.opening_balance, statement.day)
    _add_balance(element, "CLBD", statement.closing_balance, statement.day)

    summary = _add(element, "TxsSummry")
    credits = _add(summary, "TtlCdtNtries")
    _add(credits, "NbOfNtries", str(len(statement.entries)))
    _add(credits, "Sum", _amount_text(statement.closing_balance - statement.opening_balance))

    for entry in statement.entries:
        _add_entry(element, entry)

    return etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_statement(statement: Statement, directory: Path, created_at: dt.datetime) -> Path:
    """Write the statement as `camt053-<date>-<sequence>.xml` in `directory` and return the path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"camt053-{statement.day.isoformat()}-{statement.sequence_number:05d}.xml"
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(render_statement(statement, created_at))
    temporary.replace(path)
    return path
