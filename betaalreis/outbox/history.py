"""The sent dunning messages of each invoice, which message texts and the limitation check depend on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from betaalreis.channels.render.context import INSTALMENT_REMINDER_STAGE
from betaalreis.dunning.bulk import values_subquery
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus

# Channels whose message the debtor reads. A call task is left out because
# it is our own work and may never have reached the debtor.
MESSAGE_CHANNELS = ("email", "letter", "sms", "whatsapp")

# Channels of a written reminder (schriftelijke aanmaning) that interrupts
# the limitation period under art. 3:317 BW. Email counts when it reached the
# debtor. SMS and WhatsApp are left out, because their receipt and content
# are harder to prove in court.
WRITTEN_REMINDER_CHANNELS = ("email", "letter")


@dataclass(frozen=True, slots=True)
class InvoiceHistory:
    """The sent dunning messages of one invoice."""

    # The id of the first sent message to the debtor that listed the invoice,
    # since its latest dunning restart (see `betaalreis.dunning.reopening`).
    first_message_id: int | None = None
    # When the latest written reminder (letter or email) that listed it was sent.
    last_written_reminder_at: dt.datetime | None = None


def invoice_histories(invoice_ids: Iterable[int]) -> dict[int, InvoiceHistory]:
    """Return the history of each invoice that was listed in a sent dunning message, in one query."""
    invoice_ids = sorted(set(invoice_ids))
    if not invoice_ids:
        return {}

    # The query selects by invoice only and the message filters run here.
    # With a filter on the message's status in SQL, SQLite without fresh
    # statistics read every sent message through the status index, so each
    # call took longer as the outbox grew.
    rows = (
        CommunicationInvoice.objects.filter(invoice_id__in=values_subquery(invoice_ids, array_type="bigint"))
        .order_by()
        .values_list(
            "invoice_id", "communication_id", "communication__status", "communication__channel",
            "communication__stage", "communication__sent_at", "invoice__dunning_restart__last_communication_id",
        )
    )
    first_ids: dict[int, int] = {}
    last_written: dict[int, dt.datetime] = {}
    for invoice_id, communication_id, status, channel, stage, sent_at, restart_cut in rows:
        # An instalment reminder requests an instalment, not the invoice.
        if status != CommunicationStatus.SENT or channel not in MESSAGE_CHANNELS or stage == INSTALMENT_REMINDER_STAGE:
            continue
        # A message of the earlier cycle never requested the reopened amount,
        # but it still interrupts the limitation period.
        counts_for_cycle = restart_cut is None or communication_id > restart_cut
        if counts_for_cycle and (invoice_id not in first_ids or communication_id < first_ids[invoice_id]):
            first_ids[invoice_id] = communication_id
        if channel in WRITTEN_REMINDER_CHANNELS and sent_at is not None:
            if invoice_id not in last_written or sent_at > last_written[invoice_id]:
                last_written[invoice_id] = sent_at

    return {
        invoice_id: InvoiceHistory(first_ids.get(invoice_id), last_written.get(invoice_id))
        for invoice_id in set(first_ids) | set(last_written)
    }


def reminded_before(
    messages: Sequence[tuple[Communication, Sequence[CommunicationInvoice]]],
) -> set[int]:
    """Return the ids of the communications whose every invoice was listed in an earlier sent message.

    Only such a message may tell the debtor that we asked before. A message
    for invoices of which one was never reminded does not.
    """
    histories = invoice_histories(item.invoice_id for _communication, items in messages for item in items)
    reminded: set[int] = set()
    for communication, items in messages:
        if not items:
            continue
        earlier = [histories.get(item.invoice_id, InvoiceHistory()).first_message_id for item in items]
        if all(first_id is not None and first_id < communication.pk for first_id in earlier):
            reminded.add(communication.pk)
    return reminded
