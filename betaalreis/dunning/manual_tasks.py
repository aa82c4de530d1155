"""The credit manager's tasks in place of 14-day letters the run cannot send, kept on the debtor timeline.

The planner replaces a consumer's 14-day letter by a `ManualTask` when the
letter font cannot print the debtor's name or address and the debtor did
not agree to electronic communication. `do_record_manual_tasks` stores
each task once per debtor and stage as a timeline row of kind TASK. A
later run that finds the same task (the same letters and invoices) stores
nothing, and a changed task gets a new row that replaces the old one. The
task is done when a run plans the letter on a channel, because the name,
the address, the letter font or the agreement was fixed, or when none of
its invoices is open any more. Each of these steps writes one timeline row.

The latest TASK row of a debtor and stage decides whether its task is
open. Rows are compared by id, because a run that replays a past day dates
its rows on that day while ids keep growing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import translation

from betaalreis.dunning.planner import CHANNEL_NAMES, ManualTask, Plan
from betaalreis.ledger import timeline
from betaalreis.ledger.models import Creditor, Invoice, InvoiceKind, InvoiceStatus, TimelineEvent, TimelineKind

logger = logging.getLogger(__name__)

# The value of `data["task"]` on the timeline rows of these tasks.
TASK_TYPE = "unprintable_fourteen_day_letter"
OPEN = "open"
DONE = "done"

# How many characters and invoice numbers a summary quotes. Longer lists are cut or counted.
MAX_QUOTED_LETTERS = 20
MAX_NAMED_INVOICES = 5


@dataclass(frozen=True, slots=True)
class StoredTask:
    """The latest state of one debtor's task for one stage, as its timeline row stores it."""

    debtor_id: int
    stage_code: str
    stage_name_nl: str
    stage_name_en: str
    letters: str
    invoice_ids: tuple[int, ...]


@dataclass(slots=True)
class TaskResult:
    """The tasks that one call of `do_record_manual_tasks` stored, found still open and closed."""

    # Tasks stored by this run, because they are new or changed since the earlier row.
    stored: list[ManualTask] = field(default_factory=list)
    # Debtor ids of tasks stored by an earlier run and still open, with repeats for two stages.
    still_open: list[int] = field(default_factory=list)
    # Debtor ids of tasks this run closed, because it planned the letter or the invoices closed.
    done: list[int] = field(default_factory=list)


def open_tasks(creditor_id: int) -> dict[tuple[int, str], StoredTask]:
    """Return the creditor's open tasks by (debtor id, stage code). One query."""
    latest: dict[tuple[int, str], dict[str, Any]] = {}
    rows = (
        TimelineEvent.objects.filter(creditor_id=creditor_id, kind=TimelineKind.TASK)
        .order_by("id")
        .values_list("debtor_id", "data")
    )
    for debtor_id, data in rows:
        if data.get("task") == TASK_TYPE:
            latest[(debtor_id, data["stage"])] = data

    return {
        key: StoredTask(
            debtor_id=key[0],
            stage_code=key[1],
            stage_name_nl=data["stage_name_nl"],
            stage_name_en=data["stage_name_en"],
            letters=data["letters"],
            invoice_ids=tuple(data["invoice_ids"]),
        )
        for key, data in latest.items()
        if data["state"] == OPEN
    }


@transaction.atomic
def do_record_manual_tasks(plan: Plan, *, source: str, moment: dt.datetime) -> TaskResult:
    """Store the plan's new and changed tasks, close the tasks that are done, and return what changed.

    Call it after `write_plan`. Each stored or closed task writes one
    timeline row dated `moment`, and an unchanged open task writes none, so
    running the same day twice stores nothing the second time.
    """
    creditor = plan.creditor
    result = TaskResult()
    # Serialises two runs for one creditor on PostgreSQL, so they cannot store a task twice.
    list(Creditor.objects.select_for_update().filter(pk=creditor.pk).values_list("pk", flat=True))
    stored = open_tasks(creditor.pk)

    todays = {task_key(task): task for task in plan.manual_tasks}
    changed = [task for key, task in todays.items() if not _is_unchanged(task, stored.get(key))]
    numbers = _invoice_numbers(creditor.pk, changed)
    for task in changed:
        _record_open(creditor.pk, task, stored.get(task_key(task)), numbers, source, moment)
        result.stored.append(task)
    changed_keys = {task_key(task) for task in changed}
    result.still_open.extend(key[0] for key in todays if key not in changed_keys)

    planned_channels = {
        (message.debtor.id, message.stage.code): message.channel
        for message in plan.messages
        if message.channel is not None and message.stage.is_fourteen_day_letter
    }
    earlier = [task for key, task in stored.items() if key not in todays]
    closed = _closed_invoice_tasks(creditor.pk, [task for task in earlier if task_key(task) not in planned_channels])
    for task in earlier:
        channel = planned_channels.get(task_key(task))
        if channel is None and task_key(task) not in closed:
            result.still_open.append(task.debtor_id)
            continue
        _record_done(creditor.pk, task, channel, source, moment)
        result.done.append(task.debtor_id)

    return result


def task_key(task: StoredTask | ManualTask) -> tuple[int, str]:
    """Return the (debtor id, stage code) that identifies a task."""
    return (task.debtor_id, task.stage_code)


def _is_unchanged(task: ManualTask, stored: StoredTask | None) -> bool:
    return (
        stored is not None
        and stored.letters == task.letters
        and sorted(stored.invoice_ids) == sorted(task.invoice_ids)
    )


def _invoice_numbers(creditor_id: int, tasks: list[ManualTask]) -> dict[int, str]:
    invoice_ids = sorted({invoice_id for task in tasks for invoice_id in task.invoice_ids})
    if not invoice_ids:
        return {}
    return dict(Invoice.objects.filter(creditor_id=creditor_id, id__in=invoice_ids).values_list("id", "number"))


def _closed_invoice_tasks(creditor_id: int, tasks: list[StoredTask]) -> set[tuple[int, str]]:
    """Return the keys of the tasks none of whose invoices is open any more. One query."""
    invoice_ids = sorted({invoice_id for task in tasks for invoice_id in task.invoice_ids})
    if not invoice_ids:
        return set()

    still_open = set(
        Invoice.objects.filter(
            creditor_id=creditor_id,
            id__in=invoice_ids,
            kind=InvoiceKind.INVOICE,
            status=InvoiceStatus.OPEN,
            open_amount__gt=0,
        ).values_list("id", flat=True)
    )
    return {task_key(task) for task in tasks if still_open.isdisjoint(task.invoice_ids)}


def _record_open(
    creditor_id: int,
    task: ManualTask,
    earlier: StoredTask | None,
    numbers: dict[int, str],
    source: str,
    moment: dt.datetime,
) -> None:
    """Write the timeline row of a new task, or of a task whose letters or invoices changed."""
    invoice_numbers = [numbers.get(invoice_id, str(invoice_id)) for invoice_id in task.invoice_ids]
    named = ", ".join(invoice_numbers[:MAX_NAMED_INVOICES])
    more = len(invoice_numbers) - MAX_NAMED_INVOICES
    named_nl = named if more <= 0 else f"{named} en nog {more}"
    named_en = named if more <= 0 else f"{named} and {more} more"
    letters = repr(task.letters[:MAX_QUOTED_LETTERS])
    stage_nl = task.stage.name_for("nl")
    stage_en = task.stage.name_for("en")

    prefix_nl, prefix_en = ("Taak gewijzigd. ", "Task changed. ") if earlier is not None else ("", "")
    head = prefix_nl + (
        f"{stage_nl} niet verstuurd: het lettertype kan de tekens {letters} uit naam of adres niet afdrukken, "
        "en zonder akkoord met elektronische communicatie mag de brief niet per e-mail. Facturen: "
    )
    tail = (
        ". Vraag de debiteur om naam en adres in Latijnse letters of om dat akkoord en leg het vast, of zet "
        "BETAALREIS_LETTER_FONT op een lettertype met deze tekens. De volgende run verstuurt de brief dan."
    )
    # The summary column is 500 characters long, so a long invoice list is cut to fit.
    room = TimelineEvent._meta.get_field("summary").max_length - len(head) - len(tail)
    summary = head + timeline.clip(named_nl, max(room, 20)) + tail
    summary_en = prefix_en + (
        f"{stage_en} not sent: the letter font cannot print the characters {letters} of the name or "
        "address, and without an agreement to electronic communication the letter may not go by email. "
        f"Invoices: {named_en}. Ask the debtor for the name and address in Latin letters or for that "
        "agreement and record it, or set BETAALREIS_LETTER_FONT to a font with these characters. The next "
        "run then sends the letter."
    )

    stored = StoredTask(
        debtor_id=task.debtor_id,
        stage_code=task.stage_code,
        stage_name_nl=stage_nl,
        stage_name_en=stage_en,
        letters=task.letters,
        invoice_ids=task.invoice_ids,
    )
    _write_task_row(
        creditor_id, stored, OPEN, summary, summary_en, source, moment, {"invoices": invoice_numbers}
    )
    logger.warning(
        "manual task stored for an unsendable fourteen-day letter",
        extra={"creditor_id": creditor_id, "debtor_id": task.debtor_id, "stage": task.stage_code,
               "changed": earlier is not None},
    )


def _record_done(
    creditor_id: int, task: StoredTask, channel: str | None, source: str, moment: dt.datetime
) -> None:
    """Write the timeline row that closes a task: the run planned the letter on `channel`, or, for None, its invoices closed."""
    if channel is not None:
        with translation.override("nl"):
            channel_nl = str(CHANNEL_NAMES.get(channel, channel))
        with translation.override("en"):
            channel_en = str(CHANNEL_NAMES.get(channel, channel))
        summary = f"Taak afgerond: {task.stage_name_nl} gepland per {channel_nl}."
        summary_en = f"Task done: {task.stage_name_en} planned by {channel_en}."
    else:
        summary = f"Taak vervallen: {task.stage_name_nl} niet meer nodig, want geen van de facturen staat nog open."
        summary_en = f"Task closed: {task.stage_name_en} no longer needed, because none of its invoices is open."

    _write_task_row(creditor_id, task, DONE, summary, summary_en, source, moment, {"channel": channel or ""})
    logger.info(
        "manual task done",
        extra={"creditor_id": creditor_id, "debtor_id": task.debtor_id, "stage": task.stage_code,
               "channel": channel or ""},
    )


def _write_task_row(
    creditor_id: int,
    task: StoredTask,
    state: str,
    summary: str,
    summary_en: str,
    source: str,
    moment: dt.datetime,
    extra: dict[str, Any],
) -> None:
    """Write one TASK row on the debtor timeline, with the data that `open_tasks` reads back."""
    timeline.record(
        task.debtor_id,
        TimelineKind.TASK,
        summary,
        source=source,
        creditor_id=creditor_id,
        at=moment,
        data={
            "task": TASK_TYPE,
            "state": state,
            "stage": task.stage_code,
            "stage_name_nl": task.stage_name_nl,
            "stage_name_en": task.stage_name_en,
            "letters": task.letters,
            "invoice_ids": list(task.invoice_ids),
            **extra,
            "summary_en": summary_en,
        },
    )
