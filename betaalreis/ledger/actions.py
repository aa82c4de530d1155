"""State changes of the ledger: allocating payments and changing invoice status.

Each `do_*` function is atomic, locks the rows it changes and writes a
timeline row per debtor, so the timeline is the audit log of the ledger.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from betaalreis.errors import InvalidInput
from betaalreis.ledger import timeline
from betaalreis.ledger.models import (
    PAYABLE_STATUSES,
    ZERO,
    Allocation,
    AllocationPart,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    TimelineEvent,
    TimelineKind,
)
from betaalreis.ledger.money import format_money

if TYPE_CHECKING:
    from betaalreis.dunning.charges import InvoiceCharges

logger = logging.getLogger(__name__)



def unallocated_amount(payment: Payment) -> Decimal:
    """Return what of `payment` is not yet applied to an invoice or refunded (its credit).

    Refunds of credit are rows that reverse a payment that is still matched
    (see `betaalreis.ledger.credit`). A reversed payment keeps its full
    amount here, as before refunds existed.
    """
    allocated = payment.allocations.aggregate(total=Sum("amount"))["total"] or ZERO
    refunded = ZERO
    if payment.status != PaymentStatus.REVERSED:
        refunded = payment.reversals.aggregate(total=Sum("amount"))["total"] or ZERO
    return payment.amount - allocated + refunded


@transaction.atomic
def do_allocate_payment(
    payment: Payment,
    invoices: Sequence[Invoice] | None = None,
    *,
    source: str,
    reason: str,
    excess_summary: str = "Teveel betaald: {amount} staat als tegoed open",
) -> list[Allocation]:
    """Apply the unallocated part of `payment` to invoices and return the allocations.

    With `invoices` given, they are paid in the order given; without, the
    debtor's open invoices are paid oldest due date first. An invoice that
    reaches zero becomes paid. What is left stays unallocated on the payment,
    as a credit of the debtor, and `excess_summary` (with `{amount}` filled
    in) is its timeline line. The payment must have a debtor or invoices.
    """
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.amount <= ZERO:
        raise InvalidInput(f"Payment {payment.pk} has amount {payment.amount}; only money in can be allocated.")

    if invoices is None:
        if payment.debtor_id is None:
            raise InvalidInput(f"Payment {payment.pk} has no debtor and no invoices to allocate to.")
        candidates = list(
            Invoice.objects.select_for_update()
            .filter(
                creditor_id=payment.creditor_id,
                debtor_id=payment.debtor_id,
                kind=InvoiceKind.INVOICE,
                status__in=PAYABLE_STATUSES,
                open_amount__gt=0,
            )
            .order_by("due_date", "number")
        )
    else:
        ids = [invoice.pk for invoice in invoices]
        locked = Invoice.objects.select_for_update().in_bulk(ids)
        candidates = [locked[pk] for pk in ids if pk in locked]
        foreign = [inv.number for inv in candidates if inv.creditor_id != payment.creditor_id]
        if foreign:
            raise InvalidInput(f"Invoices {foreign} belong to another creditor than payment {payment.pk}.")

    remaining = unallocated_amount(payment)
    charges = _charges_of_closing_invoices(payment, candidates, remaining)
    allocations: list[Allocation] = []
    for invoice in candidates:
        if remaining <= ZERO:
            break
        if invoice.open_amount <= ZERO or invoice.currency != payment.currency:
            continue

        amount = min(remaining, invoice.open_amount)
        allocations.append(
            Allocation.objects.create(
                creditor_id=payment.creditor_id,
                payment=payment,
                invoice=invoice,
                amount=amount,
                reason=reason[:300],
            )
        )
        remaining -= amount

        invoice.open_amount -= amount
        if invoice.open_amount == ZERO:
            invoice.status = InvoiceStatus.PAID
        invoice.save(update_fields=["open_amount", "status", "updated_at"])

        timeline.record(
            invoice.debtor_id,
            TimelineKind.PAYMENT,
            f"Betaling {format_money(amount, invoice.currency)} op factuur {invoice.number}"
            + (" (volledig betaald)" if invoice.status == InvoiceStatus.PAID else ""),
            source=source,
            creditor_id=invoice.creditor_id,
            invoice=invoice,
            data={
                "payment_id": payment.pk,
                "amount": str(amount),
                "open_amount": str(invoice.open_amount),
                "reason": reason,
            },
        )

    if charges:
        charge_allocations, remaining = _book_charges(payment, charges, remaining, source=source, reason=reason)
        allocations += charge_allocations

    if payment.debtor_id is None and allocations:
        payment.debtor_id = allocations[0].invoice.debtor_id
    if allocations:
        payment.status = PaymentStatus.MATCHED
        payment.match_reason = payment.match_reason or reason
    payment.save(update_fields=["debtor", "status", "match_reason"])

    if remaining > ZERO and payment.debtor_id is not None and allocations:
        timeline.record(
            payment.debtor_id,
            TimelineKind.PAYMENT,
            excess_summary.format(amount=format_money(remaining, payment.currency)),
            source=source,
            creditor_id=payment.creditor_id,
            data={"payment_id": payment.pk, "credit": str(remaining)},
        )

    logger.info(
        "payment allocated",
        extra={"payment_id": payment.pk, "allocations": len(allocations), "creditor_id": payment.creditor_id},
    )
    return allocations


def _charges_of_closing_invoices(
    payment: Payment, candidates: Sequence[Invoice], remaining: Decimal
) -> dict[int, InvoiceCharges]:
    """Return the unpaid costs and interest of the charged invoices that `payment` will close.

    Walks `candidates` as the allocation loop does, without writing, so the
    claim is computed while the invoices are still open.
    """
    from betaalreis.dunning.charges import unpaid_charges

    closing: dict[int, dt.date] = {}
    for invoice in candidates:
        if remaining <= ZERO:
            break
        if invoice.open_amount <= ZERO or invoice.currency != payment.currency:
            continue
        if remaining >= invoice.open_amount:
            closing[invoice.pk] = payment.booking_date
        remaining -= min(remaining, invoice.open_amount)

    if not closing:
        return {}
    return unpaid_charges(payment.creditor_id, closing)


def _book_charges(
    payment: Payment, charges: dict[int, InvoiceCharges], remaining: Decimal, *, source: str, reason: str
) -> tuple[list[Allocation], Decimal]:
    """Book `remaining` to the costs and interest of the invoices `payment` closed, and return the allocations and what is left.

    The costs and interest left unpaid are waived, with a timeline event per invoice.
    """
    from betaalreis.dunning.charges import charge_payment_summary, split_over_charges, waived_charges_events

    bookings, remaining = split_over_charges(remaining, list(charges.values()))
    allocations: list[Allocation] = []
    paid: dict[tuple[int, str], Decimal] = {}

    for booking in bookings:
        invoice_charges = charges[booking.invoice_id]
        allocation = Allocation.objects.create(
            creditor_id=payment.creditor_id,
            payment=payment,
            invoice_id=booking.invoice_id,
            amount=booking.amount,
            part=booking.part,
            reason=reason[:300],
        )
        allocations.append(allocation)
        paid[(booking.invoice_id, booking.part)] = booking.amount
        timeline.record(
            invoice_charges.debtor_id,
            TimelineKind.PAYMENT,
            charge_payment_summary(booking, invoice_charges.number, invoice_charges.currency),
            source=source,
            creditor_id=payment.creditor_id,
            invoice=allocation.invoice,
            data={"payment_id": payment.pk, "amount": str(booking.amount), "part": booking.part, "reason": reason},
        )

    timeline.record_many(
        waived_charges_events(charges, paid, closed_by="payment", source=source, creditor_id=payment.creditor_id)
    )
    return allocations, remaining


@transaction.atomic
def do_reverse_payment(
    original: Payment,
    *,
    reversal: Payment | None = None,
    source: str,
    reason: str,
) -> list[Invoice]:
    """Undo the allocations of `original` and reopen its invoices; return them.

    `reversal` is the storno or refund row that caused it, kept for the record.
    The debtor did not pay after all, so the invoices keep their dunning
    history, and costs and interest waived when this payment closed them are
    claimed again, with a timeline event (see `betaalreis.dunning.reopening`).
    """
    from betaalreis.dunning.reopening import lapsed_waiver_events

    original = Payment.objects.select_for_update().get(pk=original.pk)
    allocations = list(original.allocations.select_related("invoice"))
    reopened: list[Invoice] = []
    closed_before: dict[int, Invoice] = {}
    # Dated like payments: on the reversal's booking day when it is applied later.
    event_at = timeline.event_time()
    if reversal is not None:
        event_at = timeline.payment_event_time(reversal.booking_date, event_at)

    for allocation in allocations:
        invoice = Invoice.objects.select_for_update().get(pk=allocation.invoice_id)
        if allocation.part == AllocationPart.PRINCIPAL:
            invoice.open_amount += allocation.amount
        if invoice.status == InvoiceStatus.PAID and invoice.open_amount > ZERO:
            invoice.status = InvoiceStatus.OPEN
            closed_before[invoice.pk] = invoice
        invoice.save(update_fields=["open_amount", "status", "updated_at"])
        reopened.append(invoice)

        timeline.record(
            invoice.debtor_id,
            TimelineKind.PAYMENT,
            f"Betaling teruggeboekt: {format_money(allocation.amount, invoice.currency)} "
            f"op factuur {invoice.number} staat weer open",
            source=source,
            creditor_id=invoice.creditor_id,
            invoice=invoice,
            data={
                "payment_id": original.pk,
                "reversal_id": reversal.pk if reversal else None,
                "amount": str(allocation.amount),
                "reason": reason,
            },
            at=event_at,
        )

    original.allocations.all().delete()
    timeline.record_many(lapsed_waiver_events(list(closed_before.values()), source=source, at=event_at))
    original.status = PaymentStatus.REVERSED
    original.save(update_fields=["status"])
    if reversal is not None:
        Payment.objects.filter(pk=reversal.pk).update(
            reverses=original, status=PaymentStatus.MATCHED, debtor_id=original.debtor_id
        )

    logger.info(
        "payment reversed",
        extra={"payment_id": original.pk, "invoices": len(reopened), "creditor_id": original.creditor_id},
    )
    return reopened


@transaction.atomic
def do_apply_credit_note(
    credit_note: Invoice, invoice: Invoice, *, source: str, record_event: bool = True
) -> Allocation | None:
    """Apply what is open of a credit note to an invoice of the same debtor.

    With `record_event` false the caller writes the timeline row of the
    allocation itself, so that one allocation gets one row.
    """
    credit_note = Invoice.objects.select_for_update().get(pk=credit_note.pk)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if credit_note.kind != InvoiceKind.CREDIT_NOTE:
        raise InvalidInput(f"{credit_note.number} is not a credit note.")
    if (credit_note.creditor_id, credit_note.debtor_id) != (invoice.creditor_id, invoice.debtor_id):
        raise InvalidInput(f"Credit note {credit_note.number} and invoice {invoice.number} belong to different debtors.")

    amount = min(-credit_note.open_amount, invoice.open_amount)
    if amount <= ZERO:
        return None
    waived = _waived_when_closed(invoice, amount, closed_by="credit_note", source=source)

    allocation = Allocation.objects.create(
        creditor_id=invoice.creditor_id,
        credit_note=credit_note,
        invoice=invoice,
        amount=amount,
        reason=f"credit note {credit_note.number}",
    )
    credit_note.open_amount += amount
    if credit_note.open_amount == ZERO:
        credit_note.status = InvoiceStatus.CREDITED
    credit_note.save(update_fields=["open_amount", "status", "updated_at"])

    invoice.open_amount -= amount
    if invoice.open_amount == ZERO:
        invoice.status = InvoiceStatus.CREDITED
    invoice.save(update_fields=["open_amount", "status", "updated_at"])

    if record_event:
        timeline.record(
            invoice.debtor_id,
            TimelineKind.PAYMENT,
            f"Creditnota {credit_note.number} verrekend met factuur {invoice.number}: "
            f"{format_money(amount, invoice.currency)}",
            source=source,
            creditor_id=invoice.creditor_id,
            invoice=invoice,
            data={"credit_note_id": credit_note.pk, "amount": str(amount)},
        )
    timeline.record_many(waived)
    return allocation


def _waived_when_closed(
    invoice: Invoice, amount: Decimal, *, closed_by: str, source: str, at: dt.datetime | None = None
) -> list[TimelineEvent]:
    """Return the timeline events for the costs and interest that closing `invoice` with `amount` waives.

    Call it before the invoice is saved closed. An invoice that stays open
    waives nothing. `at` is the moment of the closing (default now).
    """
    from betaalreis.dunning.charges import unpaid_charges, waived_charges_events

    if amount < invoice.open_amount:
        return []
    day = timezone.localdate(at) if at is not None else timezone.localdate()
    charges = unpaid_charges(invoice.creditor_id, {invoice.pk: day})
    if closed_by == "credit_note":
        # A credited invoice was never owed, so it leaves the cost base of
        # its 14-day letter, and the costs of the invoices left are computed
        # without it. Its share of the costs is gone rather than waived.
        charges = {key: dataclasses.replace(charge, costs=ZERO) for key, charge in charges.items()}
    return waived_charges_events(
        charges, {}, closed_by=closed_by, source=source, creditor_id=invoice.creditor_id, at=at
    )


@transaction.atomic
def do_undo_credit_note_allocations(
    credit_note: Invoice,
    *,
    source: str,
    reason: str,
    hold: bool = False,
    invoice_ids: Collection[int] | None = None,
    restart_dunning: bool = True,
) -> list[Allocation]:
    """Take back what Betaalreis applied of a credit note to invoices other than the one it corrects.

    Each such invoice gets its amount back, and a credited or paid invoice
    opens again. The credit note's open amount moves away from zero by the
    sum. The allocation to the corrected invoice (made when the credit note
    was imported) stays. With `invoice_ids`, only the allocations to those
    invoices are taken back.
    With `hold`, the daily run leaves the credit note alone until an import
    lists it again. Returns the removed allocations, with their invoices.
    An invoice this opens again starts its dunning and claim again, because
    the creditor now asks money it had settled itself (see
    `betaalreis.dunning.reopening`). With `restart_dunning` false, the
    caller restarts the dunning of the reopened invoices itself, as an import
    does once it has set the open amounts of its file.
    """
    from betaalreis.dunning.models import ReopenCause
    from betaalreis.dunning.reopening import do_restart_dunning

    credit_note = Invoice.objects.select_for_update().get(pk=credit_note.pk)
    if credit_note.kind != InvoiceKind.CREDIT_NOTE:
        raise InvalidInput(f"{credit_note.number} is not a credit note.")

    rows = Allocation.objects.filter(credit_note=credit_note).exclude(invoice_id=credit_note.corrects_id)
    if invoice_ids is not None:
        rows = rows.filter(invoice_id__in=invoice_ids)
    allocations = list(rows.select_related("invoice").order_by("pk"))
    undone = ZERO
    reopened: set[int] = set()
    for allocation in allocations:
        invoice = Invoice.objects.select_for_update().get(pk=allocation.invoice_id)
        invoice.open_amount += allocation.amount
        if invoice.status in (InvoiceStatus.CREDITED, InvoiceStatus.PAID):
            invoice.status = InvoiceStatus.OPEN
            reopened.add(invoice.pk)
        invoice.save(update_fields=["open_amount", "status", "updated_at"])
        allocation.invoice = invoice
        undone += allocation.amount

        timeline.record(
            invoice.debtor_id,
            TimelineKind.PAYMENT,
            f"Verrekening creditnota {credit_note.number} teruggedraaid: "
            f"{format_money(allocation.amount, invoice.currency)} op factuur {invoice.number} staat weer open",
            source=source,
            creditor_id=invoice.creditor_id,
            invoice=invoice,
            data={
                "credit_note_id": credit_note.pk,
                "amount": str(allocation.amount),
                "open_amount": str(invoice.open_amount),
                "reason": reason,
            },
        )

    Allocation.objects.filter(pk__in=[allocation.pk for allocation in allocations]).delete()
    credit_note.open_amount -= undone
    if credit_note.open_amount != ZERO and credit_note.status == InvoiceStatus.CREDITED:
        credit_note.status = InvoiceStatus.OPEN
    credit_note.allocation_held = hold
    credit_note.save(update_fields=["open_amount", "status", "allocation_held", "updated_at"])
    if restart_dunning:
        # Read back, because two allocations to one invoice each raised its open amount.
        do_restart_dunning(
            list(Invoice.objects.filter(pk__in=reopened)), cause=ReopenCause.CREDIT_NOTE_UNDONE, source=source
        )

    if allocations:
        logger.info(
            "credit note allocations undone",
            extra={
                "credit_note_id": credit_note.pk,
                "allocations": len(allocations),
                "creditor_id": credit_note.creditor_id,
                "reason": reason,
            },
        )
    return allocations


@transaction.atomic
def do_set_invoice_status(
    invoice: Invoice, status: str, *, source: str, reason: str, at: dt.datetime | None = None
) -> Invoice:
    """Move an invoice to `status` (dispute, payment plan, handover, write-off...).

    `at` dates the timeline events (default now). Closing a claimed invoice
    this way (written off, paid or credited by hand) waives its unpaid costs
    and interest and records them, as a closing payment does. Handing it
    over, putting it in a payment plan or disputing it ends the debtor's
    open online checkouts for it
    (`betaalreis.payments.services.supersede_checkouts_of_invoices`).
    """
    from betaalreis.legal.ledger_claims import CLAIM_STATUSES
    from betaalreis.payments.services import LEFT_ONLINE_PAYMENT, supersede_checkouts_of_invoices

    if status not in InvoiceStatus.values:
        raise InvalidInput(f"Unknown invoice status {status!r}; use one of {InvoiceStatus.values}.")

    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    previous = invoice.status
    if previous == status:
        return invoice

    waived: list[TimelineEvent] = []
    if previous in CLAIM_STATUSES and status in _CLOSED_BY_HAND:
        waived = _waived_when_closed(
            invoice, invoice.open_amount, closed_by=_CLOSED_BY_HAND[status], source=source, at=at
        )

    invoice.status = status
    invoice.save(update_fields=["status", "updated_at"])
    timeline.record(
        invoice.debtor_id,
        TimelineKind.INVOICE_CHANGED,
        f"Factuur {invoice.number}: {timeline.stored_label(InvoiceStatus(previous))} → "
        f"{timeline.stored_label(InvoiceStatus(status))}",
        source=source,
        creditor_id=invoice.creditor_id,
        invoice=invoice,
        data={"from": previous, "to": status, "reason": reason},
        at=at,
    )
    timeline.record_many(waived)

    if status in LEFT_ONLINE_PAYMENT:
        supersede_checkouts_of_invoices([invoice.pk], source=source)
    return invoice


@transaction.atomic
def do_add_invoice(invoice: Invoice, *, source: str) -> Invoice:
    """Save a new invoice or credit note entered by hand and record it on the debtor's timeline.

    Raises InvalidInput when the debtor belongs to another creditor or the
    amounts break a rule of `betaalreis.ledger.invoice_amounts`.
    """
    from betaalreis.ledger.invoice_amounts import amount_problems

    if invoice.pk is not None:
        raise InvalidInput(f"Invoice {invoice.number} is already saved. Edit it instead of adding it.")
    if invoice.debtor.creditor_id != invoice.creditor_id:
        raise InvalidInput(
            f"Debtor {invoice.debtor.customer_number} belongs to another creditor than invoice {invoice.number}. "
            "Choose a debtor of the invoice's creditor.",
            code="debtor_of_other_creditor",
        )
    problems = amount_problems(invoice.kind, invoice.status, invoice.total, invoice.open_amount, invoice.currency)
    if problems:
        raise InvalidInput(" ".join(problem.message for problem in problems), code=problems[0].code)

    invoice.save()
    document = {"nl": "Creditnota", "en": "Credit note"} if invoice.is_credit_note else {"nl": "Factuur", "en": "Invoice"}
    amounts = {language: _amount_list(invoice, language) for language in ("nl", "en")}
    timeline.record(
        invoice.debtor_id,
        TimelineKind.INVOICE_CHANGED,
        f"{document['nl']} {invoice.number} handmatig toegevoegd: {amounts['nl']}",
        source=source,
        creditor_id=invoice.creditor_id,
        invoice=invoice,
        data={
            "reason": "added_by_hand",
            "total": str(invoice.total),
            "open_amount": str(invoice.open_amount),
            "status": invoice.status,
            "summary_en": f"{document['en']} {invoice.number} added by hand: {amounts['en']}",
        },
    )
    return invoice


def _amount_list(invoice: Invoice, language: str) -> str:
    """List an invoice's total and open amount for a timeline summary, such as "totaal € 100,00, openstaand € 40,00"."""
    labels = _AMOUNT_LABELS[language]
    return ", ".join(
        f"{labels[field]} {format_money(amount, invoice.currency, language)}"
        for field, amount in (("total", invoice.total), ("open_amount", invoice.open_amount))
    )


@transaction.atomic
def do_edit_invoice_amounts(
    invoice: Invoice, *, total: Decimal, open_amount: Decimal, source: str, reason: str
) -> Invoice:
    """Set an invoice's total and open amount by hand and record the change on the debtor's timeline.

    Raises InvalidInput when the amounts break a rule of
    `betaalreis.ledger.invoice_amounts` for the invoice's kind and status,
    so set a new status first (`do_set_invoice_status`). Returns the saved
    invoice, unchanged and with no event when both amounts stay the same.
    """
    from betaalreis.ledger.invoice_amounts import amount_problems

    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    problems = amount_problems(invoice.kind, invoice.status, total, open_amount, invoice.currency)
    if problems:
        raise InvalidInput(" ".join(problem.message for problem in problems), code=problems[0].code)

    changed = {
        field: (old, new)
        for field, old, new in (("total", invoice.total, total), ("open_amount", invoice.open_amount, open_amount))
        if old != new
    }
    if not changed:
        return invoice

    invoice.total, invoice.open_amount = total, open_amount
    invoice.save(update_fields=["total", "open_amount", "updated_at"])

    data: dict[str, str] = {"reason": "amounts_edited", "note": reason}
    for field, (old, new) in changed.items():
        data[f"{field}_from"], data[f"{field}_to"] = str(old), str(new)
    data["summary_en"] = f"Invoice {invoice.number} edited by hand: " + _amount_changes(changed, invoice.currency, "en")
    timeline.record(
        invoice.debtor_id,
        TimelineKind.INVOICE_CHANGED,
        f"Factuur {invoice.number} handmatig gewijzigd: " + _amount_changes(changed, invoice.currency, "nl"),
        source=source,
        creditor_id=invoice.creditor_id,
        invoice=invoice,
        data=data,
    )
    return invoice


_AMOUNT_LABELS = {
    "nl": {"total": "totaal", "open_amount": "openstaand"},
    "en": {"total": "total", "open_amount": "open amount"},
}


def _amount_changes(changed: dict[str, tuple[Decimal, Decimal]], currency: str, language: str) -> str:
    """Describe changed amounts for a timeline summary, such as "openstaand € 100,00 → € 50,00"."""
    return ", ".join(
        f"{_AMOUNT_LABELS[language][field]} {format_money(old, currency, language)} → {format_money(new, currency, language)}"
        for field, (old, new) in changed.items()
    )


# Statuses that close an invoice when set by hand, with the cause
# `waived_charges_events` records for the costs and interest they waive.
_CLOSED_BY_HAND = {
    InvoiceStatus.WRITTEN_OFF: "write_off",
    InvoiceStatus.PAID: "status",
    InvoiceStatus.CREDITED: "status",
}
