"""When the message of an invoice's current stage went out, for the wait before the next stage.

A stage waits `min_days_after_previous` days after the previous one, and
those days count from when the debtor got the previous message. Most
messages go out on the run day that planned them, the `stage_date` of
`InvoiceStage`. A message held over a Sunday, outside contact hours or
until a later replayed run goes out later, and one not sent yet has not
reached the debtor at all.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db.models import F, Q

from betaalreis.ledger.models import Creditor

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def late_stage_send_dates(creditor: Creditor, day: dt.date, max_gap_days: int) -> dict[int, dt.date]:
    """Return, by invoice id, the day its current stage's message went out, where that is after the stage date.

    An invoice whose message for its current stage is not sent yet gets
    `day`, so a stage with a minimum gap waits for it. Invoices whose message
    went out on the stage date are left out, and so are messages sent more
    than `max_gap_days` before `day`, because no gap reaches back that far.
    One query.
    """
    from betaalreis.outbox.models import CommunicationInvoice, CommunicationStatus

    unsent = (CommunicationStatus.PENDING, CommunicationStatus.HELD, CommunicationStatus.SENDING)
    sent_since = dt.datetime.combine(day - dt.timedelta(days=max_gap_days), dt.time(), tzinfo=AMSTERDAM)
    rows = (
        CommunicationInvoice.objects.filter(
            communication__creditor=creditor,
            communication__stage=F("invoice__dunning_progress__stage"),
            communication__run_date=F("invoice__dunning_progress__stage_date"),
        )
        .filter(
            Q(communication__status__in=unsent)
            | Q(
                communication__status=CommunicationStatus.SENT,
                communication__sent_at__gte=sent_since,
                communication__sent_at__date__gt=F("communication__run_date"),
            )
        )
        .values_list("invoice_id", "communication__status", "communication__sent_at")
    )

    send_dates: dict[int, dt.date] = {}
    for invoice_id, status, sent_at in rows:
        sent_on = day if status in unsent else sent_at.astimezone(AMSTERDAM).date()
        send_dates[invoice_id] = max(sent_on, send_dates.get(invoice_id, sent_on))
    return send_dates
