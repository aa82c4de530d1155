"""CM.com status reports and inbound messages.

CM does not sign its status reports, so the report address carries a
secret token of our own (`webhook_token` in the provider account, with
`webhook_token_previous` during rotation) that is compared in constant
time. The JSON format is CM's documented one: messages.msg with received,
to, reference, status.code, status.errorCode and status.errorDescription.

Inbound messages go to their own address with the same token. CM's page
"Incoming Messages" (https://developers.cm.com/messaging/docs/incoming-messages)
documents them as an HTTP POST with Content-Type application/json in UTF-8,
retried every 5 minutes until we respond with 200. The top-level fields are from,
to, message, reference, groupings, timeUtc (yyyy-MM-ddTHH:mm:ss in UTC),
channel and messageContext. `reference` is the reference of the outgoing
message that the debtor replies to, so it does not identify the reply itself.
The older CM gateway format ("MO Webhooks" at
https://docs.cmtelecom.com/en/api/mo-webhooks/1.0/index/) has reference,
from, to, body and groupings, with plain strings as numbers, and is read too.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from betaalreis.channels.accounts import ProviderAccount
from betaalreis.channels.delivery import StatusReport, dedupe_key_for
from betaalreis.channels.models import DeliveryStatus
from betaalreis.channels.webhooks.base import (
    InboundText,
    ParsedWebhook,
    ProviderWebhookView,
    WebhookNotConfigured,
    WebhookRejected,
    matches_any,
)

# NOTE: CM's status codes as commonly documented: 0 accepted by the
# operator, 1 rejected, 2 delivered, 3 failed. CM's own page was not
# checked for this list.
STATUS_MAP: dict[str, str] = {
    "0": DeliveryStatus.SENT,
    "1": DeliveryStatus.REJECTED,
    "2": DeliveryStatus.DELIVERED,
    "3": DeliveryStatus.FAILED,
}

# Status error codes meaning the number is unknown or not a mobile number.
# NOTE: unconfirmed list, from CM's error-code table as remembered.
INVALID_NUMBER_CODES = frozenset({"5", "8", "39"})


class CmWebhookView(ProviderWebhookView):
    provider = "cmcom"
    channel = "sms"
    http_method_names = ["post"]

    def verify(self, request: HttpRequest, account: ProviderAccount, **kwargs: Any) -> None:
        tokens = account.secrets("webhook_token")
        if not tokens:
            raise WebhookNotConfigured("The CM.com webhook token is not configured.")
        if not matches_any(tokens, str(kwargs.get("token", ""))):
            raise WebhookRejected("The CM.com webhook token does not match.")

    def parse(self, request: HttpRequest, account: ProviderAccount) -> ParsedWebhook:
        try:
            document = json.loads(request.body)
            entries = document["messages"]["msg"]
        except (ValueError, KeyError, TypeError):
            raise WebhookRejected("The body is not a CM.com JSON status report.") from None
        if isinstance(entries, dict):
            entries = [entries]

        reports = []
        for entry in entries:
            reference = str(entry.get("reference", ""))
            status_block = entry.get("status") or {}
            code = str(status_block.get("code", ""))
            status = STATUS_MAP.get(code)
            if not reference or status is None:
                continue
            error_code = str(status_block.get("errorCode", "") or "")
            received = str(entry.get("received", ""))
            occurred_at = parse_datetime(received) or timezone.now()
            if timezone.is_naive(occurred_at):
                # NOTE: CM's timestamps carry no zone; read as UTC, unconfirmed.
                occurred_at = timezone.make_aware(occurred_at, dt.UTC)
            reports.append(StatusReport(
                provider=self.provider,
                provider_reference=reference,
                status=status,
                occurred_at=occurred_at,
                dedupe_key=dedupe_key_for(reference, code, error_code, received),
                vendor_status=code,
                error_code=error_code,
                description=str(status_block.get("errorDescription", "") or ""),
                address_invalid=error_code in INVALID_NUMBER_CODES,
                idempotency_key=reference,
            ))
        return ParsedWebhook(reports=reports)


# CM channel names of inbound messages that we record, mapped to our channels.
INBOUND_CHANNELS: dict[str, str] = {"sms": "sms", "whatsapp": "whatsapp"}


class CmInboundWebhookView(CmWebhookView):
    """Messages debtors send to the creditor's CM.com number, authenticated like status reports."""

    def parse(self, request: HttpRequest, account: ProviderAccount) -> ParsedWebhook:
        # NOTE: the stored copy of CM's page shows the top-level fields but not
        # the members of from and message, which are read as from.number and
        # message.text. A request in another shape gets 400 and stays in WebhookLog.
        try:
            document = json.loads(request.body)
            sender = _number(document["from"])
        except (ValueError, KeyError, TypeError):
            raise WebhookRejected("The body is not a CM.com JSON inbound message.") from None
        if not sender:
            raise WebhookRejected("The CM.com inbound message has no from.number.")

        channel = INBOUND_CHANNELS.get(str(document.get("channel") or "SMS").lower())
        if channel is None:
            return ParsedWebhook()

        text = _message_text(document)
        sent_at = str(document.get("timeUtc") or "")
        received_at = parse_datetime(sent_at) or timezone.now()
        if timezone.is_naive(received_at):
            received_at = timezone.make_aware(received_at, dt.UTC)

        # CM sends no id of its own for the reply. Two replies to one outgoing
        # message share `reference`, so the key also covers sender, time and text.
        reply_to = str(document.get("reference") or "")
        return ParsedWebhook(inbound=[InboundText(
            sender=sender,
            text=text,
            provider_reference=dedupe_key_for(reply_to, sender, sent_at, text),
            received_at=received_at,
            channel=channel,
        )])


def _message_text(document: dict[str, Any]) -> str:
    """Return the text of a CM inbound message: message.text, or body in the older gateway format."""
    message = document.get("message")
    if isinstance(message, dict):
        return str(message.get("text", "") or "")
    return str(document.get("body", "") or "")


def _number(party: object) -> str:
    """Return the phone number of a CM from or to field, given as an object or a plain string."""
    if isinstance(party, dict):
        return str(party.get("number", "") or "")
    return str(party or "")
