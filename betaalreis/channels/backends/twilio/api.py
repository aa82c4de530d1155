"""The only module that talks to Twilio's Messages API.

Wire format: Twilio Message resource, API version 2010-04-01 — a form POST
to /Accounts/{AccountSid}/Messages.json with HTTP Basic auth (account SID
and auth token) and the fields To, From or MessagingServiceSid, Body and
StatusCallback. Twilio picks GSM-7 or UCS-2 itself.

Before a message whose hand-over timed out is sent again, a GET of the
same Messages.json list filtered by To looks for it (Twilio's guide
"Retrieve and Modify Message History",
https://twilio.com/docs/messaging/tutorials/how-to-retrieve-and-modify-message-history).
Twilio stores no reference of ours, so a message counts as ours when it is
outbound with the same body and was created after our delivery row.
"""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

from betaalreis.channels.accounts import ProviderAccount
from betaalreis.channels.base import ChannelError, OutgoingMessage
from betaalreis.channels.models import Delivery
from betaalreis.channels.providers import RecipientInvalid, Submission, TemporaryFailure
from betaalreis.channels.sms_vendor import SmsVendorBackend

DEFAULT_API_BASE = "https://api.twilio.com"

# Twilio REST error codes (https://www.twilio.com/docs/api/errors) that say
# the number itself cannot receive SMS.
INVALID_RECIPIENT_CODES = frozenset({21211, 21214, 21217, 21401, 21407, 21408, 21612, 21614})
# The recipient replied STOP to this sender at Twilio.
RECIPIENT_UNSUBSCRIBED_CODE = 21610

# A lookup reads this many of the recipient's most recent messages.
LOOKUP_PAGE_SIZE = 50
# Allowed difference between our clock and Twilio's when comparing creation times.
LOOKUP_CLOCK_MARGIN = dt.timedelta(minutes=2)


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
            return self.submission(account, str(body["sid"]), measured, int(body.get("num_segments") or 0))

        raise _rejection(response.status_code, _error_body(response))

    def find_submitted(self, message: OutgoingMessage, account: ProviderAccount,
                       delivery: Delivery) -> Submission | None:
        account_sid = account.required("account_sid")
        base = str(account.option("api_base", DEFAULT_API_BASE)).rstrip("/")
        response = self.request(
            account, "GET", f"{base}/2010-04-01/Accounts/{account_sid}/Messages.json",
            params={"To": message.recipient, "PageSize": str(LOOKUP_PAGE_SIZE)},
            auth=(account_sid, account.secret("auth_token")),
        )
        if response.status_code != 200:
            raise TemporaryFailure(f"Twilio message lookup failed (HTTP {response.status_code}).",
                                   code="lookup_failed")

        since = delivery.created_at - LOOKUP_CLOCK_MARGIN
        for item in response.json().get("messages") or []:
            if not str(item.get("direction", "")).startswith("outbound") or item.get("body") != message.text:
                continue
            try:
                created = parsedate_to_datetime(str(item.get("date_created") or ""))
            except (TypeError, ValueError):
                continue
            if created.tzinfo is None:
                created = created.replace(tzinfo=dt.UTC)
            if created >= since:
                return self.submission(account, str(item["sid"]), self.measure(message),
                                       int(item.get("num_segments") or 0))
        return None


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
