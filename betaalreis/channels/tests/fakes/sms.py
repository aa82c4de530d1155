"""Fake Twilio, MessageBird and CM.com SMS APIs.

Each checks authentication, required fields and their encoding the way the
provider documents them, records what it accepted, and builds status
reports signed (or authenticated) the way the provider does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from typing import Any
import datetime
from email.utils import format_datetime
from urllib.parse import urlencode, urlsplit

from betaalreis.channels.gsm import is_gsm7, measure_sms
from betaalreis.channels.tests.fakes.server import FakeServer, Request, Response, WebhookCall

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
ALPHANUMERIC = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")


class FakeTwilio(FakeServer):
    """Twilio Messages API, 2010-04-01: form POST with HTTP Basic auth."""

    provider = "twilio"

    def __init__(self, account_sid: str = "AC" + "1" * 32, auth_token: str = "twilio-token-current") -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.invalid_numbers: set[str] = set()

    def account_options(self) -> dict[str, Any]:
        return {
            "provider": "twilio", "api_base": self.url, "account_sid": self.account_sid,
            "auth_token": self.auth_token, "sender": "Acme", "price_per_segment": "0.0750",
        }

    def route(self, request: Request) -> Response:
        if request.method not in ("GET", "POST") or request.path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            return Response(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})

        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return Response(401, {"code": 20003, "message": "Authenticate", "status": 401})
        if request.method == "GET":
            return self._list(request)
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return Response(400, {"code": 20001, "message": "Unsupported content type", "status": 400})

        form = dict(request.form())
        to = form.get("To", "")
        if not E164.match(to) or to in self.invalid_numbers:
            return Response(400, {"code": 21211, "message": f"Invalid 'To' Phone Number: {to}", "status": 400})
        sender = form.get("From", "")
        if not sender and not form.get("MessagingServiceSid"):
            return Response(400, {"code": 21603, "message": "A 'From' phone number is required.", "status": 400})
        if sender and not (E164.match(sender) or ALPHANUMERIC.match(sender)):
            return Response(400, {"code": 21212, "message": f"Invalid From Number: {sender}", "status": 400})
        body = form.get("Body", "")
        if not body:
            return Response(400, {"code": 21602, "message": "Message body is required.", "status": 400})
        if len(body) > 1600:
            return Response(400, {"code": 21617, "message": "The concatenated message body exceeds the 1600 character limit.", "status": 400})

        sid = "SM" + uuid.uuid4().hex
        segments = measure_sms(body).segments
        self.accept({"reference": sid, "to": to, "sender": sender, "text": body,
                     "status_callback": form.get("StatusCallback", ""), "segments": segments,
                     "date_created": format_datetime(datetime.datetime.now(datetime.UTC))})
        return Response(201, {
            "sid": sid, "account_sid": self.account_sid, "to": to, "from": sender, "body": body,
            "status": "queued", "num_segments": str(segments), "price": None, "price_unit": "EUR",
            "error_code": None, "error_message": None, "api_version": "2010-04-01",
        })

    def _list(self, request: Request) -> Response:
        """Read the Messages list, newest first, filtered by To and limited to PageSize."""
        to = request.query.get("To", "")
        page_size = int(request.query.get("PageSize", "50"))
        records = [record for record in reversed(self.accepted) if not to or record["to"] == to][:page_size]
        return Response(200, {
            "messages": [{
                "sid": record["reference"], "account_sid": self.account_sid, "to": record["to"],
                "from": record["sender"], "body": record["text"], "direction": "outbound-api",
                "status": "sent", "num_segments": str(record["segments"]), "date_created": record["date_created"],
                "date_sent": None, "api_version": "2010-04-01",
            } for record in records],
            "page": 0, "page_size": page_size, "next_page_uri": None,
        })

    def sign(self, url: str, params: list[tuple[str, str]], token: str | None = None) -> str:
        data = url + "".join(f"{name}{value}" for name, value in sorted(params))
        mac = hmac.new((token or self.auth_token).encode(), data.encode(), hashlib.sha1)
        return base64.b64encode(mac.digest()).decode()

    def status_webhook(self, reference: str, status: str, *, error_code: str = "", token: str | None = None) -> WebhookCall:
        record = next(item for item in self.accepted if item["reference"] == reference)
        url = record["status_callback"]
        params = [
            ("AccountSid", self.account_sid), ("ApiVersion", "2010-04-01"), ("From", record["sender"]),
            ("MessageSid", reference), ("MessageStatus", status), ("SmsSid", reference),
            ("SmsStatus", status), ("To", record["to"]),
        ]
        if error_code:
            params.append(("ErrorCode", error_code))
        return _form_call(url, params, {"X-Twilio-Signature": self.sign(url, params, token)})

    def inbound_webhook(self, public_url: str, sender: str, text: str, *, message_sid: str | None = None) -> WebhookCall:
        sid = message_sid or "SM" + uuid.uuid4().hex
        params = [
            ("AccountSid", self.account_sid), ("ApiVersion", "2010-04-01"), ("Body", text),
            ("From", sender), ("MessageSid", sid), ("NumMedia", "0"), ("SmsStatus", "received"),
            ("To", "+3197010000000"),
        ]
        return _form_call(public_url, params, {"X-Twilio-Signature": self.sign(public_url, params)})


def _form_call(url: str, params: list[tuple[str, str]], headers: dict[str, str]) -> WebhookCall:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return WebhookCall("POST", path, urlencode(params).encode(), "application/x-www-form-urlencoded", headers)


class FakeMessageBird(FakeServer):
    """MessageBird legacy SMS API: JSON POST /messages with AccessKey auth."""

    provider = "messagebird"

    def __init__(self, access_key: str = "live_mb_access_key", signing_key: str = "mb-signing-key-current") -> None:
        super().__init__()
        self.access_key = access_key
        self.signing_key = signing_key
        self.invalid_numbers: set[str] = set()

    def account_options(self) -> dict[str, Any]:
        return {
            "provider": "messagebird", "api_base": self.url, "access_key": self.access_key,
            "signing_key": self.signing_key, "sender": "Acme", "price_per_segment": "0.0650",
        }

    def route(self, request: Request) -> Response:
        if request.method not in ("GET", "POST") or request.path != "/messages":
            return Response(404, {"errors": [{"code": 20, "description": "message not found", "parameter": None}]})
        if request.headers.get("authorization") != f"AccessKey {self.access_key}":
            return Response(401, {"errors": [{"code": 2, "description": "Request not allowed (incorrect access_key)", "parameter": "access_key"}]})
        if request.method == "GET":
            return self._list(request)
        if not request.headers.get("content-type", "").startswith("application/json"):
            return Response(422, {"errors": [{"code": 9, "description": "body must be JSON", "parameter": "body"}]})

        payload = request.json()
        errors = self._check(payload)
        if errors:
            return Response(422, {"errors": errors})

        message_id = uuid.uuid4().hex
        recipient = payload["recipients"][0]
        self.accept({"reference": message_id, "to": "+" + recipient, "sender": payload["originator"],
                     "text": payload["body"], "our_reference": payload.get("reference", ""),
                     "report_url": payload.get("reportUrl", ""), "datacoding": payload.get("datacoding")})
        return Response(201, {
            "id": message_id, "href": f"{self.url}/messages/{message_id}", "direction": "mt", "type": "sms",
            "originator": payload["originator"], "body": payload["body"], "reference": payload.get("reference"),
            "datacoding": payload.get("datacoding", "plain"),
            "recipients": {"totalCount": 1, "totalSentCount": 1, "totalDeliveredCount": 0,
                           "totalDeliveryFailedCount": 0,
                           "items": [{"recipient": int(recipient), "status": "sent",
                                      "statusDatetime": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())}]},
        })

    def _list(self, request: Request) -> Response:
        """List sent messages, newest first, filtered by recipient (digits only) and limited to `limit`."""
        recipient = request.query.get("recipient", "")
        limit = int(request.query.get("limit", "20"))
        records = [record for record in reversed(self.accepted)
                   if not recipient or record["to"] == "+" + recipient][:limit]
        items = [{
            "id": record["reference"], "href": f"{self.url}/messages/{record['reference']}", "direction": "mt",
            "type": "sms", "originator": record["sender"], "body": record["text"],
            "reference": record["our_reference"] or None, "datacoding": record["datacoding"],
        } for record in records]
        return Response(200, {"offset": 0, "limit": limit, "count": len(items), "totalCount": len(items),
                              "items": items})

    def _check(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        originator = str(payload.get("originator", ""))
        if not (ALPHANUMERIC.match(originator) or re.fullmatch(r"\+?\d{3,16}", originator)):
            return [{"code": 9, "description": "originator is invalid", "parameter": "originator"}]
        recipients = payload.get("recipients") or []
        if not recipients or any(not re.fullmatch(r"[1-9]\d{6,14}", str(number)) or "+" + str(number) in self.invalid_numbers
                                 for number in recipients):
            return [{"code": 9, "description": "no (correct) recipients found", "parameter": "recipients"}]
        body = payload.get("body", "")
        if not body:
            return [{"code": 9, "description": "body is required", "parameter": "body"}]
        coding = payload.get("datacoding", "plain")
        if coding not in ("plain", "unicode", "auto"):
            return [{"code": 9, "description": "datacoding is invalid", "parameter": "datacoding"}]
        if coding == "plain" and not is_gsm7(body):
            # With plain coding the characters outside GSM-7 would arrive garbled.
            return [{"code": 9, "description": "body has characters outside plain coding", "parameter": "datacoding"}]
        return []

    def sign(self, timestamp: str, query: dict[str, str], body: bytes = b"", key: str | None = None) -> str:
        lines = [timestamp.encode(), urlencode(sorted(query.items())).encode(), hashlib.sha256(body).digest()]
        mac = hmac.new((key or self.signing_key).encode(), b"\n".join(lines), hashlib.sha256)
        return base64.b64encode(mac.digest()).decode()

    def status_webhook(self, reference: str, status: str, *, reason: str = "", error_code: str = "",
                       key: str | None = None, timestamp: int | None = None) -> WebhookCall:
        record = next(item for item in self.accepted if item["reference"] == reference)
        query = {
            "id": reference, "reference": record["our_reference"], "recipient": record["to"].lstrip("+"),
            "status": status, "statusDatetime": "2026-12-04T10:00:00+00:00", "mccmnc": "20408",
        }
        if reason:
            query["statusReason"] = reason
        if error_code:
            query["statusErrorCode"] = error_code
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        path = urlsplit(record["report_url"]).path + "?" + urlencode(query)
        headers = {"MessageBird-Signature": self.sign(stamp, query, b"", key),
                   "MessageBird-Request-Timestamp": stamp}
        return WebhookCall("GET", path, b"", "", headers)

    def inbound_webhook(self, path: str, sender: str, text: str, *, message_id: str | None = None,
                        key: str | None = None) -> WebhookCall:
        """Build the signed GET that forwards an SMS sent to the creditor's virtual mobile number."""
        # NOTE: the field names are unconfirmed; see `_parse_inbound` in the webhook view.
        query = {
            "id": message_id or uuid.uuid4().hex, "recipient": "3197010000000",
            "originator": sender.lstrip("+"), "body": text, "createdDatetime": "2026-12-04T10:00:00+00:00",
        }
        stamp = str(int(time.time()))
        headers = {"MessageBird-Signature": self.sign(stamp, query, b"", key),
                   "MessageBird-Request-Timestamp": stamp}
        return WebhookCall("GET", path + "?" + urlencode(query), b"", "", headers)


class FakeCm(FakeServer):
    """CM.com Business Messaging gateway: JSON POST /v1.0/message, token in the body."""

    provider = "cmcom"

    def __init__(self, product_token: str = "00000000-0000-0000-0000-00000000cm01", webhook_token: str = "cm-hook-current") -> None:
        super().__init__()
        self.product_token = product_token
        self.webhook_token = webhook_token
        self.invalid_numbers: set[str] = set()
        self.seen_references: set[str] = set()

    def account_options(self) -> dict[str, Any]:
        return {
            "provider": "cmcom", "api_base": self.url, "producttoken": self.product_token,
            "webhook_token": self.webhook_token, "sender": "Acme", "price_per_segment": "0.0700",
        }

    def route(self, request: Request) -> Response:
        if request.method != "POST" or request.path != "/v1.0/message":
            return Response(404, {"details": "Not found", "errorCode": 999, "messages": []})
        try:
            messages = request.json()["messages"]
            token = messages["authentication"]["producttoken"]
            entries = messages["msg"]
        except (ValueError, KeyError, TypeError):
            return Response(400, {"details": "Malformed request", "errorCode": 202, "messages": []})
        if token != self.product_token:
            return Response(401, {"details": "Authentication failed", "errorCode": 101, "messages": []})
        if not isinstance(entries, list) or not 1 <= len(entries) <= 100:
            return Response(400, {"details": "msg must hold 1 to 100 messages", "errorCode": 203, "messages": []})

        results = []
        failed = False
        for entry in entries:
            result = self._check(entry)
            failed |= result["messageErrorCode"] != 0
            results.append(result)
        if failed:
            return Response(400, {"details": "Not all messages were sent", "errorCode": 201, "messages": results})

        for entry, result in zip(entries, results, strict=True):
            self.accept({"reference": entry["reference"], "to": entry["to"][0]["number"], "sender": entry["from"],
                         "text": entry["body"]["content"], "parts": result["parts"]})
        return Response(200, {"details": f"Created {len(entries)} message(s)", "errorCode": 0, "messages": results})

    def _check(self, entry: dict[str, Any]) -> dict[str, Any]:
        reference = str(entry.get("reference", ""))
        number = str((entry.get("to") or [{}])[0].get("number", ""))
        result = {"to": number, "status": "Accepted", "reference": reference, "parts": 0,
                  "messageDetails": None, "messageErrorCode": 0}

        def rejected(code: int, detail: str) -> dict[str, Any]:
            return {**result, "status": "Rejected", "messageDetails": detail, "messageErrorCode": code}

        if entry.get("allowedChannels") != ["SMS"]:
            return rejected(305, "allowedChannels must be ['SMS'] for an SMS")
        sender = str(entry.get("from", ""))
        if not (ALPHANUMERIC.match(sender) or re.fullmatch(r"(\+|00)?\d{3,16}", sender)):
            return rejected(301, f"Invalid from '{sender}'")
        if not re.fullmatch(r"(\+|00)[1-9]\d{6,14}", number) or number in self.invalid_numbers:
            return rejected(303, f"Gsm '{number}' is not a number.")
        body = entry.get("body") or {}
        if body.get("type") not in ("auto", "plain", None) or not body.get("content"):
            return rejected(304, "Invalid body")
        parts = measure_sms(body["content"]).segments
        maximum = int(entry.get("maximumNumberOfMessageParts", 1))
        if not 1 <= maximum <= 8 or parts > maximum:
            return rejected(304, f"Body needs {parts} parts, more than the maximum {maximum}")
        return {**result, "parts": parts}

    def status_webhook(self, reference: str, code: str, *, error_code: str = "", description: str = "",
                       token: str | None = None, creditor_slug: str = "acme") -> WebhookCall:
        record = next(item for item in self.accepted if item["reference"] == reference)
        document = {"messages": {"msg": {
            "received": "2026-12-04T10:00:00", "to": record["to"].replace("+", "00", 1), "reference": reference,
            "status": {"code": code, "errorCode": error_code, "errorDescription": description},
            "operator": "20408",
        }}}
        path = f"/channels/webhooks/cmcom/{creditor_slug}/{token or self.webhook_token}/status/"
        return WebhookCall("POST", path, json.dumps(document).encode(), "application/json", {})

    def inbound_webhook(self, sender: str, text: str, *, reference: str | None = None, channel: str = "SMS",
                        token: str | None = None, creditor_slug: str = "acme", time_utc: str = "2026-12-04T10:00:00",
                        gateway_format: bool = False) -> WebhookCall:
        """Build the JSON POST that forwards a message sent to the creditor's CM number.

        The Business Messaging format follows CM's page "Incoming Messages";
        `gateway_format` builds the older gateway's flat one (from, to, body).
        """
        document: dict[str, Any]
        if gateway_format:
            document = {
                "reference": reference or "", "from": sender.replace("+", "00", 1),
                "to": "0031970100000", "body": text, "groupings": ["", "", ""],
            }
        else:
            document = {
                "reference": reference if reference is not None else uuid.uuid4().hex,
                "messageContext": "", "from": {"number": sender.replace("+", "00", 1), "name": ""},
                "to": {"number": "0031970100000"}, "message": {"text": text, "media": {}, "custom": {}},
                "groupings": ["", "", ""], "timeUtc": time_utc, "channel": channel,
            }
        path = f"/channels/webhooks/cmcom/{creditor_slug}/{token or self.webhook_token}/inbound/"
        return WebhookCall("POST", path, json.dumps(document).encode(), "application/json", {})
