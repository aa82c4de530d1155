"""The 14-day terms that letters already sent have started.

A term starts from the day a 14-day letter actually went out (its
communication's `sent_at`, Amsterdam date) by the channel it went out on,
so a letter that waited in the outbox never shortens the debtor's term.
"""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo

from django.db.models import F

from betaalreis.dunning.models import Stage
from betaalreis.dunning.reopening import counted_message_items
from betaalreis.ledger.models import Creditor
from betaalreis.legal.fourteen_day import FourteenDayTerm, fourteen_day_term
from betaalreis.legal.policy import LegalSettings
from betaalreis.outbox.models import CommunicationInvoice, CommunicationStatus

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def fourteen_day_stage_codes(creditor: Creditor) -> set[str]:
    return set(
        Stage.objects.filter(policy__creditor=creditor, is_fourteen_day_letter=True)
        .values_list("code", flat=True)
    )


def sent_fourteen_day_terms(
    creditor: Creditor,
    settings: LegalSettings,
    *,
    invoice_ids: Iterable[int] | None = None,
    stage_letter_only: bool = False,
) -> dict[int, FourteenDayTerm]:
    """Return, per invoice id, the term of the latest 14-day letter sent for it.

    Without `invoice_ids`, covers every invoice of the creditor that is at a
    14-day letter stage now. With `stage_letter_only` as well, the first
    letter sent since the invoice got that stage counts: the one planned on
    its stage date, or the next one that named it when that one failed. A
    later letter that names the invoice again for another invoice's sake
    (`PlannedMessage.named_only`) then does not count. One query.
    """
    codes = fourteen_day_stage_codes(creditor)
    if not codes:
        return {}

    # A letter from before the invoice's dunning restarted named another amount, so it no longer counts.
    rows = counted_message_items(CommunicationInvoice.objects.filter(
        communication__creditor=creditor,
        communication__stage__in=codes,
        communication__status=CommunicationStatus.SENT,
    ))
    if invoice_ids is None:
        rows = rows.filter(invoice__dunning_progress__stage__in=codes)
        if stage_letter_only:
            rows = rows.filter(communication__run_date__gte=F("invoice__dunning_progress__stage_date"))
    else:
        rows = rows.filter(invoice_id__in=list(invoice_ids))

    terms: dict[int, FourteenDayTerm] = {}
    cache: dict[tuple, FourteenDayTerm] = {}
    for invoice_id, channel, sent_at in rows.values_list(
        "invoice_id", "communication__channel", "communication__sent_at"
    ).order_by("communication__sent_at"):
        if stage_letter_only and invoice_id in terms:
            continue
        key = (sent_at.astimezone(AMSTERDAM).date(), channel)
        if key not in cache:
            cache[key] = fourteen_day_term(key[0], channel, settings)
        terms[invoice_id] = cache[key]
    return terms
