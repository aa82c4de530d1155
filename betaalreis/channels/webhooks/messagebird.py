"""MessageBird status reports and inbound SMS (legacy SMS API).

MessageBird calls reportUrl with GET and the report in the query string,
signed in MessageBird-Signature: the Base64 HMAC-SHA256, keyed with the
account's signing key, of three lines — the MessageBird-Request-Timestamp
value, the query parameters sorted by name and URL-encoded, and the raw
SHA-256 digest of the body (empty for GET). Source: the signed-request code
in MessageBird's own REST API libraries.

An SMS sent to the creditor's virtual mobile number is expected the same
way, with GET and the message in the query string: id, recipient,
originator, body and createdDatetime (unconfirmed, see `_parse_inbound`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from typing import Any
from urllib.parse import urlencode

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
from django.http import HttpRequest, QueryDict

STATUS_MAP: dict[str, str] = {
    "scheduled": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "buffered": DeliveryStatus.DEFERRED,
    "delivered": DeliveryStatus.DELIVERED,
    "expired": DeliveryStatus.FAILED,
    "delivery_failed": DeliveryStatus.FAILED,
}

# statusReason values that mean the number itself is bad.
# NOTE: taken from MessageBird's documentation as remembered, not a confirmed list.
INVALID_NUMBER_REASONS = frozenset({"unknown subscriber", "invalid destination", "unavailable subscriber"})

# Reports older or newer than this are rejected as replays.
MAX_CLOCK_SKEW = dt.timedelta(minutes=5)


def messagebird_signature(signing_key: str, timestamp: str, query: dict[str, str], body: bytes) -> str:
    """Return the MessageBird-Signature value for a request."""
    sorted_query = urlencode(sorted(query.items()))
    payload = b"\n".join(
        [timestamp.encode(), sorted_query.encode(), hashlib.sha256(body).digest()]
    )
    digest = hmac.new(signing_key.encode(), payload, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class MessageBirdWebhookView(ProviderWebhookView):
    provider = "messagebird"
    channel = "sms"

    def verify(self, request: HttpRequest, account: ProviderAccount, **kwargs: Any) -> None:
        received = request.headers.get("MessageBird-Signature", "")
        timestamp = request.headers.get("MessageBird-Request-Timestamp", "")
        if not received or not timestamp:
            raise WebhookRejected("MessageBird-Signature or MessageBird-Request-Timestamp is missing.")

        try:
            sent_at = dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC)
        except ValueError:
            raise WebhookRejected(f"MessageBird-Request-Timestamp {timestamp!r} is not a number.") from None
        if abs(timezone.now() - sent_at) > MAX_CLOCK_SKEW:
            raise WebhookRejected("MessageBird-Request-Timestamp is too far from now; possible replay.")

        keys = account.secrets("signing_key")
        if not keys:
            raise WebhookNotConfigured("The MessageBird signing key is not configured.")

        query = {name: request.GET[name] for name in request.GET}
        expected = [messagebird_signature(key, timestamp, query, request.body) for key in keys]
        if not matches_any(expected, received):
            raise WebhookRejected("MessageBird-Signature does not match.")

    def parse(self, request: HttpRequest, account: ProviderAccount) -> ParsedWebhook:
        query = request.GET
        if "originator" in query and "status" not in query:
            return _parse_inbound(query)

        message_id = query.get("id", "")
        vendor_status = query.get("status", "")
        if not message_id or not vendor_status:
            raise WebhookRejected("A MessageBird status report needs id and status.")

        status = STATUS_MAP.get(vendor_status)
        if status is None:
            return ParsedWebhook()
        reason = query.get("statusReason", "")
        occurred_at = parse_datetime(query.get("statusDatetime", "")) or timezone.now()

        return ParsedWebhook(reports=[StatusReport(
            provider=self.provider,
            provider_reference=message_id,
            status=status,
            occurred_at=occurred_at,
            dedupe_key=dedupe_key_for(message_id, vendor_status, query.get("statusDatetime", "")),
            vendor_status=vendor_status,
            error_code=query.get("statusErrorCode", ""),
            description=reason,
            address_invalid=reason.lower() in INVALID_NUMBER_REASONS,
            idempotency_key=query.get("reference", ""),
        )])


def _parse_inbound(query: QueryDict) -> ParsedWebhook:
    """Return the inbound SMS a virtual mobile number forward contains."""
    # NOTE: unconfirmed. The stored copies of MessageBird's and Bird's pages
    # describe no forward of the legacy SMS API. Bird's Channels API page
    # "Receiving messages" shows a different JSON shape (sender.contact.
    # identifierValue, body.text.text), which this view does not read.
    # Zendesk's Sunshine Conversations guide configures the forward in a
    # Flow Builder step "Forward to URL" whose method and content type the
    # user picks, so the format may depend on that step. Whether the
    # forward is signed is also unknown. A request in another format, or
    # unsigned, gets 400 and stays in WebhookLog.
    message_id = query.get("id", "")
    sender = query.get("originator", "")
    if not message_id or not sender:
        raise WebhookRejected("A MessageBird inbound message needs id and originator.")

    received_at = parse_datetime(query.get("createdDatetime", "")) or timezone.now()
    return ParsedWebhook(inbound=[InboundText(
        sender=sender,
        text=query.get("body", ""),
        provider_reference=message_id,
        received_at=received_at,
    )])
