"""Read SWIFT MT940 statements as Dutch banks write them.

The `mt-940` package parses the tags. Before that, this module cuts the file
into statements (one per `:20:`), strips the SWIFT block headers and the
non-SWIFT `:940:` and `ABNANL2A 940` preambles, and joins wrapped lines. After
that, `parse_information` reads the `:86:` text, whose layout differs per bank.

Banks wrap `:86:` at 65 characters, often inside a word or number
("NOTPROV" + "IDED"), so continuation lines are joined without a space.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import mt940
from django.utils.translation import gettext as _
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from betaalreis.banking.statements import (
    ParsedEntry,
    ParsedStatement,
    ParsedTransaction,
    StatementFileError,
    problems_in_statement,
)
from betaalreis.imports.registry import RowError, file_field
from betaalreis.ledger.iban import compact_iban
from betaalreis.ledger.validators import is_valid_iban

# A line that starts with a colon, two or three letters or digits (at least
# one digit) and a colon is a tag, also a mistyped one such as ":6X:". The
# digit keeps free text such as ":REK:" out.
TAG_PATTERN = re.compile(r"^:(?=[0-9A-Za-z]{0,2}\d)([0-9A-Za-z]{2,3}):")
# Only the :61: supplementary line and the :86: text are free text that can
# wrap. A line such as ":NS:" under any other tag is therefore an unknown tag,
# not a continuation of the tag above it.
FREE_TEXT_TAGS = frozenset({"61", "86"})
LETTER_TAG_PATTERN = re.compile(r"^:([A-Za-z]{2,3}):")
# Tags of MT940 (:20: to :86:), the older :28: and the MT942 tags :13D:,
# :34F:, :90D: and :90C: that some banks also write in MT940 exports. The
# reader and the mt-940 package read these tags or skip them on purpose. Any
# other tag is rejected, because mt-940 would drop it without a word.
MT940_TAGS = frozenset({
    "13D", "20", "21", "25", "25P", "28", "28C", "34F", "60F", "60M", "61",
    "62F", "62M", "64", "65", "86", "90C", "90D",
})
SWIFT_BLOCKS = re.compile(r"^\{[1-3]:[^}]*\}|^\{4:")

# Code words of the structured :86: layouts of ING, Rabobank, ABN AMRO,
# Triodos, Knab, bunq and ASN. Their order is not fixed, so the text is cut
# at every known code word rather than read by position.
CODE_WORDS = (
    "TRTP", "IBAN", "BIC", "NAME", "REMI", "EREF", "CSID", "MARF", "PREF", "CNTP",
    "RTRN", "ORDP", "BENM", "ADDR", "ISDT", "PURP", "ULTC", "ULTD", "ULTB", "EXCH",
    "OCMT", "CHGS", "SVCL", "BUSP", "SUM", "ID", "TRCD",
)
CODE_WORD_PATTERN = re.compile(r"/(" + "|".join(CODE_WORDS) + r")/")
# ABN AMRO's older column layout and Knab's free-text layout use labels.
LABEL_PATTERN = re.compile(
    r"(IBAN|BIC|NAAM|OMSCHRIJVING|KENMERK|BETALINGSKENM\.|BETALINGSKENMERK|REK|MACHTIGING|INCASSANT)\s*:\s*"
)
REMITTANCE_KIND_PATTERN = re.compile(r"^/?(USTD|STRD)/+")
TRIODOS_SUBFIELD_PATTERN = re.compile(r">\d{2}")
IBAN_SHAPE_PATTERN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{8,30}")
# ABN AMRO's layout from before SEPA starts the :86: text with the
# counterparty's domestic account, dotted ("54.49.42.108") or as "GIRO" and
# a giro number, followed on the same line by the counterparty's name.
# NOTE: the samples seen show only the name on that line. Other old ABN AMRO
# lines pad columns with spaces, so the name is cut at two or more spaces in
# case a second column follows.
LEGACY_ACCOUNT_NAME_PATTERN = re.compile(r"^(?:\d{2}\.\d{2}\.\d{2}\.\d{3}|GIRO\s+\d{1,9})\s+(\S.*)$")
LEGACY_COLUMN_GAP = re.compile(r"\s{2,}")
STRUCTURED_REFERENCE_PATTERNS = (
    re.compile(r"CDTRREF/([A-Z0-9 ]+?)(?:/|$)"),
    re.compile(r"STRD/(?:CUR|ISO)?/?([A-Z0-9]+)"),
    re.compile(r"ISSUER:\s*(?:CUR|ISO)\s+REF:\s*([A-Z0-9]+)"),
)


@dataclass
class _Line:
    number: int
    text: str


@dataclass
class _Tag:
    name: str
    number: int
    lines: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Information:
    """Counterparty and payment fields read from a :86: text."""

    name: str = ""
    iban: str = ""
    bic: str = ""
    remittance: str = ""
    structured_reference: str = ""
    end_to_end_id: str = ""
    mandate_id: str = ""
    batch_id: str = ""
    return_reason: str = ""
    transaction_type: str = ""


def _decode(raw: bytes) -> str:
    # MT940 is specified as a SWIFT character subset, but Dutch banks deliver
    # ISO 8859-1 or Windows-1252 exports as often as UTF-8.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _tags(text: str) -> list[_Tag]:
    """Cut the file into tags with their continuation lines and line numbers."""
    tags: list[_Tag] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.rstrip("\r")
        # Every SWIFT block header starts with "{".
        while stripped.startswith("{"):
            block = SWIFT_BLOCKS.match(stripped)
            if not block:
                break
            stripped = stripped[block.end():]
        if stripped.strip() in ("-", "-}", "}", ""):
            continue
        match = TAG_PATTERN.match(stripped)
        if match is None and tags and tags[-1].name not in FREE_TEXT_TAGS:
            match = LETTER_TAG_PATTERN.match(stripped)
        if match:
            tags.append(_Tag(match.group(1), number, [stripped[match.end():]]))
        elif tags:
            tags[-1].lines.append(stripped)
        # Lines before the first tag are preambles such as "ABNANL2A", "940"
        # and ":940:" (which is not a SWIFT tag); they carry no data.
    return [tag for tag in tags if tag.name != "940"]


def _join_61(lines: list[str]) -> str:
    """Return the :61: value as the statement line plus one supplementary line.

    ING wraps a long bank reference onto the next line ("//00000000001" +
    "005"), so a digits-only line right after a bank reference belongs to it.
    """
    first = lines[0]
    rest = lines[1:]
    while rest and "//" in first and rest[0].strip().isdigit() and len(first.split("//", 1)[1]) < 16:
        first += rest.pop(0).strip()
    if not rest:
        return first
    return first + "\n" + "".join(part.strip() for part in rest)


def _statement_text(tags: list[_Tag]) -> tuple[str, list[int], list[str]]:
    """Return the cleaned text of one statement, the line of each :61:, and the first line of the :86: after each :61:.

    The :86: value is joined without line breaks, so the first line is
    returned apart for layouts that give it a meaning of its own.
    """
    out: list[str] = []
    lines_61: list[int] = []
    first_lines_86: list[str] = []
    closed = False
    for tag in tags:
        if tag.name in ("62F", "62M"):
            closed = True
        if tag.name == "86" and closed:
            # A :86: after the closing balance describes the statement
            # (ING's /SUM/ totals), not the last transaction.
            continue
        if tag.name == "61":
            lines_61.append(tag.number)
            first_lines_86.append("")
            value = _join_61(tag.lines)
        elif tag.name == "86":
            value = "".join(tag.lines)
            if first_lines_86 and not first_lines_86[-1]:
                first_lines_86[-1] = tag.lines[0]
        else:
            value = "".join(part.strip() for part in tag.lines)
        out.append(f":{tag.name}:{value}")
    return "\n".join(out) + "\n", lines_61, first_lines_86


def _split_code_words(text: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    matches = list(CODE_WORD_PATTERN.finditer(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        key = match.group(1)
        value = text[match.end():end]
        # Only the first occurrence counts: "/ORDP//NAME/x/ADDR/y" keeps NAME x.
        parts.setdefault(key, value)
    return parts


def _clean(value: str) -> str:
    # split() cuts at the same whitespace as the regular expression \s+.
    return " ".join(value.strip().strip("/").split())


def _structured_reference(text: str) -> str:
    for pattern in STRUCTURED_REFERENCE_PATTERNS:
        match = pattern.search(text)
        if match:
            return match.group(1).replace(" ", "")
    return ""


def _parse_code_words(text: str, info: Information) -> None:
    parts = _split_code_words(text)
    info.transaction_type = _clean(parts.get("TRTP", ""))

    counterparty = parts.get("CNTP")
    if counterparty is not None:
        # ING and Triodos: /CNTP/<IBAN>/<BIC>/<name>/<city>/
        fields = counterparty.split("/")
        fields += [""] * (4 - len(fields))
        info.iban, info.bic, info.name = _clean(fields[0]), _clean(fields[1]), _clean(fields[2])
    info.iban = info.iban or _clean(parts.get("IBAN", ""))
    info.bic = info.bic or _clean(parts.get("BIC", ""))
    info.name = info.name or _clean(parts.get("NAME", ""))

    remittance = parts.get("REMI", "")
    info.structured_reference = _structured_reference(remittance)
    remittance = REMITTANCE_KIND_PATTERN.sub("", remittance.lstrip("/"), count=1)
    if info.structured_reference:
        info.remittance = ""
    else:
        info.remittance = _clean(remittance)

    end_to_end = _clean(parts.get("EREF", ""))
    info.end_to_end_id = "" if end_to_end.upper() == "NOTPROVIDED" else end_to_end
    info.mandate_id = _clean(parts.get("MARF", ""))
    info.batch_id = _clean(parts.get("PREF", ""))
    info.return_reason = _clean(parts.get("RTRN", ""))[:4]


def _parse_labels(text: str, info: Information) -> None:
    matches = list(LABEL_PATTERN.finditer(text))
    if not matches:
        # Free text, as bunq writes it, may start with the counterparty IBAN.
        first, _, rest = text.strip().partition(" ")
        if is_valid_iban(first):
            info.iban = first
            text = rest
        info.remittance = _clean(text)
        return

    values: dict[str, str] = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        values.setdefault(match.group(1), _clean(text[match.end():end].strip(" ,")))
    before = _clean(text[: matches[0].start()])

    account = values.get("IBAN") or values.get("REK", "")
    info.iban = account.split("/")[0].strip()
    info.bic = values.get("BIC", "")
    info.name = values.get("NAAM", "")
    info.structured_reference = (
        (values.get("BETALINGSKENM.") or values.get("BETALINGSKENMERK") or "").split(" ")[0].strip(",;.")
    )
    pieces = [before, values.get("OMSCHRIJVING", ""), values.get("KENMERK", "")]
    info.remittance = _clean(" ".join(piece for piece in pieces if piece))


def _parse_triodos_subfields(text: str, info: Information) -> None:
    # Old Triodos: >10 transaction id, >20..>29 description split anywhere,
    # >31 counter account, >32/>33 name.
    fields = dict(re.findall(r">(\d{2})((?:(?!>\d{2}).)*)", text, flags=re.DOTALL))
    info.remittance = _clean("".join(fields.get(str(key), "") for key in range(20, 30)))
    info.iban = _clean(fields.get("31", ""))
    info.name = _clean(fields.get("32", "") + fields.get("33", ""))


def legacy_counterparty_name(first_line: str) -> str:
    """Return the counterparty name of a :86: in ABN AMRO's layout from before SEPA, or "" for other layouts.

    `first_line` is the first line of the :86: text, such as
    "54.49.42.108 ABC BOOM KK" or "GIRO 1234567 J. JANSEN".
    """
    match = LEGACY_ACCOUNT_NAME_PATTERN.match(first_line.strip())
    if match is None:
        return ""
    return LEGACY_COLUMN_GAP.split(match.group(1), maxsplit=1)[0].strip()


def parse_information(text: str) -> Information:
    """Read a :86: text (already joined) into counterparty and remittance fields."""
    info = Information()
    if CODE_WORD_PATTERN.search(text):
        _parse_code_words(text, info)
    elif TRIODOS_SUBFIELD_PATTERN.search(text):
        _parse_triodos_subfields(text, info)
    else:
        _parse_labels(text, info)

    if info.iban and not IBAN_SHAPE_PATTERN.fullmatch(info.iban.replace(" ", "")):
        # Old domestic account numbers and dummy counter-accounts ("0000000000").
        info.iban = ""
    info.iban = compact_iban(info.iban)
    return info


def _account(value: str) -> tuple[str, bool]:
    """Return the account of a :25: value and whether it is a valid IBAN.

    ING appends the currency (NL77INGB0574908765EUR) and Rabobank adds it
    after a space; old statements carry a domestic account number.
    """
    compact = compact_iban(value)
    candidates = [compact]
    if re.fullmatch(r".+[A-Z]{3}", compact):
        candidates.append(compact[:-3])
    for candidate in candidates:
        try:
            return IBAN(candidate).compact, True
        except SchwiftyException:
            continue
    if re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{8,30}(EUR|USD|GBP|CHF)", compact):
        # IBAN-shaped with a bad checksum, as in test files: keep it as written.
        return compact[:-3], False
    return value.strip(), False


def _date(value: object) -> dt.date:
    return dt.date(value.year, value.month, value.day)  # type: ignore[attr-defined]


def _balance(data: dict, key: str) -> tuple[Decimal, str, dt.date] | None:
    balance = data.get(key)
    if balance is None:
        return None
    return Decimal(str(balance.amount.amount)), balance.amount.currency, _date(balance.date)


def _parse_statement(path: Path, tags: list[_Tag], errors: list[RowError]) -> ParsedStatement | None:
    text, lines_61, first_lines_86 = _statement_text(tags)
    transactions = mt940.models.Transactions()
    try:
        transactions.parse(text)
    except (RuntimeError, ValueError, KeyError) as exc:
        # mt-940 raises RuntimeError("Unable to parse <tag> from '<value>'", tag, value).
        # Its English message is not shown: the value is the tag's own text.
        tag_name = getattr(exc.args[1], "id", "?") if len(exc.args) > 1 else "?"
        broken = next((tag for tag in tags if tag.name.startswith(str(tag_name))), None)
        line = broken.number if broken is not None else tags[0].number
        if len(exc.args) > 2 and isinstance(exc.args[2], str):
            value = exc.args[2]
        elif broken is not None:
            value = " ".join(broken.lines)
        else:
            value = ""
        errors.append(RowError(line, f":{tag_name}:", value[:120], _(
            "ongeldige MT940-tag; het bestand is beschadigd of geen MT940. Download het rekeningafschrift "
            "opnieuw bij de bank"
        ), line_based=True))
        return None

    data = transactions.data
    account, is_iban = _account(str(data.get("account_identification", "")))
    opening = _balance(data, "final_opening_balance")
    closing = _balance(data, "final_closing_balance")

    if opening is None or closing is None:
        errors.append(RowError(tags[0].number, ":60F:/:62F:", "", _(
            "beginsaldo (:60F:) of eindsaldo (:62F:) ontbreekt; zonder beide saldi is niet te controleren "
            "of het rekeningafschrift compleet is. Vraag de bank om een volledige export"
        ), line_based=True))

    statement = ParsedStatement(
        position=f"line {tags[0].number}",
        statement_id=str(data.get("transaction_reference", "")) + "/" + str(data.get("statement_number", "")),
        account=account,
        account_is_iban=is_iban,
        currency=opening[1] if opening else "",
    )
    if opening:
        statement.opening_balance, _currency, statement.opening_date = opening
    if closing:
        statement.closing_balance, _currency, statement.closing_date = closing

    for index, transaction in enumerate(transactions):
        values = transaction.data
        line = lines_61[index] if index < len(lines_61) else tags[0].number
        amount = Decimal(str(values["amount"].amount))
        details = values.get("transaction_details") or ""
        info = parse_information(details)
        if not info.name and index < len(first_lines_86):
            info.name = legacy_counterparty_name(first_lines_86[index])
        extra = values.get("extra_details") or ""
        if not info.iban and IBAN_SHAPE_PATTERN.fullmatch(extra.strip()):
            # Rabobank puts the counterparty IBAN on the :61: supplementary line.
            info.iban = extra.strip()
        status = values.get("status", "")
        entry_date = values.get("entry_date")
        entry = ParsedEntry(
            position=f"line {line}",
            booking_date=_date(entry_date) if entry_date else _date(values["date"]),
            value_date=_date(values["date"]),
            amount=amount,
            currency=values["amount"].currency,
            is_reversal=status.startswith("R") or bool(info.return_reason),
            bank_reference=str(values.get("bank_reference") or ""),
            entry_reference=str(values.get("customer_reference") or ""),
            bank_transaction_code=" ".join(
                part for part in (str(values.get("id") or ""), info.transaction_type, extra.strip()) if part
            )[:60],
            batch_id=info.batch_id,
            raw=details,
        )
        entry.transactions.append(
            ParsedTransaction(
                amount=amount,
                currency=entry.currency,
                counterparty_name=info.name[:200],
                counterparty_iban=info.iban,
                counterparty_bic=info.bic[:11],
                end_to_end_id=info.end_to_end_id[:100],
                mandate_id=info.mandate_id[:100],
                structured_reference=info.structured_reference[:35],
                remittance_info=info.remittance,
                return_reason=info.return_reason,
            )
        )
        statement.entries.append(entry)

    if len(statement.entries) != len(lines_61):
        errors.append(RowError(
            tags[0].number, ":61:", str(len(lines_61)),
            _(
                "het rekeningafschrift heeft %(lines)d :61:-regels, maar er zijn %(read)d boekingen gelezen; "
                "het bestand is beschadigd, download het opnieuw bij de bank"
            ) % {"lines": len(lines_61), "read": len(statement.entries)},
            line_based=True,
        ))
    return statement


def _unknown_tag_error(tag: _Tag) -> RowError:
    known = ", ".join(f":{name}:" for name in sorted(MT940_TAGS))
    return RowError(tag.number, f":{tag.name}:", tag.lines[0][:120], _(
        "onbekende MT940-tag; een rekeningafschrift kan alleen %(known)s bevatten. Is het bestand bewerkt, "
        "download het rekeningafschrift dan opnieuw bij de bank. Schrijft de bank deze tag zelf, meld dan de "
        "tag en de bank aan de beheerder van Betaalreis"
    ) % {"known": known}, line_based=True)


def read_mt940(path: Path) -> list[ParsedStatement]:
    """Read every statement in an MT940 file; raise StatementFileError naming the lines."""
    text = _decode(path.read_bytes())
    tags = _tags(text)
    errors: list[RowError] = []
    if not tags:
        raise StatementFileError(
            [RowError(1, file_field(), "", _(
                "geen MT940-tags (:20:, :25:, :60F:) gevonden; exporteer het rekeningafschrift als MT940"
            ), line_based=True)],
            _("geen MT940-bestand."),
        )

    unknown = [tag for tag in tags if tag.name not in MT940_TAGS]
    if unknown:
        raise StatementFileError([_unknown_tag_error(tag) for tag in unknown], problems_in_statement(len(unknown)))

    groups: list[list[_Tag]] = []
    for tag in tags:
        if tag.name == "20" or not groups:
            groups.append([])
        groups[-1].append(tag)

    statements: list[ParsedStatement] = []
    for group in groups:
        names = {tag.name for tag in group}
        missing = [name for name in ("20", "25") if name not in names]
        if missing:
            errors.append(RowError(group[0].number, f":{missing[0]}:", "", _(
                "tag ontbreekt; elk rekeningafschrift heeft :20:, :25:, :60F: en :62F: nodig"
            ), line_based=True))
            continue
        statement = _parse_statement(path, group, errors)
        if statement is not None:
            statements.append(statement)

    if errors:
        raise StatementFileError(errors, problems_in_statement(len(errors)))
    return statements
