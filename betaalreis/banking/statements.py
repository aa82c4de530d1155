"""Bank statements as read from a file, before anything is stored.

Both readers (camt.053/054 and MT940) produce these dataclasses, so checks,
storage and matching do not depend on the file format.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from betaalreis.imports.contacts import iban_problem
from betaalreis.imports.registry import RowError
from betaalreis.ledger.iban import compact_iban

# The position of a statement or entry as the readers write it and
# BankTransaction.position stores it: "line 12" or "line 12, entry 3".
_POSITION = re.compile(r"^line (?P<line>\d+)(?:, entry (?P<entry>\d+))?$")


class StatementFileError(Exception):
    """A statement file that cannot be read. Each of `errors` names its position."""

    def __init__(self, errors: list[RowError], summary: str = "") -> None:
        super().__init__(summary or str(errors[0]))
        self.errors = errors
        self.summary = summary


def position_text(position: str) -> str:
    """Return a stored position such as "line 12, entry 3" in the active language.

    A position in another form is returned unchanged.
    """
    match = _POSITION.match(position)
    if match is None:
        return position
    if match["entry"] is None:
        return _("regel %(line)s") % {"line": match["line"]}
    return _("regel %(line)s, boeking %(entry)s") % {"line": match["line"], "entry": match["entry"]}


def problems_in_statement(count: int) -> str:
    """Return the summary line of a rejected statement file with `count` problems."""
    return ngettext(
        "%(count)d probleem in het rekeningafschrift.", "%(count)d problemen in het rekeningafschrift.", count
    ) % {"count": count}


def statement_name(statement: ParsedStatement) -> str:
    """Return how a problem text names `statement`: its id and position in the file."""
    return _("rekeningafschrift %(statement)s (%(position)s)") % {
        "statement": statement.statement_id or "?",
        "position": position_text(statement.position),
    }


# An account written as an IBAN: a country code, two check digits and a BBAN
# of 11 to 30 letters and digits (ISO 13616 allows at most 34 characters).
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")


def invalid_iban_error(statement: ParsedStatement) -> RowError | None:
    """Return the error for a statement whose account is written as an IBAN but is not a valid one, else None.

    No creditor can have an invalid IBAN, and --creditor does not book a
    statement of another account, so no creditor can import such a statement.
    The error states that, instead of advice to set the IBAN or pass --creditor.
    """
    compact = compact_iban(statement.account)
    if statement.account_is_iban or not _IBAN_SHAPE.fullmatch(compact):
        return None
    try:
        IBAN(compact)
    except SchwiftyException as exc:
        reason = iban_problem(exc)
    else:
        return None
    return RowError(None, _("rekening"), statement.account, _(
        "rekening %(account)s in %(statement)s is %(reason)s. Een crediteur kan geen ongeldig IBAN hebben, dus "
        "dit rekeningafschrift is voor geen enkele crediteur te importeren, ook niet met --creditor. Download het "
        "rekeningafschrift opnieuw bij de bank; staat de rekening er dan nog zo in, meld het dan aan de bank"
    ) % {"statement": statement_name(statement), "account": statement.account, "reason": reason})


@dataclass(slots=True)
class ParsedTransaction:
    """One underlying transaction of an entry. `amount` is signed: positive is money in."""

    amount: Decimal
    currency: str
    counterparty_name: str = ""
    counterparty_iban: str = ""
    counterparty_bic: str = ""
    end_to_end_id: str = ""
    mandate_id: str = ""
    structured_reference: str = ""
    remittance_info: str = ""
    return_reason: str = ""
    charges: Decimal | None = None
    original_amount: Decimal | None = None
    original_currency: str = ""


@dataclass(slots=True)
class ParsedEntry:
    """One booking line on the account: a single payment or a batch of them."""

    position: str
    booking_date: dt.date
    value_date: dt.date | None
    amount: Decimal
    currency: str
    is_reversal: bool = False
    booked: bool = True
    entry_reference: str = ""
    bank_reference: str = ""
    bank_transaction_code: str = ""
    batch_id: str = ""
    batch_size: int | None = None
    additional_info: str = ""
    charges: Decimal | None = None
    raw: str = ""
    transactions: list[ParsedTransaction] = field(default_factory=list)


@dataclass(slots=True)
class ParsedStatement:
    """One statement: account, balances and entries, with the totals the file declares."""

    position: str
    statement_id: str
    account: str
    account_is_iban: bool
    currency: str
    # A camt.054 notification, which banks may send before the statement
    # (camt.053 or MT940) that books the same transactions again.
    is_notification: bool = False
    opening_balance: Decimal | None = None
    opening_date: dt.date | None = None
    closing_balance: Decimal | None = None
    closing_date: dt.date | None = None
    declared_entry_count: int | None = None
    declared_credit_count: int | None = None
    declared_credit_sum: Decimal | None = None
    declared_debit_count: int | None = None
    declared_debit_sum: Decimal | None = None
    entries: list[ParsedEntry] = field(default_factory=list)


# ISO 20022 limits each unstructured remittance line (Ustrd) to 140 characters.
USTRD_LENGTH = 140


def join_remittance(lines: list[str], references: list[str]) -> str:
    """Return the remittance text of a transaction's Ustrd lines and extra creditor references.

    A bank that splits a longer description over several lines fills each
    line to the 140-character limit, so a full line goes on without a space.
    Shorter lines are separate items and are joined with a space.
    """
    text = ""
    previous_full = False
    for line in lines:
        if text and not previous_full:
            text += " "
        text += line
        previous_full = len(line) >= USTRD_LENGTH
    return " ".join(part for part in (text, *references) if part)
