"""The only module that talks to Twilio's Messages API.

Wire format: Twilio Message resource, API version 2010-04-01 — a form POST
to /Accounts/{AccountSid}/Messages.json with HTTP Basic auth (account SID
and auth token) and the fields To, From or MessagingServiceSid, Body and
StatusCallback. Twilio picks GSM-7 or UCS-2 itself.
"""

from __future__ import annotations

from urllib.parse import urlencode

from betaalreis.channels.accounts import ProviderAccount
from betaalreis.channels.base import ChannelError, OutgoingMessage
from betaalreis.channels.models import Delivery
from betaalreis.channels.providers import RecipientInvalid, Submission
from betaalreis.channels.sms_vendor import SmsVendorBackend

DEFAULT_API_BASE = "https://api.twilio.com"

# Twilio REST error codes (https://www.twilio.com/docs/api/errors) that say
# the number itself cannot receive SMS.
INVALID_RECIPIENT_CODES = frozenset({21211, 21214, 21217, 21401, 21407, 21408, 21612, 21614})
# The recipient replied STOP to this sender at Twilio.
RECIPIENT_UNSUBSCRIBED_CODE = 21610


class TwilioSmsBackend(SmsVendorBackend):
    provider = "twilio"
    # Twilio queues above a sender's rate instead of refusing; one message
    # per second is the usual rate of a single long code, so a Messaging
    # Service or short code should set `rate_per_second` higher.
    default_rate_per_second = 1.0

    def submit(self, message: OutgoingMessage, account: ProviderAccount, delivery: Delivery) -> Submission:
        account_sid = account.required("account_sid")
        measured = self.measure(message)
        status_callback = self.callback_url("twilio-status", creditor_slug=account.creditor_slug)
        # Our key in the callback address lets a status report settle a
        # hand-over whose response was lost.
        status_callback += "?" + urlencode({"key": message.idempotency_key})

        fields = {"To": message.recipient, "Body": message.text, "StatusCallback": status_callback}
        service_sid = account.option("messaging_service_sid")
        if service_sid:
            fields["MessagingServiceSid"] = str(service_sid)
        else:
            fields["From"] = self.sender_for(message, account)

        base = str(account.option("api_base", DEFAULT_API_BASE)).rstrip("/")
        response = self.request(
            account, "POST", f"{base}/2010-04-01/Accounts/{account_sid}/Messages.json",
            data=fields, auth=(account_sid, account.secret("auth_token")),
        )

        if response.status_code in (200, 201):
            body = response.json()
            segments = int(body.get("num_segments") or measured.segments)
            return Submission(
                provider_reference=str(body["sid"]),
                segments=segments,
                encoding=measured.encoding,
                cost=self.cost_of(account, segments),
                cost_currency=str(account.option("currency", "EUR")),
            )

        raise _rejection(response.status_code, _error_body(response))


def _error_body(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _rejection(status_code: int, body: dict) -> ChannelError:
    code = body.get("code")
    detail = body.get("message") or f"HTTP {status_code}"
    if code in INVALID_RECIPIENT_CODES:
        return RecipientInvalid(f"Twilio rejected the number: {detail} (error {code}).",
                                code=f"twilio_{code}")
    if code == RECIPIENT_UNSUBSCRIBED_CODE:
        return ChannelError(f"The recipient unsubscribed at Twilio: {detail}.",
                            permanent=True, code="recipient_unsubscribed")
    if status_code in (401, 403):
        # A wrong token is fixed in configuration; the message itself is fine.
        return ChannelError(f"Twilio rejected the credentials: {detail}. Check the auth token.",
                            permanent=False, code="provider_auth_failed")
    return ChannelError(f"Twilio rejected the message: {detail} (error {code}).",
                        permanent=True, code=f"twilio_{code or status_code}")
