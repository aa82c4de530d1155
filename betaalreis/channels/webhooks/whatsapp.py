"""WhatsApp Cloud API webhooks: the subscription check, statuses and inbound messages.

Meta verifies the endpoint with a GET carrying hub.mode=subscribe,
hub.verify_token and hub.challenge, and expects the challenge back. Every
POST is signed in X-Hub-Signature-256 as "sha256=" plus the hex HMAC-SHA256
of the raw body, keyed with the app secret.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from betaalreis.channels.accounts import ProviderAccount
from betaalreis.channels.delivery import StatusReport
from betaalreis.channels.models import DeliveryStatus
from betaalreis.channels.webhooks.base import (
    InboundText,
    ParsedWebhook,
    ProviderWebhookView,
    WebhookNotConfigured,
    WebhookRejected,
    matches_any,
)
from betaalreis.ledger.models import Creditor
from betaalreis.channels.accounts import provider_account
from betaalreis.errors import ConfigurationError

STATUS_MAP: dict[str, str] = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
}
# 131026: message undeliverable, for example no WhatsApp account on the number.
INVALID_NUMBER_CODES = frozenset({"131026"})


def hub_signature(app_secret: str, body: bytes) -> str:
    """Return the X-Hub-Signature-256 value for a body."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def _timestamp(value: object) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(int(str(value)), tz=dt.UTC)
    except ValueError:
        return timezone.now()


class WhatsAppWebhookView(ProviderWebhookView):
    provider = "whatsapp_cloud"
    channel = "whatsapp"

    def get(self, request: HttpRequest, creditor_slug: str, **kwargs: Any) -> HttpResponse:
        """Respond to Meta's subscription check with the challenge when the verify token matches."""
        if request.GET.get("hub.mode") != "subscribe":
            return HttpResponse(status=400)
        if not Creditor.objects.filter(slug=creditor_slug).exists():
            return HttpResponse(status=404)
        try:
            tokens = provider_account(creditor_slug, self.channel).secrets("verify_token")
        except ConfigurationError:
            tokens = []
        if not tokens or not matches_any(tokens, request.GET.get("hub.verify_token", "")):
            return HttpResponse(status=403)
        return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")

    def verify(self, request: HttpRequest, account: ProviderAccount, **kwargs: Any) -> None:
        received = request.headers.get("X-Hub-Signature-256", "")
        if not received:
            raise WebhookRejected("X-Hub-Signature-256 header is missing.")
        secrets = account.secrets("app_secret")
        if not secrets:
            raise WebhookNotConfigured("The WhatsApp app secret is not configured.")
        expected = [hub_signature(secret, request.body) for secret in secrets]
        if not matches_any(expected, received):
            raise WebhookRejected("X-Hub-Signature-256 does not match.")

    def parse(self, request: HttpRequest, account: ProviderAccount) -> ParsedWebhook:
        try:
            document = json.loads(request.body)
            changes = [change for entry in document["entry"] for change in entry.get("changes", [])]
        except (ValueError, KeyError, TypeError):
            raise WebhookRejected("The body is not a WhatsApp webhook notification.") from None

        parsed = ParsedWebhook()
        for change in changes:
            if change.get("field") != "messages":
                continue
            value = change.get("value") or {}
            for status in value.get("statuses", []):
                report = self._report(status)
                if report is not None:
                    parsed.reports.append(report)
            for message in value.get("messages", []):
                parsed.inbound.append(InboundText(
                    sender=str(message.get("from", "")),
                    text=_message_text(message),
                    provider_reference=str(message.get("id", "")),
                    received_at=_timestamp(message.get("timestamp")),
                    channel="whatsapp",
                ))
        return parsed

    def _report(self, status: dict) -> StatusReport | None:
        vendor_status = str(status.get("status", ""))
        mapped = STATUS_MAP.get(vendor_status)
        message_id = str(status.get("id", ""))
        if mapped is None or not message_id:
            return None
        errors = status.get("errors") or [{}]
        error_code = str(errors[0].get("code", "")) if errors[0] else ""
        description = str(errors[0].get("title") or errors[0].get("message") or "") if errors[0] else ""
        return StatusReport(
            provider=self.provider,
            provider_reference=message_id,
            status=mapped,
            occurred_at=_timestamp(status.get("timestamp")),
            # Meta sends each status of a message once, but retries a
            # notification that was not answered with 200.
            dedupe_key=f"{message_id}:{vendor_status}"[:200],
            vendor_status=vendor_status,
            error_code=error_code,
            description=description,
            address_invalid=error_code in INVALID_NUMBER_CODES,
        )


def _message_text(message: dict) -> str:
    kind = message.get("type", "")
    if kind == "text":
        return str((message.get("text") or {}).get("body", ""))
    if kind == "button":
        return str((message.get("button") or {}).get("text", ""))
    if kind == "interactive":
        interactive = message.get("interactive") or {}
        reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
        return str(reply.get("title", ""))
    return f"[{kind or 'onbekend'} bericht]"
