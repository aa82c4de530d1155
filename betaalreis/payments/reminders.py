"""Reminders of payment plan instalments that fall due soon, written to the outbox.

The daily run calls `plan_instalment_reminders` after it checked the plans.
Each unpaid instalment gets one message once its due date is three days
away or less. The message requests the instalment amount and lists the
plan's open invoices.
The outbox's contact rules (quiet hours, Sundays and holidays, the weekly
maximum) apply as they do to dunning messages. A reminder also counts for
the rule of one message per debtor a day (see
`betaalreis.dunning.planner._hold_second_messages`). The run plans dunning
first. A debtor who already gets a message that day, such as a 14-day
letter, gets the reminder on the next run.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import transaction

from betaalreis.channels.render.context import INSTALMENT_REMINDER_STAGE, InstalmentInfo
from betaalreis.dunning.planner import DebtorContact, choose_channel, debtors_with_message_on
from betaalreis.dunning.writer import ContactRules, describe_hold
from betaalreis.ledger import timeline
from betaalreis.ledger.models import Creditor, Debtor, TimelineKind
from betaalreis.ledger.money import format_money
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus
from betaalreis.payments.models import Instalment
from betaalreis.payments.plans import instalments_to_remind

logger = logging.getLogger(__name__)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

# Channels in order of preference when the debtor states none.
REMINDER_CHANNELS = ("email", "sms", "letter")

_CHANNEL_NAMES_NL = {"email": "e-mail", "sms": "sms", "letter": "brief"}


def debtor_contact(debtor: Debtor) -> DebtorContact:
    """Return the fields of `debtor` that the channel choice reads."""
    return DebtorContact(
        id=debtor.pk,
        kind=debtor.kind,
        language=debtor.language,
        email=debtor.email,
        mobile=debtor.mobile,
        phone=debtor.phone,
        has_postal_address=bool(debtor.street and debtor.postal_code and debtor.city),
        preferred_channel=debtor.preferred_channel,
        opted_out_channels=tuple(debtor.opted_out_channels or ()),
        electronic_agreement=debtor.electronic_agreement,
    )


@dataclass(slots=True)
class ReminderResult:
    """The instalment reminders one run wrote, and the debtors whose reminder waits for the next run."""

    created: int = 0
    # Debtors who already get a message on the run day, so their reminder waits.
    waiting_debtor_ids: list[int] = field(default_factory=list)


def debtors_to_remind(creditor: Creditor, day: dt.date) -> frozenset[int]:
    """Return the debtors with an instalment that `plan_instalment_reminders` would remind on `day`."""
    return frozenset(state.instalment.plan.debtor_id for state in instalments_to_remind(creditor.pk, day))


def reminder_key(creditor: Creditor, instalment: Instalment, channel: str) -> str:
    """Return the outbox key of an instalment's reminder: one per instalment and channel."""
    return f"{creditor.slug}:{instalment.plan.debtor_id}:instalment:{instalment.pk}:{channel}"


def plan_instalment_reminders(
    creditor: Creditor, day: dt.date, moment: dt.datetime, *, source: str
) -> ReminderResult:
    """Write an outbox reminder for each instalment due within three days, and return what was written.

    `moment` is when the run acts, so the contact rules hold a reminder
    planned on a Sunday or outside contact hours until the next allowed
    moment. An instalment that has a reminder is skipped, so a second run
    on the same day writes nothing. A debtor who already has a message
    planned for `day` gets none that day, and neither does a debtor with
    no email address, mobile number or postal address. Both are tried
    again on the next run.
    """
    # NOTE: dispatch keeps only invoices with status open or handed_over in a
    # message, so it cancels these reminders until it also keeps payment_plan.
    result = ReminderResult()
    due = instalments_to_remind(creditor.pk, day)
    if not due:
        return result

    with transaction.atomic():
        rules = ContactRules(creditor, moment)
        messaged = debtors_with_message_on(
            creditor, day, {state.instalment.plan.debtor_id for state in due}, ignore_stage=INSTALMENT_REMINDER_STAGE
        )
        for state in due:
            debtor_id = state.instalment.plan.debtor_id
            if debtor_id in messaged:
                if debtor_id not in result.waiting_debtor_ids:
                    result.waiting_debtor_ids.append(debtor_id)
                continue
            if _write_reminder(creditor, state.instalment.pk, day, moment, rules, source=source):
                result.created += 1

    logger.info(
        "instalment reminders planned",
        extra={
            "creditor_id": creditor.pk, "day": day.isoformat(), "messages": result.created,
            "waiting": len(result.waiting_debtor_ids),
        },
    )
    return result


def _write_reminder(
    creditor: Creditor,
    instalment_id: int,
    day: dt.date,
    moment: dt.datetime,
    rules: ContactRules,
    *,
    source: str,
) -> Communication | None:
    instalment = (
        Instalment.objects.select_for_update()
        .select_related("plan", "plan__debtor")
        .get(pk=instalment_id, plan__creditor=creditor)
    )
    if instalment.reminded_at is not None:
        return None

    plan = instalment.plan
    debtor = plan.debtor
    channel = choose_channel(debtor_contact(debtor), list(REMINDER_CHANNELS))
    if channel is None:
        logger.warning(
            "instalment reminder skipped: debtor has no email, mobile or postal address",
            extra={"creditor_id": creditor.pk, "debtor_id": debtor.pk, "instalment_id": instalment.pk},
        )
        return None

    key = reminder_key(creditor, instalment, channel)
    if Communication.objects.filter(idempotency_key=key).exists():
        return None

    invoices = list(plan.invoices.filter(open_amount__gt=0).order_by("due_date", "number"))
    if not invoices:
        return None

    decision = rules.decide(debtor.pk)
    communication = Communication.objects.create(
        creditor=creditor,
        debtor=debtor,
        channel=channel,
        stage=INSTALMENT_REMINDER_STAGE,
        language=debtor.language,
        idempotency_key=key,
        status=CommunicationStatus.PENDING,
        run_date=day,
        not_before=decision.allowed_at if decision.is_held else None,
        hold_reason=describe_hold(decision) if decision.is_held else "",
        total_amount=instalment.amount,
        currency=plan.currency,
    )
    CommunicationInvoice.objects.bulk_create(
        CommunicationInvoice(communication=communication, invoice=invoice, open_amount=invoice.open_amount)
        for invoice in invoices
    )

    instalment.reminded_at = moment
    instalment.reminder = communication
    instalment.save(update_fields=["reminded_at", "reminder"])

    _record_reminder(communication, instalment, source=source, at=moment)
    return communication


def _record_reminder(
    communication: Communication, instalment: Instalment, *, source: str, at: dt.datetime
) -> None:
    """Record the planned reminder, and its hold if any, on the timeline at `at`, the run's moment."""
    plan = instalment.plan
    channel = _CHANNEL_NAMES_NL.get(communication.channel, communication.channel)
    timeline.record(
        plan.debtor_id,
        TimelineKind.STAGE,
        f"Herinnering termijn {instalment.number} van {plan.terms} gepland per {channel}: "
        f"{format_money(instalment.amount, plan.currency)}, vervaldatum {instalment.due_date:%d-%m-%Y}",
        source=source,
        creditor_id=plan.creditor_id,
        at=at,
        data={
            "communication_id": communication.pk,
            "stage": communication.stage,
            "channel": communication.channel,
            "plan_id": plan.pk,
            "instalment_id": instalment.pk,
            "amount": str(instalment.amount),
            "currency": plan.currency,
        },
    )
    if communication.not_before is not None:
        timeline.record(
            plan.debtor_id,
            TimelineKind.HELD,
            f"Herinnering termijn {instalment.number} tegengehouden tot "
            f"{communication.not_before.astimezone(AMSTERDAM):%d-%m-%Y %H:%M}: {communication.hold_reason}",
            source=source,
            creditor_id=plan.creditor_id,
            at=at,
            data={
                "communication_id": communication.pk,
                "not_before": communication.not_before.isoformat(),
                "reason": communication.hold_reason,
            },
        )


def instalment_for_communication(communication: Communication) -> InstalmentInfo | None:
    """Return the instalment a reminder requests, or None when the message is no instalment reminder."""
    instalment = (
        Instalment.objects.select_related("plan").filter(reminder_id=communication.pk).first()
    )
    if instalment is None:
        return None
    return InstalmentInfo(
        number=instalment.number,
        terms=instalment.plan.terms,
        amount=instalment.amount,
        due_date=instalment.due_date,
    )
