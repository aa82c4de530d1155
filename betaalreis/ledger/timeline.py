"""Writing the debtor timeline, which is also the audit log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Choices
from django.utils import timezone, translation

from betaalreis.ledger.models import Debtor, Invoice, TimelineEvent

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

# The moment of a replayed day (`run --date`, the demo), set by `dated_at`.
_replayed_moment: ContextVar[dt.datetime | None] = ContextVar("replayed_moment", default=None)


@contextmanager
def dated_at(moment: dt.datetime | None) -> Iterator[None]:
    """Date the timeline events written inside the block at `moment`, or at the real time when it is None.

    A run for a past day matches payments and applies credit with code that
    also serves live imports and the admin. Inside this block their events
    carry the replayed day, like the run's own events. Only the timeline
    is dated this way: rows keep their real creation times.
    """
    token = _replayed_moment.set(moment)
    try:
        yield
    finally:
        _replayed_moment.reset(token)


def event_time() -> dt.datetime:
    """Return the moment a new timeline event is dated: the replayed moment inside `dated_at`, else now."""
    return _replayed_moment.get() or timezone.now()


def payment_event_time(booking_date: dt.date, moment: dt.datetime) -> dt.datetime:
    """Return when the timeline dates a payment booked on `booking_date` and applied at `moment`.

    That is `moment`, or the last microsecond of the booking day in
    Amsterdam when `moment` is later. A statement imported days after its
    bookings then shows each payment on the day the money arrived, after the
    messages sent that day, and not at the import's clock time.
    """
    next_day = dt.datetime.combine(booking_date + dt.timedelta(days=1), dt.time(), tzinfo=AMSTERDAM)
    return min(moment, next_day - dt.timedelta(microseconds=1))


def clip(text: str, limit: int) -> str:
    """Shorten `text` to at most `limit` characters at a word boundary, ending in "…" when cut.

    A summary that quotes an error then never ends in the middle of a word
    or before a closing bracket that the cut removed.
    """
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    ends_in_word = not text[limit - 1].isspace()
    if ends_in_word and " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:") + "…"


def stored_label(choice: Choices) -> str:
    """Return the label of a model choice in Dutch, the language the timeline is stored in.

    Choice labels are lazy translations, so an f-string in a request in
    English, such as a portal request, would otherwise store "Disputed".
    """
    with translation.override("nl"):
        return str(choice.label)


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
        at=at or event_time(),
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


def named_in_timeline(debtor_id: int, key: str, value: int) -> bool:
    """Return whether an event on the debtor's timeline stores `value` under `key` in its data, such as a plan id."""
    return TimelineEvent.objects.filter(debtor_id=debtor_id, **{f"data__{key}": value}).exists()
