"""The only module that talks to CM.com's messaging gateway.

Wire format, as CM's own Python SDK builds it: a JSON POST to
/v1.0/message with the product token inside the body under
messages.authentication.producttoken, and one entry in messages.msg per
message (allowedChannels, from, to[].number, body.type and content,
reference, message part limits). CM sends no message id back, so our
`reference` is the provider reference that its status reports echo.
"""

from __future__ import annotations

import hashlib

from betaalreis.channels.accounts import ProviderAccount
from betaalreis.channels.base import ChannelError, OutgoingMessage
from betaalreis.channels.models import Delivery
from betaalreis.channels.providers import RecipientInvalid, Submission
from betaalreis.channels.sms_vendor import SmsVendorBackend

DEFAULT_API_BASE = "https://gw.cmtelecom.com"

# CM response codes from its SDK: 101 and 103 authentication, 102 balance,
# 301 invalid sender, 302 and 303 invalid recipient, 304 invalid body.
AUTH_CODES = frozenset({101, 103})
BALANCE_CODE = 102
INVALID_RECIPIENT_CODES = frozenset({302, 303})

# NOTE: CM's maximum reference length was not confirmed; 32 characters is
# what this adapter sends, hashing longer keys.
MAX_REFERENCE = 32


def reference_for(idempotency_key: str) -> str:
    if len(idempotency_key) <= MAX_REFERENCE:
        return idempotency_key
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:MAX_REFERENCE]


class CmSmsBackend(SmsVendorBackend):
    provider = "cmcom"
    default_rate_per_second = 50.0

    def submit(self, message: OutgoingMessage, account: ProviderAccount, delivery: Delivery) -> Submission:
        measured = self.measure(message)
        reference = reference_for(message.idempotency_key)
        payload = {
            "messages": {
                "authentication": {"producttoken": account.secret("producttoken")},
                "msg": [{
                    "allowedChannels": ["SMS"],
                    "from": self.sender_for(message, account),
                    "to": [{"number": message.recipient}],
                    "body": {"type": "auto", "content": message.text},
                    "reference": reference,
                    "minimumNumberOfMessageParts": 1,
                    "maximumNumberOfMessageParts": max(measured.segments, 1),
                }],
            }
        }

        base = str(account.option("api_base", DEFAULT_API_BASE)).rstrip("/")
        response = self.request(account, "POST", f"{base}/v1.0/message", json=payload)

        try:
            body = response.json()
        except ValueError:
            body = {}
        code = body.get("errorCode")
        if response.status_code == 200 and code == 0:
            return Submission(
                provider_reference=reference,
                segments=measured.segments,
                encoding=measured.encoding,
                cost=self.cost_of(account, measured.segments),
                cost_currency=str(account.option("currency", "EUR")),
            )

        raise _rejection(response.status_code, body)


def _rejection(status_code: int, body: dict) -> ChannelError:
    messages = body.get("messages") or [{}]
    message_code = messages[0].get("messageErrorCode")
    code = message_code or body.get("errorCode")
    detail = messages[0].get("messageDetails") or body.get("details") or f"HTTP {status_code}"

    if code in INVALID_RECIPIENT_CODES:
        return RecipientInvalid(f"CM.com rejected the number: {detail} (code {code}).",
                                code=f"cmcom_{code}")
    if code in AUTH_CODES:
        return ChannelError(f"CM.com rejected the product token: {detail}.",
                            permanent=False, code="provider_auth_failed")
    if code == BALANCE_CODE:
        return ChannelError(f"CM.com balance too low: {detail}. Top up the account.",
                            permanent=False, code="provider_balance")
    return ChannelError(f"CM.com rejected the message: {detail} (code {code}).",
                        permanent=True, code=f"cmcom_{code or status_code}")
