"""The daily job: apply payments, settle promises and plans, plan the due stages,
write the outbox, dispatch.

`run_cycle` is what `betaalreis run` and the Celery task call. Running it
twice for the same day creates nothing new the second time: the outbox keys
include the day, and the invoices already carry the stage the first run gave
them. Two runs for the same creditor at the same time take turns on the
creditor's row lock (see `_run_creditor`). An error for one creditor rolls
back and skips only that creditor; the summary lists it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import OperationalError, connection, transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from betaalreis.banking.gc_pause import cyclic_gc_paused
from betaalreis.banking.review import note_review_pauses
from betaalreis.dunning.handovers import HandoverResult, do_record_handovers
from betaalreis.dunning.manual_tasks import TaskResult, do_record_manual_tasks
from betaalreis.dunning.planner import Plan, plan_day
from betaalreis.dunning.writer import WriteResult, write_plan
from betaalreis.ledger import timeline
from betaalreis.ledger.models import Creditor
from betaalreis.legal.validation import CLAIM_CURRENCY
from betaalreis.outbox.dispatch import DispatchSummary, dispatch
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.payments.reminders import ReminderResult, debtors_to_remind, plan_instalment_reminders

logger = logging.getLogger(__name__)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

# A run for a past or future day acts as if it ran at this local time, so a
# replayed day gives the same result at any wall-clock time.
REPLAY_TIME = dt.time(9, 0)


@dataclass(slots=True)
class PaymentsApplied:
    matched: int = 0
    matched_amount: Decimal = Decimal("0.00")
    to_review: int = 0
    # Debtor credit (overpaid rests of earlier payments) used to pay open invoices.
    credit_applied: dict[str, Decimal] = field(default_factory=dict)
    # Open credit notes (unlinked ones, and the rest of linked ones) used to pay open invoices.
    credit_notes_applied: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WaitingMessages:
    """Pending messages of one channel that may not go out before a later moment, for one reason.

    The reason is either the contact rules (`hold_reason`) or, for a retry, the send error (`error`).
    """

    channel: str
    # The hold reasons as the writer stores them, in Dutch (see `dunning.writer.describe_hold`), or "" for a retry.
    hold_reason: str
    count: int
    first_allowed: dt.datetime
    last_allowed: dt.datetime
    # The send error of a retry, as `Communication.last_error` stores it ("code: message"), or "" when
    # the contact rules hold the messages.
    error: str = ""

    @property
    def is_retry(self) -> bool:
        return bool(self.error)


def waiting_messages(creditor: Creditor, moment: dt.datetime) -> list[WaitingMessages]:
    """Return the creditor's pending messages held until after `moment`, per channel and hold reason or error.

    This counts the messages of earlier runs too, because a second run on
    the same evening writes nothing new while the first run's messages
    still wait. A message that waits to be retried after a send error
    keeps that error in `last_error`. It also keeps the hold reason of its
    planning, which no longer applies, so retries are grouped by error alone.
    """
    rows = (
        Communication.objects.filter(
            creditor=creditor, status=CommunicationStatus.PENDING, not_before__gt=moment
        )
        .values("channel", "hold_reason", "last_error")
        .annotate(count=Count("id"), first_allowed=Min("not_before"), last_allowed=Max("not_before"))
        .order_by("channel", "hold_reason", "last_error")
    )
    groups: dict[tuple[str, str, str], WaitingMessages] = {}
    for row in rows:
        error = row["last_error"]
        key = (row["channel"], "" if error else row["hold_reason"], error)
        earlier = groups.get(key)
        if earlier is None:
            groups[key] = WaitingMessages(
                channel=key[0], hold_reason=key[1], error=error, count=row["count"],
                first_allowed=row["first_allowed"], last_allowed=row["last_allowed"],
            )
        else:
            groups[key] = replace(
                earlier,
                count=earlier.count + row["count"],
                first_allowed=min(earlier.first_allowed, row["first_allowed"]),
                last_allowed=max(earlier.last_allowed, row["last_allowed"]),
            )
    return list(groups.values())


@dataclass(slots=True)
class CreditorRun:
    creditor: Creditor
    payments: PaymentsApplied
    plan: Plan
    written: WriteResult
    # Debtors paused because a payment they may have made waits in bank review.
    paused_for_review: frozenset[int] = frozenset()
    reminders: ReminderResult = field(default_factory=ReminderResult)
    # Outbox messages that the contact rules hold past the run, filled after dispatch.
    waiting: list[WaitingMessages] = field(default_factory=list)
    # The credit manager's tasks for 14-day letters the run cannot send: stored, still open and done.
    tasks: TaskResult = field(default_factory=TaskResult)
    # The debtors this run handed over, and the file for the collection agency.
    handovers: HandoverResult = field(default_factory=HandoverResult)
    # Whether this run waited for another run that held the creditor's lock (see `lock_creditor`).
    waited_for_other_run: bool = False

    def invoices_without_claim(self) -> dict[str, int]:
        """Count the invoices of today's messages per currency in which no interest or costs are computed.

        The legal engine computes statutory interest and collection costs in
        euro only (see `betaalreis.legal.validation.validate_currency`), so
        messages in another currency state the open amounts alone.
        """
        counts: Counter[str] = Counter()
        for message in self.plan.messages:
            if message.channel is not None and message.currency != CLAIM_CURRENCY:
                counts[message.currency] += len(message.invoice_ids)
        return dict(sorted(counts.items()))


@dataclass(frozen=True, slots=True)
class CreditorFailure:
    """A creditor whose payments, planning or outbox writing raised an error, which the run logged and skipped."""

    creditor: Creditor
    # The exception's class and the first line of its message. The log has the traceback.
    error: str


@dataclass(slots=True)
class RunSummary:
    day: dt.date
    moment: dt.datetime
    creditors: list[CreditorRun] = field(default_factory=list)
    dispatched: DispatchSummary | None = None
    # Creditors that the run skipped after an error, whose changes were rolled back.
    failed_creditors: list[CreditorFailure] = field(default_factory=list)

    def planned_counts(self) -> Counter[tuple[str, str]]:
        """New outbox rows per (channel, stage) over all creditors."""
        counts: Counter[tuple[str, str]] = Counter()
        for creditor_run in self.creditors:
            for communication in creditor_run.written.created:
                counts[(communication.channel, communication.stage)] += 1
        return counts

    @property
    def planned(self) -> int:
        return sum(len(creditor_run.written.created) for creditor_run in self.creditors)


def amsterdam_today() -> dt.date:
    """Return today's date in Europe/Amsterdam, the day a run without a date is for."""
    return timezone.localdate(timezone.now(), AMSTERDAM)


def is_future_day(day: dt.date) -> bool:
    """Return whether `day` is after today in Europe/Amsterdam.

    A real run for such a day would send its messages now, dated that day and
    claiming costs that are owed only from then, so `betaalreis run` and the
    Celery task reject it. Only a simulated run may go ahead (see `run_cycle`).
    """
    return day > amsterdam_today()


def run_moment(day: dt.date) -> dt.datetime:
    """Return the moment a run for `day` acts at: now for today, else 09:00 that day."""
    return replay_moment(day) or timezone.localtime(timezone.now(), AMSTERDAM)


def replay_moment(day: dt.date) -> dt.datetime | None:
    """Return 09:00 on `day` when `day` is not today, else None because today runs at the real time."""
    if day == timezone.localdate(timezone.now(), AMSTERDAM):
        return None
    return dt.datetime.combine(day, REPLAY_TIME, tzinfo=AMSTERDAM)


def apply_payments(creditor: Creditor, day: dt.date | None = None) -> PaymentsApplied:
    """Match the payments that came in since the last run to open invoices, then apply debtor credit.

    Only payments booked on or before `day` (by default today) are matched.

    Debtor credit is the rest of overpayments and the open amount of credit
    notes that are not held (see `ledger.credit_notes`).
    """
    from betaalreis.banking.credit import apply_credit
    from betaalreis.banking.matching import match_payments
    from betaalreis.banking.review import reopen_reviews_after_new_invoices
    from betaalreis.ledger.credit_notes import apply_unlinked_credit_notes
    from betaalreis.payments.services import supersede_settled_checkouts_of_creditor

    # A payment that found no invoice may find one imported since.
    reopen_reviews_after_new_invoices(creditor.pk, booked_by=day)
    report = match_payments(creditor, booked_by=day)
    credit = apply_credit(creditor)
    credit_notes = apply_unlinked_credit_notes(creditor)
    # Invoices paid by bank or credit may still be on an unpaid online checkout.
    supersede_settled_checkouts_of_creditor(creditor.pk, source="run")
    return PaymentsApplied(
        matched=report.matched + report.partly,
        matched_amount=report.matched_amount + report.partly_amount,
        to_review=report.review + report.reversals_to_review,
        credit_applied=credit.amounts,
        credit_notes_applied=credit_notes.amounts,
    )


def settle_arrangements(creditor: Creditor, day: dt.date, moment: dt.datetime) -> None:
    """Close lapsed promises to pay and check payment plans, before planning.

    A broken promise or a missed instalment puts the invoices back in
    dunning, so today's plan already chases them. Their timeline events are
    dated `moment`, the run's moment.
    """
    from betaalreis.payments.plans import check_plans
    from betaalreis.portal.services import settle_promises

    settle_promises(creditor.pk, day, at=moment)
    check_plans(creditor.pk, day, at=moment)


def paused_debtors(creditor: Creditor, day: dt.date) -> frozenset[int]:
    """Return debtors whose dunning is paused: a promise, a plan or a payment awaiting a decision."""
    from betaalreis.portal.services import paused_debtor_ids

    return frozenset(paused_debtor_ids(creditor.pk, day))


def run_cycle(
    day: dt.date,
    creditor: Creditor | None = None,
    *,
    dispatch_messages: bool = True,
    simulate: bool = False,
) -> RunSummary:
    """Run the daily job for `day`, for one creditor or all of them.

    With `simulate`, dispatch sends through the file adapters only, never
    through the configured SMTP, SMS or other providers; the demo runs this
    way. This function does not check the day: callers that take it from a
    person or a schedule reject a future day with `is_future_day` unless they
    simulate.
    """
    moment = run_moment(day)
    summary = RunSummary(day=day, moment=moment)
    creditors = [creditor] if creditor is not None else list(Creditor.objects.order_by("slug"))
    source = f"run {day.isoformat()}"

    replayed = replay_moment(day)
    for current in creditors:
        try:
            creditor_run = _run_creditor(current, day, moment, source, replayed)
        except Exception as exc:  # noqa: BLE001 - one creditor's failure must not stop the others
            logger.exception(
                "creditor run failed", extra={"creditor_id": current.pk, "day": day.isoformat()}
            )
            summary.failed_creditors.append(CreditorFailure(creditor=current, error=_first_line(exc)))
            continue
        summary.creditors.append(creditor_run)
        logger.info(
            "dunning planned",
            extra={
                "creditor_id": current.pk,
                "day": day.isoformat(),
                "messages": len(creditor_run.written.created),
                "invoices": creditor_run.plan.invoices_considered,
                "waited_for_other_run": creditor_run.waited_for_other_run,
            },
        )

    if dispatch_messages:
        summary.dispatched = dispatch(
            due_by=moment, creditor=creditor, source=source, clock=replayed, simulate=simulate,
            catch_up=not simulate and day < timezone.localdate(timezone.now(), AMSTERDAM),
        )
    for creditor_run in summary.creditors:
        creditor_run.waiting = waiting_messages(creditor_run.creditor, moment)
    return summary


def _run_creditor(
    creditor: Creditor, day: dt.date, moment: dt.datetime, source: str, replayed: dt.datetime | None
) -> CreditorRun:
    """Apply payments, plan and write the outbox for one creditor, in one transaction under the creditor's row lock.

    Two runs for the same creditor at once would both plan the same
    messages, and the second one's insert would fail on the outbox key. The
    lock makes the second run wait until the first one commits, and then
    plan only what is still due. On SQLite, whose settings begin every
    transaction with BEGIN IMMEDIATE, the transaction takes the database's
    write lock, so the second run waits up to the SQLite timeout (30 s) and
    then fails for this creditor with "database is locked".
    """
    with transaction.atomic():
        waited = lock_creditor(creditor)
        # Matching and credit serve live imports too, so they date their
        # timeline events through `timeline.dated_at`.
        with timeline.dated_at(replayed):
            payments = apply_payments(creditor, day)
        settle_arrangements(creditor, day, moment)
        paused_for_review = note_review_pauses(creditor.pk, moment, source)
        # Planning, writing and the steps that read the plan keep a few
        # objects per invoice alive. In bench.plan's first run over 100,000
        # invoices on PostgreSQL, one full collection during the task step
        # took 0.35 of the 1.55 s of CPU time (AMD EPYC host).
        with cyclic_gc_paused():
            plan = plan_day(
                day, creditor, paused_debtor_ids=paused_debtors(creditor, day),
                instalment_debtor_ids=debtors_to_remind(creditor, day),
            )
            written = write_plan(plan, source=source, moment=moment)
            tasks = do_record_manual_tasks(plan, source=source, moment=moment)
            handovers = do_record_handovers(plan, written, source=source, moment=moment)
            # After the dunning messages, so that a 14-day letter goes before an instalment reminder.
            reminders = plan_instalment_reminders(creditor, day, moment, source=source)
    return CreditorRun(
        creditor=creditor, payments=payments, plan=plan, written=written,
        paused_for_review=paused_for_review, reminders=reminders, tasks=tasks, handovers=handovers,
        waited_for_other_run=waited,
    )


def lock_creditor(creditor: Creditor) -> bool:
    """Lock the creditor's row until the current transaction ends; return whether another run held it first.

    Only on databases with SELECT ... FOR UPDATE NOWAIT (PostgreSQL). The
    NOWAIT attempt runs in a savepoint, because a failed statement aborts
    the whole transaction on PostgreSQL; then the lock is waited for.
    """
    if not connection.features.has_select_for_update_nowait:
        return False

    locked = Creditor.objects.select_for_update(nowait=True).filter(pk=creditor.pk)
    try:
        with transaction.atomic():
            list(locked.values_list("pk", flat=True))
        return False
    except OperationalError:
        logger.info("creditor locked by another run, waiting", extra={"creditor_id": creditor.pk})

    list(Creditor.objects.select_for_update().filter(pk=creditor.pk).values_list("pk", flat=True))
    logger.info("creditor lock taken after waiting", extra={"creditor_id": creditor.pk})
    return True


def _first_line(exc: BaseException) -> str:
    """Return the exception's class and the first line of its message, such as a database error without its DETAIL."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__
