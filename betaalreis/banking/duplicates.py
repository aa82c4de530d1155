"""Recognise a bank transaction that an earlier file of another kind already booked.

Banks send a camt.054 notification during the day and book the same
transaction again in the end-of-day statement (camt.053 or MT940), and they
do not promise the same AcctSvcrRef in both. A creditor may also import the
MT940 and the camt.053 of one day. The external id (see `store`) then
differs, so this module compares the transactions themselves. A new
transaction repeats a stored one when all of these hold:

- the stored one came from a file of another kind: a notification against a
  statement, or another format. Files of one kind carry the same bank
  reference for the same booking, which the external id already compares,
  so a debtor who pays the same amount on two days keeps two payments;
- the same creditor account (an IBAN and the Dutch account number that ends
  it count as the same), the same signed amount and the same currency;
- a booking or value date of one is at most one day from a booking or value
  date of the other. ISO 20022 makes both dates optional in a camt.054
  entry (BookgDt and ValDt are both 0..1 in camt.054.001.11), and an
  intraday notification may carry another day than the statement;
- the same end-to-end id when both carry one ("NOTPROVIDED" counts as none),
  else the same payer IBAN and the same description (structured reference,
  else the remittance text, compared without spaces or case).

Each stored transaction stands for one repeat at most, so a file that
repeats two identical transfers finds two duplicates only when two were
stored. A repeat is kept as a bank transaction row without a payment that
points to the stored one (`duplicate_of`), so it is not matched again.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePath

from django.db.models import Count, Q

from betaalreis.banking.models import BankStatement, BankTransaction
from betaalreis.ledger.models import Creditor
from betaalreis.ledger.money import CENT

# Days between the dates of a notification and of the statement that books it.
DATE_TOLERANCE = dt.timedelta(days=1)
QUERY_BATCH = 5000
# Positions listed per earlier file in the import report.
MAX_POSITIONS = 10


@dataclass(slots=True)
class Duplicates:
    """The repeats found in one statement and the report lines that name the earlier files.

    `count` leaves out the transactions with a stored external id, which
    `store` counts itself.
    """

    count: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Transaction:
    """The fields that identify one transaction, new or stored."""

    account: str
    dates: tuple[dt.date, ...]
    end_to_end_id: str
    payer_iban: str
    description: str


def _real_end_to_end_id(value: str) -> str:
    value = value.strip()
    return "" if value.upper() == "NOTPROVIDED" else value


def _description(structured_reference: str, remittance_info: str) -> str:
    if structured_reference.strip():
        return "ref:" + "".join(structured_reference.split()).casefold()
    return "".join(remittance_info.split()).casefold()


def _account_number(account: str) -> str:
    """Return the Dutch account number of an NL IBAN or of a plain number, without leading zeros; else ""."""
    compact = account.replace(" ", "").replace(".", "").upper()
    if len(compact) == 18 and compact.startswith("NL") and compact[-10:].isdigit():
        return compact[-10:].lstrip("0")
    if compact.isdigit():
        return compact.lstrip("0")
    return ""


def same_account(first: str, second: str) -> bool:
    """Return whether two statement accounts are one account: equal, or an NL IBAN and its domestic number."""
    first_compact = first.replace(" ", "").upper()
    second_compact = second.replace(" ", "").upper()
    if first_compact == second_compact:
        return True
    if first_compact.startswith("NL") == second_compact.startswith("NL"):
        # Two IBANs, or two domestic numbers, that differ.
        return False
    number = _account_number(first_compact)
    return bool(number) and number == _account_number(second_compact)


def _date_distance(first: tuple[dt.date, ...], second: tuple[dt.date, ...]) -> int | None:
    """Return the fewest days between a date of `first` and one of `second`, or None beyond DATE_TOLERANCE."""
    distance = min(abs((one - other).days) for one in first for other in second)
    return distance if distance <= DATE_TOLERANCE.days else None


def is_same_transaction(new: _Transaction, stored: _Transaction) -> bool:
    """Return whether `new` and `stored`, of equal amount and currency, are one transaction (see the module docstring)."""
    if not same_account(new.account, stored.account):
        return False
    if _date_distance(new.dates, stored.dates) is None:
        return False
    if new.end_to_end_id and stored.end_to_end_id:
        return new.end_to_end_id == stored.end_to_end_id
    # NOTE: a transaction with no end-to-end id, payer IBAN or description
    # is never treated as a duplicate, because nothing distinguishes two such
    # transfers of one amount. It is booked as a new payment.
    if not new.payer_iban and not new.description:
        return False
    return new.payer_iban == stored.payer_iban and new.description == stored.description


@functools.lru_cache(maxsize=256)
def _source(file_name: str, statement_id: str, is_notification: bool) -> str:
    kind = "notification" if is_notification else "statement"
    return f"{kind} {statement_id or '?'} in {PurePath(file_name).name}"


def _plural(count: int) -> str:
    return "1 transaction" if count == 1 else f"{count} transactions"


def _positions(positions: list[str]) -> str:
    listed = "; ".join(positions[:MAX_POSITIONS])
    if len(positions) > MAX_POSITIONS:
        listed += f"; and {len(positions) - MAX_POSITIONS} more"
    return listed


def describe_already_imported(creditor: Creditor, external_ids: set[str]) -> list[str]:
    """Return a report line per earlier file for the transactions whose external id is stored already."""
    counts: dict[str, int] = defaultdict(int)
    ordered = sorted(external_ids)
    for start in range(0, len(ordered), QUERY_BATCH):
        rows = (
            BankTransaction.objects.filter(creditor=creditor, external_id__in=ordered[start:start + QUERY_BATCH])
            .values_list("statement__file_name", "statement__statement_id", "statement__is_notification")
            .annotate(count=Count("id"))
        )
        for file_name, statement_id, is_notification, count in rows:
            counts[_source(file_name, statement_id, is_notification)] += count
    return [
        f"already imported from {source}: {_plural(count)} with the same bank reference"
        for source, count in sorted(counts.items())
    ]


def set_aside_duplicates(
    creditor: Creditor,
    bank_statement: BankStatement,
    payments: list[dict[str, object]],
    transactions: list[dict[str, object]],
    already_imported: set[str],
) -> Duplicates:
    """Remove from `payments` those that an earlier file of another kind booked, and link their rows to it.

    `payments` and `transactions` are the rows that `store` is about to insert
    for `bank_statement`, and none of them is in the database yet. Each
    payment has the transaction row of the same external id. A repeat loses
    its payment and its transaction row gets `duplicate_of_id`.
    `already_imported` contains the external ids of this statement that are
    stored already, so the stored rows they name are not claimed a second
    time. Runs one query per QUERY_BATCH payments, and none when the
    creditor has no statements of another kind.
    """
    found = Duplicates()
    if already_imported:
        found.notes += describe_already_imported(creditor, already_imported)
    if not payments or not _has_other_kinds(creditor, bank_statement):
        return found

    rows_by_id = {str(row["external_id"]): row for row in transactions}
    remaining: list[dict[str, object]] = []
    positions: dict[str, list[str]] = defaultdict(list)
    claimed: set[int] = set()
    for start in range(0, len(payments), QUERY_BATCH):
        chunk = payments[start:start + QUERY_BATCH]
        new = [(payment, rows_by_id[str(payment["external_id"])]) for payment in chunk]
        matches = _match_chunk(creditor, bank_statement, new, already_imported, claimed)
        for payment, row in new:
            earlier = matches.get(id(payment))
            if earlier is None:
                remaining.append(payment)
                continue
            stored_id, source = earlier
            row["duplicate_of_id"] = stored_id
            positions[source].append(str(row["position"]))
            found.count += 1

    payments[:] = remaining
    for source, listed in sorted(positions.items()):
        found.notes.append(
            f"already imported from {source}: {_plural(len(listed))} with another bank reference but the same "
            f"account, amount, date and payer, not booked again ({_positions(listed)})"
        )
    return found


def _has_other_kinds(creditor: Creditor, bank_statement: BankStatement) -> bool:
    return (
        BankStatement.objects.filter(creditor=creditor)
        .exclude(format=bank_statement.format, is_notification=bank_statement.is_notification)
        .exists()
    )


def _new_transaction(account: str, payment: dict[str, object], row: dict[str, object]) -> _Transaction:
    dates = tuple(day for day in (payment["booking_date"], payment["value_date"]) if isinstance(day, dt.date))
    return _Transaction(
        account=account,
        dates=dates,
        end_to_end_id=_real_end_to_end_id(str(row["end_to_end_id"])),
        payer_iban=str(payment["payer_iban"]).replace(" ", "").upper(),
        description=_description(str(payment["structured_reference"]), str(payment["remittance_info"])),
    )


def _match_chunk(
    creditor: Creditor,
    bank_statement: BankStatement,
    new: list[tuple[dict[str, object], dict[str, object]]],
    already_imported: set[str],
    claimed: set[int],
) -> dict[int, tuple[int, str]]:
    """Return, per id() of a new payment, the stored row it repeats and that row's file, in one query.

    Exact date matches are paired first, so a transfer one day later does
    not take the stored row that an exact repeat needs.
    """
    candidates = [(payment, _new_transaction(bank_statement.account, payment, row)) for payment, row in new]
    dates = [day for _, transaction in candidates for day in transaction.dates]
    first, last = min(dates) - DATE_TOLERANCE, max(dates) + DATE_TOLERANCE
    amounts = sorted({Decimal(str(payment["amount"])) for payment, _ in candidates})

    stored = (
        BankTransaction.objects.filter(
            creditor=creditor, payment__isnull=False, duplicate_of__isnull=True, duplicates__isnull=True,
            amount__in=amounts,
        )
        .filter(Q(booking_date__range=(first, last)) | Q(value_date__range=(first, last)))
        .exclude(statement__format=bank_statement.format, statement__is_notification=bank_statement.is_notification)
        .values_list(
            "id", "external_id", "amount", "currency", "booking_date", "value_date", "end_to_end_id",
            "counterparty_iban", "payment__structured_reference", "payment__remittance_info",
            "statement__account", "statement__file_name", "statement__statement_id", "statement__is_notification",
        )
        .order_by("id")
    )
    # Each stored row as (id, transaction, (file name, statement id, is notification)).
    by_end_to_end: dict[tuple[Decimal, str, str], list[tuple[int, _Transaction, tuple[str, str, bool]]]] = defaultdict(list)
    by_payer: dict[tuple[Decimal, str, str, str], list[tuple[int, _Transaction, tuple[str, str, bool]]]] = defaultdict(list)
    for (
        row_id, external_id, amount, currency, booking_date, value_date, end_to_end_id,
        payer_iban, structured_reference, remittance_info, account, file_name, statement_id, is_notification,
    ) in stored:
        if external_id in already_imported:
            # This statement repeats that row with the same bank reference.
            continue
        transaction = _Transaction(
            account=account,
            dates=tuple(day for day in (booking_date, value_date) if day is not None),
            end_to_end_id=_real_end_to_end_id(end_to_end_id),
            payer_iban=payer_iban.replace(" ", "").upper(),
            description=_description(structured_reference, remittance_info),
        )
        entry = (row_id, transaction, (file_name, statement_id, is_notification))
        amount = Decimal(amount).quantize(CENT)
        if transaction.end_to_end_id:
            by_end_to_end[(amount, currency, transaction.end_to_end_id)].append(entry)
        by_payer[(amount, currency, transaction.payer_iban, transaction.description)].append(entry)

    matches: dict[int, tuple[int, str]] = {}
    for distance_days in range(DATE_TOLERANCE.days + 1):
        for payment, transaction in candidates:
            if id(payment) in matches:
                continue
            amount = Decimal(str(payment["amount"])).quantize(CENT)
            currency = str(payment["currency"])
            if transaction.end_to_end_id:
                pool = by_end_to_end.get((amount, currency, transaction.end_to_end_id), []) + [
                    entry
                    for entry in by_payer.get((amount, currency, transaction.payer_iban, transaction.description), [])
                    if not entry[1].end_to_end_id
                ]
            else:
                pool = by_payer.get((amount, currency, transaction.payer_iban, transaction.description), [])
            for row_id, stored_transaction, source in sorted(pool, key=lambda entry: entry[0]):
                if row_id in claimed or not is_same_transaction(transaction, stored_transaction):
                    continue
                if _date_distance(transaction.dates, stored_transaction.dates) != distance_days:
                    continue
                claimed.add(row_id)
                matches[id(payment)] = (row_id, _source(*source))
                break
    return matches
