"""Allocate many matched payments at once, with the rows `do_allocate_payment` writes.

Calling `ledger.actions.do_allocate_payment` once per payment costs about ten
queries per payment. bench/bank_match.py measured under 300 payments per
second that way. This module applies a whole chunk of decisions with a
fixed number of queries. It writes the same rows: Allocation, the invoice's
open amount and status, and the payment's status, debtor and match reason,
with the rule and score of the matching decision beside the reason.
It also writes one timeline event per allocation and one per overpayment.
Money beyond the principal of a charged invoice that a payment closes pays
its collection costs and interest (`allocation_charges`). Those come from
the debtor's claim in the database, so when one debtor has several
payments on charged invoices in a chunk, the chunk is booked in rounds and
each round is written before the next (`_rounds`).
`test_allocation.py` checks that both paths leave the same ledger.

NOTE: this mirrors do_allocate_payment (ledger/actions.py). A change to the
allocation rules there must be made here too, until a bulk action lives in
the ledger app.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from betaalreis.banking.allocation_charges import book_charges_in_bulk
from betaalreis.banking.bulk import insert_values, money_from_db, raw_rows, update_values
from betaalreis.dunning.bulk import values_subquery
from betaalreis.dunning.charges import charged_invoice_ids
from betaalreis.ledger import timeline
from betaalreis.ledger.models import (
    ZERO,
    Allocation,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    TimelineEvent,
    TimelineKind,
)
from betaalreis.ledger.money import format_money

logger = logging.getLogger(__name__)

# The columns written per allocation and per timeline event, in the order
# of the tuples built below. The event's data is written as the JSON text
# that json.dumps gives, as Django's JSONField (without an encoder) writes
# it: the amounts are strings and the ids integers, so only the reason
# needs escaping.
ALLOCATION_COLUMNS = ("creditor_id", "payment_id", "invoice_id", "amount", "reason", "created_at")
TIMELINE_COLUMNS = ("creditor_id", "debtor_id", "invoice_id", "kind", "at", "source", "summary", "data")
# The match decision's columns on the payment row. Matching writes them
# with the payment's status: here for an allocated payment, which also gets
# its debtor, and in banking.matching for a payment in review.
DECISION_COLUMNS = (
    "match_reason", "match_rule", "match_score", "match_decided_at", "match_confirmed_by_id", "match_confirmed_at",
)
# The decision columns written for a payment that no person has confirmed.
# Its confirmation columns are empty already, and on SQLite setting them
# anyway costs a foreign key and partial index check per row.
UNCONFIRMED_DECISION_COLUMNS = DECISION_COLUMNS[:-2]
PAYMENT_COLUMNS = ("status", "debtor_id", *DECISION_COLUMNS)
UNCONFIRMED_PAYMENT_COLUMNS = ("status", "debtor_id", *UNCONFIRMED_DECISION_COLUMNS)
# The invoice columns that an allocation writes, and those it writes when the invoice keeps its status.
INVOICE_COLUMNS = ("open_amount", "status", "updated_at")
INVOICE_AMOUNT_COLUMNS = ("open_amount", "updated_at")
# Allocations to collection costs or interest name their part. The others
# get the column's database default, the principal.
CHARGE_ALLOCATION_COLUMNS = (*ALLOCATION_COLUMNS, "part")


@dataclass(slots=True)
class PlannedAllocation:
    """A payment and the invoices it should pay, in order, with the matching decision for the record."""

    payment_id: int
    invoice_ids: list[int]
    reason: str
    # The MatchRule and score of the decision, stored on the allocated payment.
    rule: str
    score: int


@dataclass(slots=True)
class AllocationOutcome:
    """Result of one planned allocation: the amount per invoice and the credit left over."""

    payment_id: int
    allocated: Decimal = ZERO
    remaining: Decimal = ZERO
    # (invoice id, amount applied, open amount afterwards)
    lines: list[tuple[int, Decimal, Decimal]] = field(default_factory=list)


@dataclass(slots=True)
class _PaymentState:
    id: int
    amount: Decimal
    currency: str
    debtor_id: int | None
    # The moment its timeline events carry, adapted for the database (`timeline.payment_event_time`).
    event_stamp: Any
    # Whether match_confirmed_by or match_confirmed_at is set, so the new decision must clear them.
    confirmed: bool


class _EventStamps:
    """The database values of `timeline.payment_event_time` per booking date, for one moment."""

    def __init__(self, moment: dt.datetime) -> None:
        self.moment = moment
        self.by_date: dict[dt.date, Any] = {}

    def on(self, booking_date: dt.date) -> Any:
        stamp = self.by_date.get(booking_date)
        if stamp is None:
            stamp = connection.ops.adapt_datetimefield_value(timeline.payment_event_time(booking_date, self.moment))
            self.by_date[booking_date] = stamp
        return stamp


@dataclass(slots=True)
class _InvoiceState:
    open_amount: Decimal
    status: str
    currency: str
    debtor_id: int
    number: str
    changed: bool = False
    # The status as the database has it, so an update writes the status only when it changed.
    stored_status: str = ""


@transaction.atomic
def allocate_in_bulk(
    creditor_id: int, plans: Sequence[PlannedAllocation], *, source: str, mark_partly: bool = False
) -> dict[int, AllocationOutcome]:
    """Apply every plan and return the outcome per payment id.

    Payments and invoices are locked first (select_for_update) and read
    fresh, so amounts changed since the matcher loaded them are respected.
    A payment that is no longer new, or has no money in, is skipped. An
    allocated payment gets status matched, or with `mark_partly` status
    partly matched when an invoice it paid stays open, so the caller need
    not update the payment a second time.
    """
    payment_ids = [plan.payment_id for plan in plans]
    new = PaymentStatus.NEW.value
    # The timeline events carry the replayed day inside `timeline.dated_at`,
    # moved back to the booking day of a payment booked before it.
    event_stamps = _EventStamps(timeline.event_time())
    # As for the invoices below, the query filters on the ids only. With
    # the creditor and status in it too, and statistics from before the
    # import, PostgreSQL scanned the id list once per new payment.
    payments = {
        pk: _PaymentState(
            pk, money_from_db(amount), currency, debtor_id, event_stamps.on(booking_date),
            confirmed_by_id is not None or confirmed_at is not None,
        )
        for pk, payment_creditor_id, status, amount, currency, debtor_id, booking_date, confirmed_by_id, confirmed_at
        in raw_rows(
            Payment.objects.select_for_update()
            .filter(pk__in=values_subquery(payment_ids, array_type="bigint"))
            .values_list(
                "id", "creditor_id", "status", "amount", "currency", "debtor_id", "booking_date",
                "match_confirmed_by_id", "match_confirmed_at",
            )
        )
        if payment_creditor_id == creditor_id and status == new and amount > 0
    }
    allocated_before = dict(
        Allocation.objects.filter(payment_id__in=values_subquery(list(payments), array_type="bigint"))
        .values("payment_id")
        .annotate(total=Sum("amount"))
        .values_list("payment_id", "total")
    )
    invoice_ids = {pk for plan in plans for pk in plan.invoice_ids}
    # The creditor is checked here and not in the query: with it, SQLite
    # scans the creditor's invoices by a (creditor, ...) index instead of
    # looking up the ids by primary key.
    invoices = {
        pk: _InvoiceState(money_from_db(open_amount), status, currency, debtor_id, number, stored_status=status)
        for pk, invoice_creditor_id, open_amount, status, currency, debtor_id, number in raw_rows(
            Invoice.objects.select_for_update()
            .filter(pk__in=values_subquery(list(invoice_ids), array_type="bigint"))
            .values_list("id", "creditor_id", "open_amount", "status", "currency", "debtor_id", "number")
        )
        if invoice_creditor_id == creditor_id
    }

    now = timezone.now()
    # Every row of the chunk shares this value, so it is adapted once.
    stamp = connection.ops.adapt_datetimefield_value(now)
    source = source[:300]
    # The invoices with collection costs and interest (two queries): money
    # beyond their principal pays those (`allocation_charges`).
    charged = charged_invoice_ids(creditor_id, list(invoices))
    outcomes: dict[int, AllocationOutcome] = {}
    written = [0, 0]
    for round_plans in _rounds(plans, invoices, charged):
        payment_count, allocation_count = _allocate_round(
            creditor_id, round_plans, payments, allocated_before, invoices, charged, outcomes,
            source=source, stamp=stamp, mark_partly=mark_partly,
        )
        written[0] += payment_count
        written[1] += allocation_count

    logger.info(
        "payments allocated in bulk",
        extra={"creditor_id": creditor_id, "payments": written[0], "allocations": written[1]},
    )
    return outcomes


def _rounds(
    plans: Sequence[PlannedAllocation], invoices: dict[int, _InvoiceState], charged: set[int]
) -> list[list[PlannedAllocation]]:
    """Split the plans into rounds, booked one after the other, so a payment's claim counts the payments before it.

    `allocation_charges` reads a debtor's claim from the database. A payment
    that pays a charged invoice (`charged`, one with costs and interest)
    therefore goes in a round after the earlier payments on charged invoices
    of the same debtor. Plans that share a debtor keep their order. Usually
    no debtor has two payments on charged invoices in one chunk: then there
    is one round. Each further round costs about twenty queries (a write of
    each kind and the claims), however many payments it has.
    """
    if not charged:
        return [list(plans)]
    charged_debtors = [{invoices[pk].debtor_id for pk in plan.invoice_ids if pk in charged} for plan in plans]
    seen: set[int] = set()
    for debtor_ids in charged_debtors:
        if seen & debtor_ids:
            break
        seen |= debtor_ids
    else:
        return [list(plans)]

    rounds: list[list[PlannedAllocation]] = []
    # The last round of a plan on the debtor, and the first round after the last plan on a charged invoice of it.
    last_round: dict[int, int] = {}
    next_charged_round: dict[int, int] = {}
    for plan, plan_charged_debtors in zip(plans, charged_debtors, strict=True):
        debtor_ids = {invoices[pk].debtor_id for pk in plan.invoice_ids if pk in invoices}
        number = max(
            [last_round.get(debtor_id, 0) for debtor_id in debtor_ids]
            + [next_charged_round.get(debtor_id, 0) for debtor_id in plan_charged_debtors],
            default=0,
        )
        for debtor_id in debtor_ids:
            last_round[debtor_id] = number
        for debtor_id in plan_charged_debtors:
            next_charged_round[debtor_id] = number + 1
        if number == len(rounds):
            rounds.append([])
        rounds[number].append(plan)
    return rounds


def _allocate_round(
    creditor_id: int,
    plans: Sequence[PlannedAllocation],
    payments: dict[int, _PaymentState],
    allocated_before: dict[int, Decimal],
    invoices: dict[int, _InvoiceState],
    charged: set[int],
    outcomes: dict[int, AllocationOutcome],
    *,
    source: str,
    stamp: object,
    mark_partly: bool,
) -> tuple[int, int]:
    """Apply and write the plans of one round; add their outcomes and return the count of payments and allocations."""
    paid = InvoiceStatus.PAID.value
    matched = PaymentStatus.MATCHED.value
    partly_matched = PaymentStatus.PARTLY_MATCHED.value
    payment_kind = TimelineKind.PAYMENT.value
    allocations: list[tuple] = []
    events: list[tuple] = []
    payment_rows: list[tuple] = []
    confirmed_payment_rows: list[tuple] = []
    allocated_payments: list[tuple[_PaymentState, int, str]] = []
    for plan in plans:
        payment = payments.get(plan.payment_id)
        if payment is None:
            continue

        outcome = AllocationOutcome(plan.payment_id)
        # The allocation's reason is cut to fit its column, but the payment keeps the whole reason.
        reason = plan.reason
        allocation_reason = reason[:300]
        reason_json = json.dumps(plan.reason)
        remaining = payment.amount - allocated_before.get(payment.id, ZERO)
        for invoice_id in plan.invoice_ids:
            state = invoices.get(invoice_id)
            if remaining <= ZERO:
                break
            if state is None or state.open_amount <= ZERO or state.currency != payment.currency:
                continue

            amount = min(remaining, state.open_amount)
            remaining -= amount
            state.open_amount -= amount
            if state.open_amount == ZERO:
                state.status = paid
            state.changed = True
            outcome.lines.append((invoice_id, amount, state.open_amount))
            allocations.append((creditor_id, payment.id, invoice_id, amount, allocation_reason, stamp))
            summary = f"Betaling {format_money(amount, state.currency)} op factuur {state.number}"
            if state.status == paid:
                summary += " (volledig betaald)"
            data = f'{{"payment_id": {payment.id}, "amount": "{amount}", "open_amount": "{state.open_amount}", "reason": {reason_json}}}'
            events.append(
                (creditor_id, state.debtor_id, invoice_id, payment_kind, payment.event_stamp, source, summary[:500], data)
            )

        outcome.allocated = sum((line[1] for line in outcome.lines), ZERO)
        outcome.remaining = remaining
        outcomes[payment.id] = outcome
        if not outcome.lines:
            continue

        debtor_id = payment.debtor_id or invoices[outcome.lines[0][0]].debtor_id
        status = matched
        if mark_partly and any(open_amount > ZERO for _, _, open_amount in outcome.lines):
            status = partly_matched
        # The decision replaces any earlier one, like that of a payment reopened from review.
        if payment.confirmed:
            confirmed_payment_rows.append((status, debtor_id, reason, plan.rule, plan.score, stamp, None, None, payment.id))
        else:
            payment_rows.append((status, debtor_id, reason, plan.rule, plan.score, stamp, payment.id))
        allocated_payments.append((payment, debtor_id, reason))

    charge_allocations = book_charges_in_bulk(
        creditor_id, allocated_payments, outcomes, events, charged, source=source, stamp=stamp
    )
    for payment, debtor_id, _ in allocated_payments:
        remaining = outcomes[payment.id].remaining
        if remaining > ZERO:
            summary = f"Teveel betaald: {format_money(remaining, payment.currency)} staat als tegoed open"
            data = f'{{"payment_id": {payment.id}, "credit": "{remaining}"}}'
            events.append((creditor_id, debtor_id, None, payment_kind, payment.event_stamp, source, summary, data))

    insert_values(Allocation._meta.db_table, ALLOCATION_COLUMNS, allocations)
    insert_values(Allocation._meta.db_table, CHARGE_ALLOCATION_COLUMNS, charge_allocations)
    _write_invoices(invoices, stamp)
    update_values(Payment._meta.db_table, UNCONFIRMED_PAYMENT_COLUMNS, payment_rows)
    update_values(Payment._meta.db_table, PAYMENT_COLUMNS, confirmed_payment_rows)
    insert_values(TimelineEvent._meta.db_table, TIMELINE_COLUMNS, events)
    return len(payment_rows) + len(confirmed_payment_rows), len(allocations)


def _write_invoices(invoices: dict[int, _InvoiceState], stamp: object) -> None:
    """Write the open amount of the invoices changed since the last write, and the status of those whose status changed.

    Each indexed column in an UPDATE costs an index update per row on
    SQLite, also when the value stays the same. A partly paid invoice keeps
    its status, so its update leaves the status out.
    """
    with_status: list[tuple] = []
    amount_only: list[tuple] = []
    for pk, state in invoices.items():
        if not state.changed:
            continue
        if state.status == state.stored_status:
            amount_only.append((state.open_amount, stamp, pk))
        else:
            with_status.append((state.open_amount, state.status, stamp, pk))
            state.stored_status = state.status
        # A later round writes only what it changes itself.
        state.changed = False
    update_values(Invoice._meta.db_table, INVOICE_COLUMNS, with_status)
    update_values(Invoice._meta.db_table, INVOICE_AMOUNT_COLUMNS, amount_only)
