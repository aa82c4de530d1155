"""Write camt.053.001.02 statements and camt.054.001.02 notifications for tests, demos and the benchmark.

The statements follow the Dutch implementation guideline's shape: one Stmt
with OPBD and CLBD balances that the entries add up to, one TxDtls per
entry. A notification has the same entries in one Ntfctn, without balances.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TextIO
from xml.sax.saxutils import escape


@dataclass(frozen=True, slots=True)
class SampleEntry:
    """One credit (positive amount) or debit (negative) for a sample statement."""

    amount: Decimal
    name: str = ""
    iban: str = ""
    remittance: str = ""
    structured_reference: str = ""
    reference: str = ""
    end_to_end_id: str = ""
    reversal: bool = False
    return_reason: str = ""
    booking_date: dt.date = dt.date(2026, 12, 1)
    # None writes the booking date as the value date.
    value_date: dt.date | None = None
    status: str = "BOOK"


def _entry(handle: TextIO, entry: SampleEntry, currency: str) -> None:
    indicator = "CRDT" if entry.amount > 0 else "DBIT"
    incoming = (entry.amount > 0) != entry.reversal
    party, account = ("Dbtr", "DbtrAcct") if incoming else ("Cdtr", "CdtrAcct")
    amount = f"{abs(entry.amount):.2f}"

    handle.write(f'<Ntry><Amt Ccy="{currency}">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>')
    if entry.reversal:
        handle.write("<RvslInd>true</RvslInd>")
    handle.write(f"<Sts>{entry.status}</Sts><BookgDt><Dt>{entry.booking_date.isoformat()}</Dt></BookgDt>")
    handle.write(f"<ValDt><Dt>{(entry.value_date or entry.booking_date).isoformat()}</Dt></ValDt>")
    if entry.reference:
        handle.write(f"<AcctSvcrRef>{escape(entry.reference)}</AcctSvcrRef>")
    handle.write("<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>")

    handle.write("<NtryDtls><TxDtls>")
    if entry.end_to_end_id:
        handle.write(f"<Refs><EndToEndId>{escape(entry.end_to_end_id)}</EndToEndId></Refs>")
    handle.write(f'<AmtDtls><TxAmt><Amt Ccy="{currency}">{amount}</Amt></TxAmt></AmtDtls>')

    if entry.name or entry.iban:
        handle.write("<RltdPties>")
        if entry.name:
            handle.write(f"<{party}><Nm>{escape(entry.name)}</Nm></{party}>")
        if entry.iban:
            handle.write(f"<{account}><Id><IBAN>{entry.iban}</IBAN></Id></{account}>")
        handle.write("</RltdPties>")

    if entry.structured_reference:
        handle.write(
            "<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>CUR</Issr></Tp>"
            f"<Ref>{escape(entry.structured_reference)}</Ref></CdtrRefInf></Strd></RmtInf>"
        )
    elif entry.remittance:
        handle.write(f"<RmtInf><Ustrd>{escape(entry.remittance)}</Ustrd></RmtInf>")

    if entry.return_reason:
        handle.write(f"<RtrInf><Rsn><Cd>{entry.return_reason}</Cd></Rsn></RtrInf>")
    handle.write("</TxDtls></NtryDtls></Ntry>\n")


def write_camt053(
    path: Path,
    account: str,
    entries: Iterable[SampleEntry],
    *,
    opening: Decimal = Decimal("1000.00"),
    closing: Decimal | None = None,
    statement_id: str = "STMT-1",
    currency: str = "EUR",
    day: dt.date = dt.date(2026, 12, 1),
) -> Path:
    """Write a camt.053.001.02 file; `closing` defaults to opening plus the booked entries."""
    items = list(entries)
    if closing is None:
        closing = opening + sum((entry.amount for entry in items if entry.status == "BOOK"), Decimal("0"))

    def balance(code: str, amount: Decimal) -> str:
        indicator = "CRDT" if amount >= 0 else "DBIT"
        return (
            f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"{currency}\">{abs(amount):.2f}</Amt>"
            f"<CdtDbtInd>{indicator}</CdtDbtInd><Dt><Dt>{day.isoformat()}</Dt></Dt></Bal>\n"
        )

    with path.open("w", encoding="utf-8") as handle:
        handle.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        handle.write('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>\n')
        handle.write(f"<GrpHdr><MsgId>{statement_id}</MsgId><CreDtTm>{day.isoformat()}T18:00:00</CreDtTm></GrpHdr>\n")
        handle.write(f"<Stmt><Id>{statement_id}</Id><CreDtTm>{day.isoformat()}T18:00:00</CreDtTm>")
        handle.write(f"<Acct><Id><IBAN>{account}</IBAN></Id><Ccy>{currency}</Ccy></Acct>\n")
        handle.write(balance("OPBD", opening))
        handle.write(balance("CLBD", closing))
        for entry in items:
            _entry(handle, entry, currency)
        handle.write("</Stmt></BkToCstmrStmt></Document>\n")
    return path


def write_camt054(
    path: Path,
    account: str,
    entries: Iterable[SampleEntry],
    *,
    notification_id: str = "NTF-1",
    currency: str = "EUR",
    day: dt.date = dt.date(2026, 12, 1),
) -> Path:
    """Write a camt.054.001.02 debit/credit notification, which has no balances."""
    with path.open("w", encoding="utf-8") as handle:
        handle.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        handle.write('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn>\n')
        handle.write(f"<GrpHdr><MsgId>{notification_id}</MsgId><CreDtTm>{day.isoformat()}T10:00:00</CreDtTm></GrpHdr>\n")
        handle.write(f"<Ntfctn><Id>{notification_id}</Id><CreDtTm>{day.isoformat()}T10:00:00</CreDtTm>")
        handle.write(f"<Acct><Id><IBAN>{account}</IBAN></Id><Ccy>{currency}</Ccy></Acct>\n")
        for entry in entries:
            _entry(handle, entry, currency)
        handle.write("</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>\n")
    return path
