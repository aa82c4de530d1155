"""Celery tasks of the outbox; thin wrappers around `dispatch`."""

from __future__ import annotations

import logging

from celery import shared_task

from betaalreis.dunning.tasks import creditor_for_task
from betaalreis.outbox.dispatch import dispatch

logger = logging.getLogger(__name__)


@shared_task(name="betaalreis.outbox.dispatch")
def dispatch_outbox(creditor_slug: str | None = None) -> int:
    """Send every message that is due now, for one creditor or all; return how many were sent.

    Celery beat starts it every BETAALREIS_DISPATCH_EVERY_SECONDS, so that a
    message held until the contact hours or a Monday goes out soon after.
    """
    creditor = creditor_for_task(creditor_slug) if creditor_slug else None
    summary = dispatch(creditor=creditor)
    logger.info(
        "outbox dispatched",
        extra={
            "creditor_id": creditor.pk if creditor is not None else None,
            "sent": summary.total("sent"),
            "failed": summary.total("failed"),
            "retry": summary.total("retry"),
        },
    )
    return summary.total("sent")
