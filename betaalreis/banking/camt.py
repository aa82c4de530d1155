"""Read ISO 20022 camt.053 statements and camt.054 notifications.

The reader matches elements by local name, so every version from .001.02 to
.001.13 reads the same way. Where versions differ, it tries both shapes. The
entry status is `Sts` text up to .001.07 and `Sts/Cd` from .001.08. A party
name is `Dbtr/Nm` or `Dbtr/Pty/Nm`. The transaction amount is
`AmtDtls/TxAmt` or `TxDtls/Amt`, and a BIC is `BIC` or `BICFI`.

Entries are read with `iterparse` and dropped once read, so a statement with
100,000 entries does not keep its whole tree in memory. lxml reads the file
without the default namespace of its root element (see camt_input), because
building namespaced tags took a tenth of the reading time. Most entries are read
by `camt_fast.FastEntryReader`. `_EntryReader` here reads the others (batches,
several transactions) and every entry with a value that is an error.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from lxml import etree
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from betaalreis.banking.camt_fast import Fallback, FastEntryReader
from betaalreis.banking.camt_input import ReadableFile, without_default_namespace
from betaalreis.banking.gc_pause import cyclic_gc_paused
from betaalreis.banking.statements import (
    ParsedEntry,
    ParsedStatement,
    ParsedTransaction,
    StatementFileError,
    join_remittance,
    position_text,
    problems_in_statement,
)
from betaalreis.imports.registry import RowError, file_field
from betaalreis.ledger.iban import compact_iban
from betaalreis.ledger.money import format_report_money, parse_plain_decimal

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NAMESPACE_PATTERN = re.compile(rb"urn:iso:std:iso:20022:tech:xsd:camt\.05[34]\.001\.\d\d")
# A DOCTYPE can only appear before the root element, so the head of the file
# is enough to find one. ISO 20022 messages are defined by XML Schema and
# carry no DTD, and refusing any DTD rules out external entities and entity
# expansion bombs.
DOCTYPE_PATTERN = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
# libxml2's error code for a file that ends inside an element (XML_ERR_TAG_NOT_FINISHED).
PREMATURE_END = 77
OPENING_CODES = ("OPBD", "PRCD")
CLOSING_CODES = ("CLBD",)


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


@functools.lru_cache(maxsize=256)
def _path(names: tuple[str, ...]) -> str:
    # "{*}" matches any namespace, so one path serves every camt version.
    return "/".join("{*}" + name for name in names)


def _child(element: etree._Element | None, *path: str) -> etree._Element | None:
    """Return the first descendant along `path` of local names, or None."""
    if element is None:
        return None
    return element.find(_path(path))


def _children(element: etree._Element | None, name: str) -> list[etree._Element]:
    if element is None:
        return []
    return element.findall(_path((name,)))


def _text(element: etree._Element | None, *path: str) -> str:
    if element is None:
        return ""
    found = element.findtext(_path(path))
    return found.strip() if found else ""


def _first_text(element: etree._Element | None, *paths: tuple[str, ...]) -> str:
    for path in paths:
        value = _text(element, *path)
        if value:
            return value
    return ""


class _Flat:
    """The descendants of one element by path of local names ("RmtInf/Ustrd").

    One walk over the element replaces dozens of `find` calls per entry,
    which took most of the reading time in profiles of large statements.
    """

    __slots__ = ("elements",)

    def __init__(self, element: etree._Element, stop: tuple[str, ...] = ()) -> None:
        self.elements: dict[str, list[etree._Element]] = {}
        self._walk(element, "", stop)

    def _walk(self, parent: etree._Element, prefix: str, stop: tuple[str, ...]) -> None:
        for child in parent:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            name = prefix + tag[tag.rfind("}") + 1:]
            found = self.elements.get(name)
            if found is None:
                self.elements[name] = [child]
            else:
                found.append(child)
            if len(child) and name not in stop:
                self._walk(child, name + "/", stop)

    def first(self, path: str) -> etree._Element | None:
        found = self.elements.get(path)
        return found[0] if found else None

    def all(self, path: str) -> list[etree._Element]:
        return self.elements.get(path, [])

    def text(self, path: str) -> str:
        found = self.elements.get(path)
        if not found or found[0].text is None:
            return ""
        return found[0].text.strip()

    def texts(self, path: str) -> list[str]:
        return [element.text.strip() for element in self.elements.get(path, []) if element.text and element.text.strip()]


class _EntryReader:
    """Turn `Ntry` elements into ParsedEntry values, collecting errors with their line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[RowError] = []

    def error(self, element: etree._Element | None, field: str, value: str, problem: str) -> None:
        line = element.sourceline if element is not None else None
        self.errors.append(RowError(line, field, value, problem, line_based=True))

    def amount(self, element: etree._Element | None, field: str) -> tuple[Decimal, str] | None:
        if element is None:
            return None
        text = (element.text or "").strip()
        value = self.plain_decimal(element, field, text)
        if value is None:
            return None
        if value < 0:
            self.error(element, field, text, _("ongeldig bedrag; bedragen in camt zijn positief, het teken staat in CdtDbtInd"))
            return None
        return value, element.get("Ccy", "")

    def plain_decimal(self, element: etree._Element, field: str, text: str) -> Decimal | None:
        """Parse `text` as an xsd:decimal, or record an error and return None.

        camt amounts are xsd:decimal, which has no exponent, NaN or Infinity,
        although Decimal() reads all three.
        """
        try:
            return parse_plain_decimal(text)
        except ValueError:
            self.error(element, field, text, _("ongeldig bedrag; verwacht cijfers met een punt als decimaalteken"))
            return None

    def date(self, flat: _Flat, name: str, field: str) -> dt.date | None:
        """Read `<name>/Dt` or `<name>/DtTm`; a timestamp counts in Amsterdam time."""
        element = flat.first(name)
        if element is None:
            return None
        day = flat.text(name + "/Dt")
        stamp = flat.text(name + "/DtTm")
        try:
            if day:
                return dt.date.fromisoformat(day[:10])
            if stamp:
                moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
                if moment.tzinfo is None:
                    return moment.date()
                return moment.astimezone(AMSTERDAM).date()
        except ValueError:
            self.error(element, field, day or stamp, _("ongeldige datum; verwacht JJJJ-MM-DD"))
            return None
        self.error(element, field, "", _("datum ontbreekt: Dt en DtTm zijn allebei leeg"))
        return None

    def read(self, entry: etree._Element, number: int) -> ParsedEntry | None:
        flat = _Flat(entry, stop=("NtryDtls",))
        amount_element = flat.first("Amt")
        if amount_element is None:
            self.error(entry, "Ntry/Amt", "", _("bedrag van de boeking ontbreekt"))
            return None
        read_amount = self.amount(amount_element, "Ntry/Amt")
        if read_amount is None:
            return None
        amount, currency = read_amount

        indicator = flat.text("CdtDbtInd")
        if indicator not in ("CRDT", "DBIT"):
            self.error(entry, "Ntry/CdtDbtInd", indicator, _("verwacht CRDT (bij) of DBIT (af)"))
            return None
        signed = amount if indicator == "CRDT" else -amount

        status = flat.text("Sts") or flat.text("Sts/Cd")
        booking_date = self.date(flat, "BookgDt", "Ntry/BookgDt")
        value_date = self.date(flat, "ValDt", "Ntry/ValDt")
        if booking_date is None:
            booking_date = value_date
        if booking_date is None:
            self.error(entry, "Ntry/BookgDt", "", _(
                "boekingsdatum en valutadatum ontbreken allebei; de bank moet er minstens één geven"
            ))
            return None

        parsed = ParsedEntry(
            position=f"line {entry.sourceline}, entry {number}",
            booking_date=booking_date,
            value_date=value_date,
            amount=signed,
            currency=currency,
            is_reversal=flat.text("RvslInd").lower() in ("true", "1"),
            booked=status in ("", "BOOK"),
            entry_reference=flat.text("NtryRef"),
            bank_reference=flat.text("AcctSvcrRef"),
            bank_transaction_code=self.bank_transaction_code(flat, "BkTxCd"),
            additional_info=flat.text("AddtlNtryInf"),
            charges=self.charges(flat, "Chrgs"),
        )

        blocks = flat.all("NtryDtls")
        for block in blocks:
            batch = _child(block, "Btch")
            if batch is not None and not parsed.batch_id:
                parsed.batch_id = _text(batch, "PmtInfId") or _text(batch, "MsgId")
                count = _text(batch, "NbOfTxs")
                parsed.batch_size = int(count) if count.isdigit() else None
            transactions = [
                self.transaction(_Flat(transaction), parsed, indicator) for transaction in _children(block, "TxDtls")
            ]
            parsed.transactions.extend(transactions)
            if batch is not None:
                self.check_batch(batch, transactions, parsed, only_block=len(blocks) == 1)

        self.fit_transaction_amounts(parsed, entry)
        return parsed

    def check_batch(
        self, batch: etree._Element, transactions: list[ParsedTransaction], entry: ParsedEntry, *, only_block: bool
    ) -> None:
        """Record an error when a batch's declared count or total (`Btch/NbOfTxs`, `Btch/TtlAmt`) contradicts its details.

        With two or more transactions the batch must declare as many as it
        lists, and their amounts must add up to its total. With none or one,
        the details are a summary or missing (the ING batch in the corpus
        lists no transactions), so only the total of an entry's only batch
        is checked, against the entry amount.
        """
        declared_count = _text(batch, "NbOfTxs")
        if len(transactions) > 1 and declared_count.isdigit() and int(declared_count) != len(transactions):
            self.error(batch, "NtryDtls/Btch/NbOfTxs", declared_count, _(
                "%(position)s: de verzamelboeking noemt %(declared)s transacties maar bevat er %(count)d; "
                "het bestand klopt niet, vraag de bank om een nieuwe export"
            ) % {"position": position_text(entry.position), "declared": declared_count, "count": len(transactions)})

        total_element = _child(batch, "TtlAmt")
        if total_element is None:
            return
        read = self.amount(total_element, "NtryDtls/Btch/TtlAmt")
        if read is None:
            return
        declared_total = read[0]
        if len(transactions) > 1:
            actual = abs(sum((transaction.amount for transaction in transactions), Decimal("0")))
        elif only_block:
            actual = abs(entry.amount)
        else:
            return
        if actual != declared_total:
            self.error(batch, "NtryDtls/Btch/TtlAmt", str(declared_total), _(
                "%(position)s: het totaal van de verzamelboeking is %(declared)s, maar de transacties of de "
                "boeking tellen op tot %(actual)s; het bestand klopt niet, vraag de bank om een nieuwe export"
            ) % {
                "position": position_text(entry.position),
                "declared": format_report_money(declared_total, entry.currency),
                "actual": format_report_money(actual, entry.currency),
            })

    def bank_transaction_code(self, flat: _Flat, name: str) -> str:
        domain = flat.text(name + "/Domn/Cd")
        family = flat.text(name + "/Domn/Fmly/Cd")
        sub_family = flat.text(name + "/Domn/Fmly/SubFmlyCd")
        proprietary = flat.text(name + "/Prtry/Cd")
        parts = [part for part in ("/".join(p for p in (domain, family, sub_family) if p), proprietary) if part]
        return " ".join(parts)[:60]

    def charges(self, flat: _Flat, name: str) -> Decimal | None:
        total = flat.first(name + "/TtlChrgsAndTaxAmt")
        if total is not None:
            read = self.amount(total, "Chrgs/TtlChrgsAndTaxAmt")
            return read[0] if read else None
        amounts = [self.amount(element, "Chrgs/Rcrd/Amt") for element in flat.all(name + "/Rcrd/Amt")]
        found = [read[0] for read in amounts if read]
        return sum(found, Decimal("0")) if found else None

    def transaction(self, details: _Flat, entry: ParsedEntry, indicator: str) -> ParsedTransaction:
        tx_amount = details.first("AmtDtls/TxAmt/Amt")
        if tx_amount is None:
            tx_amount = details.first("Amt")
        read = self.amount(tx_amount, "TxDtls/Amt") if tx_amount is not None else None
        tx_indicator = details.text("CdtDbtInd") or indicator
        if read is None:
            amount, currency = abs(entry.amount), entry.currency
        else:
            amount, currency = read
        signed = amount if tx_indicator == "CRDT" else -amount

        # The counterparty of money in is the debtor, and of money out the creditor.
        # A reversal is booked opposite to the payment it undoes, so on a
        # reversed credit the payer is looked for as Dbtr, as on the original.
        incoming = (indicator == "CRDT") != entry.is_reversal
        party, account, agent = ("Dbtr", "DbtrAcct", "DbtrAgt") if incoming else ("Cdtr", "CdtrAcct", "CdtrAgt")
        if details.first(f"RltdPties/{party}") is None and details.first(f"RltdPties/{account}") is None:
            # Some banks (an ABN AMRO-style camt.053.001.02) name the payer as Cdtr on a
            # reversal, so the other side is read rather than nothing.
            party, account, agent = ("Cdtr", "CdtrAcct", "CdtrAgt") if incoming else ("Dbtr", "DbtrAcct", "DbtrAgt")

        parsed = ParsedTransaction(
            amount=signed,
            currency=currency,
            counterparty_name=details.text(f"RltdPties/{party}/Nm") or details.text(f"RltdPties/{party}/Pty/Nm"),
            counterparty_iban=compact_iban(details.text(f"RltdPties/{account}/Id/IBAN")),
            counterparty_bic=(
                details.text(f"RltdAgts/{agent}/FinInstnId/BIC") or details.text(f"RltdAgts/{agent}/FinInstnId/BICFI")
            ),
            end_to_end_id=details.text("Refs/EndToEndId"),
            mandate_id=details.text("Refs/MndtId"),
            return_reason=details.text("RtrInf/Rsn/Cd") or details.text("RtrInf/Rsn/Prtry"),
            charges=self.charges(details, "Chrgs"),
        )
        if parsed.end_to_end_id.upper() == "NOTPROVIDED":
            parsed.end_to_end_id = ""

        unstructured = details.texts("RmtInf/Ustrd")
        references = details.texts("RmtInf/Strd/CdtrRefInf/Ref")
        additional = details.text("AddtlTxInf")
        parsed.structured_reference = references[0] if references else ""
        parsed.remittance_info = join_remittance(unstructured, references[1:]) or additional or entry.additional_info

        instructed_element = details.first("AmtDtls/InstdAmt/Amt")
        instructed = self.amount(instructed_element, "AmtDtls/InstdAmt") if instructed_element is not None else None
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
                _(
                    "%(position)s: de %(count)d transacties van deze verzamelboeking tellen op tot %(total)s, "
                    "maar het bedrag van de boeking is %(amount)s; het bestand klopt niet, vraag de bank om een "
                    "nieuwe export"
                ) % {
                    "position": position_text(entry.position),
                    "count": len(entry.transactions),
                    "total": format_report_money(total, entry.currency),
                    "amount": format_report_money(entry.amount, entry.currency),
                },
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
            return amount, currency, reader.date(_Flat(balance), "Dt", f"Bal[{code}]/Dt")
    return None


def _summary(statement: etree._Element, name: str, reader: _EntryReader) -> tuple[int | None, Decimal | None]:
    """Return the declared entry count and sum of the summary block `name`, recording an invalid sum as an error."""
    block = _child(statement, "TxsSummry", name)
    if block is None:
        return None, None
    count = _text(block, "NbOfNtries")
    sum_element = _child(block, "Sum")
    total = (sum_element.text or "").strip() if sum_element is not None else ""
    declared_sum = reader.plain_decimal(sum_element, f"TxsSummry/{name}/Sum", total) if total else None
    return (int(count) if count.isdigit() else None), declared_sum


def _valid_iban(value: str) -> str:
    """Return `value` as a compact IBAN when it is a valid one, else an empty string."""
    try:
        return IBAN(value).compact
    except SchwiftyException:
        return ""


def _statement(element: etree._Element, entries: list[ParsedEntry], reader: _EntryReader) -> ParsedStatement:
    iban = compact_iban(_text(element, "Acct", "Id", "IBAN"))
    other = _text(element, "Acct", "Id", "Othr", "Id")
    if not iban:
        # Some banks put the IBAN under Othr/Id, which may contain any account id.
        iban = _valid_iban(other)
    statement = ParsedStatement(
        position=f"line {element.sourceline}",
        statement_id=_text(element, "Id"),
        account=iban or other,
        account_is_iban=bool(iban),
        currency=_text(element, "Acct", "Ccy"),
        is_notification=_local(element.tag) == "Ntfctn",
        entries=entries,
    )
    if not statement.account:
        reader.error(element, "Acct/Id", "", _(
            "rekening ontbreekt: Acct/Id/IBAN en Acct/Id/Othr/Id zijn allebei leeg"
        ))

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

    statement.declared_entry_count, _entry_sum = _summary(element, "TtlNtries", reader)
    statement.declared_credit_count, statement.declared_credit_sum = _summary(element, "TtlCdtNtries", reader)
    statement.declared_debit_count, statement.declared_debit_sum = _summary(element, "TtlDbtNtries", reader)
    return statement


def _check_root(root: etree._Element | None) -> None:
    if root is None or _local(root.tag) != "Document":
        name = _local(root.tag) if root is not None else ""
        line = root.sourceline if root is not None else None
        raise StatementFileError(
            [RowError(line, _("hoofdelement"), name, _(
                "verwacht een camt.053- of camt.054-Document; exporteer het rekeningafschrift als camt.053"
            ), line_based=True)],
            _("geen camt.053/camt.054-bestand."),
        )


def _looks_binary(data: bytes) -> bool:
    """Return whether `data` contains control bytes or invalid UTF-8, so printing it would show garbage."""
    if any(byte < 0x20 and byte not in b"\t\r\n" for byte in data):
        return True
    for end in range(len(data), max(len(data) - 4, -1), -1):
        # The 80-byte cut may split a multi-byte character, so up to 3 bytes at the end may be incomplete.
        try:
            data[:end].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return False
    return True


def check_head(path: Path, head: bytes) -> None:
    """Raise StatementFileError when the start of the file is not a safe camt document."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"<"):
        first_line = stripped.split(b"\n", 1)[0][:80]
        if _looks_binary(first_line):
            size = _("%(size)d bytes binaire gegevens") % {"size": path.stat().st_size}
            raise StatementFileError(
                [RowError(None, file_field(), size, _(
                    "geen XML en geen tekst: het bestand is binair (een archief, een pdf of een beschadigde "
                    "download). Exporteer het rekeningafschrift als camt.053-XML"
                ))],
                _("geen camt.053/camt.054-XML-bestand."),
            )
        raise StatementFileError(
            [RowError(1, file_field(), first_line.decode("utf-8", "replace"), _(
                "geen XML: het bestand begint niet met '<'. Is het een CSV-export, sla het dan op als .csv "
                "of exporteer het rekeningafschrift als camt.053-XML"
            ), line_based=True)],
            _("geen camt.053/camt.054-XML-bestand."),
        )
    if DOCTYPE_PATTERN.search(head):
        raise StatementFileError(
            [RowError(None, "DOCTYPE", "<!DOCTYPE", _(
                "een rekeningafschrift mag geen DTD of entity-declaraties bevatten, omdat die lokale bestanden "
                "kunnen lezen of onbeperkt kunnen uitdijen. Vraag de bank om de oorspronkelijke export"
            ))],
            _("onveilige XML."),
        )


def read_camt(path: Path) -> list[ParsedStatement]:
    """Read every statement (camt.053) or notification (camt.054) in `path`.

    Raise StatementFileError with every problem found, each with its line.
    """
    with cyclic_gc_paused():
        return _read_camt(path)


def _read_camt(path: Path) -> list[ParsedStatement]:
    with path.open("rb") as handle:
        head = handle.read(65536)
        check_head(path, head)
        return _parse(path, without_default_namespace(handle, head))


def _parse(path: Path, source: ReadableFile) -> list[ParsedStatement]:
    """Read the statements of `path` from `source`, an open file of its bytes."""
    reader = _EntryReader(path)
    fast_reader = FastEntryReader()
    statements: list[ParsedStatement] = []
    entries: list[ParsedEntry] = []
    number = 0
    entry_tags: dict[str, bool] = {}
    context = etree.iterparse(
        source,
        events=("end",),
        tag=("{*}Ntry", "{*}Stmt", "{*}Ntfctn"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
    )
    try:
        for _event, element in context:
            if number == 0 and not statements:
                _check_root(element.getroottree().getroot())
            tag = element.tag
            is_entry = entry_tags.get(tag)
            if is_entry is None:
                is_entry = entry_tags[tag] = _local(tag) == "Ntry"
            if is_entry:
                number += 1
                try:
                    parsed = fast_reader.read(element, number)
                except Fallback:
                    parsed = reader.read(element, number)
                if parsed is not None:
                    entries.append(parsed)
                # Drop the entry and the ones before it, which are read.
                element.clear()
                previous = element.getprevious()
                while previous is not None and previous.tag == tag:
                    element.getparent().remove(previous)
                    previous = element.getprevious()
            else:
                statements.append(_statement(element, entries, reader))
                entries = []
                element.clear()
        _check_root(context.root)
    except etree.XMLSyntaxError as exc:
        raise _malformed(path, exc) from exc

    if not statements and not reader.errors:
        reader.errors.append(RowError(None, "Stmt", "", _(
            "geen Stmt-element (camt.053) of Ntfctn-element (camt.054) gevonden; het bestand bevat geen "
            "rekeningafschrift"
        )))
    if reader.errors:
        raise StatementFileError(reader.errors, problems_in_statement(len(reader.errors)))
    return statements


def _line_count(path: Path) -> int:
    """Return the number of lines of `path`, counting a last line without a line break."""
    count = 0
    last = b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count if last == b"\n" else count + 1


def _malformed(path: Path, exc: etree.XMLSyntaxError) -> StatementFileError:
    """Return the rejection of a file that is not well-formed XML, at the line and column where libxml2 stopped.

    libxml2's message is English and technical, so the problem text is our
    own. The error names the line and column where parsing stopped. A file
    that ends inside an element, or whose error is on its last line, is
    called cut off, and any other file damaged.
    """
    line, column = exc.position if exc.position else (exc.lineno, 0)
    if exc.code == PREMATURE_END or (line and line >= _line_count(path)):
        problem = _(
            "ongeldige XML: het bestand houdt midden in de XML op, dus het is afgebroken; download het "
            "rekeningafschrift opnieuw bij de bank"
        )
    else:
        problem = _(
            "ongeldige XML: het bestand is beschadigd; download het rekeningafschrift opnieuw bij de bank"
        )
    error = RowError(line, "XML", "", problem, line_based=True, column=column)
    return StatementFileError([error], _("ongeldige XML."))


def iter_entries(statements: list[ParsedStatement]) -> Iterator[tuple[ParsedStatement, ParsedEntry]]:
    for statement in statements:
        for entry in statement.entries:
            yield statement, entry
