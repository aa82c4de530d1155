"""Shared parts of the SMS vendor adapters: sender, encoding, segments and cost."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.urls import reverse

from betaalreis.channels.accounts import ProviderAccount
from betaalreis.channels.base import ChannelError, OutgoingMessage
from betaalreis.channels.gsm import SmsEncoding, measure_sms
from betaalreis.channels.models import CreditorChannelSettings
from betaalreis.channels.providers import Submission, VendorBackend

# An alphanumeric sender ID: 1 to 11 letters, digits or spaces, with at
# least one letter (a sender of only digits is read as a phone number).
ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
E164_NUMBER = re.compile(r"^\+[1-9]\d{6,14}$")

# Concatenated SMS longer than this many parts are rejected by most
# providers and cost more than a letter; CM.com caps at 8.
MAX_SEGMENTS = 8


class SmsVendorBackend(VendorBackend):
    """Base of SMS adapters: validates the sender and measures the text."""

    channel: ClassVar[str] = "sms"

    def sender_for(self, message: OutgoingMessage, account: ProviderAccount) -> str:
        """Return the creditor's sender ID or number, from its settings or its account."""
        sender = (
            CreditorChannelSettings.objects.filter(creditor__slug=message.creditor_slug)
            .values_list("sms_sender", flat=True)
            .first()
        ) or str(account.option("sender", ""))

        if not sender:
            raise ChannelError(
                f"No SMS sender for creditor {message.creditor_slug!r}: set sms_sender in its "
                "channel settings or 'sender' in its BETAALREIS_PROVIDERS account.",
                permanent=True, code="sms_sender_missing",
            )
        if not (ALPHANUMERIC_SENDER.match(sender) or E164_NUMBER.match(sender)):
            raise ChannelError(
                f"SMS sender {sender!r} is invalid: use up to 11 letters and digits, "
                "or a number in E.164 notation such as +31612345678.",
                permanent=True, code="sms_sender_invalid",
            )
        return sender

    def measure(self, message: OutgoingMessage) -> SmsEncoding:
        """Return the text's encoding and parts; raise when it is empty or too long."""
        if not message.text.strip():
            raise ChannelError("The SMS text is empty.", permanent=True, code="sms_empty")
        measured = measure_sms(message.text)
        if measured.segments > MAX_SEGMENTS:
            raise ChannelError(
                f"The SMS needs {measured.segments} parts ({measured.encoding}); at most "
                f"{MAX_SEGMENTS} are allowed. Shorten the template.",
                permanent=True, code="sms_too_long",
            )
        return measured

    def cost_of(self, account: ProviderAccount, segments: int) -> Decimal | None:
        """Return segments × the account's `price_per_segment`, or None when no price is set."""
        price = account.decimal("price_per_segment")
        return None if price is None else price * segments

    def submission(self, account: ProviderAccount, reference: str, measured: SmsEncoding,
                   segments: int | None = None) -> Submission:
        """Return the accepted message's record, priced by `segments` (default: our own count)."""
        count = segments or measured.segments
        return Submission(
            provider_reference=reference,
            segments=count,
            encoding=measured.encoding,
            cost=self.cost_of(account, count),
            cost_currency=str(account.option("currency", "EUR")),
        )

    def callback_url(self, name: str, **kwargs: str) -> str:
        """Return the public address of one of our webhook endpoints."""
        return settings.BETAALREIS_BASE_URL + reverse(f"channels:{name}", kwargs=kwargs)
