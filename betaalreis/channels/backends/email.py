"""Email: build a MIME message from an OutgoingMessage and hand it over.

`FileEmailBackend` writes .eml files to the outbox (the default).
`DjangoEmailBackend` sends through Django's configured EMAIL_BACKEND, so
SMTP or an anymail provider works by setting. Both give the message a
Message-ID derived from the idempotency key, so a mail client or archive
that receives the same message twice can recognise it as one message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import smtplib
from email.message import Message
from email.mime.image import MIMEImage
from pathlib import Path
from email.utils import formataddr, format_datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from betaalreis.channels.backends.mime_bytes import alternative_email_bytes, fix_subject, message_bytes
from betaalreis.channels.base import ChannelBackend, ChannelError, OutgoingMessage, SendResult
from betaalreis.channels.files import (
    keep_durable,
    outbox_path,
    outbox_relative_path,
    write_once,
    written_at,
)
from betaalreis.channels.providers import Submission, record_accepted_delivery
from betaalreis.ledger.models import Creditor

logger = logging.getLogger(__name__)


def message_id_for(message: OutgoingMessage) -> str:
    """Return a stable Message-ID for the message's idempotency key."""
    digest = hashlib.sha256(message.idempotency_key.encode("utf-8")).hexdigest()[:32]
    sender = message.sender_address or settings.DEFAULT_FROM_EMAIL
    domain = sender.rpartition("@")[2] or "betaalreis.invalid"
    return f"<{digest}@{domain}>"


class _EncodedSubjectEmail(EmailMultiAlternatives):
    """An EmailMultiAlternatives whose non-ASCII Subject parses back without a leading space."""

    def message(self) -> Message:
        mime = super().message()
        fix_subject(mime, self.subject, self.encoding or settings.DEFAULT_CHARSET)
        return mime


def build_email(message: OutgoingMessage) -> EmailMultiAlternatives:
    """Build the email: text part, HTML alternative, attachments and inline images."""
    if not message.recipient:
        raise ChannelError("Email has no recipient address.", permanent=True, code="missing_recipient")

    address = message.sender_address or settings.DEFAULT_FROM_EMAIL
    from_email = formataddr((message.sender_name, address)) if message.sender_name else address
    email = _EncodedSubjectEmail(
        subject=message.subject,
        body=message.text,
        from_email=from_email,
        to=[message.recipient],
        cc=list(message.cc),
        reply_to=[message.reply_to] if message.reply_to else None,
        headers={
            "Message-ID": message_id_for(message),
            "Content-Language": message.language,
            "Auto-Submitted": "auto-generated",
        },
    )
    sent_at = message.metadata.get("sent_at")
    if sent_at:
        # Set by dispatch in a replayed run, so the header states the replayed moment.
        email.extra_headers["Date"] = format_datetime(dt.datetime.fromisoformat(sent_at))
    if message.html:
        email.attach_alternative(message.html, "text/html")
        # Inline images (the logo) must sit in multipart/related with the HTML.
        if any(attachment.content_id for attachment in message.attachments):
            email.mixed_subtype = "related"

    for attachment in message.attachments:
        if attachment.content_id:
            image = MIMEImage(attachment.content, _subtype=attachment.mimetype.partition("/")[2])
            image.add_header("Content-ID", f"<{attachment.content_id}>")
            image.add_header("Content-Disposition", "inline", filename=attachment.filename)
            email.attach(image)
        else:
            email.attach(attachment.filename, attachment.content, attachment.mimetype)
    return email


class FileEmailBackend(ChannelBackend):
    """Writes each email as an .eml file to `$OUTBOX_DIR/email/<creditor>/<date>/<key>.eml`.

    A file that exists for the key means the email was handed over before:
    the same result comes back and nothing is written.
    """

    channel = "email"
    provider = "file"
    reaches_debtor = False

    def send(self, message: OutgoingMessage) -> SendResult:
        relative_path = outbox_relative_path(message, "eml")
        path = os.path.join(settings.OUTBOX_DIR, relative_path)
        try:
            # A file written before, found without building the email again.
            sent_at = written_at(path)
        except FileNotFoundError:
            sent_at = self._write(message, path)
        else:
            keep_durable(path)
        return SendResult(provider=self.provider, provider_reference=relative_path, sent_at=sent_at)

    def _write(self, message: OutgoingMessage, path: str) -> dt.datetime:
        """Build the email, write it to `path` and return the file's modification time."""
        email = build_email(message)
        data = alternative_email_bytes(email) or message_bytes(email.message())
        sent_at = write_once(path, data)
        if sent_at is None:
            # Another dispatcher wrote the file since the check in `send`.
            return written_at(path)

        logger.info("email written to outbox", extra={"debtor_id": message.debtor_id})
        return sent_at


class DjangoEmailBackend(ChannelBackend):
    """Sends through Django's EMAIL_BACKEND (SMTP by default).

    SMTP has no idempotency key, so this adapter keeps a receipt per key in
    `$OUTBOX_DIR/email-sent/<creditor>/<date>/<key>.json` after the server
    accepted the message, and returns that receipt for a repeated key. It
    also stores an accepted `Delivery` row (provider "smtp", reference the
    Message-ID without its angle brackets), so that `read_bounces` matches
    a bounce that quotes the Message-ID.
    NOTE: a crash between the server's acceptance and the receipt write
    sends the email again on retry; it then carries the same Message-ID.
    """

    channel = "email"
    provider = "smtp"

    def __init__(self) -> None:
        self._creditor_ids: dict[str, int] = {}

    def send(self, message: OutgoingMessage) -> SendResult:
        result = self._send_once(message)
        # Bounces of SMTP mail are matched by the Message-ID that they quote,
        # through the Delivery row, as for the EmailRouter's SMTP provider.
        record_accepted_delivery(
            message, creditor_id=self._creditor_id(message), channel=self.channel, provider=self.provider,
            submission=Submission(provider_reference=result.provider_reference.strip("<>")),
        )
        return result

    def _creditor_id(self, message: OutgoingMessage) -> int:
        creditor_id = self._creditor_ids.get(message.creditor_slug)
        if creditor_id is None:
            creditor_id = Creditor.objects.values_list("pk", flat=True).get(slug=message.creditor_slug)
            self._creditor_ids[message.creditor_slug] = creditor_id
        return creditor_id

    def _log_fields(self, message: OutgoingMessage) -> dict[str, object]:
        """Return the ids that the adapter's log lines name: communication, creditor and debtor."""
        return {
            "communication_id": message.metadata.get("communication_id"),
            "creditor_id": self._creditor_id(message),
            "debtor_id": message.debtor_id,
        }

    def _send_once(self, message: OutgoingMessage) -> SendResult:
        receipt = outbox_path(message, "json", folder="email-sent")
        if receipt.exists():
            return self._result(receipt)

        email = build_email(message)
        try:
            with get_connection(fail_silently=False) as connection:
                accepted = connection.send_messages([email])
        except (OSError, ConnectionError) as exc:
            # smtplib's errors derive from OSError: refused connections,
            # timeouts and 4xx/5xx replies alike.
            permanent = _is_permanent(exc)
            logger.warning("email hand-over failed",
                           extra={**self._log_fields(message), "permanent": permanent,
                                  "error": type(exc).__name__})
            raise ChannelError(f"SMTP hand-over failed: {exc}", permanent=permanent,
                               code="smtp_rejected" if permanent else "smtp_unavailable") from exc
        if not accepted:
            raise ChannelError("The email backend accepted no message.", permanent=False, code="smtp_not_sent")

        document = {"message_id": email.extra_headers["Message-ID"], "recipient_count": len(email.recipients())}
        # Written and synced now, not at the end of the dispatch batch, so
        # that a crash later in the batch does not send this email again.
        write_once(receipt, json.dumps(document).encode("utf-8"), immediately=True)
        logger.info("email sent", extra=self._log_fields(message))
        return self._result(receipt)

    def _result(self, receipt: Path) -> SendResult:
        stored = json.loads(receipt.read_bytes())
        return SendResult(provider=self.provider, provider_reference=stored["message_id"],
                          sent_at=written_at(receipt))


def _is_permanent(exc: Exception) -> bool:
    """Return whether an SMTP error is a 5xx rejection, which a retry cannot fix."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False
