"""Holding invoices that may be time-barred, and releasing them after review.

The planner calls `find_limitation_holds`; `do_release_limitation_hold` and
`do_restore_limitation_hold` are the credit manager's actions, each with a
timeline row as the audit record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext, ngettext

from betaalreis.dunning.bulk import values_subquery
from betaalreis.dunning.models import LimitationRelease
from betaalreis.errors import InvalidInput
from betaalreis.ledger import timeline
from betaalreis.ledger.models import Allocation, Invoice, InvoiceKind, InvoiceStatus, TimelineKind
from betaalreis.legal.limitation import barred_due_dates_before, check_limitation
from betaalreis.outbox.history import invoice_histories

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# How many invoice numbers a note names; the rest are counted.
MAX_NAMED_HOLDS = 10


@dataclass(frozen=True, slots=True)
class LimitationHold:
    """An open invoice the run does not chase because its claim may be time-barred."""

    invoice_id: int
    debtor_id: int
    number: str
    due_date: dt.date
    # The latest written reminder or payment on record, if any.
    last_interruption: dt.date | None
    barred_from: dt.date


def find_limitation_holds(
    day: dt.date, rows: Iterable[tuple[int, int, dt.date, str]]
) -> dict[int, LimitationHold]:
    """Return, by invoice id, the invoices of `rows` to hold on `day`.

    `rows` are (invoice id, debtor id, due date, number) of open invoices.
    An invoice is held when five years passed since its due date, its
    latest written reminder (letter or email) and its latest payment, and
    no one released it. Only invoices due more than five years ago are
    looked up, with three queries, so a ledger without them costs none.
    """
    before = barred_due_dates_before(day)
    candidates = [row for row in rows if row[2] < before]
    if not candidates:
        return {}

    invoice_ids = [invoice_id for invoice_id, _debtor_id, _due, _number in candidates]
    # One parameter for all ids, so SQLite's limit of 32,766 parameters per
    # statement does not bound how many old invoices a run can look up.
    selected = values_subquery(invoice_ids, array_type="bigint")
    released = set(
        LimitationRelease.objects.filter(invoice_id__in=selected).values_list("invoice_id", flat=True)
    )
    histories = invoice_histories(invoice_ids)
    payments = dict(
        Allocation.objects.filter(invoice_id__in=selected, payment__isnull=False, amount__gt=0)
        .values("invoice_id")
        .annotate(last=Max("payment__booking_date"))
        .values_list("invoice_id", "last")
    )

    holds: dict[int, LimitationHold] = {}
    for invoice_id, debtor_id, due_date, number in candidates:
        if invoice_id in released:
            continue
        history = histories.get(invoice_id)
        reminded_at = history.last_written_reminder_at if history is not None else None
        reminded_on = reminded_at.astimezone(AMSTERDAM).date() if reminded_at is not None else None
        check = check_limitation(due_date, [reminded_on, payments.get(invoice_id)])
        if check.is_possibly_barred(day):
            holds[invoice_id] = LimitationHold(
                invoice_id, debtor_id, number, due_date, check.last_interruption, check.barred_from
            )
    return holds


def limitation_note(creditor_id: int, numbers: Iterable[str], day: dt.date) -> str:
    """Return a sentence in the active language naming the open invoices of `numbers` the run will hold.

    It is empty when there are none. It is meant for the import report, so
    the credit manager learns of a possibly time-barred claim before the
    first run.
    """
    # Only invoices due more than five years ago can be held, so the query
    # selects those and Python keeps the ones the file lists. A file of any
    # size then costs one query.
    file_numbers = set(numbers)
    rows = [
        row
        for row in Invoice.objects.filter(
            creditor_id=creditor_id,
            kind=InvoiceKind.INVOICE,
            status=InvoiceStatus.OPEN,
            open_amount__gt=0,
            due_date__lt=barred_due_dates_before(day),
        )
        .order_by("due_date", "number")
        .values_list("id", "debtor_id", "due_date", "number")
        if row[3] in file_numbers
    ]
    holds = find_limitation_holds(day, rows)
    if not holds:
        return ""

    named = [hold.number for hold in holds.values()][:MAX_NAMED_HOLDS]
    listed = ", ".join(named)
    if len(holds) > MAX_NAMED_HOLDS:
        listed = gettext("%(named)s en nog %(more)d") % {"named": listed, "more": len(holds) - MAX_NAMED_HOLDS}
    return ngettext(
        "%(count)d factuur is meer dan 5 jaar over de vervaldatum zonder aanmaning of betaling in "
        "Betaalreis en kan verjaard zijn (art. 3:307 BW): %(invoices)s. De run houdt deze factuur aan tot "
        "u de factuur vrijgeeft met `betaalreis limitation release`.",
        "%(count)d facturen zijn meer dan 5 jaar over de vervaldatum zonder aanmaning of betaling in "
        "Betaalreis en kunnen verjaard zijn (art. 3:307 BW): %(invoices)s. De run houdt ze aan tot u "
        "ze vrijgeeft met `betaalreis limitation release`.",
        len(holds),
    ) % {"count": len(holds), "invoices": listed}


def _invoice(creditor_id: int, number: str) -> Invoice:
    invoice = Invoice.objects.filter(creditor_id=creditor_id, number=number).first()
    if invoice is None:
        raise InvalidInput(
            gettext("Factuur %(number)r niet gevonden bij deze crediteur.") % {"number": number},
            code="invoice_not_found",
        )
    return invoice


class ReleaseOutcome(StrEnum):
    """Outcome of `do_release_limitation_hold`."""

    RELEASED = "released"
    ALREADY_RELEASED = "already_released"
    # The invoice is paid, credited or otherwise closed, so the run does not chase it anyway.
    NOT_OPEN = "not_open"
    # The invoice is open, but the run does not hold it because it may not be time-barred.
    NOT_HELD = "not_held"


@transaction.atomic
def do_release_limitation_hold(
    creditor_id: int, number: str, *, by: str, reason: str, day: dt.date
) -> ReleaseOutcome:
    """Let the run chase invoice `number` again although its claim may be time-barred on `day`.

    Writes nothing unless the outcome is RELEASED. A release of an invoice
    that is not held would stop the run from holding it later, so only a
    held invoice is released.
    """
    if not reason.strip():
        raise InvalidInput(
            gettext(
                "Een reden is verplicht, bijvoorbeeld de datum van de aanmaning of erkenning die de "
                "verjaring heeft gestuit."
            ),
            code="reason_missing",
        )
    invoice = _invoice(creditor_id, number)
    if LimitationRelease.objects.filter(invoice=invoice).exists():
        return ReleaseOutcome.ALREADY_RELEASED
    if invoice.kind != InvoiceKind.INVOICE or invoice.status != InvoiceStatus.OPEN or invoice.open_amount <= 0:
        return ReleaseOutcome.NOT_OPEN
    holds = find_limitation_holds(day, [(invoice.pk, invoice.debtor_id, invoice.due_date, invoice.number)])
    if invoice.pk not in holds:
        return ReleaseOutcome.NOT_HELD

    LimitationRelease.objects.create(invoice=invoice, released_by=by[:200], reason=reason[:500])
    timeline.record(
        invoice.debtor_id,
        TimelineKind.NOTE,
        f"Factuur {invoice.number} vrijgegeven ondanks mogelijke verjaring: {reason[:300]}",
        source=by,
        creditor_id=creditor_id,
        invoice=invoice,
        data={"limitation_release": True, "reason": reason[:500]},
    )
    return ReleaseOutcome.RELEASED


@transaction.atomic
def do_restore_limitation_hold(creditor_id: int, number: str, *, by: str) -> bool:
    """Hold invoice `number` again if it may be time-barred; return whether a release was removed."""
    invoice = _invoice(creditor_id, number)
    deleted, _per_model = LimitationRelease.objects.filter(invoice=invoice).delete()
    if deleted:
        timeline.record(
            invoice.debtor_id,
            TimelineKind.NOTE,
            f"Vrijgave van factuur {invoice.number} bij mogelijke verjaring ingetrokken",
            source=by,
            creditor_id=creditor_id,
            invoice=invoice,
            data={"limitation_release": False},
        )
    return bool(deleted)
