"""Local fakes of the Mollie and Stripe APIs on 127.0.0.1, checking the documented wire format.

Each fake is a threaded HTTP server that keeps payments in memory. It
rejects requests that break the format the provider documents, with HTTP
422 for Mollie and 400 for Stripe, as those APIs do. A test moves a payment
to another status, as the provider would after the payer acts.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

AMOUNT_VALUE = re.compile(r"^\d+\.\d{2}$")


@dataclass
class FakeState:
    api_key: str
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_next: int = 0


class _Handler(BaseHTTPRequestHandler):
    server: _FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/hal+json" if self.server.vendor == "mollie" else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        return self.headers.get("Authorization") == f"Bearer {self.server.state.api_key}"

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_POST(self) -> None:
        self.server.dispatch(self, "POST")

    def do_GET(self) -> None:
        self.server.dispatch(self, "GET")

    def do_DELETE(self) -> None:
        self.server.dispatch(self, "DELETE")


class _FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    vendor = ""

    def __init__(self, state: FakeState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state

    def dispatch(self, handler: _Handler, method: str) -> None:
        raise NotImplementedError


class FakeProvider:
    """Start and stop a fake server in a background thread."""

    server_class: type[_FakeServer]

    def __init__(self, api_key: str) -> None:
        self.state = FakeState(api_key=api_key)
        self.server = self.server_class(self.state)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeProvider:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


# ---- Mollie -------------------------------------------------------------------


class _MollieServer(_FakeServer):
    vendor = "mollie"

    def dispatch(self, handler: _Handler, method: str) -> None:
        body = handler._body()
        self.state.requests.append({"method": method, "path": handler.path, "headers": dict(handler.headers), "body": body})
        if not handler._authorized():
            handler._send(401, {"status": 401, "title": "Unauthorized Request", "detail": "Missing authentication, or failed to authenticate"})
            return
        if self.state.fail_next:
            self.state.fail_next -= 1
            handler._send(503, {"status": 503, "title": "Service Unavailable", "detail": "Try again later"})
            return

        if method == "POST" and handler.path == "/v2/payments":
            self._create(handler, body)
            return
        match = re.fullmatch(r"/v2/payments/(tr_\w+)", handler.path)
        if method in ("GET", "DELETE") and match:
            payment = self.state.payments.get(match.group(1))
            if payment is None:
                handler._send(404, {"status": 404, "title": "Not Found", "detail": "No payment exists with token"})
            elif method == "DELETE":
                self._cancel(handler, payment)
            else:
                handler._send(200, payment)
            return
        handler._send(404, {"status": 404, "title": "Not Found", "detail": "Unknown endpoint"})

    def _cancel(self, handler: _Handler, payment: dict[str, Any]) -> None:
        """Cancel as DELETE /v2/payments/{id} does: only while isCancelable, returning the payment."""
        if not payment.get("isCancelable"):
            handler._send(422, {"status": 422, "title": "Unprocessable Entity", "detail": "This payment cannot be canceled"})
            return
        payment["status"] = "canceled"
        payment["isCancelable"] = False
        payment["canceledAt"] = "2026-12-04T10:00:00+00:00"
        handler._send(200, payment)

    def _create(self, handler: _Handler, body: bytes) -> None:
        if handler.headers.get("Content-Type", "").split(";")[0] != "application/json":
            handler._send(415, {"status": 415, "title": "Unsupported Media Type", "detail": "Send JSON"})
            return
        payload = json.loads(body)
        amount = payload.get("amount") or {}
        problems = []
        if not isinstance(amount.get("value"), str) or not AMOUNT_VALUE.match(amount["value"]):
            problems.append("amount.value must be a string with two decimals")
        if amount.get("currency") != "EUR":
            problems.append("amount.currency must be EUR in this fake")
        for key in ("description", "redirectUrl", "webhookUrl"):
            if not payload.get(key):
                problems.append(f"{key} is required")
        if len(payload.get("description", "")) > 255:
            problems.append("description is longer than 255")
        if problems:
            handler._send(422, {"status": 422, "title": "Unprocessable Entity", "detail": "; ".join(problems)})
            return

        payment_id = "tr_" + secrets.token_hex(5)
        payment = {
            "resource": "payment",
            "id": payment_id,
            "mode": "test",
            "status": "open",
            # Mollie sets this per method and status; a test sets it False to see a refusal.
            "isCancelable": True,
            "amount": amount,
            "description": payload["description"],
            "method": payload.get("method"),
            "metadata": payload.get("metadata"),
            "redirectUrl": payload["redirectUrl"],
            "webhookUrl": payload["webhookUrl"],
            "_links": {"checkout": {"href": f"https://www.mollie.com/checkout/select-method/{payment_id[3:]}", "type": "text/html"}},
        }
        self.state.payments[payment_id] = payment
        handler._send(201, payment)


class FakeMollie(FakeProvider):
    server_class = _MollieServer

    def set_status(self, payment_id: str, status: str, **fields: Any) -> None:
        """Change a payment as Mollie would after the payer acts, for example to paid."""
        payment = self.state.payments[payment_id]
        payment["status"] = status
        payment["isCancelable"] = status == "open"
        if status == "paid":
            payment["method"] = payment.get("method") or "ideal"
            payment["paidAt"] = "2026-12-04T10:00:00+00:00"
        payment.update(fields)


# ---- Stripe -------------------------------------------------------------------


class _StripeServer(_FakeServer):
    vendor = "stripe"
    required = (
        "mode",
        "line_items[0][price_data][currency]",
        "line_items[0][price_data][unit_amount]",
        "line_items[0][price_data][product_data][name]",
        "line_items[0][quantity]",
        "success_url",
    )

    def dispatch(self, handler: _Handler, method: str) -> None:
        body = handler._body()
        self.state.requests.append({"method": method, "path": handler.path, "headers": dict(handler.headers), "body": body})
        if not handler._authorized():
            handler._send(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}})
            return
        if method == "POST" and handler.path == "/v1/checkout/sessions":
            self._create(handler, body)
            return
        match = re.fullmatch(r"/v1/checkout/sessions/(cs_\w+)/expire", handler.path)
        if method == "POST" and match:
            self._expire(handler, match.group(1))
            return
        handler._send(404, {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}})

    def _expire(self, handler: _Handler, session_id: str) -> None:
        """Expire as POST /v1/checkout/sessions/{id}/expire does: only an open session, returning it."""
        session = self.state.payments.get(session_id)
        if session is None:
            handler._send(404, {"error": {"type": "invalid_request_error", "message": f"No such checkout.session: '{session_id}'"}})
            return
        if session["status"] != "open":
            handler._send(400, {"error": {"type": "invalid_request_error", "message": f"Session status is {session['status']}, not open"}})
            return
        session["status"] = "expired"
        handler._send(200, session)

    def _create(self, handler: _Handler, body: bytes) -> None:
        if handler.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
            handler._send(400, {"error": {"type": "invalid_request_error", "message": "Send form-encoded data"}})
            return
        form = {key: values[0] for key, values in parse_qs(body.decode("utf-8")).items()}
        missing = [key for key in self.required if key not in form]
        if missing:
            handler._send(400, {"error": {"type": "invalid_request_error", "message": f"Missing required param: {missing[0]}."}})
            return
        if not form["line_items[0][price_data][unit_amount]"].isdigit():
            handler._send(400, {"error": {"type": "invalid_request_error", "message": "Invalid integer: unit_amount"}})
            return

        session_id = "cs_test_" + secrets.token_hex(12)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": form["mode"],
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": int(form["line_items[0][price_data][unit_amount]"]) * int(form["line_items[0][quantity]"]),
            "currency": form["line_items[0][price_data][currency]"],
            "client_reference_id": form.get("client_reference_id"),
            "metadata": {key[9:-1]: value for key, value in form.items() if key.startswith("metadata[")},
            "payment_intent": None,
            "success_url": form["success_url"],
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        }
        self.state.payments[session_id] = session
        handler._send(200, session)


class FakeStripe(FakeProvider):
    server_class = _StripeServer

    def complete(self, session_id: str, *, paid: bool = True) -> dict[str, Any]:
        """Complete a session as Stripe would and return the event's data object."""
        session = self.state.payments[session_id]
        session["status"] = "complete"
        session["payment_status"] = "paid" if paid else "unpaid"
        session["payment_intent"] = "pi_" + secrets.token_hex(12)
        return dict(session)
