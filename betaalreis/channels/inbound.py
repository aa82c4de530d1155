"""Messages debtors send back: opt-out keywords and replies for the timeline."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

import phonenumbers
from django.db import transaction

from betaalreis.channels.consent import CHANNEL_NAMES_NL, do_opt_out
from betaalreis.ledger import timeline
from betaalreis.ledger.models import Channel, Creditor, Debtor, TimelineEvent, TimelineKind

logger = logging.getLogger(__name__)

# First words that mean "send me no more messages on this channel", in
# English and Dutch, compared case-insensitively without punctuation.
OPT_OUT_KEYWORDS = frozenset(
    {"stop", "stoppen", "stopp", "uitschrijven", "afmelden", "unsubscribe", "cancel", "end", "quit"}
)

# The timeline keeps at most this much of a reply; the provider keeps the rest.
MAX_REPLY_CHARS = 1000


@dataclass(frozen=True, slots=True)
class InboundOutcome:
    """The result of handling one inbound message."""

    matched: bool
    opted_out: bool = False
    debtor_id: int | None = None
    # The provider delivered this message before; nothing was recorded again.
    duplicate: bool = False


def is_opt_out(text: str) -> bool:
    """Return whether the message asks to stop, judged by its first word."""
    words = re.findall(r"[^\W\d_]+", text.lower())
    return bool(words) and words[0] in OPT_OUT_KEYWORDS


def normalize_number(number: str) -> str:
    """Return `number` in E.164, reading a number without + as international."""
    raw = number.strip()
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    elif not raw.startswith("+"):
        raw = "+" + raw
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return number.strip()
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def find_debtor_by_number(creditor: Creditor, number: str) -> Debtor | None:
    """Return the creditor's only debtor with this mobile number, or None when none or several."""
    e164 = normalize_number(number)
    matches = list(Debtor.objects.filter(creditor=creditor, mobile=e164)[:2])
    return matches[0] if len(matches) == 1 else None


@transaction.atomic
def do_record_inbound_message(
    debtor: Debtor,
    channel: str,
    text: str,
    *,
    provider: str,
    provider_reference: str,
    received_at: dt.datetime,
    source: str,
) -> InboundOutcome:
    """Put a debtor's reply on the timeline, or opt them out when it starts with an opt-out keyword such as STOP.

    A message the provider delivers twice (same provider reference) is
    recorded once.
    """
    if provider_reference and TimelineEvent.objects.filter(
        debtor=debtor, kind=TimelineKind.COMMUNICATION, data__provider_reference=provider_reference
    ).exists():
        return InboundOutcome(matched=True, debtor_id=debtor.pk, duplicate=True)

    if channel in (Channel.SMS, Channel.WHATSAPP) and is_opt_out(text):
        changed = do_opt_out(debtor, channel, source=source, evidence=f"{provider}: {text[:100]}")
        return InboundOutcome(matched=True, opted_out=changed, debtor_id=debtor.pk)

    timeline.record(
        debtor,
        TimelineKind.COMMUNICATION,
        f"Reactie ontvangen per {CHANNEL_NAMES_NL.get(channel, channel)}",
        source=source,
        data={
            "inbound": True,
            "channel": channel,
            "provider": provider,
            "provider_reference": provider_reference,
            "text": text[:MAX_REPLY_CHARS],
        },
        at=received_at,
    )
    return InboundOutcome(matched=True, debtor_id=debtor.pk)
