"""The only module that talks to MessageBird's SMS API.

Wire format: the legacy REST API — a JSON POST to /messages with the header
`Authorization: AccessKey <key>` and the fields originator, recipients,
body, reference, reportUrl and datacoding (plain for GSM-7, unicode for
UCS-2). Status reports come back to reportUrl as signed GET requests.
Before a message whose hand-over timed out is sent again, a GET of
/messages filtered by recipient looks for our reference among the results.

NOTE: Bird is moving customers to its Channels API; this adapter speaks the
legacy API, whose end-of-life date was not confirmed.
"""

from __future__ import annotations

from betaalreis.channels.accounts import ProviderAccount
from betaalreis.channels.base import ChannelError, OutgoingMessage
from betaalreis.channels.models import Delivery
from betaalreis.channels.providers import RecipientInvalid, Submission, TemporaryFailure
from betaalreis.channels.sms_vendor import SmsVendorBackend

DEFAULT_API_BASE = "https://rest.messagebird.com"

# MessageBird API error codes: 2 request not allowed (bad access key),
# 9 missing or incorrect parameters (a wrong recipient among them), 25 not
# enough balance.
ERROR_NOT_ALLOWED = 2
ERROR_PARAMETER = 9
ERROR_BALANCE = 25

# A lookup reads this many of the recipient's most recent messages.
LOOKUP_LIMIT = 50


class MessageBirdSmsBackend(SmsVendorBackend):
    provider = "messagebird"
    default_rate_per_second = 50.0

    def submit(self, message: OutgoingMessage, account: ProviderAccount, delivery: Delivery) -> Submission:
        measured = self.measure(message)
        payload = {
            "originator": self.sender_for(message, account),
            "recipients": [message.recipient.lstrip("+")],
            "body": message.text,
            "reference": message.idempotency_key,
            "reportUrl": self.callback_url("messagebird-status", creditor_slug=account.creditor_slug),
            "datacoding": "plain" if measured.encoding == "GSM-7" else "unicode",
        }

        base = str(account.option("api_base", DEFAULT_API_BASE)).rstrip("/")
        response = self.request(
            account, "POST", f"{base}/messages", json=payload,
            headers={"Authorization": f"AccessKey {account.secret('access_key')}"},
        )

        if response.status_code in (200, 201):
            return self.submission(account, str(response.json()["id"]), measured)

        raise _rejection(response)

    def find_submitted(self, message: OutgoingMessage, account: ProviderAccount,
                       delivery: Delivery) -> Submission | None:
        # NOTE: the list filters recipient, direction and limit come from a
        # third-party client (the messagebird-async crate on docs.rs), not
        # from MessageBird's own page. Matching on `reference` is exact.
        base = str(account.option("api_base", DEFAULT_API_BASE)).rstrip("/")
        response = self.request(
            account, "GET", f"{base}/messages",
            params={"recipient": message.recipient.lstrip("+"), "direction": "mt", "limit": str(LOOKUP_LIMIT)},
            headers={"Authorization": f"AccessKey {account.secret('access_key')}"},
        )
        if response.status_code != 200:
            raise TemporaryFailure(f"MessageBird message lookup failed (HTTP {response.status_code}).",
                                   code="lookup_failed")

        for item in response.json().get("items") or []:
            if item.get("reference") == message.idempotency_key:
                return self.submission(account, str(item["id"]), self.measure(message))
        return None


def _rejection(response) -> ChannelError:
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        errors = []
    first = errors[0] if errors else {}
    code = first.get("code")
    detail = first.get("description") or f"HTTP {response.status_code}"
    parameter = first.get("parameter", "")

    if code == ERROR_PARAMETER and parameter == "recipients":
        return RecipientInvalid(f"MessageBird rejected the number: {detail}.",
                                code="messagebird_recipient")
    if code == ERROR_NOT_ALLOWED or response.status_code == 401:
        return ChannelError(f"MessageBird rejected the access key: {detail}.",
                            permanent=False, code="provider_auth_failed")
    if code == ERROR_BALANCE:
        return ChannelError(f"MessageBird balance too low: {detail}. Top up the account.",
                            permanent=False, code="provider_balance")
    return ChannelError(f"MessageBird rejected the message: {detail} ({parameter or code}).",
                        permanent=True, code=f"messagebird_{code or response.status_code}")
