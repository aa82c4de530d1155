"""State changes of outbox messages that a person makes, each with a timeline row naming who made it."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone, translation

from betaalreis.channels.delivery import CHAIN_MARK, stage_name_nl
from betaalreis.errors import InvalidInput
from betaalreis.ledger import timeline
from betaalreis.ledger.models import Invoice, TimelineKind
from betaalreis.legal.contact import next_allowed_contact
from betaalreis.legal.models import legal_settings_for
from betaalreis.outbox.dispatch import check_transition
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus


# Statuses of a message that has reached the debtor, is reaching them, or will.
_LIVE_STATUSES = (
    CommunicationStatus.SENT, CommunicationStatus.SENDING, CommunicationStatus.PENDING, CommunicationStatus.HELD,
)


class ResendRejected(InvalidInput):
    """A failed message that cannot go back to the outbox, with the reason in `code`."""


@transaction.atomic
def do_resend_failed(communication_id: int, *, by: str) -> Communication:
    """Put a failed message back in the outbox, to be sent by the next dispatch, and return it.

    The message goes back to pending with its attempts reset and its error
    cleared, from the first moment the creditor's contact hours allow.
    A fallback that its failure planned on another channel and that still
    waits is cancelled, so the debtor gets one of the two. `by` names the
    person, as "user:<username>", in the timeline rows.

    Raises ResendRejected when the message is not failed, or when another
    message of the same stage for its invoices is sent, being sent, or
    waiting and is not its fallback. It also raises when none of its
    invoices is still at its stage, because then the run moved them back
    and plans the stage again.
    """
    communication = Communication.objects.select_for_update().select_related("debtor", "creditor").get(
        pk=communication_id
    )
    if communication.status != CommunicationStatus.FAILED:
        raise ResendRejected(
            f"Message {communication.pk} is {communication.status}, not failed; only a failed message can be "
            "sent again.",
            code="resend_not_failed",
        )

    fallbacks = _waiting_fallbacks(communication)
    invoice_ids = list(communication.items.values_list("invoice_id", flat=True))
    if not Invoice.objects.filter(
        creditor_id=communication.creditor_id, pk__in=invoice_ids, dunning_progress__stage=communication.stage
    ).exists():
        raise ResendRejected(
            f"No invoice of message {communication.pk} is still at stage {communication.stage}, because the run "
            "moved them back after the failure; the next run plans that stage again.",
            code="resend_stage_reverted",
        )

    now = timezone.now()
    for fallback in fallbacks:
        check_transition(fallback.status, CommunicationStatus.CANCELLED)
        fallback.status = CommunicationStatus.CANCELLED
        fallback.save(update_fields=["status"])
        timeline.record(
            fallback.debtor_id, TimelineKind.COMMUNICATION_CANCELLED,
            f"{_channel_nl(fallback)} ({stage_name_nl(fallback)}) vervallen: het mislukte bericht op een ander "
            f"kanaal wordt opnieuw verstuurd, op verzoek van {by}",
            source=by, creditor_id=fallback.creditor_id,
            data={"communication_id": fallback.pk, "replaced_by": communication.pk},
        )

    check_transition(communication.status, CommunicationStatus.PENDING)
    previous_error = communication.last_error
    communication.status = CommunicationStatus.PENDING
    communication.attempts = 0
    communication.last_error = ""
    communication.failing_since = None
    communication.claimed_at = None
    communication.not_before = next_allowed_contact(now, legal_settings_for(communication.creditor))
    communication.save(
        update_fields=["status", "attempts", "last_error", "failing_since", "claimed_at", "not_before"]
    )
    timeline.record(
        communication.debtor, TimelineKind.COMMUNICATION,
        f"{_channel_nl(communication)} ({stage_name_nl(communication)}) opnieuw te versturen, op verzoek van {by}",
        source=by, creditor_id=communication.creditor_id,
        data={
            "communication_id": communication.pk,
            "previous_error": previous_error[:500],
            "cancelled_fallbacks": [fallback.pk for fallback in fallbacks],
        },
    )
    return communication


def _waiting_fallbacks(communication: Communication) -> list[Communication]:
    """Return the waiting fallbacks of `communication`, or raise ResendRejected when another message blocks the resend.

    Another message blocks it when it is of the same stage, lists one of
    the same invoices, and is sent, being sent, or waiting without being a
    fallback of this one.
    """
    others = Communication.objects.select_for_update().filter(
        pk__in=CommunicationInvoice.objects.filter(
            invoice_id__in=communication.items.values("invoice_id"),
            communication__stage=communication.stage,
            communication__status__in=_LIVE_STATUSES,
        ).exclude(communication_id=communication.pk).values("communication_id")
    ).order_by("pk")
    fallbacks = []
    for other in others:
        is_fallback = other.idempotency_key.startswith(f"{communication.idempotency_key}{CHAIN_MARK}")
        if not is_fallback or other.status not in (CommunicationStatus.PENDING, CommunicationStatus.HELD):
            raise ResendRejected(
                f"Message {other.pk} ({other.channel}, {other.status}) of the same stage already lists these "
                f"invoices, so sending message {communication.pk} again would reach the debtor twice.",
                code="resend_superseded",
            )
        fallbacks.append(other)
    return fallbacks


def _channel_nl(communication: Communication) -> str:
    """Return the channel's Dutch display name, because timeline summaries are stored in Dutch."""
    with translation.override("nl"):
        return str(communication.get_channel_display())
