"""Email tracking events and inbound replies, received through django-anymail.

Anymail's own webhook views (mounted under channels/anymail/, where they
reject every request while no webhook secret is set) check the basic-auth
credentials that the ESP sends, normalise each ESP's events, and send the
`tracking` and `inbound` signals handled here. The receivers connect when
this module is imported, which betaalreis.channels.urls does before any
anymail view can be reached.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from email.utils import parseaddr

from anymail.signals import AnymailInboundEvent, AnymailTrackingEvent, EventType, inbound, tracking
from anymail.utils import get_anymail_setting
from django.dispatch import receiver
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from betaalreis.channels.accounts import provider_account
from betaalreis.channels.backends.anymail.api import METADATA_KEY, esp_display_name
from betaalreis.channels.delivery import StatusReport, dedupe_key_for, do_record_delivery_event
from betaalreis.channels.inbound import do_record_inbound_message
from betaalreis.channels.models import Delivery, DeliveryStatus, WebhookLog
from betaalreis.channels.webhooks.base import stored_body
from betaalreis.errors import ConfigurationError
from betaalreis.ledger.models import Creditor, Debtor

logger = logging.getLogger(__name__)

PROVIDER = "anymail"

EVENT_MAP: dict[str, str] = {
    EventType.QUEUED: DeliveryStatus.QUEUED,
    EventType.SENT: DeliveryStatus.SENT,
    EventType.REJECTED: DeliveryStatus.REJECTED,
    EventType.FAILED: DeliveryStatus.FAILED,
    EventType.BOUNCED: DeliveryStatus.BOUNCED,
    EventType.DEFERRED: DeliveryStatus.DEFERRED,
    EventType.DELIVERED: DeliveryStatus.DELIVERED,
    EventType.OPENED: DeliveryStatus.OPENED,
    EventType.CLICKED: DeliveryStatus.CLICKED,
    EventType.COMPLAINED: DeliveryStatus.COMPLAINED,
    EventType.UNSUBSCRIBED: DeliveryStatus.UNSUBSCRIBED,
}

# Anymail reject reasons that mean the address itself is bad. Anymail
# reports a hard bounce as event "bounced"; a soft bounce is "deferred".
INVALID_ADDRESS_REASONS = frozenset({"invalid", "bounced"})

_REPLY_SALT = "betaalreis.channels.reply-address"


def _reply_tag(debtor_id: int) -> str:
    return salted_hmac(_REPLY_SALT, str(debtor_id)).hexdigest()[:20]


def reply_address(debtor: Debtor, inbound_domain: str) -> str:
    """Return a reply-to address that identifies `debtor` when the reply comes back.

    The tag is lower-case hex, because some mail servers change the case of
    the local part.
    """
    return f"reply+{debtor.pk}-{_reply_tag(debtor.pk)}@{inbound_domain}"


def _debtor_from_reply_address(address: str) -> int | None:
    local = address.partition("@")[0].lower()
    if not local.startswith("reply+"):
        return None
    debtor_part, _, tag = local.removeprefix("reply+").partition("-")
    if not debtor_part.isdigit() or not constant_time_compare(tag, _reply_tag(int(debtor_part))):
        return None
    return int(debtor_part)


# Characters kept of a verified call's body.
_VERIFIED_BODY_CHARS = 100_000


def _verified(sender: object) -> bool:
    """Return whether the anymail view `sender` checked the call's credentials.

    Views with `warn_if_no_basic_auth` off check the ESP's own signature,
    which anymail requires. The others check basic auth only when
    WEBHOOK_SECRET is set.
    """
    if not getattr(sender, "warn_if_no_basic_auth", True):
        return True
    return bool(get_anymail_setting("webhook_secret", default=[]))


def _new_log(sender: object, esp_name: str, path: str, text: str, **fields: object) -> WebhookLog:
    verified = _verified(sender)
    body, note = stored_body(text, verified)
    return WebhookLog.objects.create(
        provider=f"{PROVIDER}:{esp_name}", method="POST", path=path,
        body=body[:_VERIFIED_BODY_CHARS], verified=verified, detail=note, **fields,
    )


@receiver(tracking, dispatch_uid="betaalreis.channels.email.tracking")
def handle_tracking(sender: object, event: AnymailTrackingEvent, esp_name: str, **kwargs: object) -> None:
    status = EVENT_MAP.get(event.event_type)
    if status is None or not (event.message_id or event.metadata.get(METADATA_KEY)):
        return

    raw = json.dumps(getattr(event, "esp_event", None), default=str)
    log = _new_log(sender, esp_name, "", raw, outcome=WebhookLog.Outcome.PROCESSED)
    occurred_at = event.timestamp or timezone.now()
    report = StatusReport(
        provider=PROVIDER,
        provider_reference=str(event.message_id or ""),
        status=status,
        occurred_at=occurred_at,
        dedupe_key=event.event_id or dedupe_key_for(esp_name, event.message_id, event.event_type, occurred_at),
        vendor_status=event.event_type,
        error_code=str(event.reject_reason or ""),
        description=str(event.description or event.mta_response or "")[:500],
        address_invalid=status == DeliveryStatus.BOUNCED
        or (status == DeliveryStatus.REJECTED and event.reject_reason in INVALID_ADDRESS_REASONS),
        idempotency_key=str(event.metadata.get(METADATA_KEY, "")),
    )
    outcome = do_record_delivery_event(
        report, source=f"webhook:{esp_name}", webhook=log, sent_through_sender=_sent_through_esp(esp_name)
    )
    if outcome.duplicate or not outcome.matched:
        log.outcome = WebhookLog.Outcome.DUPLICATE if outcome.duplicate else WebhookLog.Outcome.UNMATCHED
        log.save(update_fields=["outcome"])


# Anymail 15 also mounts Brevo's webhooks under /sendinblue/, whose views name the ESP SendinBlue.
_ESP_ALIASES = {"SendinBlue": "Brevo"}


def _same_esp(first: str, second: str) -> bool:
    return _ESP_ALIASES.get(first, first) == _ESP_ALIASES.get(second, second)


def _sent_through_esp(esp_name: str) -> Callable[[Delivery], bool]:
    """Return a check that a delivery went out through anymail and the ESP `esp_name` ("Postmark").

    A delivery stores the ESP it was handed to, so an event still matches
    after its creditor moves to another ESP. A delivery made before that
    field existed has no ESP stored, and for it the ESP is the one in its
    creditor's current email account in BETAALREIS_PROVIDERS.
    """

    def sent_through_esp(delivery: Delivery) -> bool:
        if delivery.provider != PROVIDER or delivery.channel != "email":
            return False
        if delivery.esp:
            return _same_esp(delivery.esp, esp_name)

        # NOTE: for such an older delivery, late events of an ESP its
        # creditor has since left match nothing and are kept unmatched.
        account_esp_name = _current_esp_name(delivery.creditor_id)
        return account_esp_name is not None and _same_esp(account_esp_name, esp_name)

    return sent_through_esp


def _current_esp_name(creditor_id: int) -> str | None:
    """Return the ESP name of the creditor's current anymail email account, or None without one."""
    slug = Creditor.objects.values_list("slug", flat=True).get(pk=creditor_id)
    try:
        account = provider_account(slug, "email")
    except ConfigurationError:
        return None
    if account.provider != PROVIDER:
        return None
    return esp_display_name(str(account.option("esp", "")))


@receiver(inbound, dispatch_uid="betaalreis.channels.email.inbound")
def handle_inbound(sender: object, event: AnymailInboundEvent, esp_name: str, **kwargs: object) -> None:
    message = event.message
    log = _new_log(sender, esp_name, "inbound", str(message) if message is not None else "")
    if message is None:
        log.outcome = WebhookLog.Outcome.IGNORED
        log.save(update_fields=["outcome"])
        return

    debtor = _match_debtor(message)
    if debtor is None:
        logger.warning("inbound email from unknown sender", extra={"webhook_id": log.pk, "esp": esp_name})
        log.outcome = WebhookLog.Outcome.UNMATCHED
        log.save(update_fields=["outcome"])
        return

    log.creditor_id = debtor.creditor_id
    log.outcome = WebhookLog.Outcome.PROCESSED
    log.save(update_fields=["creditor", "outcome"])
    subject = message.get("Subject", "") or ""
    do_record_inbound_message(
        debtor, "email", f"{subject}\n\n{message.text or ''}".strip(),
        provider=PROVIDER, provider_reference=str(message.get("Message-ID", "") or event.event_id or ""),
        received_at=event.timestamp or timezone.now(), source=f"webhook:{esp_name}",
    )


def _match_debtor(message: object) -> Debtor | None:
    """Find the debtor by our signed reply address, else by a sender address only one debtor has."""
    recipients = [address.addr_spec for address in (getattr(message, "to", None) or [])]
    for address in recipients:
        debtor_id = _debtor_from_reply_address(address)
        if debtor_id is not None:
            return Debtor.objects.filter(pk=debtor_id).first()

    sender = getattr(message, "from_email", None)
    sender_address = sender.addr_spec if sender is not None else parseaddr(message.get("From", ""))[1]
    if not sender_address:
        return None
    matches = list(Debtor.objects.filter(email__iexact=sender_address)[:2])
    return matches[0] if len(matches) == 1 else None
