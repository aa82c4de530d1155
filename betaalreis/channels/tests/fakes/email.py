"""A fake Postmark API for anymail, and real SMTP servers (aiosmtpd) on 127.0.0.1, one of them with faults."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import uuid
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from betaalreis.channels.tests.fakes.server import FakeServer, Request, Response


class FakePostmark(FakeServer):
    """Postmark's /email endpoint: JSON, authenticated by X-Postmark-Server-Token."""

    provider = "postmark"

    def __init__(self, server_token: str = "pm-server-token") -> None:
        super().__init__()
        self.server_token = server_token
        self.inactive: set[str] = set()

    def route(self, request: Request) -> Response:
        if request.method != "POST" or request.path != "/email":
            return Response(404, {"ErrorCode": 404, "Message": "Not found"})
        if request.headers.get("x-postmark-server-token") != self.server_token:
            return Response(401, {"ErrorCode": 10, "Message": "Request does not contain a valid Server token."})

        payload = request.json()
        for field in ("From", "To"):
            if not payload.get(field):
                return Response(422, {"ErrorCode": 300, "Message": f"Invalid '{field}' field."})
        if not (payload.get("TextBody") or payload.get("HtmlBody")):
            return Response(422, {"ErrorCode": 300, "Message": "Provide either email TextBody or HtmlBody or both."})
        to = payload["To"]
        if to in self.inactive:
            return Response(422, {"ErrorCode": 406, "Message": (
                "You tried to send to recipient(s) that have been marked as inactive. "
                f"Found inactive addresses: {to}. Inactive recipients are ones that have generated "
                "a hard bounce, a spam complaint, or a manual suppression."
            )})

        message_id = str(uuid.uuid4())
        self.accept({"reference": message_id, "to": to, "from": payload["From"], "subject": payload.get("Subject", ""),
                     "metadata": payload.get("Metadata", {}), "text": payload.get("TextBody", "")})
        return Response(200, {"To": to, "SubmittedAt": dt.datetime.now(dt.UTC).isoformat(), "MessageID": message_id,
                              "ErrorCode": 0, "Message": "OK"})

    def bounce_event(self, reference: str, *, bounce_id: int = 4323372036854775807) -> dict[str, Any]:
        record = next(item for item in self.accepted if item["reference"] == reference)
        return {
            "RecordType": "Bounce", "ID": bounce_id, "Type": "HardBounce", "TypeCode": 1, "Name": "Hard bounce",
            "MessageID": reference, "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
            "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
            "Email": record["to"], "From": record["from"], "BouncedAt": "2026-12-04T10:00:00Z",
            "Inactive": True, "CanActivate": True, "Subject": record["subject"], "Metadata": record["metadata"],
            "MessageStream": "outbound",
        }

    def delivery_event(self, reference: str) -> dict[str, Any]:
        record = next(item for item in self.accepted if item["reference"] == reference)
        return {"RecordType": "Delivery", "MessageID": reference, "Recipient": record["to"],
                "DeliveredAt": "2026-12-04T10:00:00Z", "Details": "Test delivery webhook details",
                "Metadata": record["metadata"], "MessageStream": "outbound", "ServerID": 23}


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _RecordingHandler:
    def __init__(self, refused: set[str]) -> None:
        self.refused = refused
        self.messages: list[Message] = []
        self.envelope_senders: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd hook name
        if address in self.refused:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        self.messages.append(message_from_bytes(envelope.content))
        self.envelope_senders.append(envelope.mail_from)
        return "250 Message accepted for delivery"


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that refuses the addresses in `refused`."""

    def __init__(self) -> None:
        self.refused: set[str] = set()
        self.handler = _RecordingHandler(self.refused)
        # aiosmtpd's start-up check connects to the configured port, so it
        # needs a real one: take a free port from the kernel first.
        self._port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self._port)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def messages(self) -> list[Message]:
        return self.handler.messages

    @property
    def envelope_senders(self) -> list[str]:
        """The MAIL FROM address of each accepted message, where its bounces go."""
        return self.handler.envelope_senders


class _FaultHandler:
    """aiosmtpd hooks that store each message the server receives and then apply the configured fault."""

    def __init__(self) -> None:
        self.rcpt_reply = ""
        self.data_reply = ""
        self.reply_delay_seconds = 0.0
        self.disconnect_after_data = False
        self.rcpt_calls: list[str] = []
        self.received: list[Message] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd hook name
        self.rcpt_calls.append(address)
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        if self.data_reply:
            return self.data_reply
        # The server has the whole message from here on, whatever the client hears next.
        self.received.append(message_from_bytes(envelope.content))
        if self.disconnect_after_data:
            server.transport.close()
            return "250 Message accepted"
        await asyncio.sleep(self.reply_delay_seconds)
        return "250 Message accepted"


class FaultSmtpServer:
    """A real SMTP server on 127.0.0.1 whose replies a test sets: refusals, slow or lost replies after DATA.

    `received` lists every message whose data the server got, including
    those whose 250 reply came late or never reached the client.
    """

    def __init__(self) -> None:
        self.handler = _FaultHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> FaultSmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Message]:
        return self.handler.received

    def message_ids(self) -> list[str]:
        return [str(message["Message-ID"]) for message in self.received]
