"""Celery tasks of the dunning app; thin wrappers around `run_cycle`."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from betaalreis.dunning.run import amsterdam_today, is_future_day, run_cycle
from betaalreis.errors import InvalidInput
from betaalreis.ledger.models import Creditor


@shared_task(name="betaalreis.dunning.run_daily")
def run_daily(day: str | None = None, creditor_slug: str | None = None) -> int:
    """Run the daily job; return how many messages it planned."""
    run_day = dt.date.fromisoformat(day) if day else amsterdam_today()
    if is_future_day(run_day):
        raise InvalidInput(
            f"Invalid day {run_day.isoformat()}: it is after today ({amsterdam_today().isoformat()}, "
            "Europe/Amsterdam), and a run sends its messages right away. Schedule the run on that day."
        )
    creditor = Creditor.objects.get(slug=creditor_slug) if creditor_slug else None
    return run_cycle(run_day, creditor).planned
