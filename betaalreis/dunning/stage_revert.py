"""Undo the stage change of a message that failed for good.

The run moves an invoice to a stage when it plans the stage's message, in
the same transaction. When that message fails permanently and no other
channel can carry it, the debtor never got the stage. Leaving the invoice
there would start a 14-day term that no letter started, or hand over an
invoice whose final notice never went out. So the invoice goes back to the
last stage whose message was sent, and the next run plans the stage again.
"""

from __future__ import annotations

import datetime as dt

from betaalreis.dunning.models import InvoiceStage, Stage, StageAction
from betaalreis.dunning.reopening import counted_message_items
from betaalreis.ledger import timeline
from betaalreis.ledger.models import Invoice, InvoiceStatus, TimelineKind
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus

# A message in one of these statuses was sent or may still be sent, so its
# invoices keep the stage.
_LIVE_STATUSES = (
    CommunicationStatus.SENT,
    CommunicationStatus.PENDING,
    CommunicationStatus.SENDING,
    CommunicationStatus.HELD,
)


def revert_failed_stage(
    communication: Communication, *, reason: str, source: str, at: dt.datetime
) -> int:
    """Move the invoices of `communication` back to the stage they last got, and return their count.

    Only invoices still at the communication's stage move, and only when no
    other message of that stage for them was sent or is still waiting. A
    failed handover also puts the invoice back from handed_over to open.
    Each moved invoice gets a timeline event with `reason`.
    """
    invoice_ids = list(communication.items.values_list("invoice_id", flat=True))
    live = set(
        CommunicationInvoice.objects.filter(
            invoice_id__in=invoice_ids,
            communication__stage=communication.stage,
            communication__status__in=_LIVE_STATUSES,
        )
        .exclude(communication_id=communication.pk)
        .values_list("invoice_id", flat=True)
    )
    invoices = list(
        Invoice.objects.filter(pk__in=invoice_ids, dunning_progress__stage=communication.stage).exclude(pk__in=live)
    )
    if not invoices:
        return 0

    names = dict(
        Stage.objects.filter(
            policy__creditor_id=communication.creditor_id, policy__debtor_kind=communication.debtor.kind
        ).values_list("code", "name_nl")
    )
    is_handover = Stage.objects.filter(
        policy__creditor_id=communication.creditor_id,
        policy__debtor_kind=communication.debtor.kind,
        code=communication.stage,
        action=StageAction.HANDOVER,
    ).exists()
    previous = _previous_stages([invoice.pk for invoice in invoices], communication.stage, set(names))

    for invoice in invoices:
        stage_code, stage_date = previous.get(invoice.pk, ("", None))
        if stage_code:
            InvoiceStage.objects.filter(invoice_id=invoice.pk).update(stage=stage_code, stage_date=stage_date)
        else:
            InvoiceStage.objects.filter(invoice_id=invoice.pk).delete()
        if is_handover and invoice.status == InvoiceStatus.HANDED_OVER:
            invoice.status = InvoiceStatus.OPEN
            invoice.save(update_fields=["status", "updated_at"])

        timeline.record(
            communication.debtor_id,
            TimelineKind.STAGE,
            (
                f"Fase {names.get(communication.stage, communication.stage)} van factuur {invoice.number} "
                f"teruggezet naar {names.get(stage_code, stage_code) if stage_code else 'geen fase'}: "
                f"het bericht is niet verzonden ({timeline.clip(reason, 300)}). De volgende run plant de fase opnieuw."
            ),
            source=source,
            creditor_id=communication.creditor_id,
            invoice=invoice,
            data={
                "communication_id": communication.pk,
                "from_stage": communication.stage,
                "to_stage": stage_code,
                "reason": reason[:500],
            },
            at=at,
        )
    return len(invoices)


def _previous_stages(
    invoice_ids: list[int], failed_stage: str, policy_stages: set[str]
) -> dict[int, tuple[str, dt.date]]:
    """Return per invoice the stage and run date of the latest other message sent for it of a stage in `policy_stages`.

    Messages of other stages, such as a payment plan's instalment reminder,
    never gave the invoice a dunning stage, so they do not count.
    """
    # Messages from before an invoice's dunning restarted gave stages of the earlier cycle.
    rows = (
        counted_message_items(CommunicationInvoice.objects.filter(
            invoice_id__in=invoice_ids,
            communication__status=CommunicationStatus.SENT,
            communication__stage__in=sorted(policy_stages),
        ))
        .exclude(communication__stage=failed_stage)
        .order_by("communication__sent_at", "communication_id")
        .values_list("invoice_id", "communication__stage", "communication__run_date")
    )
    return {invoice_id: (stage, run_date) for invoice_id, stage, run_date in rows}
