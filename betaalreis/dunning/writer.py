"""Writing a plan to the outbox, in one transaction with the stage changes.

Either every communication of a creditor's run and the matching invoice
stage changes are stored, or none are: a crash mid-write leaves the ledger
as it was, and the next run plans the same messages again.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import repeat
from typing import Any

from zoneinfo import ZoneInfo

from django.db import connection, models, transaction
from django.db.models import Count
from django.utils import timezone

from betaalreis.dunning.bulk import (
    SavedInstances,
    copy_text,
    copy_text_value,
    insert_rows,
    insert_values,
    value_adapter,
    values_subquery,
)
from betaalreis.dunning.models import InvoiceStage, StageAction
from betaalreis.dunning.planner import Plan, PlannedMessage
from betaalreis.dunning.send_days import HELD_LOOKBACK, sent_between
from betaalreis.ledger.models import Creditor, Invoice, InvoiceStatus, TimelineEvent, TimelineKind
from betaalreis.legal.contact import ContactDecision, HoldReason, contact_week_start, decide_contact
from betaalreis.legal.models import legal_settings_for
from betaalreis.ledger.money import format_money
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
logger = logging.getLogger(__name__)
# A plan with this many new messages refreshes the statistics of the tables
# it wrote (see `_analyze_written_tables`). In bench.plan, a daily run of
# 100,000 invoices writes about 4,900 messages and a first run about 22,500.
ANALYZE_AFTER_MESSAGES = 10_000

# The columns that `_analyze_written_tables` refreshes, per table.
_ANALYZED_FIELDS: dict[type[models.Model], tuple[str, ...]] = {
    Communication: (
        "id", "creditor_id", "debtor_id", "status", "channel", "stage", "run_date", "not_before", "claimed_at",
    ),
    CommunicationInvoice: ("communication_id", "invoice_id"),
    InvoiceStage: ("invoice_id", "stage"),
}

_CHANNEL_NAMES_NL = {
    "email": "e-mail",
    "sms": "sms",
    "letter": "brief",
    "phone": "belopdracht",
    "whatsapp": "WhatsApp",
}


@dataclass(slots=True)
class WriteResult:
    created: Sequence[Communication] = field(default_factory=list)
    already_planned: int = 0
    held: int = 0
    unreachable: int = 0
    handed_over_invoices: int = 0


_HOLD_REASONS_NL = {
    HoldReason.OUTSIDE_CONTACT_HOURS: "buiten de contacturen",
    HoldReason.SUNDAY: "zondag",
    HoldReason.PUBLIC_HOLIDAY: "feestdag",
    HoldReason.WEEKLY_MAXIMUM: "maximum aantal contacten deze week bereikt",
}


def describe_hold(decision: ContactDecision) -> str:
    return ", ".join(_HOLD_REASONS_NL[reason] for reason in decision.reasons)


class ContactRules:
    """The creditor's contact rules for one run, with each debtor's contacts this week."""

    def __init__(self, creditor: Creditor, moment: dt.datetime) -> None:
        self.moment = moment
        self.settings = legal_settings_for(creditor)
        self._decisions: dict[int, ContactDecision] = {}
        week_start = contact_week_start(moment).date()
        week_end = week_start + dt.timedelta(days=6)
        # Messages count for the week of the day they reach the debtor, so
        # one held from Sunday to Monday counts for Monday's week.
        self.contacts: dict[int, int] = dict(
            Communication.objects.filter(
                creditor=creditor,
                run_date__gte=week_start - HELD_LOOKBACK,
                run_date__lte=week_end,
            )
            .filter(sent_between(week_start, week_end))
            .exclude(status__in=[CommunicationStatus.CANCELLED, CommunicationStatus.FAILED])
            .values("debtor_id")
            .annotate(count=Count("id"))
            .values_list("debtor_id", "count")
        )

    def decide(self, debtor_id: int) -> ContactDecision:
        """Decide when a new contact with the debtor may go out, and count it."""
        count = self.contacts.get(debtor_id, 0)
        # For one run the decision depends only on the count, and it is immutable.
        decision = self._decisions.get(count)
        if decision is None:
            decision = self._decisions[count] = decide_contact(self.moment, count, self.settings)
        self.contacts[debtor_id] = count + 1
        return decision


def idempotency_key(creditor_slug: str, message: PlannedMessage, day: dt.date) -> str:
    """Return the key that makes a message unique per debtor, stage, channel and day."""
    key = f"{creditor_slug}:{message.debtor.id}:{message.stage.code}:{message.channel}:{day.isoformat()}"
    if message.currency != "EUR":
        key += f":{message.currency}"
    return key


def _existing_keys(keys: list[str]) -> set[str]:
    return set(
        Communication.objects.filter(idempotency_key__in=values_subquery(keys, array_type="text"))
        .order_by()
        .values_list("idempotency_key", flat=True)
    )


def count_planned_on(creditor: Creditor, day: dt.date) -> int:
    """Count the dunning messages an earlier run already planned for `day`.

    A second run on the same day plans nothing new for them, because their
    invoices already carry the stage, so the count comes from the outbox.
    Instalment reminders are not dunning stages and are left out.
    """
    from betaalreis.channels.render.context import INSTALMENT_REMINDER_STAGE

    return (
        Communication.objects.filter(creditor=creditor, run_date=day)
        .exclude(stage=INSTALMENT_REMINDER_STAGE)
        .count()
    )


def _summary(message: PlannedMessage, formatted_total: str) -> str:
    count = len(message.invoice_ids)
    invoices = "1 factuur" if count == 1 else f"{count} facturen"
    channel = _CHANNEL_NAMES_NL.get(message.channel or "", message.channel or "")
    return (
        f"{message.stage.name_nl} gepland per {channel}: {invoices}, "
        f"{formatted_total}"
    )


@transaction.atomic
def write_plan(plan: Plan, *, source: str, moment: dt.datetime) -> WriteResult:
    """Store the plan's messages in the outbox and move their invoices to the new stage.

    The timeline events are dated `moment`, the run's moment, so a run for a
    past day dates them on that day. Row creation times stay the real time.
    """
    result = WriteResult()
    creditor = plan.creditor
    reachable = [message for message in plan.messages if message.channel is not None]
    # NOTE: a debtor with no channel the stage offers gets nothing and keeps
    # its stage, so it is planned again every day until its contact data is fixed.
    result.unreachable = len(plan.messages) - len(reachable)

    keyed = [(idempotency_key(creditor.slug, message, plan.day), message) for message in reachable]
    existing = _existing_keys([key for key, _ in keyed])
    result.already_planned = count_planned_on(creditor, plan.day)
    now = timezone.now()
    rules = ContactRules(creditor, moment)

    communication_rows: list[dict[str, Any]] = []
    fresh: list[PlannedMessage] = []
    for key, message in keyed:
        if key in existing:
            continue
        decision = rules.decide(message.debtor.id)
        communication_rows.append(
            {
                "creditor_id": creditor.pk,
                "debtor_id": message.debtor.id,
                "channel": message.channel,
                "stage": message.stage.code,
                "language": message.debtor.language,
                "idempotency_key": key,
                "status": CommunicationStatus.PENDING,
                "run_date": plan.day,
                "not_before": decision.allowed_at if decision.is_held else None,
                "hold_reason": describe_hold(decision) if decision.is_held else "",
                "total_amount": message.total,
                "currency": message.currency,
                "created_at": now,
            }
        )
        fresh.append(message)
    communication_ids = insert_rows(Communication, communication_rows)

    written = list(zip(communication_ids, communication_rows, fresh, strict=True))
    if not written:
        result.created = []
        return result

    # Generators, so that on PostgreSQL the server stores each COPY's first
    # rows while Python builds the next ones.
    if connection.vendor == "postgresql":
        copy_text(CommunicationInvoice, _LINK_FIELDS, _link_lines(written))
    else:
        insert_values(CommunicationInvoice, _LINK_FIELDS, _link_rows(written))

    invoices_by_stage: dict[tuple[str, bool], list[int]] = defaultdict(list)
    # Invoices that a 14-day letter names again. They keep their stage.
    named_only: set[int] = set()
    for _communication_id, _row, message in written:
        is_handover = message.stage.action == StageAction.HANDOVER
        stage_invoice_ids = invoices_by_stage[(message.stage.code, is_handover)]
        if message.named_only:
            stage_invoice_ids.extend(
                invoice_id for invoice_id in message.invoice_ids if invoice_id not in message.named_only
            )
            named_only.update(message.named_only)
        else:
            stage_invoice_ids.extend(message.invoice_ids)
    result.handed_over_invoices = _move_to_stages(
        invoices_by_stage, communication_ids, plan, now, named_only, source=source
    )

    result.held = sum(1 for row in communication_rows if row["not_before"] is not None)
    insert_values(TimelineEvent, _EVENT_FIELDS, _timeline_rows(written, creditor, source, moment))
    if len(communication_rows) >= ANALYZE_AFTER_MESSAGES:
        _analyze_written_tables()

    result.created = SavedInstances(Communication, communication_ids, communication_rows)
    return result


# The timeline fields that `write_plan` fills. The event names no invoice,
# because it lists the invoices in its data.
_EVENT_FIELDS = ("creditor_id", "debtor_id", "kind", "at", "source", "summary", "data")

_LINK_FIELDS = ("communication_id", "invoice_id", "open_amount")
# Lines per chunk of `_link_lines`: large enough that each write to the COPY
# carries many rows, small enough that the server can start on the first ones.
_LINK_LINES_PER_CHUNK = 5_000

# A written message: its communication id, its outbox row and the planned message.
_Written = tuple[int, dict[str, Any], PlannedMessage]


def _link_rows(written: Sequence[_Written]) -> Iterator[tuple[int, int, Decimal]]:
    """Yield a (communication id, invoice id, open amount) row per invoice of each message."""
    for communication_id, _row, message in written:
        count = len(message.invoice_ids)
        yield from zip(repeat(communication_id, count), message.invoice_ids, message.open_amounts, strict=True)


def _link_lines(written: Sequence[_Written]) -> Iterator[str]:
    """Yield the rows of `_link_rows` as COPY text, in chunks of about `_LINK_LINES_PER_CHUNK` lines.

    Copying 92,500 rows shaped like those of bench.plan's first run took
    0.043 s of the client's CPU time this way. Through `insert_values`, which
    formats each value on its own, it took 0.056 s (psycopg 3.3, median of 5
    runs of one script, 2-core Intel Xeon host under load).
    """
    lines: list[str] = []
    for communication_id, _row, message in written:
        prefix = f"{communication_id}\t"
        lines += [
            f"{prefix}{invoice_id}\t{open_amount}\n"
            for invoice_id, open_amount in zip(message.invoice_ids, message.open_amounts, strict=True)
        ]
        if len(lines) >= _LINK_LINES_PER_CHUNK:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def _timeline_rows(
    written: Sequence[_Written], creditor: Creditor, source: str, moment: dt.datetime
) -> Iterator[tuple[Any, ...]]:
    """Yield the timeline rows of the written messages as `_EVENT_FIELDS` values.

    Every message gets a stage event. The hold events of held messages come
    after all stage events, so the timeline ids keep that order.
    """
    at = _adapted(TimelineEvent, "at", moment)
    dump_data = value_adapter(TimelineEvent, "data") or (lambda data: data)
    stage_event_data = _StageEventData()
    formatted_totals: dict[tuple[Decimal, str], str] = {}
    held_messages: list[_Written] = []
    for communication_id, row, message in written:
        total = row["total_amount"]
        if (total, message.currency) not in formatted_totals:
            formatted_totals[(total, message.currency)] = format_money(total, message.currency)
        yield (
            creditor.pk,
            message.debtor.id,
            TimelineKind.STAGE,
            at,
            source,
            _summary(message, formatted_totals[(total, message.currency)]),
            stage_event_data(communication_id, message, total),
        )
        if row["not_before"] is not None:
            held_messages.append((communication_id, row, message))

    for communication_id, row, message in held_messages:
        not_before = row["not_before"]
        yield (
            creditor.pk,
            message.debtor.id,
            TimelineKind.HELD,
            at,
            source,
            (
                f"{message.stage.name_nl} tegengehouden tot "
                f"{not_before.astimezone(AMSTERDAM):%d-%m-%Y %H:%M}: "
                f"{row['hold_reason']}"
            ),
            dump_data(
                {
                    "communication_id": communication_id,
                    "not_before": not_before.isoformat(),
                    "reason": row["hold_reason"],
                }
            ),
        )


class _StageEventData:
    """Builder of the JSON text of a stage event's data, equal to `json.dumps` of the same dict.

    The stage, channel and currency repeat across messages, so their parts of
    the text are encoded once. For 20,000 events, as in bench.plan's first
    run, this took about 0.05 s of CPU time, and `json.dumps` of each event's
    dict 0.12 s (timeit, 2-core Intel Xeon host under load).
    """

    def __init__(self) -> None:
        self._middles: dict[tuple[str, str | None], str] = {}
        self._ends: dict[str, str] = {}

    def __call__(self, communication_id: int, message: PlannedMessage, total: Decimal) -> str:
        middle_key = (message.stage.code, message.channel)
        middle = self._middles.get(middle_key)
        if middle is None:
            middle = self._middles[middle_key] = (
                f', "stage": {json.dumps(message.stage.code)}, "channel": {json.dumps(message.channel)}, '
                '"invoice_ids": ['
            )
        end = self._ends.get(message.currency)
        if end is None:
            end = self._ends[message.currency] = f', "currency": {json.dumps(message.currency)}}}'

        # Invoice ids are ints, and the text of a Decimal has no character that JSON escapes.
        invoice_ids = ", ".join(map(str, message.invoice_ids))
        return f'{{"communication_id": {communication_id}{middle}{invoice_ids}], "total": "{total}"{end}'


def _adapted(model: type[models.Model], attname: str, value: Any) -> Any:
    adapter = value_adapter(model, attname)
    return value if adapter is None else adapter(value)


def _analyze_written_tables() -> None:
    """Refresh PostgreSQL's statistics of the tables a large plan has just filled.

    Autovacuum analyzes a table some time after it changed a lot. Dispatch
    runs right after planning, and with statistics from before a first run
    the planner misjudges the new outbox rows. The timeline is left to
    autovacuum because dispatch only inserts into it, and analyzing its JSON
    column took about as long as the other three tables together. SQLite
    keeps no statistics that this would change.

    Only the columns that dispatch and the next plan filter, join or sort on
    are analyzed (`_ANALYZED_FIELDS`). In bench.plan's first run, on a busy
    2-core machine, that took 0.06 s of server CPU time in place of 0.14 s.
    PostgreSQL (15) keeps the table's count of changes after an ANALYZE of
    some columns, so autovacuum still analyzes every column later.
    """
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model, attnames in _ANALYZED_FIELDS.items():
            columns = ", ".join(quote(model._meta.get_field(attname).column) for attname in attnames)
            cursor.execute(f"ANALYZE {quote(model._meta.db_table)} ({columns})")
    logger.info("outbox tables analyzed", extra={"tables": len(_ANALYZED_FIELDS)})


def _move_to_stages(
    invoices_by_stage: dict[tuple[str, bool], list[int]],
    communication_ids: Sequence[int],
    plan: Plan,
    now: dt.datetime,
    named_only: set[int],
    *,
    source: str,
) -> int:
    """Give the invoices their new stage, hand over those of a handover stage, and count those.

    The invoices in `named_only` keep their stage. Open checkouts of the
    handed-over invoices end (`supersede_checkouts_of_invoices`).
    """
    if connection.vendor == "sqlite":
        _copy_stages_from_outbox(communication_ids, named_only)
    else:
        _write_stage_rows(invoices_by_stage, plan)

    handover_invoice_ids = [
        invoice_id
        for (_stage_code, is_handover), invoice_ids in invoices_by_stage.items()
        if is_handover
        for invoice_id in invoice_ids
    ]
    if handover_invoice_ids:
        from betaalreis.payments.services import supersede_checkouts_of_invoices

        Invoice.objects.filter(pk__in=values_subquery(handover_invoice_ids, array_type="bigint")).update(
            status=InvoiceStatus.HANDED_OVER, updated_at=now
        )
        # The debtor now pays the collection agency, so a checkout still open for these invoices must not be paid.
        supersede_checkouts_of_invoices(handover_invoice_ids, source=source)
    return len(handover_invoice_ids)


def _write_stage_rows(invoices_by_stage: dict[tuple[str, bool], list[int]], plan: Plan) -> None:
    """Update the stage rows of the invoices that have one, and COPY new rows for the rest."""
    new_lines: list[str] = []
    for (stage_code, _is_handover), invoice_ids in invoices_by_stage.items():
        staged = [invoice_id for invoice_id in invoice_ids if invoice_id in plan.staged_invoice_ids]
        if staged:
            InvoiceStage.objects.filter(pk__in=values_subquery(staged, array_type="bigint")).update(
                stage=stage_code, stage_date=plan.day
            )
        if len(staged) < len(invoice_ids):
            # All new rows of a stage end in the same stage and day.
            line_end = f"\t{copy_text_value(stage_code)}\t{plan.day.isoformat()}\n"
            new_lines.append(
                "".join(
                    [
                        f"{invoice_id}{line_end}"
                        for invoice_id in invoice_ids
                        if invoice_id not in plan.staged_invoice_ids
                    ]
                )
            )
    if new_lines:
        copy_text(InvoiceStage, ("invoice_id", "stage", "stage_date"), new_lines)


def _copy_stages_from_outbox(communication_ids: Sequence[int], named_only: set[int]) -> None:
    """Give each invoice listed in the new communications, except those of `named_only`, the stage and run day of its communication.

    SQLite copies them from the outbox link rows just written, with one
    upsert. In bench.plan's first run this took 0.1 s of CPU time for
    100,000 invoices, where inserting the 103,000 link rows from Python took
    0.75 s. PostgreSQL takes the other way (`_write_stage_rows`), because
    there the upsert of 103,000 rows took 2.0 s of server time against 0.8 s
    for COPY (PostgreSQL 15, timed with psycopg).
    """
    if not communication_ids:
        return
    quote = connection.ops.quote_name
    communications = values_subquery(communication_ids, array_type="bigint")
    named_only_ids = values_subquery(sorted(named_only), array_type="bigint")
    # SQLite needs the WHERE clause, or it reads ON CONFLICT as part of the join.
    sql = (
        f"INSERT INTO {quote(InvoiceStage._meta.db_table)} (invoice_id, stage, stage_date) "
        f"SELECT item.invoice_id, communication.stage, communication.run_date "
        f"FROM {quote(CommunicationInvoice._meta.db_table)} item "
        f"JOIN {quote(Communication._meta.db_table)} communication ON communication.id = item.communication_id "
        f"WHERE item.communication_id IN ({communications.sql}) AND item.invoice_id NOT IN ({named_only_ids.sql}) "
        f"ON CONFLICT (invoice_id) DO UPDATE SET stage = excluded.stage, stage_date = excluded.stage_date"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*communications.params, *named_only_ids.params])
