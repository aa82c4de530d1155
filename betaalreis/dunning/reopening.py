"""What an invoice's dunning and claim start from when a closed invoice opens again.

Collection costs may be asked of a consumer only after a 14-day letter that
stated the amount, once its term passed unpaid (art. 6:96 lid 6 BW), and
costs and interest that Betaalreis waived when the invoice closed (see
`betaalreis.dunning.charges`) must not come back unannounced. So each way
of reopening has its rule:

- An import that opens a paid or credited invoice again (the creditor
  raised its total, or its books show money open again), and an undone
  credit note allocation: the creditor now requests money that the debtor
  had no reason to pay. Dunning restarts (`do_restart_dunning`). The invoice
  loses its stage, the open amount falls due after the invoice's own
  payment term counted from the reopening day, and interest runs from that
  due date. Earlier messages, payments and 14-day letters no longer count,
  so a consumer owes costs only after a new 14-day letter and a business
  only after the new due date (art. 6:96 lid 4 BW). What was waived stays
  waived, because the claim leaves out the earlier cycle.
- A reversed payment (a bank storno, a refund or chargeback by the payment
  provider, an undone wrong match): the debtor did not pay after all, so the
  history remains valid. The stage, the 14-day letters and the claim from the
  original due date count as before. The costs and interest that were waived
  only because that payment closed the invoice are claimed again, and the
  timeline records it (`lapsed_waiver_events`).

NOTE: an import that raises the total of an invoice that is still open does
not reopen it, so nothing restarts, and a 14-day letter sent before the raise
still counts for the higher amount.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Max, Q, QuerySet
from django.utils import timezone

from betaalreis.dunning.models import DunningRestart, InvoiceStage, ReopenCause
from betaalreis.ledger import timeline
from betaalreis.ledger.models import (
    ZERO,
    Allocation,
    DebtorKind,
    Invoice,
    TimelineEvent,
    TimelineKind,
)
from betaalreis.ledger.money import format_money

logger = logging.getLogger(__name__)

# The payment term of a reopened amount when the invoice states none (due
# date on or before its issue date): 30 days, the term art. 6:119a lid 2 BW
# sets for a commercial invoice without an agreed payment date.
DEFAULT_TERM_DAYS = 30

_CAUSE_TEXT = {
    ReopenCause.IMPORT: ("door een import", "by an import"),
    ReopenCause.CREDIT_NOTE_UNDONE: (
        "doordat een verrekening met een creditnota is teruggedraaid",
        "because a credit note allocation was undone",
    ),
}


def reopened_due_date(invoice: Invoice, day: dt.date) -> dt.date:
    """Return the day the amount of `invoice`, reopened on `day`, falls due.

    That is the invoice's own payment term (issue date to due date) counted
    from `day`, or `DEFAULT_TERM_DAYS` when it has none or no issue date is
    known, and never before the invoice's own due date.
    """
    term_days = 0
    if invoice.issue_date is not None:
        term_days = (invoice.due_date - invoice.issue_date).days
    if term_days <= 0:
        term_days = DEFAULT_TERM_DAYS
    return max(invoice.due_date, day + dt.timedelta(days=term_days))


@transaction.atomic
def do_restart_dunning(
    invoices: Sequence[Invoice], *, cause: ReopenCause, source: str, at: dt.datetime | None = None
) -> list[DunningRestart]:
    """Start the dunning and claim of reopened `invoices` again, and return the restarts.

    Call it after the invoices were saved open. Credit notes and invoices
    with nothing open are skipped. Each restarted invoice loses its stage,
    gets a `DunningRestart` in place of an earlier one, and gets a timeline
    event that states the new due date in Dutch and in English.

    NOTE: a second restart claims the whole open amount from its own due
    date, so interest on what stayed open from the first one is not claimed
    for the days before it.
    """
    from betaalreis.outbox.models import CommunicationInvoice

    at = at or timezone.now()
    day = timezone.localdate(at)
    invoices = [invoice for invoice in invoices if not invoice.is_credit_note and invoice.open_amount > ZERO]
    if not invoices:
        return []
    ids = [invoice.pk for invoice in invoices]

    stages = dict(InvoiceStage.objects.filter(invoice_id__in=ids).values_list("invoice_id", "stage"))
    last_allocations = _max_id_per_invoice(Allocation.objects.filter(invoice_id__in=ids))
    last_items = _max_id_per_invoice(CommunicationInvoice.objects.filter(invoice_id__in=ids))
    kinds = dict(Invoice.objects.filter(pk__in=ids).values_list("pk", "debtor__kind"))

    InvoiceStage.objects.filter(invoice_id__in=ids).delete()
    DunningRestart.objects.filter(invoice_id__in=ids).delete()
    restarts = [
        DunningRestart(
            creditor_id=invoice.creditor_id,
            invoice=invoice,
            cause=cause,
            restarted_at=at,
            principal=invoice.open_amount,
            due_date=reopened_due_date(invoice, day),
            last_allocation_id=last_allocations.get(invoice.pk, 0),
            last_message_item_id=last_items.get(invoice.pk, 0),
            source=source[:300],
        )
        for invoice in invoices
    ]
    DunningRestart.objects.bulk_create(restarts)

    timeline.record_many(
        _restart_event(restart, stages.get(restart.invoice_id, ""), kinds[restart.invoice_id], at)
        for restart in restarts
    )
    logger.info(
        "dunning restarted",
        extra={"creditor_id": invoices[0].creditor_id, "invoices": len(restarts), "cause": str(cause)},
    )
    return restarts


def _max_id_per_invoice(rows: QuerySet) -> dict[int, int]:
    return dict(rows.values("invoice_id").annotate(last=Max("pk")).values_list("invoice_id", "last"))


def _restart_event(restart: DunningRestart, from_stage: str, debtor_kind: str, at: dt.datetime) -> TimelineEvent:
    invoice = restart.invoice
    amount = format_money(restart.principal, invoice.currency)
    due = restart.due_date
    cause_nl, cause_en = _CAUSE_TEXT[ReopenCause(restart.cause)]
    if debtor_kind == DebtorKind.CONSUMER:
        costs_nl = "incassokosten pas na een nieuwe veertiendagenbrief waarvan de termijn onbetaald verstrijkt"
        costs_en = "collection costs only after a new 14-day letter whose term passes unpaid"
    else:
        costs_nl = "incassokosten pas na die vervaldatum"
        costs_en = "collection costs only after that due date"
    summary_nl = (
        f"Factuur {invoice.number} staat weer open {cause_nl} ({amount}): de aanmaningen beginnen opnieuw. "
        f"Het bedrag vervalt op {due:%d-%m-%Y}; rente loopt vanaf dan en {costs_nl}. "
        "Eerder kwijtgescholden kosten en rente blijven kwijtgescholden."
    )
    summary_en = (
        f"Invoice {invoice.number} is open again {cause_en} ({amount}): dunning starts again. "
        f"The amount falls due on {due:%Y-%m-%d}; interest runs from then, and {costs_en}. "
        "Costs and interest waived before stay waived."
    )
    return TimelineEvent(
        creditor_id=invoice.creditor_id,
        debtor_id=invoice.debtor_id,
        invoice_id=invoice.pk,
        kind=TimelineKind.STAGE,
        source=restart.source,
        summary=summary_nl[:500],
        data={
            "reason": "dunning_restarted",
            "cause": str(restart.cause),
            "from_stage": from_stage,
            "principal": str(restart.principal),
            "due_date": due.isoformat(),
            "summary_en": summary_en,
        },
        at=at,
    )


def counted_message_items(items: QuerySet) -> QuerySet:
    """Keep the CommunicationInvoice rows that count for their invoice: those since its latest restart."""
    return items.filter(
        Q(invoice__dunning_restart__isnull=True)
        | Q(pk__gt=F("invoice__dunning_restart__last_message_item_id"))
    )


def lapsed_waiver_events(invoices: Sequence[Invoice], *, source: str, at: dt.datetime | None = None) -> list[TimelineEvent]:
    """Return unsaved timeline events for the waivers that lapse because a reversed payment reopened `invoices`.

    An invoice's waiver lapses when its latest waiver record states that a
    payment closed it, because that payment was the only reason to waive. Pass only
    invoices that the reversal moved from paid to open.
    """
    at = at or timezone.now()
    if not invoices:
        return []
    by_id = {invoice.pk: invoice for invoice in invoices}
    records = TimelineEvent.objects.filter(
        creditor_id=invoices[0].creditor_id,
        invoice_id__in=list(by_id),
        data__reason__in=["charges_waived", "waiver_lapsed"],
    ).order_by("invoice_id", "at", "pk")
    latest: dict[int, TimelineEvent] = {}
    for record in records:
        latest[record.invoice_id] = record

    events: list[TimelineEvent] = []
    for invoice_id, record in latest.items():
        if record.data.get("reason") != "charges_waived" or record.data.get("closed_by") != "payment":
            continue
        invoice = by_id[invoice_id]
        costs, interest = record.data.get("costs", "0.00"), record.data.get("interest", "0.00")
        costs_text = format_money(Decimal(costs), invoice.currency)
        interest_text = format_money(Decimal(interest), invoice.currency)
        events.append(TimelineEvent(
            creditor_id=invoice.creditor_id,
            debtor_id=invoice.debtor_id,
            invoice_id=invoice_id,
            kind=TimelineKind.INVOICE_CHANGED,
            source=source[:300],
            summary=(
                f"Kwijtschelding van incassokosten {costs_text} en rente {interest_text} op factuur "
                f"{invoice.number} vervalt: de betaling die de factuur sloot is teruggeboekt, dus de "
                "aanmaningen en de vordering lopen door alsof die betaling er niet was."
            )[:500],
            data={
                "reason": "waiver_lapsed",
                "waiver_event_id": record.pk,
                "costs": costs,
                "interest": interest,
                "summary_en": (
                    f"The waiver of collection costs {costs_text} and interest {interest_text} on invoice "
                    f"{invoice.number} lapses: the payment that closed the invoice was reversed, so dunning "
                    "and the claim go on as if that payment had not been made."
                ),
            },
            at=at,
        ))
    return events
