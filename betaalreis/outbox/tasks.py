"""Celery tasks of the outbox; thin wrappers around `dispatch`."""

from __future__ import annotations

from celery import shared_task

from betaalreis.outbox.dispatch import dispatch


@shared_task(name="betaalreis.outbox.dispatch")
def dispatch_outbox() -> int:
    """Send every due message; return how many were sent."""
    return dispatch().total("sent")
