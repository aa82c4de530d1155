"""Writing the debtor timeline, which is also the audit log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from betaalreis.ledger.models import Debtor, Invoice, TimelineEvent


def record(
    debtor: Debtor | int,
    kind: str,
    summary: str,
    *,
    source: str,
    creditor_id: int | None = None,
    invoice: Invoice | None = None,
    data: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> TimelineEvent:
    """Add one event to a debtor's timeline and return it."""
    debtor_id = debtor if isinstance(debtor, int) else debtor.pk
    if creditor_id is None:
        creditor_id = debtor.creditor_id if isinstance(debtor, Debtor) else Debtor.objects.values_list(
            "creditor_id", flat=True
        ).get(pk=debtor_id)
    return TimelineEvent.objects.create(
        creditor_id=creditor_id,
        debtor_id=debtor_id,
        invoice=invoice,
        kind=kind,
        summary=summary[:500],
        source=source[:300],
        data=data or {},
        at=at or timezone.now(),
    )


def event_row(
    creditor_id: int,
    debtor_id: int,
    kind: str,
    at: dt.datetime,
    source: str,
    summary: str,
    data: dict[str, Any],
    invoice_id: int | None = None,
) -> dict[str, Any]:
    """Return a timeline event as a row by field attname, for `betaalreis.banking.bulk.insert_rows`.

    Set-based writers build rows this way. In the dispatch benchmark
    (bench/plan.py), building TimelineEvent instances took longer than
    storing the rows.
    """
    return {
        "creditor_id": creditor_id,
        "debtor_id": debtor_id,
        "invoice_id": invoice_id,
        "kind": kind,
        "at": at,
        "source": source,
        "summary": summary,
        "data": data,
    }


def record_many(events: Iterable[TimelineEvent]) -> None:
    """Insert unsaved timeline events in batches, for set-based callers."""
    TimelineEvent.objects.bulk_create(list(events), batch_size=2000)
