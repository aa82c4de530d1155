"""Money beyond the principal in `allocation.allocate_in_bulk`: the costs and interest of closed invoices.

The bulk path books principal first, as `ledger.actions.do_allocate_payment`
does. This module then books what a payment has left to the collection
costs and interest of the invoices it closed, and writes a timeline event
for what stays unpaid and is waived (see `betaalreis.dunning.charges`). It
mirrors `ledger.actions._book_charges`, and test_allocation.py checks that
both paths leave the same ledger.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from betaalreis.dunning.charges import (
    InvoiceCharges,
    charge_payment_summary,
    split_over_charges,
    unpaid_charges,
    waived_charges_events,
)
from betaalreis.ledger.models import ZERO, Payment, TimelineKind

if TYPE_CHECKING:
    from betaalreis.banking.allocation import AllocationOutcome


def book_charges_in_bulk(
    creditor_id: int,
    allocated_payments: Sequence[tuple[Any, int, str]],
    outcomes: dict[int, AllocationOutcome],
    events: list[tuple],
    charged: set[int],
    *,
    source: str,
    stamp: Any,
) -> list[tuple]:
    """Book the money left on each payment to the costs and interest of the charged invoices it closed.

    `allocated_payments` contains (payment state, debtor id, reason) per
    payment that paid some principal. Updates each outcome's lines,
    `allocated` and `remaining`, appends timeline rows (in the column order
    of `allocation.TIMELINE_COLUMNS`) to `events`, and returns the
    allocation rows for `allocation.CHARGE_ALLOCATION_COLUMNS`. `stamp` dates
    the allocation rows, and each payment's `event_stamp` its timeline rows.
    Costs two queries per call when no closed invoice carries charges, and
    about a dozen more when some do.
    """
    closed_by_payment = {
        payment.id: [invoice_id for invoice_id, _, open_after in outcomes[payment.id].lines if open_after == ZERO]
        for payment, _, _ in allocated_payments
    }
    charged = {invoice_id for invoice_ids in closed_by_payment.values() for invoice_id in invoice_ids} & charged
    if not charged:
        return []

    booking_dates = dict(
        Payment.objects.filter(pk__in=[payment_id for payment_id, ids in closed_by_payment.items() if charged.intersection(ids)])
        .values_list("pk", "booking_date")
    )
    closing = {
        invoice_id: booking_dates[payment_id]
        for payment_id, invoice_ids in closed_by_payment.items()
        if payment_id in booking_dates
        for invoice_id in invoice_ids
        if invoice_id in charged
    }
    charges = unpaid_charges(creditor_id, closing, charged=charged)

    rows: list[tuple] = []
    for payment, _, reason in allocated_payments:
        payment_charges = {
            invoice_id: charges[invoice_id] for invoice_id in closed_by_payment[payment.id] if invoice_id in charges
        }
        if payment_charges:
            rows += _book_payment_charges(
                creditor_id, payment.id, payment_charges, outcomes[payment.id], events,
                reason=reason, source=source, stamp=stamp, event_stamp=payment.event_stamp,
            )
    return rows


def _book_payment_charges(
    creditor_id: int,
    payment_id: int,
    charges: dict[int, InvoiceCharges],
    outcome: AllocationOutcome,
    events: list[tuple],
    *,
    reason: str,
    source: str,
    stamp: Any,
    event_stamp: Any,
) -> list[tuple]:
    bookings, outcome.remaining = split_over_charges(outcome.remaining, list(charges.values()))
    rows: list[tuple] = []
    paid: dict[tuple[int, str], Decimal] = {}

    for booking in bookings:
        invoice_charges = charges[booking.invoice_id]
        paid[(booking.invoice_id, booking.part)] = booking.amount
        outcome.lines.append((booking.invoice_id, booking.amount, ZERO))
        outcome.allocated += booking.amount
        part = str(booking.part)
        rows.append((creditor_id, payment_id, booking.invoice_id, booking.amount, reason, stamp, part))
        data = {"payment_id": payment_id, "amount": str(booking.amount), "part": part, "reason": reason}
        events.append((
            creditor_id, invoice_charges.debtor_id, booking.invoice_id, TimelineKind.PAYMENT.value, event_stamp, source,
            charge_payment_summary(booking, invoice_charges.number, invoice_charges.currency)[:500], json.dumps(data),
        ))

    for event in waived_charges_events(charges, paid, closed_by="payment", source=source, creditor_id=creditor_id):
        events.append((
            creditor_id, event.debtor_id, event.invoice_id, str(event.kind), event_stamp, event.source, event.summary,
            json.dumps(event.data),
        ))
    return rows
