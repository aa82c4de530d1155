"""Dispatch: send what the outbox holds, each message once.

Status machine (see `TRANSITIONS`): pending → sending → sent | failed, with
cancelled when no invoice of a message is still open. A dispatcher claims a
batch by moving it to `sending` in one locked transaction, so two
dispatchers never take the same row. It renews the lease of the batch while
it sends (`_BatchLease`), and records only the rows it still holds. A
dispatcher that dies after claiming leaves rows in `sending`; once their
lease has run out another dispatcher claims them again. Every adapter must
treat a second hand-over with the same idempotency key as the first (see
`ChannelBackend`), so that retry sends no second message.

A temporary error puts the message back to pending for a retry with
backoff. It fails for good, and falls back to the stage's next channel,
only when its temporary errors have lasted BETAALREIS_DISPATCH_GIVE_UP_DAYS.
A hand-over with an uncertain outcome never fails that way: it waits until
the adapter learns the outcome or stops waiting for it.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Count, F, Max, Q, QuerySet
from django.utils import timezone, translation

from betaalreis.banking.bulk import insert_rows
from betaalreis.banking.gc_pause import cyclic_gc_paused
from betaalreis.channels.base import ChannelBackend, ChannelError, SendResult, get_backend
from betaalreis.channels.delivery import do_plan_fallback, stage_name_nl
from betaalreis.channels.files import DurableBatch, durable_batch
from betaalreis.channels.render.templating import templates_unchanged
from betaalreis.errors import BetaalreisError
from betaalreis.legal.contact import MAX_DAYS_AHEAD, contact_week_start, decide_contact, next_allowed_contact
from betaalreis.legal.fourteen_day import fourteen_day_term
from betaalreis.legal.models import legal_settings_for
from betaalreis.legal.policy import LegalSettings
from betaalreis.legal.validation import CLAIM_CURRENCY
from betaalreis.dunning.letter_channel import fourteen_day_channels
from betaalreis.dunning.models import Stage
from betaalreis.dunning.send_days import HELD_LOOKBACK, sent_between
from betaalreis.dunning.reopening import stale_item_reason
from betaalreis.dunning.stage_revert import revert_failed_stage
from betaalreis.ledger.models import (
    Creditor,
    InvoiceStatus,
    TimelineEvent,
    TimelineKind,
    opt_out_blocks,
)
from betaalreis.ledger.money import format_money
from betaalreis.ledger.timeline import clip, event_row
from betaalreis.ledger.timeline_text import FOURTEEN_DAY_LETTER_NEEDS_POST, OPTED_OUT_SINCE_PLANNED
from betaalreis.outbox.history import reminded_before
from betaalreis.outbox.models import (
    TRANSITIONS,
    Communication,
    CommunicationInvoice,
    CommunicationStatus,
)

if TYPE_CHECKING:
    from betaalreis.outbox.render import BatchClaimData

logger = logging.getLogger(__name__)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

DEFAULT_BATCH_SIZE = 200

# Invoice statuses in which an invoice stays in a planned message. A handover
# notice lists invoices that the run moved to handed_over when it planned it.
_STILL_DUE = {InvoiceStatus.OPEN, InvoiceStatus.HANDED_OVER}
# An instalment reminder lists the invoices of a payment plan, which stay in
# status payment_plan, and requests the instalment, not their open amounts.
INSTALMENT_STAGE = "instalment_reminder"
_STILL_DUE_IN_PLAN = {InvoiceStatus.PAYMENT_PLAN}


@dataclass(slots=True)
class DispatchSummary:
    """Counts per (channel, stage, outcome), outcome one of sent/failed/cancelled/retry/fallback.

    "fallback" counts the messages planned on another channel because a send failed.
    """

    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    invoices_removed: int = 0
    # Notices on the limits of the sent claims, each once, as (Dutch, English) pairs.
    claim_notices: list[tuple[str, str]] = field(default_factory=list)
    # Invoices moved back from a stage whose message failed for good.
    stages_reverted: int = 0
    # Interest rate table rows marked unconfirmed that a sent claim used, each
    # once, as (kind, first day, last day or None, percent), with the number
    # of messages that used each.
    unconfirmed_rates: Counter[tuple[str, str, str | None, str]] = field(default_factory=Counter)
    # Messages left in `sending` by another dispatcher, running or crashed,
    # when this one finished, and the moment the last of their leases ends.
    # Only a dispatch after that moment claims them again.
    held_by_lease: int = 0
    lease_ends: dt.datetime | None = None
    # Debtor ids of the messages that failed for good, by (channel, stage, reason without its error code).
    failures: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    # The error of each channel that could send nothing more for a creditor
    # (`ChannelError.outage`), as "code: message", by (channel, creditor id),
    # and how many messages wait because of it.
    outages: dict[tuple[str, int], str] = field(default_factory=dict)
    outage_waiting: Counter[tuple[str, int]] = field(default_factory=Counter)
    # Messages this dispatch claimed from another dispatcher whose lease had
    # run out, and messages another dispatcher claimed from this one.
    taken_over: int = 0
    lost_to_other_dispatcher: int = 0

    def add(self, communication: Communication, outcome: str) -> None:
        self.counts[(communication.channel, communication.stage, outcome)] += 1

    def total(self, outcome: str) -> int:
        return sum(count for (_, _, result), count in self.counts.items() if result == outcome)


# The error code that `_dispatch_batches` puts before an error's message, such as "letter_unprintable_name: ".
_ERROR_CODE = re.compile(r"^[a-z][a-z0-9_]*: ")


def error_reason(error: str) -> str:
    """Return a stored send error without its leading error code: the message a person reads."""
    return _ERROR_CODE.sub("", error, count=1)


class InvalidTransition(Exception):
    pass


def check_transition(current: str, new: str) -> None:
    if new not in TRANSITIONS[current]:
        raise InvalidTransition(f"Communication cannot move from {current} to {new}.")


def retry_delay(attempts: int) -> dt.timedelta:
    """Return the wait before retry number `attempts`: exponential from 1 minute, with jitter.

    The jitter (plus or minus 20 percent) keeps messages that failed together
    from retrying together.
    """
    base = min(60 * 2 ** max(attempts - 1, 0), 3600)
    return dt.timedelta(seconds=base * random.uniform(0.8, 1.2))


def _claim_batch(
    *,
    due_by: dt.datetime,
    creditor: Creditor | None,
    batch_size: int,
    summary: DispatchSummary | None = None,
    skip_ids: set[int] | None = None,
) -> list[Communication]:
    """Move up to `batch_size` due messages to `sending` and return them, leaving out `skip_ids`.

    Every returned row has the same `claimed_at`, which `_BatchLease` uses
    as the token of this claim.
    """
    now = timezone.now()
    lease = dt.timedelta(seconds=settings.BETAALREIS_DISPATCH_LEASE_SECONDS)
    due = Q(status=CommunicationStatus.PENDING) & (
        Q(not_before__isnull=True) | Q(not_before__lte=due_by)
    )
    abandoned = Q(status=CommunicationStatus.SENDING, claimed_at__lt=now - lease)

    with transaction.atomic():
        candidates = Communication.objects.filter(due | abandoned)
        if creditor is not None:
            candidates = candidates.filter(creditor=creditor)
        if skip_ids:
            candidates = candidates.exclude(pk__in=skip_ids)
        candidates = candidates.order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        claimed = list(candidates.values_list("id", "status")[:batch_size])
        if not claimed:
            return []
        ids = [pk for pk, _ in claimed]
        Communication.objects.filter(pk__in=ids).update(
            status=CommunicationStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )

    taken_over = sum(1 for _, status in claimed if status == CommunicationStatus.SENDING)
    if taken_over:
        logger.warning(
            "communications taken over after their dispatch lease ran out",
            extra={"creditor_id": creditor.pk if creditor is not None else None, "communications": taken_over},
        )
        if summary is not None:
            summary.taken_over += taken_over

    batch = list(Communication.objects.filter(pk__in=ids).select_related("debtor").order_by("id"))
    # One instance per creditor replaces the copy of the creditor that
    # select_related() would build for every row.
    creditors = Creditor.objects.in_bulk({communication.creditor_id for communication in batch})
    for communication in batch:
        communication.creditor = creditors[communication.creditor_id]
    return batch


class _BatchLease:
    """The claim of one batch: renews its lease while the batch is sent, and finds the rows it no longer holds.

    The rows' `claimed_at` is the token of the claim. A dispatcher that
    claims a row whose lease ran out sets its own, so a row with another
    `claimed_at` belongs to that dispatcher, which may be sending it now.
    """

    def __init__(self, batch: list[Communication]) -> None:
        self.ids = [communication.pk for communication in batch]
        self.token: dt.datetime = batch[0].claimed_at  # type: ignore[assignment]
        self.seconds = float(settings.BETAALREIS_DISPATCH_LEASE_SECONDS)
        self.renewed = time.monotonic()
        self.lost: set[int] = set()

    def renew_if_due(self) -> None:
        """Move the lease of the held rows to now once a third of it has passed since the last renewal.

        One UPDATE per renewal, so a batch that sends quickly never renews.
        """
        if time.monotonic() - self.renewed < self.seconds / 3:
            return

        held = [pk for pk in self.ids if pk not in self.lost]
        now = timezone.now()
        renewed = Communication.objects.filter(
            pk__in=held, status=CommunicationStatus.SENDING, claimed_at=self.token
        ).update(claimed_at=now)
        if renewed != len(held):
            still_held = set(Communication.objects.filter(
                pk__in=held, status=CommunicationStatus.SENDING, claimed_at=now
            ).values_list("pk", flat=True))
            self.lost.update(set(held) - still_held)
            logger.warning(
                "communications claimed by another dispatcher during the batch",
                extra={"communications": len(self.lost), "communication_ids": sorted(self.lost)[:20]},
            )
        self.token = now
        self.renewed = time.monotonic()

    def holds(self, communication: Communication) -> bool:
        return communication.pk not in self.lost

    def held_ids(self) -> set[int]:
        """Return the ids of the batch's rows that this claim still holds, locked until the transaction ends."""
        rows = Communication.objects.filter(
            pk__in=[pk for pk in self.ids if pk not in self.lost],
            status=CommunicationStatus.SENDING,
            claimed_at=self.token,
        )
        if connection.features.has_select_for_update:
            rows = rows.select_for_update()
        return set(rows.values_list("pk", flat=True))


def _still_due_items(
    batch: list[Communication],
) -> tuple[dict[int, list[CommunicationInvoice]], list[CommunicationInvoice]]:
    """Split the batch's invoice items into those still due and those to take out.

    An item is taken out when its invoice was paid since planning, or when its
    dunning restarted or it was raised after its 14-day letter since planning
    (see `stale_item_reason`), because the run would plan another stage now.
    """
    keep: dict[int, list[CommunicationInvoice]] = {communication.pk: [] for communication in batch}
    still_due = {
        communication.pk: _STILL_DUE_IN_PLAN if communication.stage == INSTALMENT_STAGE else _STILL_DUE
        for communication in batch
    }
    drop: list[CommunicationInvoice] = []
    items = CommunicationInvoice.objects.filter(
        communication_id__in=list(keep)
    ).select_related(
        "invoice", "invoice__dunning_restart", "invoice__raise_after_letter"
    ).order_by("invoice__due_date", "invoice__number")
    for item in items:
        invoice = item.invoice
        if (
            invoice.status in still_due[item.communication_id]
            and invoice.open_amount > 0
            and stale_item_reason(invoice, item.communication_id) is None
        ):
            keep[item.communication_id].append(item)
        else:
            drop.append(item)
    return keep, drop


def _stages_for(batch: list[Communication]) -> dict[tuple[int, str, str], Stage]:
    """Return the stages used in the batch, keyed by (creditor id, debtor kind, code)."""
    creditor_ids = {communication.creditor_id for communication in batch}
    stages = Stage.objects.filter(policy__creditor_id__in=creditor_ids).select_related("policy")
    return {(stage.policy.creditor_id, stage.policy.debtor_kind, stage.code): stage for stage in stages}


def _stage_of(communication: Communication, stages: dict[tuple[int, str, str], Stage]) -> Stage | None:
    return stages.get((communication.creditor_id, communication.debtor.kind, communication.stage))


def dispatch(
    *,
    due_by: dt.datetime | None = None,
    creditor: Creditor | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    source: str = "dispatch",
    clock: dt.datetime | None = None,
    simulate: bool = False,
    catch_up: bool = False,
) -> DispatchSummary:
    """Send every due message in the outbox and return what happened.

    `due_by` is the moment up to which held-back messages (`not_before`) may
    go; the default is now. `clock` replaces the adapters' send time in the
    record, for replaying past days (the demo); leave it None otherwise.
    With `simulate`, every message goes to the file adapters
    (`channels.base.SIMULATION_BACKENDS`) instead of the configured ones.
    A message for an adapter that reaches the debtor keeps to the contact
    rules of the real moment of sending, unless `clock` replays another
    moment. Outside them it waits for the next allowed moment, and the
    attempt does not count. `catch_up` marks the real dispatch of a run for
    an earlier day, which keeps to the real moment too, and whose messages
    carry the real time instead of `clock`.
    It is also dated, and its claim computed, on the real day.
    Safe to run in parallel and to run again.
    """
    if catch_up and (due_by is None or due_by > timezone.now()):
        # A held message would be due again at once, and this dispatch would take it again and again.
        raise ValueError("catch_up needs a due_by before now: it is for the dispatch of a run for an earlier day.")
    # A run renders every message from the same few templates, so each is loaded once.
    with templates_unchanged():
        return _dispatch_batches(
            due_by=due_by, creditor=creditor, batch_size=batch_size, source=source, clock=clock,
            simulate=simulate, catch_up=catch_up,
        )


def _dispatch_batches(
    *,
    due_by: dt.datetime | None,
    creditor: Creditor | None,
    batch_size: int,
    source: str,
    clock: dt.datetime | None,
    simulate: bool,
    catch_up: bool = False,
) -> DispatchSummary:
    from betaalreis.outbox.render import load_batch_claim_data

    started = timezone.now()
    due_by = due_by or started
    # The dispatch day in Amsterdam: the replayed day, else today.
    today = timezone.localdate(clock or started, AMSTERDAM)
    summary = DispatchSummary()
    backends: dict[str, ChannelBackend] = {}
    # A message held for the contact rules of the real moment may be due
    # again before a `due_by` later than now, so this dispatch leaves it.
    held_again: set[int] = set()

    while True:
        # A batch builds many short-lived objects on top of the process's
        # long-lived ones. In bench.plan's dispatch of 2,000 emails, the full
        # collections they set off took about 5 % of the CPU time. The collector
        # runs between batches, so a reference cycle waits one batch at most.
        with cyclic_gc_paused():
            batch = _claim_batch(
                due_by=due_by, creditor=creditor, batch_size=batch_size, summary=summary,
                skip_ids=held_again,
            )
            if not batch:
                break
            lease = _BatchLease(batch)

            keep, drop = _still_due_items(batch)
            stages = _stages_for(batch)
            # Messages are dated, and their claims computed, on the day they go out.
            send_days = _send_days(batch, backends, today=today, catch_up=catch_up, simulate=simulate)
            claim_data = load_batch_claim_data([
                (communication, keep[communication.pk], _stage_of(communication, stages))
                for communication in batch
                if keep[communication.pk]
            ], today, days=send_days)
            reminded = reminded_before([(communication, keep[communication.pk]) for communication in batch])
            with durable_batch() as outbox_files:
                results, letter_claims, wrote_files = _send_batch(
                    batch, keep, stages, claim_data, reminded, summary,
                    backends=backends, send_days=send_days, clock=clock, simulate=simulate,
                    outbox_files=outbox_files, catch_up=catch_up, lease=lease,
                )
                _commit_outbox_files(outbox_files, results, wrote_files, clock=clock)

            _record_results(
                results, drop, summary, stages=stages, source=source, clock=clock, letter_claims=letter_claims,
                due_by=due_by, lease=lease,
            )
            if due_by > started:
                held_again.update(
                    communication.pk for communication, _, _, error in results
                    if error.startswith(f"{OUTSIDE_CONTACT_TIME}: ")
                )

    _count_held_by_lease(summary, creditor)
    return summary


def _backend_for(channel: str, backends: dict[str, ChannelBackend], simulate: bool) -> ChannelBackend:
    """Return the adapter of `channel` from `backends`, creating and adding it on first use."""
    backend = backends.get(channel)
    if backend is None:
        backend = backends[channel] = get_backend(channel, simulate=simulate)
    return backend


def _send_days(
    batch: list[Communication],
    backends: dict[str, ChannelBackend],
    *,
    today: dt.date,
    catch_up: bool,
    simulate: bool,
) -> dict[int, dt.date]:
    """Return, by communication id, the day in Amsterdam on which each message of the batch goes out.

    That is `today`, the dispatch day, except in a catch-up dispatch for a
    message whose adapter reaches the debtor. That message is handed over at
    the real moment (see `_contact_hold`), so it is dated, and its claim
    computed, on the real day. A message whose adapter cannot be loaded gets
    `today`, because `_send_batch` fails it with the same error.
    """
    if not catch_up:
        return {communication.pk: today for communication in batch}

    real_day = timezone.localdate(timezone.now(), AMSTERDAM)
    days: dict[int, dt.date] = {}
    for communication in batch:
        try:
            reaches_debtor = _backend_for(communication.channel, backends, simulate).reaches_debtor
        except (BetaalreisError, ImportError):
            reaches_debtor = False
        days[communication.pk] = real_day if reaches_debtor else today
    return days


# The code of the ChannelError for a 14-day letter on a channel that the debtor did not agree to.
NEEDS_POST = "fourteen_day_letter_needs_post"


def _require_post_unless_agreed(communication: Communication) -> None:
    """Raise a permanent ChannelError when a consumer's 14-day letter must go by post but is on another channel.

    The planner never plans such a message, but one planned before the
    debtor withdrew the agreement to electronic communication may still wait
    in the outbox. Its failure plans the stage's next allowed channel, if any.
    """
    if communication.channel in fourteen_day_channels([communication.channel], communication.debtor):
        return
    raise ChannelError(FOURTEEN_DAY_LETTER_NEEDS_POST, permanent=True, code=NEEDS_POST)


# The error code of a message that an adapter would hand over outside the
# creditor's contact hours. It waits, and the attempt does not count.
OUTSIDE_CONTACT_TIME = "outside_contact_time"


def _contact_hold(communication: Communication, legal_settings: dict[int, LegalSettings]) -> str | None:
    """Return why a message handed over now must wait for the contact rules, or None when it may go now.

    A message that must wait gets the first allowed moment as its
    `not_before`, which `_store_outcomes` stores.

    The planner holds a message planned outside the contact hours, on a
    Sunday or holiday, or over the weekly maximum, until its `not_before`.
    But the message goes out at the next dispatch after that moment, which
    may again be outside the hours (a run at 06:00 the next day), and a
    run for an earlier day plans at that day's moment. So an adapter that
    reaches the debtor checks the real moment as well. A message that goes
    out on a later day than the one it counted for must also keep to the
    limits of one message a day and the weekly maximum of its new day.
    """
    from betaalreis.dunning.writer import describe_hold

    now = timezone.now()
    settings = _settings_of(communication, legal_settings)
    decision = decide_contact(now, _contacts_in_other_week(communication, now), settings)
    allowed_at = decision.allowed_at
    reasons = [describe_hold(decision)] if decision.is_held else []

    counted_day = _counted_day(communication)
    for _ in range(MAX_DAYS_AHEAD):
        day = timezone.localdate(allowed_at, AMSTERDAM)
        if day == counted_day or not _has_other_message_on(communication, day):
            break
        next_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=AMSTERDAM)
        allowed_at = next_allowed_contact(next_day, settings)
        if SECOND_MESSAGE_OF_DAY not in reasons:
            reasons.append(SECOND_MESSAGE_OF_DAY)

    if allowed_at == decision.proposed:
        return None
    communication.not_before = allowed_at
    return ", ".join(reasons)


# The hold reason of a message that would be the debtor's second message of
# the day, in Dutch like the reasons of `dunning.writer.describe_hold`.
SECOND_MESSAGE_OF_DAY = "al een bericht op die dag"


def _counted_day(communication: Communication) -> dt.date:
    """Return the day the planner counted the message for: the day of its `not_before`, else its run day."""
    if communication.not_before is None:
        return communication.run_date
    return timezone.localdate(communication.not_before, AMSTERDAM)


def _has_other_message_on(communication: Communication, day: dt.date) -> bool:
    """Return whether the debtor has another message that reaches them on `day` (see `dunning.send_days`)."""
    return _other_messages_between(communication, day, day).exists()


def _other_messages_between(communication: Communication, first: dt.date, last: dt.date) -> QuerySet[Communication]:
    """Return the debtor's other messages that reach them from `first` to `last`, without cancelled and failed ones."""
    return (
        Communication.objects.filter(
            creditor_id=communication.creditor_id,
            debtor_id=communication.debtor_id,
            run_date__gte=first - HELD_LOOKBACK,
            run_date__lte=last,
        )
        .filter(sent_between(first, last))
        .exclude(pk=communication.pk)
        .exclude(status__in=[CommunicationStatus.CANCELLED, CommunicationStatus.FAILED])
    )


def _contacts_in_other_week(communication: Communication, now: dt.datetime) -> int:
    """Return the debtor's other contacts in the week of `now`, or 0 when the message already counts in it.

    The planner counted the message for the week of the day it was held to
    (see `betaalreis.dunning.send_days`). Sent in a later week, it is a new
    contact there, so the weekly maximum of that week applies to it.
    """
    week_start = contact_week_start(now)
    counted_day = _counted_day(communication)
    if contact_week_start(dt.datetime.combine(counted_day, dt.time(12), tzinfo=AMSTERDAM)) == week_start:
        return 0

    first = week_start.date()
    return _other_messages_between(communication, first, first + dt.timedelta(days=6)).count()


# The code of the ChannelError for a message on a channel the debtor opted out of after planning.
OPTED_OUT = "opted_out_since_planned"


def _require_no_opt_out(communication: Communication) -> None:
    """Raise a permanent ChannelError when the debtor opted out of the message's channel after the run planned it.

    The planner never plans on such a channel, but a message planned before
    the opt-out may still wait in the outbox, for example for contact hours.
    Its failure plans the stage's next channel the debtor accepts, if any.
    """
    if opt_out_blocks(communication.channel, communication.debtor.opted_out_channels):
        raise ChannelError(OPTED_OUT_SINCE_PLANNED, permanent=True, code=OPTED_OUT)


# The error code stored for a hand-over whose outcome is not known, whatever code the adapter gave.
OUTCOME_UNCERTAIN = "outcome_uncertain"


def _temporary_failure(communication: Communication, error: str, moment: dt.datetime) -> tuple[str, str]:
    """Return the outcome and stored error of a temporary failure: a retry, or failed once retries have lasted too long.

    `moment` is the time of this attempt, the replayed moment in a run for
    another day. A message fails when its temporary errors started
    BETAALREIS_DISPATCH_GIVE_UP_DAYS or more before `moment`.
    """
    give_up_after = dt.timedelta(days=settings.BETAALREIS_DISPATCH_GIVE_UP_DAYS)
    since = communication.failing_since
    if since is None or moment - since < give_up_after:
        return CommunicationStatus.PENDING, error
    days = settings.BETAALREIS_DISPATCH_GIVE_UP_DAYS
    return CommunicationStatus.FAILED, f"{error} Given up after {days:g} days of temporary errors."


def _send_batch(
    batch: list[Communication],
    keep: dict[int, list[CommunicationInvoice]],
    stages: dict[tuple[int, str, str], Stage],
    claim_data: BatchClaimData,
    reminded: set[int],
    summary: DispatchSummary,
    *,
    backends: dict[str, ChannelBackend],
    send_days: dict[int, dt.date],
    clock: dt.datetime | None,
    simulate: bool,
    outbox_files: DurableBatch,
    catch_up: bool = False,
    lease: _BatchLease | None = None,
) -> tuple[list[tuple[Communication, str, SendResult | None, str]], dict[int, dict[str, object]], set[int]]:
    """Render and hand over each claimed message, and return the outcomes.

    `send_days` gives the day each message is dated and computed on, from `_send_days`.
    Returns the outcome of each message, the claim that each 14-day letter
    stated (by communication id), and the ids of the messages that wrote or
    found a file in `outbox_files`, whose outcome holds only once it commits.
    A message that another dispatcher claimed from `lease` meanwhile is
    skipped and has no outcome. After an outage error of a channel, the
    other messages of that creditor on that channel are not handed over
    and wait with the same error (`DispatchSummary.outages`).
    """
    from betaalreis.outbox.render import render_communication

    results: list[tuple[Communication, str, SendResult | None, str]] = []
    legal_settings: dict[int, LegalSettings] = {}
    # The claim each 14-day letter stated, by communication id, for its term record.
    letter_claims: dict[int, dict[str, object]] = {}
    wrote_files: set[int] = set()
    moment = clock or timezone.now()

    for communication in batch:
        if lease is not None:
            lease.renew_if_due()
            if not lease.holds(communication):
                continue
        items = keep[communication.pk]
        if not items:
            results.append((communication, CommunicationStatus.CANCELLED, None, ""))
            continue

        stage = _stage_of(communication, stages)
        try:
            _require_no_opt_out(communication)
            if stage is not None and stage.is_fourteen_day_letter:
                _require_post_unless_agreed(communication)
            backend = _backend_for(communication.channel, backends, simulate)
            # A replayed day (`clock` without `catch_up`) keeps its own moment.
            real_moment = backend.reaches_debtor and (catch_up or clock is None)
            if (
                real_moment
                and (hold := _contact_hold(communication, legal_settings)) is not None
            ):
                results.append((communication, CommunicationStatus.PENDING, None, f"{OUTSIDE_CONTACT_TIME}: {hold}"))
                continue
            outage_key = (communication.channel, communication.creditor_id)
            if outage_key in summary.outages:
                # Not handed over: the channel could send nothing for this creditor earlier in this dispatch.
                outcome, error = _temporary_failure(communication, summary.outages[outage_key], moment)
                if outcome == CommunicationStatus.PENDING:
                    summary.outage_waiting[outage_key] += 1
                results.append((communication, outcome, None, error))
                continue
            message = render_communication(
                communication, items, stage, batch_data=claim_data, today=send_days[communication.pk],
                reminded=communication.pk in reminded,
            )
            replayed = clock is not None and not real_moment
            if replayed:
                # A replayed day states its own moment in the Date header. The
                # catch-up of an adapter that reaches the debtor states the real time.
                message.metadata["sent_at"] = clock.isoformat()
            additions = outbox_files.additions
            result = backend.send(message)
            if outbox_files.additions != additions:
                wrote_files.add(communication.pk)
        except BetaalreisError as exc:
            outcome, error = _channel_failure(communication, exc, moment, summary)
            logger.warning(
                "communication send failed",
                extra={
                    "communication_id": communication.pk,
                    "error_code": exc.code,
                    "outcome": outcome,
                },
            )
            results.append((communication, outcome, None, error))
            continue
        except Exception as exc:  # noqa: BLE001 - one broken message must not stop the rest
            logger.exception(
                "communication render or send crashed",
                extra={"communication_id": communication.pk},
            )
            outcome, error = _temporary_failure(communication, f"{type(exc).__name__}: {exc}", moment)
            results.append((communication, outcome, None, error))
            continue

        if communication.stage != INSTALMENT_STAGE:
            # The record of the message keeps the amount it requested.
            communication.total_amount = Decimal(message.metadata["amount_due"])
        _collect_claim_notices(message.metadata, summary)
        if stage is not None and stage.is_fourteen_day_letter and "claim" in message.metadata:
            letter_claims[communication.pk] = message.metadata["claim"]
        if replayed:
            result = replace(result, sent_at=clock)
        results.append((communication, CommunicationStatus.SENT, result, ""))

    return results, letter_claims, wrote_files


def _channel_failure(
    communication: Communication, exc: BetaalreisError, moment: dt.datetime, summary: DispatchSummary
) -> tuple[str, str]:
    """Return the outcome and stored error of a message whose send raised `exc`.

    Errors other than a channel's own (no address for the channel, a broken
    template) and permanent channel errors fail at once. An uncertain
    hand-over always waits, because the provider may have the message.
    An outage is recorded in `summary`, so that the rest of the dispatch
    skips the channel for the creditor.
    """
    if not isinstance(exc, ChannelError) or exc.permanent:
        return CommunicationStatus.FAILED, f"{exc.code}: {exc}"
    if exc.uncertain:
        return CommunicationStatus.PENDING, f"{OUTCOME_UNCERTAIN}: {exc}"

    outcome, error = _temporary_failure(communication, f"{exc.code}: {exc}", moment)
    if exc.outage:
        key = (communication.channel, communication.creditor_id)
        summary.outages[key] = f"{exc.code}: {exc}"
        if outcome == CommunicationStatus.PENDING:
            summary.outage_waiting[key] += 1
    return outcome, error


def _commit_outbox_files(
    outbox_files: DurableBatch,
    results: list[tuple[Communication, str, SendResult | None, str]],
    wrote_files: set[int],
    *,
    clock: dt.datetime | None = None,
) -> None:
    """Make the batch's outbox files durable, or else turn the messages that wrote them into retries.

    A retry writes its file again, or finds the file if it got its name
    before the failure and syncs its folder. So a message that wrote or
    found an outbox file is marked sent only once that file is on disk.
    """
    try:
        outbox_files.commit()
    except OSError as exc:
        logger.error(
            "outbox files not synced, messages left for retry",
            extra={"communications": len(wrote_files), "error": errno.errorcode.get(exc.errno or 0, str(exc))},
        )
        moment = clock or timezone.now()
        for index, (communication, outcome, _, _) in enumerate(results):
            if outcome != CommunicationStatus.SENT or communication.pk not in wrote_files:
                continue
            retry, error = _temporary_failure(communication, f"outbox_not_synced: {exc}", moment)
            results[index] = (communication, retry, None, error)


def _count_held_by_lease(summary: DispatchSummary, creditor: Creditor | None) -> None:
    """Count the messages that stay in `sending` under another dispatcher's lease, and when it ends.

    This dispatcher recorded an outcome for every message it claimed, so
    what is still in `sending` belongs to another dispatcher, or to one that
    died and whose lease has not run out yet.
    """
    held = Communication.objects.filter(status=CommunicationStatus.SENDING)
    if creditor is not None:
        held = held.filter(creditor=creditor)
    found = held.aggregate(count=Count("id"), last_claimed=Max("claimed_at"))
    if not found["count"]:
        return

    lease = dt.timedelta(seconds=settings.BETAALREIS_DISPATCH_LEASE_SECONDS)
    summary.held_by_lease = found["count"]
    summary.lease_ends = found["last_claimed"] + lease if found["last_claimed"] is not None else None
    logger.warning(
        "communications held by another dispatcher",
        extra={
            "creditor_id": creditor.pk if creditor is not None else None,
            "communications": summary.held_by_lease,
            "lease_ends": summary.lease_ends.isoformat() if summary.lease_ends else None,
        },
    )


def _collect_claim_notices(metadata: dict[str, object], summary: DispatchSummary) -> None:
    claim = metadata.get("claim")
    if not isinstance(claim, dict):
        return
    notices = claim["notices"]
    for pair in zip(notices["nl"], notices["en"], strict=True):
        if pair not in summary.claim_notices:
            summary.claim_notices.append(pair)
    for rate in claim.get("unconfirmed_rates", ()):
        summary.unconfirmed_rates[(rate["kind"], rate["from"], rate["until"], rate["percent"])] += 1


def _record_results(
    results: list[tuple[Communication, str, SendResult | None, str]],
    dropped: list[CommunicationInvoice],
    summary: DispatchSummary,
    *,
    stages: dict[tuple[int, str, str], Stage],
    source: str,
    clock: dt.datetime | None = None,
    letter_claims: dict[int, dict[str, object]] | None = None,
    due_by: dt.datetime | None = None,
    lease: _BatchLease | None = None,
) -> None:
    """Store the outcome of a batch and its timeline rows in one transaction.

    `clock` is the replayed moment of a past day, if any. A fallback message
    planned here may go out from `due_by`, the moment up to which this
    dispatch sends, so that a later batch of the same dispatch sends it.
    `letter_claims` gives, by communication id, the claim a sent 14-day
    letter stated, for the record of its term. With `lease`, only the rows
    that it still holds are stored and counted; another dispatcher records
    the others.
    """
    now = timezone.now()
    # Timeline events of a replayed day carry its moment, like the rest of
    # that run's events, so the timeline keeps the order of the days.
    event_at = clock or now
    # A fallback planned at `now` would wait for the next dispatch, because
    # `now` is later than the `due_by` of a dispatch that started earlier.
    fallback_from = clock or due_by or now
    events: list[dict[str, object]] = []
    # Legal settings by creditor id, loaded once per batch for the 14-day letters.
    legal_settings: dict[int, LegalSettings] = {}

    with transaction.atomic():
        if lease is not None:
            held = lease.held_ids()
            lost = set(lease.ids) - held
            if lost:
                summary.lost_to_other_dispatcher += len(lost)
                logger.warning(
                    "outcomes not recorded: another dispatcher claimed the communications",
                    extra={"communications": len(lost), "communication_ids": sorted(lost)[:20]},
                )
                results = [row for row in results if row[0].pk in held]
                dropped = [item for item in dropped if item.communication_id in held]

        if dropped:
            CommunicationInvoice.objects.filter(pk__in=[item.pk for item in dropped]).delete()
            summary.invoices_removed += len(dropped)
            for item in dropped:
                events.append(_dropped_item_event(item, event_at, source))

        _store_outcomes(
            results, now, legal_settings, retry_from=clock or now,
            claimed_at=lease.token if lease is not None else None,
        )

        for communication, outcome, result, error in results:
            if outcome == CommunicationStatus.FAILED:
                key = (communication.channel, communication.stage, error_reason(error))
                summary.failures.setdefault(key, []).append(communication.debtor_id)
                # The same message goes out on the stage's next channel the
                # debtor can receive, if there is one; that is recorded too.
                fallback = do_plan_fallback(communication, reason=error, source=source, at=fallback_from)
                if fallback is not None:
                    summary.add(fallback, "fallback")
                else:
                    summary.stages_reverted += revert_failed_stage(
                        communication, reason=error, source=source, at=event_at
                    )

            if error.startswith(f"{OUTSIDE_CONTACT_TIME}: "):
                # Counted with the waiting messages of the run summary, not as a retry.
                continue
            summary.add(communication, "retry" if outcome == CommunicationStatus.PENDING else outcome)
            stage = _stage_of(communication, stages)
            at = event_at
            if result is not None and clock is not None:
                # A replayed message was sent at `clock`. A catch-up sends a
                # message for an adapter that reaches the debtor at the real
                # moment, so its rows carry that moment, as its date does.
                at = result.sent_at
            event = _timeline_event(communication, outcome, error, at, source, stage)
            if event is not None:
                events.append(event)
            if result is not None and stage is not None and stage.is_fourteen_day_letter:
                events.append(_term_event(
                    communication, result.sent_at, at, source, legal_settings,
                    (letter_claims or {}).get(communication.pk),
                ))

        _insert_events(events)


def _dropped_item_event(item: CommunicationInvoice, at: dt.datetime, source: str) -> dict[str, object]:
    """Return the timeline row that records why an invoice was taken out of a planned message."""
    invoice = item.invoice
    data: dict[str, object] = {"communication_id": item.communication_id}
    stale = stale_item_reason(invoice, item.communication_id)
    if stale is None:
        reason = invoice.get_status_display().lower()
    else:
        reason = stale[0]
        data["summary_en"] = f"Invoice {invoice.number} taken out of a message: {stale[1]} since it was planned"
    return event_row(
        creditor_id=invoice.creditor_id,
        debtor_id=invoice.debtor_id,
        invoice_id=invoice.pk,
        kind=TimelineKind.COMMUNICATION_CANCELLED,
        at=at,
        source=source,
        summary=f"Factuur {invoice.number} uit bericht gehaald: {reason} sinds de planning",
        data=data,
    )


def _insert_events(events: list[dict[str, object]]) -> None:
    """Insert the batch's timeline events, given as `event_row` rows, with one executemany().

    In the dispatch benchmark (bench/plan.py) this halved the CPU time of
    recording a batch compared with bulk_create(). Like bulk_create(), it
    sends no signals.
    """
    insert_rows(TimelineEvent, events)


def _store_outcomes(
    results: list[tuple[Communication, str, SendResult | None, str]],
    now: dt.datetime,
    legal_settings: dict[int, LegalSettings],
    *,
    retry_from: dt.datetime,
    claimed_at: dt.datetime | None = None,
) -> None:
    """Write the new status and send details of a batch, one executemany() per set of changed fields.

    A retry's delay counts from `retry_from`: the replayed moment of a run
    for another day, else now. So a run for a later day does not take the
    same failed message again within its own dispatch. A retry after a
    temporary error keeps the moment its temporary errors started in
    `failing_since`, from which `_temporary_failure` counts. With
    `claimed_at`, only rows still claimed at that moment change.

    An ORM update() per row costs about 0.4 ms of CPU, and bulk_update()
    with its CASE expressions was slower still on SQLite. One prepared
    UPDATE per field set costs a fraction of either. On PostgreSQL,
    executemany() still sends one statement per row, so there each field
    set is one UPDATE that reads its rows from arrays (`_update_from_arrays`).
    """
    rows_by_fields: dict[tuple[str, ...], list[tuple[object, ...]]] = {}

    for communication, outcome, result, error in results:
        check_transition(CommunicationStatus.SENDING, outcome)
        changes: dict[str, object] = {"status": outcome, "last_error": error[:2000]}
        if outcome == CommunicationStatus.PENDING and error.startswith(f"{OUTSIDE_CONTACT_TIME}: "):
            # Not an attempt: the message waits for the contact hours as planned messages do.
            changes.update(
                last_error="",
                attempts=communication.attempts - 1,
                not_before=communication.not_before,
                hold_reason=error.removeprefix(f"{OUTSIDE_CONTACT_TIME}: ")[:200],
            )
        elif outcome == CommunicationStatus.PENDING:
            # A retry keeps to the creditor's contact hours, so a message that
            # failed at 19:55 does not go out at 20:05 or on a Sunday.
            changes["not_before"] = next_allowed_contact(
                retry_from + retry_delay(communication.attempts), _settings_of(communication, legal_settings)
            )
            if not error.startswith(f"{OUTCOME_UNCERTAIN}: "):
                # An uncertain hand-over is not a failure, so it starts no count towards giving up.
                changes["failing_since"] = communication.failing_since or retry_from
        if result is not None:
            changes.update(
                sent_at=result.sent_at,
                provider=result.provider,
                provider_reference=result.provider_reference[:500],
                cost=result.cost,
                total_amount=communication.total_amount,
            )
        values = tuple(
            value if name in _TEXT_FIELDS and isinstance(value, str) else _prepared(name, value)
            for name, value in changes.items()
        )
        rows_by_fields.setdefault(tuple(changes), []).append(values + (communication.pk,))

    meta = Communication._meta
    quote = connection.ops.quote_name
    claim_condition, claim_parameters = "", ()
    if claimed_at is not None:
        claim_condition = f" AND {quote(meta.get_field('claimed_at').column)} = %s"
        claim_parameters = (_prepared("claimed_at", claimed_at),)
    with connection.cursor() as cursor:
        for fields, rows in rows_by_fields.items():
            if connection.vendor == "postgresql":
                _update_from_arrays(cursor, fields, rows, claimed_at=claimed_at)
                continue
            assignments = ", ".join(f"{quote(meta.get_field(name).column)} = %s" for name in fields)
            # The status and claim conditions make a stale dispatcher's late write a no-op.
            sql = (
                f"UPDATE {quote(meta.db_table)} SET {assignments} "
                f"WHERE {quote(meta.pk.column)} = %s AND {quote(meta.get_field('status').column)} = %s"
                f"{claim_condition}"
            )
            cursor.executemany(sql, [row + (CommunicationStatus.SENDING, *claim_parameters) for row in rows])


def _update_from_arrays(
    cursor: CursorWrapper,
    fields: tuple[str, ...],
    rows: list[tuple[object, ...]],
    *,
    claimed_at: dt.datetime | None = None,
) -> None:
    """Write `rows` (the values of `fields`, then the id) with one PostgreSQL UPDATE over unnest() of arrays.

    psycopg's executemany() sends one Bind and Execute per row. In strace
    of bench.plan's dispatch of 2,000 emails that was about one send() and
    two poll() calls per email, and the server ran one statement per row.
    Here a field set is one statement with one array parameter per column.
    """
    meta = Communication._meta
    quote = connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields] + [meta.pk]
    names = [f"v{index}" for index in range(len(columns))]
    arrays = ", ".join(f"%s::{column.cast_db_type(connection)}[]" for column in columns)
    assignments = ", ".join(f"{quote(column.column)} = changes.{name}" for column, name in zip(columns[:-1], names))
    table = quote(meta.db_table)
    parameters: list[object] = [list(values) for values in zip(*rows)] + [CommunicationStatus.SENDING]
    # The status and claim conditions make a stale dispatcher's late write a no-op.
    sql = (
        f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS changes({', '.join(names)}) "
        f"WHERE {table}.{quote(meta.pk.column)} = changes.{names[-1]} "
        f"AND {table}.{quote(meta.get_field('status').column)} = %s"
    )
    if claimed_at is not None:
        sql += f" AND {table}.{quote(meta.get_field('claimed_at').column)} = %s"
        parameters.append(claimed_at)
    cursor.execute(sql, parameters)


# CharField and TextField store a str as it is, so their values skip get_db_prep_save().
_TEXT_FIELDS = frozenset({"status", "last_error", "provider", "provider_reference"})


def _prepared(name: str, value: object) -> object:
    return Communication._meta.get_field(name).get_db_prep_save(value, connection)


def _settings_of(communication: Communication, legal_settings: dict[int, LegalSettings]) -> LegalSettings:
    """Return the legal settings of the communication's creditor, through the `legal_settings` cache."""
    settings = legal_settings.get(communication.creditor_id)
    if settings is None:
        settings = legal_settings[communication.creditor_id] = legal_settings_for(communication.creditor)
    return settings


def _term_event(
    communication: Communication,
    sent_at: dt.datetime,
    now: dt.datetime,
    source: str,
    legal_settings: dict[int, LegalSettings],
    claim: dict[str, object] | None = None,
) -> dict[str, object]:
    """Record when a sent letter's 14-day term starts and ends, and what it requested, as an `event_row`.

    `legal_settings` caches the creditors' legal settings by creditor id and
    is filled as needed. `claim` is the claim the letter stated, as in its
    message metadata: principal per invoice, interest, the costs charged if
    the term passes unpaid, and the total.
    """
    settings = _settings_of(communication, legal_settings)
    sent_on = timezone.localtime(sent_at, AMSTERDAM).date()
    term = fourteen_day_term(sent_on, communication.channel, settings)
    term_data = term.as_data()
    if communication.currency == CLAIM_CURRENCY:
        costs = f"incassokosten verschuldigd vanaf {term.costs_due_from:%d-%m-%Y} bij niet betalen"
    else:
        # The legal engine computes costs and interest in euro only, so the
        # letter stated none and the timeline must not announce them.
        costs = f"geen incassokosten of rente berekend, want die worden alleen in euro berekend (vordering in {communication.currency})"
        del term_data["costs_due_from"]
    return event_row(
        creditor_id=communication.creditor_id,
        debtor_id=communication.debtor_id,
        kind=TimelineKind.LEGAL,
        at=now,
        source=source,
        summary=(
            f"Veertiendagentermijn: {format_money(communication.total_amount, communication.currency)} "
            f"gevraagd, ontvangst vermoed op {term.received_on:%d-%m-%Y}, "
            f"termijn {term.term_start:%d-%m-%Y} t/m {term.term_end:%d-%m-%Y}; {costs}"
        ),
        data={
            "communication_id": communication.pk,
            "amount_demanded": str(communication.total_amount),
            **({"claim": claim} if claim is not None else {}),
            **term_data,
        },
    )


@lru_cache(maxsize=None)
def _channel_labels() -> dict[str, str]:
    # The labels are lazy translations. Timeline summaries are Dutch, so the
    # labels are read in Dutch, also when a run reports in English.
    with translation.override("nl"):
        return {value: str(label) for value, label in Communication._meta.get_field("channel").flatchoices}


def _channel_label(channel: str) -> str:
    """Return the channel's display name, as get_channel_display() does.

    get_channel_display() rebuilds the choices dict on every call, which
    costs about 29 us, and dispatch calls it once per message.
    """
    return _channel_labels().get(channel, channel)


def _timeline_event(
    communication: Communication,
    outcome: str,
    error: str,
    at: dt.datetime,
    source: str,
    stage: Stage | None = None,
) -> dict[str, object] | None:
    """Return the `event_row` that records the outcome of a message, or None for a retry.

    The summary names the stage by its Dutch name, or by its code when the
    policy no longer has it (instalment reminders have no stage).
    """
    label = _channel_label(communication.channel)
    stage_label = stage.name_nl if stage is not None else stage_name_nl(communication)
    if outcome == CommunicationStatus.SENT:
        kind = TimelineKind.COMMUNICATION
        summary = (
            f"{label} verzonden ({stage_label}): "
            f"{format_money(communication.total_amount, communication.currency)}"
        )
    elif outcome == CommunicationStatus.CANCELLED:
        kind = TimelineKind.COMMUNICATION_CANCELLED
        summary = f"{label} ({stage_label}) niet verzonden: alle facturen zijn betaald of gesloten"
    elif outcome == CommunicationStatus.FAILED:
        kind = TimelineKind.COMMUNICATION
        summary = f"{label} ({stage_label}) mislukt: {clip(error_reason(error), 300)}"
    else:
        return None
    return event_row(
        creditor_id=communication.creditor_id,
        debtor_id=communication.debtor_id,
        kind=kind,
        at=at,
        source=source,
        summary=summary[:500],
        data={"communication_id": communication.pk, "channel": communication.channel},
    )
