"""Recognise a bank transaction that an earlier file already booked under another bank reference.

Banks send a camt.054 notification during the day and book the same
transaction again in the end-of-day statement (camt.053 or MT940), and they
do not promise the same AcctSvcrRef in both. A creditor may also import the
MT940 and the camt.053 of one day, and a bank may issue a statement again
for a period it covered before, with new entry references. The external id
(see `store`) then differs, so this module compares the transactions
themselves. A new transaction repeats a stored one when all of these hold:

- the stored one came from a file of another kind (a notification against
  a statement, or another format), from a statement of the same kind
  whose period overlaps the new statement's (see `statements_overlap`), or
  from a notification of the same kind with the new one's notification id. A
  debtor who pays the same amount twice in one statement, or on one day in
  two consecutive statements, keeps two payments;
- the same creditor account (an IBAN and the Dutch account number that ends
  it count as the same), the same signed amount and the same currency;
- for a stored row of another kind, a booking or value date of one is at
  most one day from a booking or value date of the other. ISO 20022 makes
  both dates optional in a camt.054 entry (BookgDt and ValDt are both 0..1
  in camt.054.001.11), and an intraday notification may carry another day
  than the statement. For a file of the same kind, the booking dates are
  equal;
- the same end-to-end id when both carry one ("NOTPROVIDED" counts as none),
  else the same payer IBAN and the same description (structured reference,
  else the remittance text, compared without spaces or case).

A bank may also send a notification again with a new notification id and
new entry references. Such a repeat cannot be distinguished from a debtor
who paid twice on one day, because the payer sets the end-to-end id and may
leave it empty or reuse it. So a transaction that equals one of a stored notification of the
same format and account with another id (booking date, amount, currency,
payer IBAN and description, and end-to-end ids that do not differ) is
neither set aside nor matched. Its payment is booked and goes to the review
queue with the reason (`Duplicates.doubtful`).

Each stored transaction stands for one repeat per file at most, so a file
that repeats two identical transfers finds two duplicates only when two were
stored. Across files, a stored row of another kind stands for one repeat in
all, but a row of an overlapping statement of the same kind may also be
repeated by a reissued statement. A repeat is kept as a bank transaction row
without a payment that points to the row with the payment (`duplicate_of`),
so it is not matched again.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePath

from django.db.models import Count, Max, Min, Q
from django.db.models.functions import Coalesce
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from betaalreis.banking.models import BankStatement, BankTransaction
from betaalreis.banking.statements import position_text
from betaalreis.ledger.iban import compact_iban
from betaalreis.ledger.models import Creditor, MatchRule, PaymentStatus
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
    # Payments that may repeat a transaction of another notification, sent to review.
    doubtful: int = 0


@dataclass(frozen=True, slots=True)
class _Transaction:
    """The fields that identify one transaction, new or stored."""

    account: str
    booking_date: dt.date | None
    dates: tuple[dt.date, ...]
    end_to_end_id: str
    payer_iban: str
    description: str


@dataclass(frozen=True, slots=True)
class StatementPeriod:
    """The booking dates and balances of a statement, which tell whether two statements of one kind overlap."""

    first_booking: dt.date | None
    last_booking: dt.date | None
    opening_balance: Decimal | None
    opening_date: dt.date | None
    closing_balance: Decimal | None


@dataclass(frozen=True, slots=True)
class _Stored:
    """A stored transaction row that a new one may repeat, and the statement it came from."""

    row_id: int
    # The row with the payment: this row, or the earlier one it repeats.
    original_id: int
    transaction: _Transaction
    source: tuple[str, str, bool]
    same_kind: bool
    # From a stored notification of this format and account with another notification id.
    other_notification: bool = False


def statements_overlap(new: StatementPeriod, stored: StatementPeriod) -> bool:
    """Return whether two statements of one account and kind cover some of the same bookings.

    Their booking periods must share a day. Two that share a day still do
    not overlap when one continues the other, as intraday statements of one
    day do (see `_continues`).
    """
    if new.first_booking is None or new.last_booking is None:
        return False
    if stored.first_booking is None or stored.last_booking is None:
        return False
    if new.last_booking < stored.first_booking or stored.last_booking < new.first_booking:
        return False
    return not (_continues(new, stored) or _continues(stored, new))


def _continues(later: StatementPeriod, earlier: StatementPeriod) -> bool:
    """Return whether `later` starts at the closing balance of `earlier`, after its last booking.

    A statement issued again starts at the same opening balance and date as
    the one it replaces, so it never continues that one, even when the
    replaced statement's bookings add up to zero.
    """
    if later.opening_balance is None or earlier.closing_balance is None:
        return False
    if later.opening_balance != earlier.closing_balance:
        return False
    assert later.first_booking is not None and earlier.last_booking is not None
    if later.first_booking < earlier.last_booking:
        return False
    return (later.opening_balance, later.opening_date) != (earlier.opening_balance, earlier.opening_date)


def _real_end_to_end_id(value: str) -> str:
    value = value.strip()
    return "" if value.upper() == "NOTPROVIDED" else value


def _description(structured_reference: str, remittance_info: str) -> str:
    if structured_reference.strip():
        return "ref:" + "".join(structured_reference.split()).casefold()
    return "".join(remittance_info.split()).casefold()


def _account_number(account: str) -> str:
    """Return the Dutch account number of an NL IBAN or of a plain number, without leading zeros; else ""."""
    compact = compact_iban(account).replace(".", "")
    if len(compact) == 18 and compact.startswith("NL") and compact[-10:].isdigit():
        return compact[-10:].lstrip("0")
    if compact.isdigit():
        return compact.lstrip("0")
    return ""


def same_account(first: str, second: str) -> bool:
    """Return whether two statement accounts are one account: equal, or an NL IBAN and its domestic number."""
    first_compact = compact_iban(first)
    second_compact = compact_iban(second)
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


def _stored_distance(new: _Transaction, stored: _Stored) -> int | None:
    """Return the days between `new` and a stored row as the date rule of its kind counts them, or None beyond it."""
    if stored.same_kind:
        same_day = new.booking_date is not None and new.booking_date == stored.transaction.booking_date
        return 0 if same_day else None
    return _date_distance(new.dates, stored.transaction.dates)


def is_same_transaction(new: _Transaction, stored: _Transaction) -> bool:
    """Return whether `new` and `stored`, of equal amount, currency and dates, are one transaction (see the module docstring)."""
    if not same_account(new.account, stored.account):
        return False
    if new.end_to_end_id and stored.end_to_end_id:
        return new.end_to_end_id == stored.end_to_end_id
    # NOTE: a transaction with no end-to-end id, payer IBAN or description
    # is never treated as a duplicate, because nothing distinguishes two such
    # transfers of one amount. It is booked as a new payment.
    if not new.payer_iban and not new.description:
        return False
    return new.payer_iban == stored.payer_iban and new.description == stored.description


def _may_repeat(new: _Transaction, stored: _Transaction) -> bool:
    """Return whether `new`, of equal amount, currency and booking date, may repeat `stored` of another notification.

    The account, payer IBAN and description must be the same, and the
    end-to-end ids must not differ.
    """
    if not same_account(new.account, stored.account):
        return False
    if new.end_to_end_id and stored.end_to_end_id and new.end_to_end_id != stored.end_to_end_id:
        return False
    return new.payer_iban == stored.payer_iban and new.description == stored.description


def _source(file_name: str, statement_id: str, is_notification: bool) -> str:
    """Return how a report line names the earlier statement, in the active language."""
    return _cached_source(file_name, statement_id, is_notification, translation.get_language())


# Called once per repeated transaction, so the text is cached per file,
# statement and language.
@functools.lru_cache(maxsize=256)
def _cached_source(file_name: str, statement_id: str, is_notification: bool, language: str) -> str:
    values = {"statement": statement_id or "?", "file": PurePath(file_name).name}
    if is_notification:
        return _("notificatie %(statement)s in %(file)s") % values
    return _("rekeningafschrift %(statement)s in %(file)s") % values


def _plural(count: int) -> str:
    return ngettext("%(count)d transactie", "%(count)d transacties", count) % {"count": count}


def _positions(positions: list[str]) -> str:
    listed = "; ".join(position_text(position) for position in positions[:MAX_POSITIONS])
    if len(positions) > MAX_POSITIONS:
        listed += "; " + _("en nog %(count)d") % {"count": len(positions) - MAX_POSITIONS}
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
        _("al geïmporteerd uit %(source)s: %(transactions)s met hetzelfde bankkenmerk") % {
            "source": source, "transactions": _plural(count),
        }
        for source, count in sorted(counts.items())
    ]


def set_aside_duplicates(
    creditor: Creditor,
    bank_statement: BankStatement,
    payments: list[dict[str, object]],
    transactions: list[dict[str, object]],
    already_imported: set[str],
    booking_period: tuple[dt.date, dt.date] | None = None,
) -> Duplicates:
    """Remove from `payments` those that an earlier file booked under another reference, and link their rows to it.

    `payments` and `transactions` are the rows that `store` is about to insert
    for `bank_statement`, and none of them is in the database yet. Each
    payment has the transaction row of the same external id. A repeat loses
    its payment and its transaction row gets `duplicate_of_id`.
    `already_imported` contains the external ids of this statement that are
    stored already, so the stored rows they name are not claimed a second
    time. `booking_period` is the first and last booking date of the
    statement's entries; without it, only files of another kind count.
    Runs a few queries per QUERY_BATCH payments, and none when the creditor
    has no statement of another kind or overlapping one of this kind.
    """
    found = Duplicates()
    if already_imported:
        found.notes += describe_already_imported(creditor, already_imported)
    if not payments:
        return found
    overlapping = _overlapping_statements(creditor, bank_statement, booking_period)
    other_notifications = _other_notifications(creditor, bank_statement, booking_period) - overlapping
    if not overlapping and not other_notifications and not _has_other_kinds(creditor, bank_statement):
        return found

    rows_by_id = {str(row["external_id"]): row for row in transactions}
    remaining: list[dict[str, object]] = []
    positions: dict[str, list[str]] = defaultdict(list)
    doubtful_positions: dict[str, list[str]] = defaultdict(list)
    claimed: set[int] = set()
    for start in range(0, len(payments), QUERY_BATCH):
        chunk = payments[start:start + QUERY_BATCH]
        new = [(payment, rows_by_id[str(payment["external_id"])]) for payment in chunk]
        matches, doubts = _match_chunk(
            creditor, bank_statement, new, already_imported, claimed, overlapping, other_notifications
        )
        for payment, row in new:
            doubt = doubts.get(id(payment))
            if doubt is not None:
                _send_to_review(payment, doubt)
                doubtful_positions[_source(*doubt.source)].append(str(row["position"]))
                found.doubtful += 1
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
        found.notes.append(_(
            "al geïmporteerd uit %(source)s: %(transactions)s met een ander bankkenmerk maar dezelfde "
            "rekening, hetzelfde bedrag, dezelfde datum en dezelfde betaler, niet opnieuw geboekt (%(positions)s)"
        ) % {"source": source, "transactions": _plural(len(listed)), "positions": _positions(listed)})
    for source, listed in sorted(doubtful_positions.items()):
        found.notes.append(_(
            "mogelijk al geïmporteerd uit %(source)s: %(transactions)s met dezelfde datum, hetzelfde bedrag, "
            "dezelfde betaler en omschrijving, en zonder end-to-end-id die ze onderscheidt, geboekt en naar "
            "controle gestuurd (%(positions)s)"
        ) % {"source": source, "transactions": _plural(len(listed)), "positions": _positions(listed)})
    return found


def _send_to_review(payment: dict[str, object], doubt: _Stored) -> None:
    """Mark a new payment that may repeat the stored row `doubt` for the review queue, with the reason.

    The reason is English like every stored match reason (see `reason_text`).
    """
    file_name, statement_id, _is_notification = doubt.source
    payment["status"] = PaymentStatus.REVIEW
    payment["match_rule"] = MatchRule.NONE
    payment["match_reason"] = (
        f"may repeat bank transaction {doubt.row_id} of notification {statement_id or '?'} "
        f"({PurePath(file_name).name}): same date, amount, payer and description, and no end-to-end id tells them apart"
    )


def _has_other_kinds(creditor: Creditor, bank_statement: BankStatement) -> bool:
    return (
        BankStatement.objects.filter(creditor=creditor)
        .exclude(format=bank_statement.format, is_notification=bank_statement.is_notification)
        .exists()
    )


def _overlapping_statements(
    creditor: Creditor, bank_statement: BankStatement, booking_period: tuple[dt.date, dt.date] | None
) -> set[int]:
    """Return the ids of the creditor's stored statements of this kind and account whose period overlaps this one's.

    A notification carries no balances that tell consecutive ones apart, so
    it overlaps only the stored notifications of its format and account that
    have its notification id (camt.054 Ntfctn/Id): the same notification
    imported again, when the bank gave its entries new references.
    NOTE: a stored statement's booking period comes from its stored rows,
    which leave out the entries an even earlier file had stored already.
    """
    if bank_statement.is_notification:
        return _same_notification(creditor, bank_statement)
    if booking_period is None:
        return set()
    first, last = booking_period
    new_period = StatementPeriod(
        first, last, bank_statement.opening_balance, bank_statement.opening_date, bank_statement.closing_balance
    )
    candidates = {
        pk: account
        for pk, account in BankStatement.objects.filter(
            creditor=creditor, format=bank_statement.format, is_notification=False,
            transactions__booking_date__range=(first, last),
        )
        .exclude(pk=bank_statement.pk)
        .values_list("pk", "account")
        .distinct()
        if same_account(bank_statement.account, account)
    }
    if not candidates:
        return set()

    periods = (
        BankStatement.objects.filter(pk__in=candidates)
        .annotate(first_booking=Min("transactions__booking_date"), last_booking=Max("transactions__booking_date"))
        .values_list("pk", "first_booking", "last_booking", "opening_balance", "opening_date", "closing_balance")
    )
    return {
        pk
        for pk, first_booking, last_booking, opening_balance, opening_date, closing_balance in periods
        if statements_overlap(
            new_period, StatementPeriod(first_booking, last_booking, opening_balance, opening_date, closing_balance)
        )
    }


def _same_notification(creditor: Creditor, bank_statement: BankStatement) -> set[int]:
    """Return the ids of the creditor's stored notifications of this format and account with this notification's id."""
    if not bank_statement.statement_id:
        return set()
    stored = (
        BankStatement.objects.filter(
            creditor=creditor, format=bank_statement.format, is_notification=True,
            statement_id=bank_statement.statement_id,
        )
        .exclude(pk=bank_statement.pk)
        .values_list("pk", "account")
    )
    return {pk for pk, account in stored if same_account(bank_statement.account, account)}


def _other_notifications(
    creditor: Creditor, bank_statement: BankStatement, booking_period: tuple[dt.date, dt.date] | None
) -> set[int]:
    """Return the ids of stored notifications of this format and account with another notification id and a booking in `booking_period`."""
    if not bank_statement.is_notification or booking_period is None:
        return set()
    stored = (
        BankStatement.objects.filter(
            creditor=creditor, format=bank_statement.format, is_notification=True,
            transactions__booking_date__range=booking_period,
        )
        .exclude(pk=bank_statement.pk)
        .exclude(statement_id=bank_statement.statement_id)
        .values_list("pk", "account")
        .distinct()
    )
    return {pk for pk, account in stored if same_account(bank_statement.account, account)}


def _new_transaction(account: str, payment: dict[str, object], row: dict[str, object]) -> _Transaction:
    dates = tuple(day for day in (payment["booking_date"], payment["value_date"]) if isinstance(day, dt.date))
    booking_date = payment["booking_date"]
    return _Transaction(
        account=account,
        booking_date=booking_date if isinstance(booking_date, dt.date) else None,
        dates=dates,
        end_to_end_id=_real_end_to_end_id(str(row["end_to_end_id"])),
        payer_iban=compact_iban(str(payment["payer_iban"])),
        description=_description(str(payment["structured_reference"]), str(payment["remittance_info"])),
    )


def _match_chunk(
    creditor: Creditor,
    bank_statement: BankStatement,
    new: list[tuple[dict[str, object], dict[str, object]]],
    already_imported: set[str],
    claimed: set[int],
    overlapping: set[int],
    other_notifications: set[int] = frozenset(),
) -> tuple[dict[int, tuple[int, str]], dict[int, _Stored]]:
    """Return, per id() of a new payment, the stored row it repeats and that row's file, in one query.

    Stored rows come from files of another kind, from the `overlapping`
    statements of this kind and from `other_notifications` (see the module
    docstring). Exact date matches are paired first, so a transfer one day
    later does not take the stored row that an exact repeat needs. The
    second dict contains, per id() of a new payment that repeats no row, the
    stored row of another notification that it may repeat (see `_may_repeat`).
    """
    candidates = [(payment, _new_transaction(bank_statement.account, payment, row)) for payment, row in new]
    dates = [day for _, transaction in candidates for day in transaction.dates]
    first, last = min(dates) - DATE_TOLERANCE, max(dates) + DATE_TOLERANCE
    amounts = sorted({Decimal(str(payment["amount"])) for payment, _ in candidates})

    # A row of another kind counts once, so it must not be a repeat or have
    # one. A row of an overlapping statement of this kind counts even when a
    # file of another kind repeated it, or when it repeats one itself.
    other_kind = Q(payment__isnull=False, duplicate_of__isnull=True, duplicates__isnull=True) & ~Q(
        statement__format=bank_statement.format, statement__is_notification=bank_statement.is_notification
    )
    same_kind = Q(statement_id__in=overlapping | other_notifications) & (
        Q(payment__isnull=False) | Q(duplicate_of__isnull=False)
    )
    stored = (
        BankTransaction.objects.filter(creditor=creditor, amount__in=amounts)
        .filter(Q(booking_date__range=(first, last)) | Q(value_date__range=(first, last)))
        .filter(other_kind | same_kind)
        .values_list(
            "id", "duplicate_of_id", "external_id", "amount", "currency", "booking_date", "value_date",
            "end_to_end_id", "counterparty_iban",
            Coalesce("payment__structured_reference", "duplicate_of__payment__structured_reference"),
            Coalesce("payment__remittance_info", "duplicate_of__payment__remittance_info"),
            "statement_id", "statement__account", "statement__file_name", "statement__statement_id",
            "statement__is_notification",
        )
        .order_by("id")
        .distinct()
    )
    by_end_to_end: dict[tuple[Decimal, str, str], list[_Stored]] = defaultdict(list)
    by_payer: dict[tuple[Decimal, str, str, str], list[_Stored]] = defaultdict(list)
    for (
        row_id, original_id, external_id, amount, currency, booking_date, value_date, end_to_end_id, payer_iban,
        structured_reference, remittance_info, stored_statement_id, account, file_name, statement_id, is_notification,
    ) in stored:
        if external_id in already_imported:
            # This statement repeats that row with the same bank reference.
            continue
        transaction = _Transaction(
            account=account,
            booking_date=booking_date,
            dates=tuple(day for day in (booking_date, value_date) if day is not None),
            end_to_end_id=_real_end_to_end_id(end_to_end_id),
            payer_iban=compact_iban(payer_iban),
            description=_description(structured_reference, remittance_info),
        )
        entry = _Stored(
            row_id, original_id or row_id, transaction, (file_name, statement_id, is_notification),
            stored_statement_id in overlapping or stored_statement_id in other_notifications,
            other_notification=stored_statement_id in other_notifications,
        )
        amount = Decimal(amount).quantize(CENT)
        if transaction.end_to_end_id:
            by_end_to_end[(amount, currency, transaction.end_to_end_id)].append(entry)
        by_payer[(amount, currency, transaction.payer_iban, transaction.description)].append(entry)

    matches: dict[int, tuple[int, str]] = {}
    doubts: dict[int, _Stored] = {}
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
                    if not entry.transaction.end_to_end_id
                ]
            else:
                pool = by_payer.get((amount, currency, transaction.payer_iban, transaction.description), [])
            for entry in sorted(pool, key=lambda entry: entry.row_id):
                if entry.row_id in claimed or _stored_distance(transaction, entry) != distance_days:
                    continue
                if entry.other_notification:
                    if id(payment) not in doubts and _may_repeat(transaction, entry.transaction):
                        doubts[id(payment)] = entry
                    continue
                if not is_same_transaction(transaction, entry.transaction):
                    continue
                claimed.add(entry.row_id)
                matches[id(payment)] = (entry.original_id, _source(*entry.source))
                break
    return matches, {key: entry for key, entry in doubts.items() if key not in matches}
