"""Read ISO 20022 camt.053 statements and camt.054 notifications.

The reader matches elements by local name, so every version from .001.02 to
.001.13 reads the same way. Where versions differ it tries both shapes: the
entry status is `Sts` text up to .001.07 and `Sts/Cd` from .001.08, a party
name is `Dbtr/Nm` or `Dbtr/Pty/Nm`, the transaction amount is `AmtDtls/TxAmt`
or `TxDtls/Amt`, and a BIC is `BIC` or `BICFI`.

Entries are read with `iterparse` and dropped once read, so a statement with
100,000 entries does not keep its whole tree in memory.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from lxml import etree

from betaalreis.banking.statements import (
    ParsedEntry,
    ParsedStatement,
    ParsedTransaction,
    StatementFileError,
)
from betaalreis.imports.registry import RowError

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NAMESPACE_PATTERN = re.compile(rb"urn:iso:std:iso:20022:tech:xsd:camt\.05[34]\.001\.\d\d")
# A DOCTYPE can only appear before the root element, so the head of the file
# is enough to find one. Bank statements never need a DTD, and refusing any
# DTD rules out external entities and entity expansion bombs.
DOCTYPE_PATTERN = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
OPENING_CODES = ("OPBD", "PRCD")
CLOSING_CODES = ("CLBD",)


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _child(element: etree._Element | None, *path: str) -> etree._Element | None:
    """Return the first descendant along `path` of local names, or None."""
    current = element
    for name in path:
        if current is None:
            return None
        current = next((item for item in current if _local(item.tag) == name), None)
    return current


def _children(element: etree._Element | None, name: str) -> list[etree._Element]:
    if element is None:
        return []
    return [item for item in element if _local(item.tag) == name]


def _text(element: etree._Element | None, *path: str) -> str:
    found = _child(element, *path)
    if found is None or found.text is None:
        return ""
    return found.text.strip()


def _first_text(element: etree._Element | None, *paths: tuple[str, ...]) -> str:
    for path in paths:
        value = _text(element, *path)
        if value:
            return value
    return ""


class _EntryReader:
    """Turn `Ntry` elements into ParsedEntry values, collecting errors with their line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[RowError] = []

    def error(self, element: etree._Element | None, field: str, value: str, problem: str) -> None:
        line = element.sourceline if element is not None else None
        self.errors.append(RowError(line, field, value, problem))

    def amount(self, element: etree._Element | None, field: str) -> tuple[Decimal, str] | None:
        if element is None:
            return None
        text = (element.text or "").strip()
        try:
            value = Decimal(text)
        except InvalidOperation:
            self.error(element, field, text, "invalid amount; expected digits with a '.' decimal point")
            return None
        if not value.is_finite() or value < 0:
            self.error(element, field, text, "invalid amount; camt amounts are positive numbers")
            return None
        return value, element.get("Ccy", "")

    def date(self, element: etree._Element | None, field: str) -> dt.date | None:
        """Read `Dt` or `DtTm` below `element`; a timestamp counts in Amsterdam time."""
        if element is None:
            return None
        day = _text(element, "Dt")
        stamp = _text(element, "DtTm")
        try:
            if day:
                return dt.date.fromisoformat(day[:10])
            if stamp:
                moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
                if moment.tzinfo is None:
                    return moment.date()
                return moment.astimezone(AMSTERDAM).date()
        except ValueError:
            self.error(element, field, day or stamp, "invalid date; expected YYYY-MM-DD")
            return None
        self.error(element, field, "", "missing date: neither Dt nor DtTm is given")
        return None

    def read(self, entry: etree._Element, number: int) -> ParsedEntry | None:
        position = f"line {entry.sourceline}, entry {number}"
        read_amount = self.amount(_child(entry, "Amt"), "Ntry/Amt")
        if read_amount is None:
            if _child(entry, "Amt") is None:
                self.error(entry, "Ntry/Amt", "", "missing entry amount")
            return None
        amount, currency = read_amount

        indicator = _text(entry, "CdtDbtInd")
        if indicator not in ("CRDT", "DBIT"):
            self.error(entry, "Ntry/CdtDbtInd", indicator, "expected CRDT or DBIT")
            return None
        signed = amount if indicator == "CRDT" else -amount

        status = _text(entry, "Sts") or _text(entry, "Sts", "Cd")
        booking_date = self.date(_child(entry, "BookgDt"), "Ntry/BookgDt")
        value_date = self.date(_child(entry, "ValDt"), "Ntry/ValDt") if _child(entry, "ValDt") is not None else None
        if booking_date is None:
            booking_date = value_date
        if booking_date is None:
            self.error(entry, "Ntry/BookgDt", "", "missing booking date and value date")
            return None

        parsed = ParsedEntry(
            position=position,
            booking_date=booking_date,
            value_date=value_date,
            amount=signed,
            currency=currency,
            is_reversal=_text(entry, "RvslInd").lower() in ("true", "1"),
            booked=status in ("", "BOOK"),
            entry_reference=_text(entry, "NtryRef"),
            bank_reference=_text(entry, "AcctSvcrRef"),
            bank_transaction_code=self.bank_transaction_code(_child(entry, "BkTxCd")),
            additional_info=_text(entry, "AddtlNtryInf"),
            charges=self.charges(_child(entry, "Chrgs")),
        )

        details = _children(entry, "NtryDtls")
        batch = next((_child(block, "Btch") for block in details if _child(block, "Btch") is not None), None)
        if batch is not None:
            parsed.batch_id = _text(batch, "PmtInfId") or _text(batch, "MsgId")
            count = _text(batch, "NbOfTxs")
            parsed.batch_size = int(count) if count.isdigit() else None

        for block in details:
            for transaction in _children(block, "TxDtls"):
                parsed.transactions.append(self.transaction(transaction, parsed, indicator))

        self.fit_transaction_amounts(parsed, entry)
        return parsed

    def bank_transaction_code(self, code: etree._Element | None) -> str:
        if code is None:
            return ""
        domain = _text(code, "Domn", "Cd")
        family = _text(code, "Domn", "Fmly", "Cd")
        sub_family = _text(code, "Domn", "Fmly", "SubFmlyCd")
        proprietary = _text(code, "Prtry", "Cd")
        parts = [part for part in ("/".join(p for p in (domain, family, sub_family) if p), proprietary) if part]
        return " ".join(parts)[:60]

    def charges(self, charges: etree._Element | None) -> Decimal | None:
        if charges is None:
            return None
        total = _child(charges, "TtlChrgsAndTaxAmt")
        if total is not None:
            read = self.amount(total, "Chrgs/TtlChrgsAndTaxAmt")
            return read[0] if read else None
        amounts = [self.amount(_child(record, "Amt"), "Chrgs/Rcrd/Amt") for record in _children(charges, "Rcrd")]
        found = [read[0] for read in amounts if read]
        return sum(found, Decimal("0")) if found else None

    def transaction(
        self, details: etree._Element, entry: ParsedEntry, indicator: str
    ) -> ParsedTransaction:
        tx_amount = _child(details, "AmtDtls", "TxAmt", "Amt")
        if tx_amount is None:
            tx_amount = _child(details, "Amt")
        read = self.amount(tx_amount, "TxDtls/Amt") if tx_amount is not None else None
        tx_indicator = _text(details, "CdtDbtInd") or indicator
        if read is None:
            amount, currency = abs(entry.amount), entry.currency
        else:
            amount, currency = read
        signed = amount if tx_indicator == "CRDT" else -amount

        # The counterparty of money in is the debtor; of money out, the creditor.
        # A reversal is booked in the opposite direction of the original payment,
        # so the party who paid us is still named as Dbtr on a reversed credit.
        incoming = (indicator == "CRDT") != entry.is_reversal
        party, account, agent = ("Dbtr", "DbtrAcct", "DbtrAgt") if incoming else ("Cdtr", "CdtrAcct", "CdtrAgt")
        parties = _child(details, "RltdPties")
        agents = _child(details, "RltdAgts")

        if _child(parties, party) is None and _child(parties, account) is None:
            # Some banks name the other side on a reversal; use it rather than nothing.
            party, account, agent = ("Cdtr", "CdtrAcct", "CdtrAgt") if incoming else ("Dbtr", "DbtrAcct", "DbtrAgt")

        parsed = ParsedTransaction(
            amount=signed,
            currency=currency,
            counterparty_name=_first_text(parties, (party, "Nm"), (party, "Pty", "Nm")),
            counterparty_iban=_text(parties, account, "Id", "IBAN").replace(" ", "").upper(),
            counterparty_bic=_first_text(agents, (agent, "FinInstnId", "BIC"), (agent, "FinInstnId", "BICFI")),
            end_to_end_id=_text(details, "Refs", "EndToEndId"),
            mandate_id=_text(details, "Refs", "MndtId"),
            return_reason=_first_text(details, ("RtrInf", "Rsn", "Cd"), ("RtrInf", "Rsn", "Prtry")),
            charges=self.charges(_child(details, "Chrgs")),
        )
        if parsed.end_to_end_id.upper() == "NOTPROVIDED":
            parsed.end_to_end_id = ""

        remittance = _child(details, "RmtInf")
        unstructured = [item.text.strip() for item in _children(remittance, "Ustrd") if item.text]
        references = [
            _text(structured, "CdtrRefInf", "Ref")
            for structured in _children(remittance, "Strd")
            if _text(structured, "CdtrRefInf", "Ref")
        ]
        additional = _text(details, "AddtlTxInf")
        parsed.structured_reference = references[0] if references else ""
        parsed.remittance_info = " ".join(unstructured + references[1:]) or additional or entry.additional_info

        instructed = self.amount(_child(details, "AmtDtls", "InstdAmt", "Amt"), "AmtDtls/InstdAmt")
        if instructed is not None and (instructed[1] != currency or instructed[0] != amount):
            parsed.original_amount, parsed.original_currency = instructed
        return parsed

    def fit_transaction_amounts(self, entry: ParsedEntry, element: etree._Element) -> None:
        """Make the transactions of an entry add up to the entry amount.

        A single transaction always carries the entry amount, because banks
        put other figures in TxAmt (fees, a unit price) and the entry amount
        is what the balance moved by. A batch whose details do not add up
        is an error: splitting it would put wrong amounts on payments.
        """
        if not entry.transactions:
            return
        if len(entry.transactions) == 1:
            only = entry.transactions[0]
            only.amount = entry.amount
            only.currency = entry.currency
            return

        total = sum((item.amount for item in entry.transactions), Decimal("0"))
        if total != entry.amount:
            self.error(
                element,
                "Ntry/NtryDtls/TxDtls",
                str(total),
                f"the {len(entry.transactions)} transactions of this batch add up to {total}, "
                f"but the entry amount is {entry.amount}; the file is inconsistent, ask the bank for a new export",
            )


def _balance(statement: etree._Element, codes: tuple[str, ...], reader: _EntryReader):
    for code in codes:
        for balance in _children(statement, "Bal"):
            found = _text(balance, "Tp", "CdOrPrtry", "Cd") or _text(balance, "Tp", "CdOrPrtry", "Prtry")
            if found != code:
                continue
            read = reader.amount(_child(balance, "Amt"), f"Bal[{code}]/Amt")
            if read is None:
                return None
            amount, currency = read
            if _text(balance, "CdtDbtInd") == "DBIT":
                amount = -amount
            return amount, currency, reader.date(_child(balance, "Dt"), f"Bal[{code}]/Dt")
    return None


def _summary(statement: etree._Element, name: str) -> tuple[int | None, Decimal | None]:
    block = _child(statement, "TxsSummry", name)
    if block is None:
        return None, None
    count = _text(block, "NbOfNtries")
    total = _text(block, "Sum")
    try:
        return (int(count) if count.isdigit() else None), (Decimal(total) if total else None)
    except InvalidOperation:
        return (int(count) if count.isdigit() else None), None


def _statement(element: etree._Element, entries: list[ParsedEntry], reader: _EntryReader) -> ParsedStatement:
    iban = _text(element, "Acct", "Id", "IBAN").replace(" ", "").upper()
    other = _text(element, "Acct", "Id", "Othr", "Id")
    statement = ParsedStatement(
        position=f"line {element.sourceline}",
        statement_id=_text(element, "Id"),
        account=iban or other,
        account_is_iban=bool(iban),
        currency=_text(element, "Acct", "Ccy"),
        entries=entries,
    )
    if not statement.account:
        reader.error(element, "Acct/Id", "", "missing account: neither Acct/Id/IBAN nor Acct/Id/Othr/Id is given")

    opening = _balance(element, OPENING_CODES, reader)
    closing = _balance(element, CLOSING_CODES, reader)
    if opening is not None:
        statement.opening_balance, opening_currency, statement.opening_date = opening
        statement.currency = statement.currency or opening_currency
    if closing is not None:
        statement.closing_balance, closing_currency, statement.closing_date = closing
        # Balances in another currency than the entries cannot be checked
        # against them; leave them out rather than report a false mismatch.
        if opening is not None and closing_currency != opening[1]:
            statement.opening_balance = statement.closing_balance = None
    if not statement.currency and entries:
        statement.currency = entries[0].currency

    statement.declared_entry_count, _ = _summary(element, "TtlNtries")
    statement.declared_credit_count, statement.declared_credit_sum = _summary(element, "TtlCdtNtries")
    statement.declared_debit_count, statement.declared_debit_sum = _summary(element, "TtlDbtNtries")
    return statement


def check_head(path: Path, head: bytes) -> None:
    """Raise StatementFileError when the start of the file is not a safe camt document."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"<"):
        first_line = stripped.split(b"\n", 1)[0][:80].decode("utf-8", "replace")
        raise StatementFileError(
            [RowError(1, "file", first_line, "not XML: the file does not start with '<'. "
                      "If it is a CSV export, save it as .csv or export the statement as camt.053 XML")],
            "not a camt.053/camt.054 XML file.",
        )
    if DOCTYPE_PATTERN.search(head):
        raise StatementFileError(
            [RowError(None, "DOCTYPE", "<!DOCTYPE", "a bank statement must not contain a DTD or entity "
                      "declarations; they can read local files or expand without limit. Ask the bank for the original export")],
            "unsafe XML.",
        )


def read_camt(path: Path) -> list[ParsedStatement]:
    """Read every statement (camt.053) or notification (camt.054) in `path`.

    Raise StatementFileError with every problem found, each with its line.
    """
    with path.open("rb") as handle:
        check_head(path, handle.read(65536))

    reader = _EntryReader(path)
    statements: list[ParsedStatement] = []
    entries: list[ParsedEntry] = []
    number = 0
    root_name = ""
    context = etree.iterparse(
        str(path),
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
    )
    try:
        for event, element in context:
            name = _local(element.tag)
            if event == "start":
                if not root_name:
                    root_name = name
                    if name != "Document":
                        raise StatementFileError(
                            [RowError(element.sourceline, "root element", name, "expected a camt.053 or camt.054 Document")],
                            "not a camt.053/camt.054 file.",
                        )
                continue
            if name == "Ntry":
                number += 1
                parsed = reader.read(element, number)
                if parsed is not None:
                    entries.append(parsed)
                parent = element.getparent()
                if parent is not None:
                    parent.remove(element)
            elif name in ("Stmt", "Ntfctn"):
                statements.append(_statement(element, entries, reader))
                entries = []
                element.clear()
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno, 0)
        raise StatementFileError(
            [RowError(line, "XML", f"column {column}", f"malformed XML: {exc.msg}. The file may be truncated or damaged; download it again")],
            "malformed XML.",
        ) from exc

    if not statements and not reader.errors:
        reader.errors.append(RowError(None, "Stmt", "", "no Stmt (camt.053) or Ntfctn (camt.054) element found"))
    if reader.errors:
        raise StatementFileError(reader.errors, f"{len(reader.errors)} problem(s) in the statement.")
    return statements


def iter_entries(statements: list[ParsedStatement]) -> Iterator[tuple[ParsedStatement, ParsedEntry]]:
    for statement in statements:
        for entry in statement.entries:
            yield statement, entry
