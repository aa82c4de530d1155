"""What an invoice's dunning and claim start from when a closed invoice opens again.

Collection costs may be asked of a consumer only after a 14-day letter that
stated the amount, once its term passed unpaid (art. 6:96 lid 6 BW), and
costs and interest that Betaalreis waived when the invoice closed (see
`betaalreis.dunning.charges`) must not come back unannounced. So each way
of reopening has its rule:

- An import that opens a paid or credited invoice again (the creditor
  raised its total, or its books show money open again), or an undone
  credit note allocation. The creditor now requests money that the debtor
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

An import or an edit that raises the open amount of an invoice that is still
open restarts nothing, because the history of what was named stays valid.
The debtor could not pay the raised part before it was asked for, so it
falls due after the invoice's payment term counted from the raise
(`PrincipalRaise`), and interest on it runs from then, not from the
invoice's due date.
For a consumer whose 14-day letter was sent before the raise, that letter did
not name the raise (`do_record_raises`): the claim charges costs only over
the amount the letter named, until a 14-day letter sent after the raise names
the whole amount. The invoice goes back to the stage before its letter, so a
run sends that letter once the raised part is overdue. A business owes costs
without a letter (art. 6:96 lid 4 BW), so its costs follow the raised
principal from the day after the raise falls due. Lowering an
amount changes neither, because it never makes the cost base larger.

A message planned before a restart or a raise is no longer what the run would
plan now, so dispatch takes the invoice out of it (`stale_item_reason`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Sequence
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from betaalreis.dunning.models import (
    DunningRestart,
    InvoiceStage,
    PrincipalRaise,
    RaiseAfterLetter,
    ReopenCause,
    Stage,
)
from betaalreis.ledger import timeline
from betaalreis.ledger.models import (
    ZERO,
    Allocation,
    Creditor,
    DebtorKind,
    Invoice,
    InvoiceStatus,
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
    ReopenCause.ADMIN: ("door een wijziging in het beheer", "by an edit in the admin"),
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
    at = at or timezone.now()
    day = timezone.localdate(at)
    invoices = [invoice for invoice in invoices if not invoice.is_credit_note and invoice.open_amount > ZERO]
    if not invoices:
        return []
    ids = [invoice.pk for invoice in invoices]

    stages = dict(InvoiceStage.objects.filter(invoice_id__in=ids).values_list("invoice_id", "stage"))
    last_allocations = _max_id_per_invoice(Allocation.objects.filter(invoice_id__in=ids))
    last_communications = _last_communication_per_invoice(ids)
    kinds = dict(Invoice.objects.filter(pk__in=ids).values_list("pk", "debtor__kind"))

    InvoiceStage.objects.filter(invoice_id__in=ids).delete()
    DunningRestart.objects.filter(invoice_id__in=ids).delete()
    # The 14-day letters before the restart no longer count, so neither does what they did not name.
    RaiseAfterLetter.objects.filter(invoice_id__in=ids).delete()
    PrincipalRaise.objects.filter(invoice_id__in=ids).delete()
    restarts = [
        DunningRestart(
            creditor_id=invoice.creditor_id,
            invoice=invoice,
            cause=cause,
            restarted_at=at,
            principal=invoice.open_amount,
            due_date=reopened_due_date(invoice, day),
            last_allocation_id=last_allocations.get(invoice.pk, 0),
            last_communication_id=last_communications.get(invoice.pk, 0),
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


def _last_communication_per_invoice(invoice_ids: Sequence[int]) -> dict[int, int]:
    """Return, by invoice id, the highest id of a communication that lists the invoice."""
    from betaalreis.outbox.models import CommunicationInvoice

    return dict(
        CommunicationInvoice.objects.filter(invoice_id__in=invoice_ids)
        .order_by()
        .values("invoice_id")
        .annotate(last=Max("communication_id"))
        .values_list("invoice_id", "last")
    )


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
        | Q(communication_id__gt=F("invoice__dunning_restart__last_communication_id"))
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


@transaction.atomic
def do_record_raises(
    raises: Sequence[tuple[Invoice, Decimal]], *, source: str, at: dt.datetime | None = None
) -> list[RaiseAfterLetter]:
    """Record the raises of open invoices, and return those that a consumer's latest 14-day letter did not name.

    `raises` pairs invoices of one creditor, saved with their new open
    amount, with how much that amount rose. Every raise of an open invoice
    gets a `PrincipalRaise` with the day its amount falls due. A raise counts
    for the letter when the invoice is open, its debtor is a consumer and a
    14-day letter that still counts for it was sent (see `counted_message_items`). Each such invoice gets the
    amount no letter named, added to an earlier one that no letter named yet.
    It goes back to the stage before the 14-day letter, so a later run sends
    a new letter over the whole open amount. The timeline records both in
    Dutch and in English.

    While the new letter's term runs, the costs of the earlier letter stay
    owed over the amount it named (see `betaalreis.dunning.letter_costs`).
    The new letter waits until the raised part is overdue, because a letter
    sent before the consumer is in default on it makes no costs owed over it
    (art. 6:96 lid 6 BW).
    NOTE: a raise replaces the record of an earlier raise, so a letter sent
    before both is taken to have left out only the amounts since the latest
    letter before the second raise.
    """
    from betaalreis.dunning.legal_terms import sent_fourteen_day_terms
    from betaalreis.legal.models import legal_settings_for

    at = at or timezone.now()
    raised = {
        invoice.pk: (invoice, amount)
        for invoice, amount in raises
        if not invoice.is_credit_note and invoice.status == InvoiceStatus.OPEN
        and invoice.open_amount > ZERO and amount > ZERO
    }
    if not raised:
        return []
    creditor = Creditor.objects.get(pk=next(iter(raised.values()))[0].creditor_id)
    day = timezone.localdate(at)
    PrincipalRaise.objects.bulk_create(
        PrincipalRaise(
            creditor=creditor, invoice=invoice, raised_at=at, amount=amount,
            due_date=reopened_due_date(invoice, day), source=source[:300],
        )
        for invoice, amount in raised.values()
    )
    consumers = list(
        Invoice.objects.filter(creditor=creditor, pk__in=list(raised), debtor__kind=DebtorKind.CONSUMER)
        .values_list("pk", flat=True)
    )
    lettered = set(sent_fourteen_day_terms(creditor, legal_settings_for(creditor), invoice_ids=consumers))
    if not lettered:
        return []
    ids = sorted(lettered)

    earlier = unnamed_amounts(creditor.pk, ids)
    last_communications = _last_communication_per_invoice(ids)
    RaiseAfterLetter.objects.filter(invoice_id__in=ids).delete()
    records = [
        RaiseAfterLetter(
            creditor=creditor,
            invoice=raised[invoice_id][0],
            raised_at=at,
            unnamed_amount=min(earlier.get(invoice_id, ZERO) + raised[invoice_id][1], raised[invoice_id][0].open_amount),
            last_communication_id=last_communications.get(invoice_id, 0),
            source=source[:300],
        )
        for invoice_id in ids
    ]
    RaiseAfterLetter.objects.bulk_create(records)

    stages = _stages_before_letter(creditor.pk, ids)
    timeline.record_many(
        _raise_event(record, raised[record.invoice_id][1], stages.get(record.invoice_id, ("", "")), at)
        for record in records
    )
    logger.info("raise after 14-day letter recorded", extra={"creditor_id": creditor.pk, "invoices": len(records)})
    return records


def _stages_before_letter(creditor_id: int, invoice_ids: list[int]) -> dict[int, tuple[str, str]]:
    """Move invoices at or past the consumer 14-day letter back to the stage before it.

    Returns (old stage, new stage) by invoice id for the invoices it moved.
    The new stage is empty when the letter is the policy's first stage.
    """
    stages = list(
        Stage.objects.filter(policy__creditor_id=creditor_id, policy__debtor_kind=DebtorKind.CONSUMER)
        .order_by("order")
        .values_list("code", "order", "is_fourteen_day_letter")
    )
    letter_order = next((order for _code, order, is_letter in stages if is_letter), None)
    if letter_order is None:
        return {}
    before = [code for code, order, _is_letter in stages if order < letter_order]
    target = before[-1] if before else ""
    from_letter_on = [code for code, order, _is_letter in stages if order >= letter_order]

    rows = InvoiceStage.objects.filter(invoice_id__in=invoice_ids, stage__in=from_letter_on)
    moved = {invoice_id: (stage, target) for invoice_id, stage in rows.values_list("invoice_id", "stage")}
    if target:
        rows.update(stage=target)
    else:
        rows.delete()
    return moved


def _raise_event(
    record: RaiseAfterLetter, raised_by: Decimal, stages: tuple[str, str], at: dt.datetime
) -> TimelineEvent:
    invoice = record.invoice
    currency = invoice.currency
    raised_text = format_money(raised_by, currency)
    open_text = format_money(invoice.open_amount, currency)
    unnamed_text = format_money(record.unnamed_amount, currency)
    summary_nl = (
        f"Factuur {invoice.number} is na de veertiendagenbrief verhoogd met {raised_text} tot {open_text}. "
        f"Die brief noemde {unnamed_text} niet, dus daarover zijn geen incassokosten verschuldigd "
        "totdat een nieuwe veertiendagenbrief het hele bedrag noemt en de termijn daarvan onbetaald verstrijkt. "
        "De volgende aanmaning is die nieuwe veertiendagenbrief."
    )
    summary_en = (
        f"Invoice {invoice.number} was raised by {raised_text} to {open_text} after its 14-day letter. "
        f"That letter did not name {unnamed_text}, so no collection costs are owed over it until a new "
        "14-day letter names the whole amount and its term passes unpaid. "
        "The next reminder is that new 14-day letter."
    )
    from_stage, to_stage = stages
    return TimelineEvent(
        creditor_id=invoice.creditor_id,
        debtor_id=invoice.debtor_id,
        invoice_id=invoice.pk,
        kind=TimelineKind.STAGE,
        source=record.source,
        summary=summary_nl[:500],
        data={
            "reason": "raised_after_letter",
            "raised_by": str(raised_by),
            "unnamed": str(record.unnamed_amount),
            "open_amount": str(invoice.open_amount),
            "from_stage": from_stage,
            "to_stage": to_stage,
            "summary_en": summary_en,
        },
        at=at,
    )


def unnamed_amounts(creditor_id: int, invoice_ids: Collection[int]) -> dict[int, Decimal]:
    """Return, by invoice id, what was raised after the invoice's 14-day letter and no letter named yet.

    A 14-day letter sent after the raise states the whole open amount,
    because messages are rendered at dispatch, so its invoice is left out.
    One query.
    """
    from betaalreis.outbox.models import CommunicationInvoice, CommunicationStatus

    letter_codes = Stage.objects.filter(policy__creditor_id=creditor_id, is_fourteen_day_letter=True).values("code")
    later_letters = CommunicationInvoice.objects.filter(
        invoice_id=OuterRef("invoice_id"),
        communication_id__gt=OuterRef("last_communication_id"),
        communication__status=CommunicationStatus.SENT,
        communication__stage__in=letter_codes,
    )
    return dict(
        RaiseAfterLetter.objects.filter(creditor_id=creditor_id, invoice_id__in=list(invoice_ids))
        .exclude(Exists(later_letters))
        .values_list("invoice_id", "unnamed_amount")
    )


def dunning_due_dates(invoices: Collection[Invoice]) -> dict[int, dt.date]:
    """Return, by invoice id, the due date that messages state and interest counts from.

    That is the due date of the reopened amount for an invoice whose dunning
    restarted, else the invoice's own due date. Invoices loaded with
    `dunning_restart` selected cost no query, and the others one query together.
    """
    due_dates = {invoice.pk: invoice.due_date for invoice in invoices}
    unloaded = []
    for invoice in invoices:
        if not Invoice.dunning_restart.is_cached(invoice):
            unloaded.append(invoice.pk)
            continue
        restart = getattr(invoice, "dunning_restart", None)
        if restart is not None:
            due_dates[invoice.pk] = restart.due_date
    if unloaded:
        due_dates.update(DunningRestart.objects.filter(invoice_id__in=unloaded).values_list("invoice_id", "due_date"))
    return due_dates


def stale_item_reason(invoice: Invoice, communication_id: int) -> tuple[str, str] | None:
    """Return why the line of `invoice` in communication `communication_id` no longer fits it, in Dutch and English, or None.

    A line planned before the invoice's dunning restarted, or before a raise
    after its 14-day letter, belongs to a stage the run would not plan now.
    Load `invoice` with `dunning_restart` and `raise_after_letter` selected,
    so this reads no rows.
    """
    restart = getattr(invoice, "dunning_restart", None)
    if restart is not None and communication_id <= restart.last_communication_id:
        return ("de aanmaningen zijn opnieuw begonnen", "dunning started again")
    raise_record = getattr(invoice, "raise_after_letter", None)
    if raise_record is not None and communication_id <= raise_record.last_communication_id:
        return ("het bedrag is na de veertiendagenbrief verhoogd", "the amount was raised after the 14-day letter")
    return None


def do_follow_admin_edit(invoice: Invoice, *, was_status: str, was_open: Decimal, source: str) -> None:
    """Restart dunning, or record a raise, after a credit manager edited `invoice` by hand in the admin.

    Call it after the edit was saved, with the status and open amount from
    before it. A paid or credited invoice set open again restarts like one
    an import reopens, and a raised open invoice is recorded like a raise by
    an import.
    """
    if was_status in (InvoiceStatus.PAID, InvoiceStatus.CREDITED) and invoice.status == InvoiceStatus.OPEN:
        do_restart_dunning([invoice], cause=ReopenCause.ADMIN, source=source)
    elif was_status == InvoiceStatus.OPEN and invoice.status == InvoiceStatus.OPEN and invoice.open_amount > was_open:
        do_record_raises([(invoice, invoice.open_amount - was_open)], source=source)
