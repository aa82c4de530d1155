"""Delivery events from providers, and the fallback to a stage's next channel.

Webhook views parse vendor payloads into `StatusReport`s and hand them to
`do_record_delivery_event`. It stores each event once and moves the delivery
forward, never backward, because events arrive out of order. It also writes
the timeline, and on a terminal failure it plans the stage's next channel.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from betaalreis.channels.consent import (
    CHANNEL_NAMES_NL,
    do_mark_address_invalid,
    do_opt_out,
    has_opt_in,
    is_address_invalid,
    whatsapp_allowed,
)
from betaalreis.channels.models import (
    Delivery,
    DeliveryEvent,
    DeliveryStatus,
    SubmissionState,
    WebhookLog,
)
from betaalreis.channels.whatsapp_templates import template_ready
from betaalreis.dunning.letter_channel import fourteen_day_channels
from betaalreis.dunning.models import Stage
from betaalreis.ledger import timeline
from betaalreis.ledger.models import Channel, Debtor, TimelineKind
from betaalreis.legal.contact import next_allowed_contact
from betaalreis.legal.models import legal_settings_for
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus

logger = logging.getLogger(__name__)

# Progress order. A report only moves a delivery to a higher rank, so a late
# "sent" never overwrites "delivered", and a "failed" after "delivered" (seen
# on WhatsApp with several devices) does not undo the delivery.
STATUS_RANK: dict[str, int] = {
    DeliveryStatus.UNKNOWN: -1,
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DEFERRED: 1,
    DeliveryStatus.FAILED: 2,
    DeliveryStatus.BOUNCED: 2,
    DeliveryStatus.REJECTED: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.OPENED: 4,
    DeliveryStatus.READ: 4,
    DeliveryStatus.CLICKED: 5,
}
FAILURE_STATUSES = frozenset({DeliveryStatus.FAILED, DeliveryStatus.BOUNCED, DeliveryStatus.REJECTED})
# Reports that do not describe delivery progress but act on consent.
CONSENT_STATUSES = frozenset({DeliveryStatus.COMPLAINED, DeliveryStatus.UNSUBSCRIBED})

STATUS_SUMMARY_NL: dict[str, str] = {
    DeliveryStatus.QUEUED: "in wachtrij bij provider",
    DeliveryStatus.SENT: "verzonden",
    DeliveryStatus.DEFERRED: "vertraagd, provider probeert opnieuw",
    DeliveryStatus.DELIVERED: "afgeleverd",
    DeliveryStatus.OPENED: "geopend",
    DeliveryStatus.READ: "gelezen",
    DeliveryStatus.CLICKED: "link aangeklikt",
    DeliveryStatus.FAILED: "niet afgeleverd",
    DeliveryStatus.BOUNCED: "gebounced",
    DeliveryStatus.REJECTED: "geweigerd door provider",
    DeliveryStatus.COMPLAINED: "als spam gemeld",
    DeliveryStatus.UNSUBSCRIBED: "afgemeld via de provider",
    DeliveryStatus.UNKNOWN: "onbekende status",
}


@dataclass(frozen=True, slots=True)
class StatusReport:
    """One vendor status event, mapped to our delivery vocabulary.

    `dedupe_key` identifies the event at the provider (its event id, or a
    hash of reference, status and time), so a repeated webhook is recognised.
    `address_invalid` is true when the provider reports the recipient address
    itself is bad (hard bounce, unknown or unreachable number).
    `idempotency_key` is our own key when the provider echoes it back.
    """

    provider: str
    provider_reference: str
    status: str
    occurred_at: dt.datetime
    dedupe_key: str
    vendor_status: str = ""
    error_code: str = ""
    description: str = ""
    address_invalid: bool = False
    idempotency_key: str = ""
    cost: Decimal | None = None


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """The result of `do_record_delivery_event` for one report."""

    matched: bool
    duplicate: bool = False
    status_changed: bool = False
    delivery_id: int | None = None
    fallback_communication_id: int | None = None


def dedupe_key_for(*parts: object) -> str:
    """Return a stable key for an event that has no id of its own."""
    joined = "\x1f".join(str(part) for part in parts)
    return hashlib.sha256(joined.encode()).hexdigest()[:64]


def _find_delivery(report: StatusReport) -> Delivery | None:
    """Find the delivery that `report` is about among the deliveries of the report's provider.

    The idempotency key comes from the report's payload and is easy to
    guess, so it only matches a delivery of the same provider, and not one
    whose stored provider reference differs from the report's.
    """
    deliveries = Delivery.objects.select_for_update().filter(provider=report.provider)
    if report.provider_reference:
        found = deliveries.filter(provider_reference=report.provider_reference).first()
        if found is not None:
            return found
    if not report.idempotency_key:
        return None

    found = deliveries.filter(idempotency_key=report.idempotency_key).first()
    if found is None:
        return None
    stored_reference = found.provider_reference
    if report.provider_reference and stored_reference and stored_reference != report.provider_reference:
        logger.warning(
            "delivery report names another message than the delivery of its key",
            extra={"provider": report.provider, "delivery_id": found.pk,
                   "provider_reference": report.provider_reference},
        )
        return None
    return found


@transaction.atomic
def do_record_delivery_event(
    report: StatusReport,
    *,
    source: str,
    webhook: WebhookLog | None = None,
    sent_through_sender: Callable[[Delivery], bool] | None = None,
) -> DeliveryOutcome:
    """Store one provider status report and apply it to its delivery.

    Idempotent: a report with a `dedupe_key` seen before changes nothing.
    A report for an unknown message is kept (delivery empty) and returns
    matched=False, so the webhook can return 200 without losing it.
    `sent_through_sender`, when given, returns whether a delivery went out
    through the account that sent the report. A delivery for which it
    returns False counts as an unknown message.
    """
    delivery = _find_delivery(report)
    if delivery is not None and sent_through_sender is not None and not sent_through_sender(delivery):
        logger.warning(
            "delivery report from another provider account than the delivery's",
            extra={"provider": report.provider, "delivery_id": delivery.pk,
                   "provider_reference": report.provider_reference},
        )
        delivery = None

    try:
        with transaction.atomic():
            DeliveryEvent.objects.create(
                delivery=delivery,
                provider=report.provider,
                provider_reference=report.provider_reference or report.idempotency_key,
                dedupe_key=report.dedupe_key,
                status=report.status,
                vendor_status=report.vendor_status[:60],
                error_code=report.error_code[:60],
                description=report.description[:500],
                occurred_at=report.occurred_at,
                webhook=webhook,
            )
    except IntegrityError:
        return DeliveryOutcome(matched=delivery is not None, duplicate=True,
                               delivery_id=delivery.pk if delivery else None)

    if delivery is None:
        logger.warning(
            "delivery report for unknown message",
            extra={"provider": report.provider, "provider_reference": report.provider_reference},
        )
        return DeliveryOutcome(matched=False)

    updates = _confirm_acceptance(delivery, report)
    changed = _advance_status(delivery, report, updates)
    if report.cost is not None:
        delivery.cost = report.cost
        updates.append("cost")
    if updates:
        delivery.save(update_fields=sorted(set(updates)))

    communication = _communication_of(delivery)
    if changed or report.status in CONSENT_STATUSES:
        _record_on_timeline(delivery, report, communication, source)

    if report.status in CONSENT_STATUSES:
        debtor = Debtor.objects.get(pk=delivery.debtor_id)
        do_opt_out(debtor, delivery.channel, source=source,
                   evidence=f"{report.provider}: {report.vendor_status}")

    fallback_id = None
    if changed and report.status in FAILURE_STATUSES:
        fallback_id = _handle_failure(delivery, report, communication, source)
    elif communication is not None and report.cost is not None:
        Communication.objects.filter(pk=communication.pk).update(cost=report.cost)

    return DeliveryOutcome(
        matched=True,
        status_changed=changed,
        delivery_id=delivery.pk,
        fallback_communication_id=fallback_id,
    )


def _confirm_acceptance(delivery: Delivery, report: StatusReport) -> list[str]:
    """Settle a hand-over whose outcome was uncertain: a report proves the provider has it."""
    if delivery.state == SubmissionState.ACCEPTED:
        return []
    delivery.state = SubmissionState.ACCEPTED
    delivery.accepted_at = delivery.accepted_at or report.occurred_at
    fields = ["state", "accepted_at"]
    if report.provider_reference and not delivery.provider_reference:
        delivery.provider_reference = report.provider_reference
        fields.append("provider_reference")
    return fields


def _advance_status(delivery: Delivery, report: StatusReport, updates: list[str]) -> bool:
    if report.status in CONSENT_STATUSES:
        return False
    current = STATUS_RANK.get(delivery.status, -1) if delivery.status else -2
    if STATUS_RANK.get(report.status, -1) <= current:
        return False
    delivery.status = report.status
    delivery.status_at = report.occurred_at
    updates += ["status", "status_at"]
    if report.status in FAILURE_STATUSES:
        delivery.error_code = report.error_code[:60]
        delivery.last_error = report.description or report.vendor_status
        updates += ["error_code", "last_error"]
    return True


def _communication_of(delivery: Delivery) -> Communication | None:
    if delivery.communication_id:
        return Communication.objects.filter(pk=delivery.communication_id).first()
    communication = Communication.objects.filter(idempotency_key=delivery.idempotency_key).first()
    if communication is not None:
        Delivery.objects.filter(pk=delivery.pk).update(communication=communication)
    return communication


def stage_name_nl(communication: Communication) -> str:
    """Return the Dutch name of the message's stage for a timeline summary, or its code when no policy has it."""
    # Imported here because the render package imports this module through the email backends.
    from betaalreis.channels.render.context import INSTALMENT_REMINDER_NAME_NL, INSTALMENT_REMINDER_STAGE

    if communication.stage == INSTALMENT_REMINDER_STAGE:
        return INSTALMENT_REMINDER_NAME_NL
    name = (
        Stage.objects.filter(
            policy__creditor_id=communication.creditor_id,
            policy__debtor_kind=communication.debtor.kind,
            code=communication.stage,
        )
        .values_list("name_nl", flat=True)
        .first()
    )
    return name or communication.stage


def _record_on_timeline(
    delivery: Delivery, report: StatusReport, communication: Communication | None, source: str
) -> None:
    channel_name = CHANNEL_NAMES_NL.get(delivery.channel, delivery.channel)
    summary = f"{channel_name.capitalize()} {STATUS_SUMMARY_NL.get(report.status, report.status)}"
    if communication is not None:
        summary += f" ({stage_name_nl(communication)})"
    if report.status in FAILURE_STATUSES and (report.description or report.error_code):
        summary += f": {report.description or report.error_code}"
    timeline.record(
        delivery.debtor_id,
        TimelineKind.COMMUNICATION,
        summary,
        source=source,
        creditor_id=delivery.creditor_id,
        data={
            "delivery_id": delivery.pk,
            "communication_id": communication.pk if communication else None,
            "provider": report.provider,
            "provider_reference": report.provider_reference,
            "status": report.status,
            "vendor_status": report.vendor_status,
            "error_code": report.error_code,
        },
        at=report.occurred_at,
    )


def _handle_failure(
    delivery: Delivery, report: StatusReport, communication: Communication | None, source: str
) -> int | None:
    debtor = Debtor.objects.get(pk=delivery.debtor_id)
    reason = report.description or report.vendor_status or report.status

    if report.address_invalid:
        do_mark_address_invalid(
            debtor, delivery.channel, delivery.recipient,
            reason=reason, provider=report.provider, source=source,
        )

    if communication is None:
        return None
    Communication.objects.filter(pk=communication.pk).update(
        last_error=f"{report.provider} {report.status}: {reason}"[:2000]
    )
    fallback = do_plan_fallback(communication, reason=reason, source=source)
    return fallback.pk if fallback else None


def channel_reachable(
    debtor: Debtor, channel: str, *, stage_code: str | None = None, language: str = ""
) -> bool:
    """Return whether a message on `channel` can go to the debtor now.

    Checks the debtor's own opt-outs and addresses, addresses a provider
    reported as unreachable, and for WhatsApp the creditor's switch and the
    debtor's opt-in. With `stage_code`, WhatsApp also needs the stage's
    verified template in `language` (default: the debtor's language).
    """
    if not debtor.accepts(channel):
        return False
    if is_address_invalid(debtor, channel):
        return False
    if channel != Channel.WHATSAPP:
        return True

    if not (whatsapp_allowed(debtor.creditor) and has_opt_in(debtor, channel)):
        return False
    if stage_code is None:
        return True
    return template_ready(debtor.creditor_id, stage_code, language or debtor.language)


# Separates the channels of a fallback chain inside an idempotency key.
CHAIN_MARK = ">"


def _tried_channels(communication: Communication) -> set[str]:
    parts = communication.idempotency_key.split(CHAIN_MARK)
    tried = {communication.channel}
    tried.update(part for part in parts[1:] if part in Channel.values)
    return tried


def fallback_channel_for(communication: Communication) -> str | None:
    """Return the stage's next channel the debtor can receive, or None.

    The candidates are the stage's channels after the one that failed, in
    the stage's order, skipping every channel this message already tried
    and WhatsApp when the stage has no verified template in the message's language.
    A consumer's 14-day letter falls back only to the channels that
    `fourteen_day_channels` allows, so a failed letter never turns into an
    e-mail to a consumer who did not agree to electronic communication.
    Without a stage (a message planned by hand) there is no fallback.
    """
    debtor = communication.debtor
    stage = (
        Stage.objects.filter(
            policy__creditor_id=communication.creditor_id,
            policy__debtor_kind=debtor.kind,
            code=communication.stage,
        )
        .only("channels", "is_fourteen_day_letter")
        .first()
    )
    if stage is None:
        return None

    channels = list(stage.channels)
    if stage.is_fourteen_day_letter:
        channels = fourteen_day_channels(channels, debtor)
    if communication.channel in channels:
        channels = channels[channels.index(communication.channel) + 1:]
    tried = _tried_channels(communication)

    for channel in channels:
        if channel in tried:
            continue
        if channel_reachable(
            debtor, channel, stage_code=communication.stage, language=communication.language
        ):
            return channel
    return None


def _fallback_key(communication: Communication, channel: str) -> str:
    key = f"{communication.idempotency_key}{CHAIN_MARK}{channel}"
    if len(key) <= 200:
        return key
    digest = hashlib.sha256(communication.idempotency_key.encode()).hexdigest()[:32]
    return f"fallback:{digest}{CHAIN_MARK}{channel}"


@transaction.atomic
def do_plan_fallback(
    communication: Communication, *, reason: str, source: str, at: dt.datetime | None = None
) -> Communication | None:
    """Queue the same message on the stage's next channel; return it, or None.

    The new message may go out from `at` (default now), or from the next
    moment the creditor's contact hours allow. Safe to call twice for the
    same failure: the new message's idempotency key is derived from the
    failed one, so the second call finds the first message instead of
    planning another.
    """
    channel = fallback_channel_for(communication)
    if channel is None:
        timeline.record(
            communication.debtor_id,
            TimelineKind.COMMUNICATION,
            f"{CHANNEL_NAMES_NL.get(communication.channel, '').capitalize()} mislukt en er is "
            f"geen ander kanaal voor fase {stage_name_nl(communication)}",
            source=source,
            creditor_id=communication.creditor_id,
            data={"communication_id": communication.pk, "reason": reason[:200]},
        )
        return None

    key = _fallback_key(communication, channel)
    existing = Communication.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing

    # The fallback replaces a message that never reached the debtor, so it
    # does not count as a second contact this week. It does wait for the
    # creditor's contact hours, because a bounce can arrive at any time.
    not_before = next_allowed_contact(at or timezone.now(), legal_settings_for(communication.creditor))
    fallback = Communication.objects.create(
        creditor_id=communication.creditor_id,
        debtor_id=communication.debtor_id,
        channel=channel,
        stage=communication.stage,
        language=communication.language,
        idempotency_key=key,
        status=CommunicationStatus.PENDING,
        not_before=not_before,
        run_date=communication.run_date,
        total_amount=communication.total_amount,
        currency=communication.currency,
        subject=communication.subject,
    )
    CommunicationInvoice.objects.bulk_create(
        CommunicationInvoice(communication=fallback, invoice_id=item.invoice_id, open_amount=item.open_amount)
        for item in communication.items.all()
    )
    timeline.record(
        communication.debtor_id,
        TimelineKind.COMMUNICATION,
        f"{CHANNEL_NAMES_NL.get(communication.channel, '').capitalize()} mislukt; "
        f"fase {stage_name_nl(communication)} gaat nu per {CHANNEL_NAMES_NL.get(channel, channel)}",
        source=source,
        creditor_id=communication.creditor_id,
        data={
            "communication_id": communication.pk,
            "fallback_communication_id": fallback.pk,
            "channel": channel,
            "reason": reason[:200],
        },
    )
    return fallback
