"""Open credit notes: what is left of them pays the debtor's open invoices.

A credit note that names the invoice it corrects is applied to that invoice
when it is imported (`imports.writer`). Some credit notes stay open after
that: those without an original invoice, those naming an invoice the ledger
does not have, and those with more credit than their invoice had open. They
still lower what the debtor owes. So `apply_unlinked_credit_notes` applies
their open amount to the debtor's open invoices in the same currency, oldest
due date first, as `banking.credit.apply_credit` does with the rest of an
overpayment. The daily run calls both before it plans messages, so no
reminder requests money the debtor was credited.

Only invoices with status open take such credit. A disputed invoice may
yet be credited in full, an invoice in a payment plan is paid by its
terms, and the collection agency must hear of money set against a
handed-over invoice. Credit that no open invoice takes stays open on the
credit note as the debtor's credit, and a later run applies it once an
invoice is open again.

These allocations are Betaalreis's own guess. An import that shows the
books allocated the credit note differently undoes them
(`imports.credit_reallocation`). A credit note held there
(`allocation_held`) is skipped until an import lists it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet

from betaalreis.ledger import timeline
from betaalreis.ledger.actions import do_apply_credit_note
from betaalreis.ledger.models import ZERO, Allocation, Creditor, Invoice, InvoiceKind, InvoiceStatus, TimelineKind
from betaalreis.ledger.money import format_money

logger = logging.getLogger(__name__)

SOURCE = "credit note"


@dataclass
class CreditNotesApplied:
    """Credit notes used by one `apply_unlinked_credit_notes` call, with the amount per currency."""

    credit_notes: int = 0
    allocations: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)


def _open_invoices(creditor: Creditor) -> QuerySet[Invoice]:
    """Return the creditor's invoices with status open and an open amount, oldest due date first."""
    return Invoice.objects.filter(
        creditor=creditor,
        kind=InvoiceKind.INVOICE,
        status=InvoiceStatus.OPEN,
        open_amount__gt=0,
    ).order_by("due_date", "number")


def apply_unlinked_credit_notes(creditor: Creditor) -> CreditNotesApplied:
    """Apply what is open of the debtor's credit notes to the debtor's open invoices."""
    result = CreditNotesApplied()
    open_invoices = _open_invoices(creditor).filter(debtor_id=OuterRef("debtor_id"), currency=OuterRef("currency"))
    # A credit note imported before the invoice it names pays the oldest open
    # invoice here. The import that brings that invoice undoes this and links it.
    credit_notes = (
        Invoice.objects.filter(
            creditor=creditor,
            kind=InvoiceKind.CREDIT_NOTE,
            allocation_held=False,
            status=InvoiceStatus.OPEN,
            open_amount__lt=0,
        )
        .filter(Exists(open_invoices))
        .order_by("due_date", "number")
    )
    for credit_note in credit_notes:
        allocations = _apply_one(creditor, credit_note)
        if not allocations:
            continue
        result.credit_notes += 1
        result.allocations += len(allocations)
        used = sum((allocation.amount for allocation in allocations), ZERO)
        result.amounts[credit_note.currency] = result.amounts.get(credit_note.currency, ZERO) + used

    if result.credit_notes:
        logger.info(
            "credit notes applied",
            extra={"creditor_id": creditor.pk, "credit_notes": result.credit_notes, "allocations": result.allocations},
        )
    return result


def _label(credit_note: Invoice) -> str:
    """Return why the credit note pays other invoices, for its timeline line."""
    if credit_note.corrects_id is None:
        return " zonder originele factuur"
    return " (rest na de gecorrigeerde factuur)"


@transaction.atomic
def _apply_one(creditor: Creditor, credit_note: Invoice) -> list[Allocation]:
    """Apply one credit note to its debtor's open invoices and record what it paid and what is left."""
    targets = _open_invoices(creditor).filter(debtor_id=credit_note.debtor_id, currency=credit_note.currency)
    allocations: list[Allocation] = []
    for invoice in targets:
        # The summary below is the one timeline row of these allocations.
        allocation = do_apply_credit_note(credit_note, invoice, source=SOURCE, record_event=False)
        if allocation is None:
            break
        allocations.append(allocation)
        credit_note.refresh_from_db(fields=["open_amount", "status"])
        if credit_note.open_amount == ZERO:
            break
    if not allocations:
        return allocations

    used = sum((allocation.amount for allocation in allocations), ZERO)
    left = -credit_note.open_amount
    summary = (
        f"Creditnota {credit_note.number}{_label(credit_note)}: {format_money(used, credit_note.currency)} "
        f"verrekend met {', '.join(allocation.invoice.number for allocation in allocations)}"
    )
    if left > ZERO:
        summary += f"; {format_money(left, credit_note.currency)} blijft open als tegoed"
    timeline.record(
        credit_note.debtor_id,
        TimelineKind.PAYMENT,
        summary,
        source=SOURCE,
        creditor_id=creditor.pk,
        invoice=credit_note,
        data={
            "credit_note_id": credit_note.pk,
            "amount": str(used),
            "credit_left": str(left),
            "invoice_ids": [allocation.invoice_id for allocation in allocations],
        },
    )
    return allocations
