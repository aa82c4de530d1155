"""Fake WhatsApp Business Cloud API (Graph API) for template messages."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from typing import Any

from betaalreis.channels.tests.fakes.server import FakeServer, Request, Response, WebhookCall

API_VERSION = "v21.0"


class FakeWhatsApp(FakeServer):
    provider = "whatsapp_cloud"

    def __init__(self, access_token: str = "EAAG-access-token", app_secret: str = "wa-app-secret",
                 phone_number_id: str = "106540352242922", waba_id: str = "102290129340398") -> None:
        super().__init__()
        self.access_token = access_token
        self.app_secret = app_secret
        self.phone_number_id = phone_number_id
        self.waba_id = waba_id
        # (name, language) -> (status, category), as Meta's template list shows them.
        self.templates: dict[tuple[str, str], tuple[str, str]] = {}

    def account_options(self) -> dict[str, Any]:
        return {
            "provider": "whatsapp_cloud", "api_base": self.url, "api_version": API_VERSION,
            "phone_number_id": self.phone_number_id, "waba_id": self.waba_id,
            "access_token": self.access_token, "app_secret": self.app_secret,
            "verify_token": "wa-verify-token", "price_per_message": "0.0350",
        }

    def _error(self, status: int, code: int, message: str) -> Response:
        return Response(status, {"error": {"message": message, "type": "OAuthException", "code": code,
                                           "fbtrace_id": uuid.uuid4().hex[:12]}})

    def route(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return self._error(401, 190, "Invalid OAuth access token.")

        if request.method == "GET" and request.path == f"/{API_VERSION}/{self.waba_id}/message_templates":
            name = request.query.get("name", "")
            data = [
                {"name": template_name, "language": language, "status": status, "category": category,
                 "id": str(abs(hash((template_name, language))))}
                for (template_name, language), (status, category) in self.templates.items()
                if not name or template_name == name
            ]
            return Response(200, {"data": data})

        if request.method != "POST" or request.path != f"/{API_VERSION}/{self.phone_number_id}/messages":
            return self._error(404, 100, "Unsupported request.")
        return self._send(request.json())

    def _send(self, payload: dict[str, Any]) -> Response:
        if payload.get("messaging_product") != "whatsapp":
            return self._error(400, 100, "messaging_product must be whatsapp")
        to = str(payload.get("to", ""))
        if not re.fullmatch(r"[1-9]\d{6,14}", to):
            return self._error(400, 131009, "Parameter value is not valid: to")
        if payload.get("type") != "template":
            # Free-form text needs an open customer service window, which
            # this fake never has.
            return self._error(400, 131047, "Re-engagement message")
        template = payload.get("template") or {}
        key = (template.get("name", ""), (template.get("language") or {}).get("code", ""))
        if self.templates.get(key, ("", ""))[0] != "APPROVED":
            return self._error(404, 132001, "Template name does not exist in the translation")
        for component in template.get("components", []):
            for parameter in component.get("parameters", []):
                if parameter.get("type") != "text" or not parameter.get("text"):
                    return self._error(400, 132000, "Number of parameters does not match")

        wamid = "wamid." + uuid.uuid4().hex
        self.accept({"reference": wamid, "to": "+" + to, "template": key, "components": template.get("components", [])})
        return Response(200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                              "messages": [{"id": wamid, "message_status": "accepted"}]})

    def _notification(self, value: dict[str, Any], secret: str | None, creditor_slug: str) -> WebhookCall:
        document = {"object": "whatsapp_business_account", "entry": [{"id": self.waba_id, "changes": [
            {"field": "messages", "value": {"messaging_product": "whatsapp",
                                             "metadata": {"display_phone_number": "31970100000",
                                                          "phone_number_id": self.phone_number_id}, **value}},
        ]}]}
        body = json.dumps(document).encode()
        signature = "sha256=" + hmac.new((secret or self.app_secret).encode(), body, hashlib.sha256).hexdigest()
        return WebhookCall("POST", f"/channels/webhooks/whatsapp/{creditor_slug}/", body, "application/json",
                           {"X-Hub-Signature-256": signature})

    def status_webhook(self, wamid: str, status: str, *, error_code: int | None = None,
                       secret: str | None = None, creditor_slug: str = "acme") -> WebhookCall:
        record = next(item for item in self.accepted if item["reference"] == wamid)
        entry: dict[str, Any] = {"id": wamid, "status": status, "timestamp": str(int(time.time())),
                                 "recipient_id": record["to"].lstrip("+"),
                                 "pricing": {"billable": True, "pricing_model": "PMP", "category": "utility"}}
        if error_code is not None:
            entry["errors"] = [{"code": error_code, "title": "Message undeliverable"}]
        return self._notification({"statuses": [entry]}, secret, creditor_slug)

    def inbound_webhook(self, sender: str, text: str, *, creditor_slug: str = "acme") -> WebhookCall:
        message = {"from": sender.lstrip("+"), "id": "wamid." + uuid.uuid4().hex,
                   "timestamp": str(int(time.time())), "type": "text", "text": {"body": text}}
        return self._notification({"contacts": [{"profile": {"name": "Jan"}, "wa_id": sender.lstrip("+")}],
                                   "messages": [message]}, None, creditor_slug)
