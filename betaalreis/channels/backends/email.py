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
import secrets
from email.message import Message
from email.mime.image import MIMEImage
from pathlib import Path
from email.utils import formataddr, format_datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as DjangoSmtpBackend
from django.utils import timezone

from betaalreis.channels.backends.mime_bytes import alternative_email_bytes, fix_subject, message_bytes
from betaalreis.channels.backends.smtp_replies import (
    SmtpFailureKind,
    TrackingSmtpBackend,
    channel_error,
    classify,
    message_data_sent,
    open_failure,
)
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

    SMTP has no idempotency key, so this adapter keeps two files per key in
    `$OUTBOX_DIR/email-sent/<creditor>/<date>/`:

    - `<key>.claim`, created exclusively (O_EXCL) before the hand-over, so
      that of two dispatchers holding the same message only one sends it.
      It stays after the hand-over unless the server refused the message.
    - `<key>.json`, the receipt, written after the server accepted the
      message. A repeated key returns it without sending.

    A claim without a receipt means that another dispatcher is sending the
    message, or that an earlier hand-over ended without a known outcome
    (a time-out or lost connection after the message data was sent). The
    message then waits, as an uncertain ChannelError, until
    BETAALREIS_PROVIDER_UNCERTAIN_SECONDS have passed since the claim, and
    is then sent again with the same Message-ID. SMTP sends no status
    report, so only that wait settles such a message.

    A claim that cannot be created (a folder that is missing, read-only or
    full) stops the hand-over before SMTP with an outage error. When the
    receipt cannot be written after the server accepted the message, the
    message still counts as sent, because the database records it, and an
    error log names the path.

    An accepted message also gets a `Delivery` row (provider "smtp",
    reference the Message-ID without its angle brackets), so that
    `read_bounces` matches a bounce that quotes the Message-ID.
    NOTE: the claim file is not synced to disk. After a power failure
    during a hand-over the message may go out again after the wait, with
    the same Message-ID.
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
        try:
            receipt = outbox_path(message, "json", folder="email-sent")
            claim = outbox_path(message, "claim", folder="email-sent")
            if receipt.exists():
                return self._result(receipt)
        except OSError as exc:
            # Such as a file in place of a folder: the claim could not be stored either.
            raise _unwritable(exc) from exc

        email = build_email(message)
        connection = get_connection(fail_silently=False)
        if type(connection) is DjangoSmtpBackend:
            # The same settings, on a connection that records whether the message data was sent.
            connection = TrackingSmtpBackend(fail_silently=False)

        token = _take_claim(claim, message)
        try:
            accepted = self._hand_over(connection, email, message)
        except ChannelError as exc:
            if not exc.uncertain:
                _release_claim(claim, token)
            raise
        if not accepted:
            _release_claim(claim, token)
            raise ChannelError("The email backend accepted no message.", permanent=False, code="smtp_not_sent")

        document = {"message_id": email.extra_headers["Message-ID"], "recipient_count": len(email.recipients())}
        try:
            # Written and synced now, not at the end of the dispatch batch, so
            # that a crash later in the batch does not send this email again.
            write_once(receipt, json.dumps(document).encode("utf-8"), immediately=True)
        except OSError as exc:
            # The server has the message, so it must not be handed over
            # again: the claim stays, and dispatch records the message as sent.
            logger.error(
                "email receipt not written after the mail server accepted the email",
                extra={**self._log_fields(message), "path": str(receipt), "error": str(exc)},
            )
            return SendResult(provider=self.provider, provider_reference=document["message_id"],
                              sent_at=timezone.now())
        logger.info("email sent", extra=self._log_fields(message))
        return self._result(receipt)

    def _hand_over(self, connection: BaseEmailBackend, email: EmailMultiAlternatives,
                   message: OutgoingMessage) -> int:
        """Open `connection`, send `email` and return the number of messages accepted, or raise ChannelError."""
        try:
            connection.open()
        except OSError as exc:
            raise self._failure(open_failure(exc), exc, message) from exc
        try:
            return connection.send_messages([email])
        except OSError as exc:
            # smtplib's errors derive from OSError: time-outs, lost
            # connections and 4xx or 5xx replies alike.
            raise self._failure(classify(exc, message_data_sent=message_data_sent(connection)), exc,
                                message) from exc
        finally:
            try:
                connection.close()
            except OSError as exc:
                # A failed QUIT changes nothing about the message.
                logger.info("closing the mail server connection failed",
                            extra={**self._log_fields(message), "error": type(exc).__name__})

    def _failure(self, classified: tuple[SmtpFailureKind, str, str], exc: OSError,
                 message: OutgoingMessage) -> ChannelError:
        kind, code, text = classified
        logger.warning("email hand-over failed",
                       extra={**self._log_fields(message), "kind": str(kind), "error_code": code,
                              "error": type(exc).__name__})
        return channel_error(kind, code, f"SMTP hand-over failed: {text}")

    def _result(self, receipt: Path) -> SendResult:
        stored = json.loads(receipt.read_bytes())
        return SendResult(provider=self.provider, provider_reference=stored["message_id"],
                          sent_at=written_at(receipt))


def _take_claim(claim: Path, message: OutgoingMessage) -> str:
    """Create the claim file of `message` exclusively and return its token, or raise ChannelError.

    An existing claim younger than BETAALREIS_PROVIDER_UNCERTAIN_SECONDS
    raises an uncertain error. An older one is replaced, and only one of
    two dispatchers that try at the same moment gets the new claim.
    """
    token = secrets.token_hex(16)
    if _create_claim(claim, token):
        return token

    wait = dt.timedelta(seconds=settings.BETAALREIS_PROVIDER_UNCERTAIN_SECONDS)
    try:
        claimed_at = written_at(claim)
    except FileNotFoundError:
        claimed_at = None
    if claimed_at is not None and timezone.now() - claimed_at < wait:
        raise ChannelError(
            f"An earlier hand-over of this email to the mail server, at {claimed_at.isoformat()}, has no "
            f"known outcome, or another dispatcher is sending it now. It is not sent again before "
            f"{(claimed_at + wait).isoformat()} (BETAALREIS_PROVIDER_UNCERTAIN_SECONDS).",
            permanent=False, code="outcome_uncertain", uncertain=True,
        )

    # Renaming the old claim away succeeds for one dispatcher only.
    stale = claim.with_name(f"{claim.name}.stale-{token}")
    try:
        os.rename(claim, stale)
    except FileNotFoundError:
        stale = None
    else:
        logger.warning(
            "email claim without receipt after the uncertain wait, sending again",
            extra={"debtor_id": message.debtor_id, "path": str(claim)},
        )
        stale.unlink(missing_ok=True)
    if stale is None or not _create_claim(claim, token):
        raise ChannelError(
            "Another dispatcher took over this email just now.",
            permanent=False, code="outcome_uncertain", uncertain=True,
        )
    return token


def _create_claim(claim: Path, token: str) -> bool:
    """Create `claim` holding `token`; return False when it exists, raise an outage ChannelError when it cannot."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        claim.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(claim, flags, 0o644)
    except FileExistsError:
        return False
    except OSError as exc:
        raise _unwritable(exc) from exc
    try:
        os.write(descriptor, token.encode("ascii"))
    finally:
        os.close(descriptor)
    return True


def _unwritable(exc: OSError) -> ChannelError:
    """Return the outage error for a receipt folder that cannot be read or written."""
    place = exc.filename or os.path.join(settings.OUTBOX_DIR, "email-sent")
    return ChannelError(
        f"The email receipt folder cannot be used ({exc.strerror or exc}: {place}), so no email was "
        "handed to the mail server. Make the outbox folder (BETAALREIS_HOME/outbox) writable.",
        permanent=False, code="outbox_unwritable", outage=True,
    )


def _release_claim(claim: Path, token: str) -> None:
    """Remove `claim` after a hand-over that the server refused, if it still holds `token`."""
    try:
        if claim.read_text(encoding="ascii") == token:
            claim.unlink()
    except OSError as exc:
        # The message then waits out BETAALREIS_PROVIDER_UNCERTAIN_SECONDS before its next try.
        logger.warning("email claim not removed after a refused hand-over",
                       extra={"path": str(claim), "error": type(exc).__name__})
