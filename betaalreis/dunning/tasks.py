"""Celery tasks of the dunning app; thin wrappers around `run_cycle`."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from betaalreis.dunning.run import amsterdam_today, is_future_day, run_cycle
from betaalreis.errors import BetaalreisError, InvalidInput
from betaalreis.ledger.models import Creditor


@shared_task(name="betaalreis.dunning.run_daily")
def run_daily(day: str | None = None, creditor_slug: str | None = None) -> int:
    """Run the daily job for one creditor or all; return how many messages it planned.

    Celery beat starts it every day at BETAALREIS_DAILY_RUN_TIME.
    """
    run_day = dt.date.fromisoformat(day) if day else amsterdam_today()
    if is_future_day(run_day):
        raise InvalidInput(
            f"Invalid day {run_day.isoformat()}: it is after today ({amsterdam_today().isoformat()}, "
            "Europe/Amsterdam), and a run sends its messages right away. Schedule the run on that day."
        )
    creditor = creditor_for_task(creditor_slug) if creditor_slug else None
    summary = run_cycle(run_day, creditor)
    if summary.failed_creditors:
        # The other creditors were planned and dispatched, and failing the task makes the error visible.
        failed = ", ".join(f"{failure.creditor.slug} ({failure.error})" for failure in summary.failed_creditors)
        raise BetaalreisError(
            f"The run of {run_day.isoformat()} failed for {failed}; the log line 'creditor run failed' has "
            "the traceback. Fix the error and run again for that creditor.",
            code="creditor_run_failed",
        )
    return summary.planned


def creditor_for_task(slug: str) -> Creditor:
    """Return the creditor with `slug`, or raise InvalidInput that names the known slugs."""
    creditor = Creditor.objects.filter(slug=slug).first()
    if creditor is not None:
        return creditor
    known = ", ".join(Creditor.objects.order_by("slug").values_list("slug", flat=True)) or "none yet"
    raise InvalidInput(
        f"Creditor {slug!r} not found. Known creditors: {known}. "
        "Pass one of them as creditor_slug, or leave it out to run for every creditor."
    )
