"""Read the ING Netherlands current-account CSV export as bank statements.

ING writes one row per transaction, newest first, in two layouts: the
comma-separated one without balances and, since March 2023, a
semicolon-separated one whose last columns are "Saldo na mutatie" (balance
after the transaction) and "Tag". Dates are YYYYMMDD, amounts use a decimal
comma and carry their sign in the "Af Bij" column. One export can cover
several accounts ("Rekening"), so each account becomes one statement.

With the balance column, every row must lead from the previous balance to
its own; a row that does not is reported with both figures.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from betaalreis.banking.statements import (
    ParsedEntry,
    ParsedStatement,
    ParsedTransaction,
    StatementFileError,
    position_text,
)
from betaalreis.imports.registry import RowError
from betaalreis.ledger.iban import compact_iban
from betaalreis.ledger.money import format_report_money

HEADER_START = ("Datum", "Naam / Omschrijving", "Rekening", "Tegenrekening", "Code", "Af Bij", "Bedrag (EUR)")
BALANCE_COLUMN = "Saldo na mutatie"
# Labels inside "Mededelingen" of SEPA transfers, in the order ING writes them.
NOTE_LABELS = re.compile(r"\b(Naam|Omschrijving|IBAN|Kenmerk|Machtiging ID|Incassant ID|Valutadatum|Pasvolgnr|Transactie|Term):\s*")
# NOTE: the export has no reversal flag, so a debit whose note contains
# "Terugboeking", "Storno" or "Retour" is read as a reversal. These words are
# an assumption: no ING export with a returned payment was available to check.
REVERSAL_WORDS = re.compile(r"\b(terugboeking|storno|retour)\b", re.IGNORECASE)


def looks_like_ing_csv(head: bytes) -> bool:
    """Return whether the first line is the header of an ING current-account export."""
    first_line = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].decode("utf-8", "replace")
    cells = [cell.strip().strip('"') for cell in re.split(r"[;,]", first_line)]
    return tuple(cells[: len(HEADER_START)]) == HEADER_START


def _amount(text: str) -> Decimal:
    return Decimal(text.strip().replace(".", "").replace(",", "."))


def _notes(text: str) -> dict[str, str]:
    matches = list(NOTE_LABELS.finditer(text))
    values: dict[str, str] = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        values.setdefault(match.group(1), text[match.end():end].strip())
    if matches and matches[0].start() > 0:
        values.setdefault("", text[: matches[0].start()].strip())
    elif not matches:
        values[""] = text.strip()
    return values


def _entry(row: dict[str, str], line: int, errors: list[RowError]) -> tuple[ParsedEntry, Decimal | None] | None:
    try:
        booked = dt.datetime.strptime(row["Datum"].strip(), "%Y%m%d").date()
    except ValueError:
        errors.append(RowError(line, "Datum", row["Datum"], _("ongeldige datum; verwacht JJJJMMDD")))
        return None
    try:
        amount = _amount(row["Bedrag (EUR)"])
    except InvalidOperation:
        errors.append(RowError(line, "Bedrag (EUR)", row["Bedrag (EUR)"], _(
            "ongeldig bedrag; verwacht cijfers met een komma als decimaalteken, zoals 1234,56"
        )))
        return None
    direction = row["Af Bij"].strip()
    if direction not in ("Af", "Bij"):
        errors.append(RowError(line, "Af Bij", direction, _("verwacht 'Af' of 'Bij'")))
        return None
    signed = amount if direction == "Bij" else -amount

    balance = None
    if row.get(BALANCE_COLUMN, "").strip():
        try:
            balance = _amount(row[BALANCE_COLUMN])
        except InvalidOperation:
            errors.append(RowError(line, BALANCE_COLUMN, row[BALANCE_COLUMN], _(
                "ongeldig saldo; verwacht cijfers met een komma als decimaalteken, zoals 1234,56"
            )))
            return None

    notes = _notes(row.get("Mededelingen", ""))
    value_date = None
    if notes.get("Valutadatum"):
        try:
            value_date = dt.datetime.strptime(notes["Valutadatum"][:10], "%d-%m-%Y").date()
        except ValueError:
            value_date = None
    remittance = notes.get("Omschrijving") or notes.get("", "")
    reference = notes.get("Kenmerk", "")
    entry = ParsedEntry(
        position=f"line {line}",
        booking_date=booked,
        value_date=value_date,
        amount=signed,
        currency="EUR",
        is_reversal=signed < 0 and bool(REVERSAL_WORDS.search(row.get("Mededelingen", ""))),
        bank_transaction_code=f"{row['Code'].strip()} {row.get('Mutatiesoort', '').strip()}".strip()[:60],
        raw=row.get("Mededelingen", ""),
    )
    entry.transactions.append(ParsedTransaction(
        amount=signed,
        currency="EUR",
        counterparty_name=(notes.get("Naam") or row["Naam / Omschrijving"]).strip()[:200],
        counterparty_iban=compact_iban(row["Tegenrekening"].strip()),
        end_to_end_id="" if reference.upper() == "NOTPROVIDED" else reference[:100],
        mandate_id=notes.get("Machtiging ID", "")[:100],
        remittance_info=remittance,
    ))
    return entry, balance


def read_ing_csv(path: Path) -> list[ParsedStatement]:
    """Read an ING CSV export into one statement per account; raise StatementFileError naming rows."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)

    errors: list[RowError] = []
    rows_by_account: dict[str, list[tuple[ParsedEntry, Decimal | None]]] = defaultdict(list)
    for line, row in enumerate(reader, start=2):
        if None in row or any(value is None for value in row.values()):
            errors.append(RowError(line, _("rij"), str(len(row)), _(
                "verwacht %(expected)d kolommen; exporteer de rekening opnieuw zonder de regels te bewerken"
            ) % {"expected": len(reader.fieldnames or [])}))
            continue
        parsed = _entry(row, line, errors)
        if parsed is not None:
            rows_by_account[compact_iban(row["Rekening"].strip())].append(parsed)

    statements: list[ParsedStatement] = []
    for account, rows in rows_by_account.items():
        # Rows are newest first; a statement lists them oldest first.
        rows.reverse()
        statement = ParsedStatement(
            position=rows[0][0].position,
            statement_id=f"ING CSV {rows[0][0].booking_date:%Y-%m-%d}..{rows[-1][0].booking_date:%Y-%m-%d}",
            account=account,
            account_is_iban=True,
            currency="EUR",
            entries=[entry for entry, _balance in rows],
        )
        balances = [balance for _entry, balance in rows]
        if all(balance is not None for balance in balances):
            statement.opening_balance = balances[0] - rows[0][0].amount
            statement.opening_date = rows[0][0].booking_date
            statement.closing_balance = balances[-1]
            statement.closing_date = rows[-1][0].booking_date
            for (previous, before), (entry, after) in zip(rows, rows[1:]):
                if before + entry.amount != after:
                    errors.append(RowError(
                        int(entry.position.removeprefix("line ")), BALANCE_COLUMN, str(after),
                        _(
                            "saldo %(before)s (%(position)s) plus %(amount)s is %(expected)s, niet %(after)s; "
                            "er ontbreken rijen of ze staan in de verkeerde volgorde, exporteer de rekening opnieuw"
                        ) % {
                            "before": format_report_money(before, statement.currency),
                            "position": position_text(previous.position),
                            "amount": format_report_money(entry.amount, statement.currency, signed=True),
                            "expected": format_report_money(before + entry.amount, statement.currency),
                            "after": format_report_money(after, statement.currency),
                        },
                    ))
        statements.append(statement)

    if errors:
        raise StatementFileError(errors, ngettext(
            "%(count)d probleem in de export.", "%(count)d problemen in de export.", len(errors)
        ) % {"count": len(errors)})
    return statements
