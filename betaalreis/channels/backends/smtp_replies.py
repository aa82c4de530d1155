"""Classify SMTP failures by who is at fault and whether the server may have the message.

Both adapters that speak SMTP, `DjangoEmailBackend` and the routers'
`SmtpEmailBackend`, turn a failed hand-over into a `ChannelError` here, so a
reply means the same in both. The enhanced status code of a reply (RFC 3463,
such as "5.1.1") decides, because the basic code alone does not tell a bad
mailbox (550 5.1.1) from a relay refusal of our own account (550 5.7.1).
"""

from __future__ import annotations

import re
import smtplib
import ssl
from enum import StrEnum
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as DjangoSmtpBackend

from betaalreis.channels.base import ChannelError

# The enhanced status code at the start of a reply text, as class.subject.detail.
_ENHANCED_STATUS = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")

# Enhanced codes that mean the recipient's address itself is bad: X.1.X
# address status, 5.2.1 mailbox disabled and 5.4.4 no route to the domain.
# X.1.7 and X.1.8 are about the sender's address, so they are our side's
# problem and excluded.
_INVALID_ADDRESS = re.compile(r"^5\.(1\.(?!7$|8$)\d+|2\.1|4\.4)$")

# Basic codes that refuse our sign-in or ask for one (RFC 4954): 530
# authentication required, 534 mechanism too weak, 535 credentials invalid,
# 538 encryption required.
_SIGN_IN_CODES = frozenset({530, 534, 535, 538})


class SmtpFailureKind(StrEnum):
    """Class of a failed SMTP hand-over, each with its own handling in dispatch."""

    # The server refused the recipient's address: fail the message and mark the address invalid.
    RECIPIENT_INVALID = "recipient_invalid"
    # The server refused this message for good, with the address left valid.
    REJECTED = "rejected"
    # This message may go on a later try, and other messages can go now.
    TEMPORARY = "temporary"
    # No message can go until someone fixes the connection, sign-in or relay settings.
    OUTAGE = "outage"
    # The server got the whole message but its reply was lost, so it may have accepted it.
    UNCERTAIN = "uncertain"


def enhanced_status(reply: str) -> str:
    """Return the enhanced status code at the start of `reply` ("5.7.1"), or "" when it has none."""
    found = _ENHANCED_STATUS.match(reply)
    return ".".join(found.groups()) if found else ""


def reply_kind(code: int, reply: str) -> SmtpFailureKind:
    """Classify a 4xx or 5xx SMTP reply to MAIL, RCPT or the end of DATA.

    A reply without an enhanced code that refuses the message for good
    counts as REJECTED: it fails the message without marking the address.
    """
    status = enhanced_status(reply)
    if code == 421 or code in _SIGN_IN_CODES:
        return SmtpFailureKind.OUTAGE
    if status.startswith(("4.7.", "5.7.", "5.5.")):
        # Security or policy (relaying denied, sign-in required, sender
        # not allowed) and protocol errors concern our account or client.
        return SmtpFailureKind.OUTAGE
    if 400 <= code < 500:
        return SmtpFailureKind.TEMPORARY
    if _INVALID_ADDRESS.match(status):
        return SmtpFailureKind.RECIPIENT_INVALID
    if status in ("5.1.7", "5.1.8"):
        return SmtpFailureKind.OUTAGE
    return SmtpFailureKind.REJECTED


def _decoded(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def classify(exc: BaseException, *, message_data_sent: bool | None) -> tuple[SmtpFailureKind, str, str]:
    """Return the kind, error code and message for an exception raised while handing over one email.

    `message_data_sent` is whether the end of the message data reached
    the socket before the failure (see `message_data_sent`), or None when
    the connection class cannot tell. A broken connection or time-out after
    that point, or at an unknown point, is UNCERTAIN.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()))
        text = f"{code} {_decoded(reply)}"
        kind = reply_kind(code, _decoded(reply))
        return kind, f"smtp_{code}", _RCPT_MESSAGES[kind].format(reply=text)

    if isinstance(exc, smtplib.SMTPSenderRefused):
        text = f"{exc.smtp_code} {_decoded(exc.smtp_error)}"
        return SmtpFailureKind.OUTAGE, f"smtp_{exc.smtp_code}", (
            f"The mail server refused our sender address {exc.sender}: {text}. "
            "Check the sender address and the relay permission of the mail account."
        )

    if isinstance(exc, (smtplib.SMTPConnectError, smtplib.SMTPHeloError)):
        return open_failure(exc)

    if isinstance(exc, (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError, ssl.SSLError)):
        return open_failure(exc)

    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 400:
        text = f"{exc.smtp_code} {_decoded(exc.smtp_error)}"
        kind = reply_kind(exc.smtp_code, _decoded(exc.smtp_error))
        return kind, f"smtp_{exc.smtp_code}", _DATA_MESSAGES[kind].format(reply=text)

    if isinstance(exc, (smtplib.SMTPServerDisconnected, TimeoutError)) and message_data_sent is not False:
        return SmtpFailureKind.UNCERTAIN, "outcome_uncertain", (
            f"The connection to the mail server broke off after the message data was sent "
            f"({type(exc).__name__}: {exc}), so the server may have accepted it."
        )

    if isinstance(exc, (smtplib.SMTPServerDisconnected, TimeoutError)):
        return SmtpFailureKind.TEMPORARY, "smtp_disconnected", (
            f"The connection to the mail server broke off before the message data was sent "
            f"({type(exc).__name__}: {exc})."
        )

    # Refused or unreachable connections, DNS failures and other socket errors.
    return open_failure(exc)


def open_failure(exc: BaseException) -> tuple[SmtpFailureKind, str, str]:
    """Return the kind, error code and message for a failed connection, TLS handshake or sign-in.

    Nothing was handed over yet, and no other message can go either, so this is always an OUTAGE.
    """
    if isinstance(exc, (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError, ssl.SSLError)):
        return SmtpFailureKind.OUTAGE, "smtp_login_failed", (
            f"Signing in to the mail server failed ({type(exc).__name__}: {exc}). "
            "Check the username, password and TLS settings."
        )
    return SmtpFailureKind.OUTAGE, "connect_failed", (
        f"Could not connect to the mail server: {type(exc).__name__}: {exc}"
    )


_RCPT_MESSAGES = {
    SmtpFailureKind.RECIPIENT_INVALID: "The mail server rejected the address: {reply}",
    SmtpFailureKind.REJECTED: "The mail server refused the recipient: {reply}",
    SmtpFailureKind.TEMPORARY: "The mail server deferred the address: {reply}",
    SmtpFailureKind.OUTAGE: (
        "The mail server refused to relay for our account: {reply}. The debtor's address was not "
        "checked; fix the sign-in or relay settings of the mail account."
    ),
}
_DATA_MESSAGES = {
    SmtpFailureKind.RECIPIENT_INVALID: "The mail server rejected the address: {reply}",
    SmtpFailureKind.REJECTED: "The mail server rejected the message: {reply}",
    SmtpFailureKind.TEMPORARY: "The mail server deferred the message: {reply}",
    SmtpFailureKind.OUTAGE: (
        "The mail server refused the message for our account: {reply}. Fix the sign-in, relay or "
        "sender settings of the mail account."
    ),
}


def channel_error(kind: SmtpFailureKind, code: str, text: str) -> ChannelError:
    """Return the ChannelError that dispatch gets for a classified SMTP failure."""
    return ChannelError(
        text,
        permanent=kind in (SmtpFailureKind.RECIPIENT_INVALID, SmtpFailureKind.REJECTED),
        code=code,
        uncertain=kind == SmtpFailureKind.UNCERTAIN,
        outage=kind == SmtpFailureKind.OUTAGE,
    )


class _DataEndTracking:
    """Mixin for smtplib.SMTP that records whether the end of the current message's data was sent."""

    message_data_sent = False

    def mail(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        self.message_data_sent = False
        return super().mail(*args, **kwargs)  # type: ignore[misc]

    def send(self, s: bytes | str) -> None:
        super().send(s)  # type: ignore[misc]
        # smtplib.SMTP.data() sends the whole message, ending in CRLF "." CRLF, in one call.
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.message_data_sent = True


class _TrackingSMTP(_DataEndTracking, smtplib.SMTP):
    pass


class _TrackingSMTPSSL(_DataEndTracking, smtplib.SMTP_SSL):
    pass


class TrackingSmtpBackend(DjangoSmtpBackend):
    """Django's SMTP email backend, on a connection that records when a message's data was sent."""

    @property
    def connection_class(self) -> type[smtplib.SMTP]:
        return _TrackingSMTPSSL if self.use_ssl else _TrackingSMTP


def message_data_sent(connection: BaseEmailBackend) -> bool | None:
    """Return whether the end of the last message's data was sent on `connection`, or None when unknown."""
    smtp = getattr(connection, "connection", None)
    if isinstance(smtp, _DataEndTracking):
        return smtp.message_data_sent
    return None
