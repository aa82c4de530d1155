"""Consent, opt-out, unreachable addresses and the per-creditor WhatsApp switch.

Every change here is a `do_*` action: atomic, with a timeline row of kind
"preference" on the debtor it concerns.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from betaalreis.errors import InvalidInput
from betaalreis.ledger import timeline
from betaalreis.ledger.models import Channel, Creditor, Debtor, TimelineKind
from betaalreis.channels.models import ConsentRecord, CreditorChannelSettings, InvalidAddress

logger = logging.getLogger(__name__)

CHANNEL_NAMES_NL = {
    Channel.EMAIL: "e-mail",
    Channel.SMS: "sms",
    Channel.LETTER: "brief",
    Channel.PHONE: "telefoon",
    Channel.WHATSAPP: "WhatsApp",
}


def address_for(debtor: Debtor, channel: str) -> str:
    """Return the debtor's address on `channel`: an email address, a number or ""."""
    if channel == Channel.EMAIL:
        return debtor.email
    if channel in (Channel.SMS, Channel.WHATSAPP):
        return debtor.mobile
    if channel == Channel.PHONE:
        return debtor.phone or debtor.mobile
    return ""


@transaction.atomic
def do_opt_out(debtor: Debtor, channel: str, *, source: str, evidence: str = "") -> bool:
    """Stop every message to `debtor` on `channel`; return False when already opted out."""
    if channel not in Channel.values:
        raise InvalidInput(f"Unknown channel {channel!r}; use one of {sorted(Channel.values)}.")

    locked = Debtor.objects.select_for_update().get(pk=debtor.pk)
    if channel in locked.opted_out_channels:
        return False

    locked.opted_out_channels = [*locked.opted_out_channels, channel]
    Debtor.objects.filter(pk=locked.pk).update(opted_out_channels=locked.opted_out_channels)
    debtor.opted_out_channels = locked.opted_out_channels

    ConsentRecord.objects.create(
        creditor_id=locked.creditor_id,
        debtor=locked,
        channel=channel,
        granted=False,
        address=address_for(locked, channel),
        source=source[:300],
        evidence=evidence[:500],
    )
    timeline.record(
        locked,
        TimelineKind.PREFERENCE,
        f"Afgemeld voor {CHANNEL_NAMES_NL[channel]}",
        source=source,
        data={"channel": channel, "opted_out": True, "evidence": evidence[:200]},
    )
    return True


@transaction.atomic
def do_opt_in(
    debtor: Debtor, channel: str, *, source: str, evidence: str, address: str = ""
) -> ConsentRecord:
    """Record that `debtor` agreed to messages on `channel`, lifting an earlier opt-out.

    `address` is the number or email address the consent covers (default:
    the debtor's current one); consent for WhatsApp lapses when it changes.
    """
    if channel not in Channel.values:
        raise InvalidInput(f"Unknown channel {channel!r}; use one of {sorted(Channel.values)}.")
    if not evidence.strip():
        raise InvalidInput(
            "Consent needs evidence: say how the debtor agreed (form, message, call)."
        )

    locked = Debtor.objects.select_for_update().get(pk=debtor.pk)
    if channel in locked.opted_out_channels:
        locked.opted_out_channels = [c for c in locked.opted_out_channels if c != channel]
        Debtor.objects.filter(pk=locked.pk).update(opted_out_channels=locked.opted_out_channels)
        debtor.opted_out_channels = locked.opted_out_channels

    record = ConsentRecord.objects.create(
        creditor_id=locked.creditor_id,
        debtor=locked,
        channel=channel,
        granted=True,
        address=address or address_for(locked, channel),
        source=source[:300],
        evidence=evidence[:500],
    )
    timeline.record(
        locked,
        TimelineKind.PREFERENCE,
        f"Toestemming gegeven voor {CHANNEL_NAMES_NL[channel]}",
        source=source,
        data={"channel": channel, "opted_in": True, "evidence": evidence[:200]},
    )
    return record


def has_opt_in(debtor: Debtor, channel: str) -> bool:
    """Return whether the debtor's latest consent on `channel` is a yes for the current address."""
    latest = (
        ConsentRecord.objects.filter(debtor=debtor, channel=channel).order_by("-at", "-id").first()
    )
    if latest is None or not latest.granted:
        return False
    return not latest.address or latest.address == address_for(debtor, channel)


@transaction.atomic
def do_mark_address_invalid(
    debtor: Debtor, channel: str, address: str, *, reason: str, provider: str, source: str
) -> bool:
    """Mark `address` unreachable for the debtor; return False when it already was."""
    if not address:
        return False
    try:
        with transaction.atomic():
            InvalidAddress.objects.create(
                creditor_id=debtor.creditor_id,
                debtor=debtor,
                channel=channel,
                address=address,
                reason=reason[:300],
                provider=provider,
            )
    except IntegrityError:
        return False

    timeline.record(
        debtor,
        TimelineKind.PREFERENCE,
        f"{CHANNEL_NAMES_NL.get(channel, channel).capitalize()}adres onbereikbaar: {reason[:200]}",
        source=source,
        data={"channel": channel, "invalid_address": True, "provider": provider},
    )
    return True


def is_address_invalid(debtor: Debtor, channel: str) -> bool:
    address = address_for(debtor, channel)
    if not address:
        return False
    return InvalidAddress.objects.filter(debtor=debtor, channel=channel, address=address).exists()


def whatsapp_allowed(creditor: Creditor) -> bool:
    """Return whether the creditor may send WhatsApp messages now.

    A collection agency never may: Meta's business messaging policy lists
    debt collection among prohibited uses, even when the switch was turned
    on before the creditor was marked as an agency.
    """
    if creditor.is_collection_agency:
        return False
    return CreditorChannelSettings.objects.filter(creditor=creditor, whatsapp_enabled=True).exists()


@transaction.atomic
def do_enable_whatsapp(creditor: Creditor, *, source: str) -> CreditorChannelSettings:
    """Switch WhatsApp on for a creditor; raise InvalidInput for a collection agency."""
    if creditor.is_collection_agency:
        raise InvalidInput(
            f"Creditor {creditor.slug!r} is marked as a collection agency, and WhatsApp's "
            "business policy prohibits debt collection, so WhatsApp stays off.",
            code="whatsapp_not_allowed",
        )
    channel_settings, _ = CreditorChannelSettings.objects.select_for_update().get_or_create(
        creditor=creditor
    )
    channel_settings.whatsapp_enabled = True
    channel_settings.whatsapp_enabled_at = timezone.now()
    channel_settings.save(update_fields=["whatsapp_enabled", "whatsapp_enabled_at"])
    logger.info("whatsapp enabled", extra={"creditor_id": creditor.pk, "source": source})
    return channel_settings


@transaction.atomic
def do_disable_whatsapp(creditor: Creditor, *, source: str) -> None:
    """Switch WhatsApp off for a creditor."""
    CreditorChannelSettings.objects.filter(creditor=creditor).update(whatsapp_enabled=False)
    logger.info("whatsapp disabled", extra={"creditor_id": creditor.pk, "source": source})
