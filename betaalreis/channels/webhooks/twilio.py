"""Twilio status callbacks and inbound SMS.

Twilio signs each request with X-Twilio-Signature: the Base64 HMAC-SHA1,
keyed with the account's auth token, of the full URL Twilio called followed
by every POST parameter as name and value, sorted by name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

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

# Twilio MessageStatus values mapped to our vocabulary.
STATUS_MAP: dict[str, str] = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.SENT,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
    "partially_delivered": DeliveryStatus.DELIVERED,
}

# Delivery error codes (30xxx) that mean the number cannot receive SMS:
# 30005 unknown destination handset, 30006 landline or unreachable carrier.
INVALID_NUMBER_CODES = frozenset({"30005", "30006"})


def twilio_signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """Return the X-Twilio-Signature value for a form POST to `url`."""
    payload = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _form_params(request: HttpRequest) -> list[tuple[str, str]]:
    return [(name, value) for name, values in request.POST.lists() for value in values]


class TwilioWebhookView(ProviderWebhookView):
    provider = "twilio"
    channel = "sms"
    http_method_names = ["post"]

    def verify(self, request: HttpRequest, account: ProviderAccount, **kwargs: Any) -> None:
        received = request.headers.get("X-Twilio-Signature", "")
        if not received:
            raise WebhookRejected("X-Twilio-Signature header is missing.")

        tokens = account.secrets("auth_token")
        if not tokens:
            raise WebhookNotConfigured("The Twilio auth token is not configured.")

        # Twilio signs the public address it called, which a proxy in front
        # of us may rewrite, so rebuild it from BETAALREIS_BASE_URL.
        url = settings.BETAALREIS_BASE_URL + request.get_full_path()
        params = _form_params(request)
        expected = [twilio_signature(token, url, params) for token in tokens]
        if not matches_any(expected, received):
            raise WebhookRejected("X-Twilio-Signature does not match.")

    def parse(self, request: HttpRequest, account: ProviderAccount) -> ParsedWebhook:
        form = request.POST
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        if not sid:
            raise WebhookRejected("MessageSid is missing.")
        vendor_status = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()

        if vendor_status == "received":
            return ParsedWebhook(inbound=[InboundText(
                sender=form.get("From", ""), text=form.get("Body", ""),
                provider_reference=sid, received_at=timezone.now(),
            )])

        status = STATUS_MAP.get(vendor_status)
        if status is None:
            return ParsedWebhook()
        error_code = form.get("ErrorCode", "") or ""
        dedupe = request.headers.get("I-Twilio-Idempotency-Token") or dedupe_key_for(
            sid, vendor_status, error_code
        )
        return ParsedWebhook(reports=[StatusReport(
            provider=self.provider,
            provider_reference=sid,
            status=status,
            occurred_at=timezone.now(),
            dedupe_key=dedupe,
            vendor_status=vendor_status,
            error_code=error_code,
            description=f"Twilio error {error_code}" if error_code else "",
            address_invalid=error_code in INVALID_NUMBER_CODES,
            idempotency_key=request.GET.get("key", ""),
        )])

    def acknowledge(self, parsed: ParsedWebhook) -> HttpResponse:
        # An empty TwiML response: no automatic reply to the debtor.
        return HttpResponse("<Response/>", content_type="text/xml")
