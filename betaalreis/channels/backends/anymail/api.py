"""The only module that hands email to a mail server or an ESP.

A creditor's email account is either

    {"provider": "smtp", "host": ..., "port": 587, "username": ...,
     "password_env": ..., "use_tls": true, "from_email": ...}

or, for any ESP django-anymail supports,

    {"provider": "anymail", "esp": "postmark",
     "esp_settings": {"server_token_env": ...}, "from_email": ...}

where every `<name>_env` inside esp_settings is read from the environment
and passed to the anymail backend as `<name>`.
"""

from __future__ import annotations

import os
import smtplib
import time
from dataclasses import dataclass
from email.utils import formataddr
from typing import Any

from anymail.exceptions import (
    AnymailAPIError,
    AnymailError,
    AnymailRecipientsRefused,
    AnymailRequestsAPIError,
)
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.utils.module_loading import import_string

from betaalreis.channels.accounts import ProviderAccount
from betaalreis.channels.backends.email import build_email as build_rendered_email
from betaalreis.channels.backends.smtp_replies import SmtpFailureKind, classify, message_data_sent
from betaalreis.channels.base import ChannelError, OutgoingMessage
from betaalreis.channels.bounces import bounce_address, bounce_domain
from betaalreis.channels.models import Delivery
from betaalreis.channels.providers import (
    RecipientInvalid,
    Submission,
    TemporaryFailure,
    UncertainOutcome,
    VendorBackend,
)
from betaalreis.errors import ConfigurationError

# Metadata key carrying our idempotency key through the ESP, so tracking
# events can be matched even before the ESP's message id is stored.
METADATA_KEY = "betaalreis_key"


def build_email(message: OutgoingMessage, account: ProviderAccount, connection: BaseEmailBackend) -> EmailMultiAlternatives:
    """Return the rendered email for `message`, sent from the account's address when the message names none.

    The Message-ID is derived from the idempotency key, so a message handed
    over twice carries the same id.
    """
    email = build_rendered_email(message)
    account_address = str(account.option("from_email", ""))
    if account_address and not message.sender_address:
        email.from_email = formataddr((message.sender_name, account_address)) if message.sender_name else account_address
    email.connection = connection
    return email


class SmtpEmailBackend(VendorBackend):
    """Email through the creditor's own SMTP server; the Message-ID is the reference.

    An SMTP server reports a bad address while the message is handed over
    (a 5xx reply to RCPT TO). A reply whose enhanced status code says the
    address is bad (5.1.x and the like, see `smtp_replies`) marks the
    address invalid at once. A relay or policy refusal (5.7.x) concerns our
    account, so it is an outage that waits, and leaves the address valid.
    A time-out or lost connection after the message data was sent leaves
    the outcome uncertain. A bounce that arrives later as an email goes to the
    envelope sender: with a bounce domain (account option `bounce_domain`
    or BETAALREIS_BOUNCE_DOMAIN) that is an address naming this delivery,
    which `betaalreis read_bounces` matches.
    """

    channel = "email"
    provider = "smtp"
    default_rate_per_second = 20.0

    def submit(self, message: OutgoingMessage, account: ProviderAccount, delivery: Delivery) -> Submission:
        connection = get_connection(
            "betaalreis.channels.backends.smtp_replies.TrackingSmtpBackend",
            host=account.required("host"),
            port=int(account.option("port", 25)),
            username=str(account.option("username", "")),
            password=account.secret("password") if account.option("password_env") else "",
            use_tls=bool(account.option("use_tls", False)),
            use_ssl=bool(account.option("use_ssl", False)),
            timeout=float(account.option("timeout_seconds", 30)),
            fail_silently=False,
        )
        email = build_email(message, account, connection)
        domain = bounce_domain(str(account.option("bounce_domain", "")))
        if domain:
            # The From header keeps the creditor's address; only the envelope
            # sender, where bounces go, changes.
            email.extra_headers["From"] = email.from_email
            email.from_email = bounce_address(delivery.pk, domain)

        _open_smtp(connection, account)
        try:
            email.send()
        except OSError as exc:
            # smtplib's errors derive from OSError.
            raise _vendor_error(*classify(exc, message_data_sent=message_data_sent(connection))) from exc
        finally:
            connection.close()

        return Submission(provider_reference=email.extra_headers["Message-ID"].strip("<>"))


def _open_smtp(connection: BaseEmailBackend, account: ProviderAccount) -> None:
    """Connect and sign in to the mail server before any message data is sent.

    Nothing has been handed over when this fails, so every error here is a
    temporary failure and an outage, which the outbox retries later. That
    includes a login the server does not support or rejects, because it is
    a wrong setting that someone can fix without losing the message. After a failure the
    same server is not tried again for SMTP_PAUSE_AFTER_FAILURE_SECONDS, so
    a dispatch run does not wait for the connection timeout once per message.
    """
    server = (account.required("host"), int(account.option("port", 25)), str(account.option("username", "")))
    earlier = _failed_servers.get(server)
    if earlier is not None and time.monotonic() - earlier.at < SMTP_PAUSE_AFTER_FAILURE_SECONDS:
        raise ChannelError(
            f"{earlier.message.rstrip('.')}. This process tries the server again after "
            f"{SMTP_PAUSE_AFTER_FAILURE_SECONDS:.0f} seconds.",
            permanent=False,
            code=earlier.code,
            outage=True,
        )

    try:
        connection.open()
    except (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError) as exc:
        connection.close()
        failure = TemporaryFailure(
            f"Signing in to the mail server {server[0]} failed ({exc}); check the "
            f"username, password and TLS settings of creditor {account.creditor_slug!r}.",
            code="smtp_login_failed",
            outage=True,
        )
        _failed_servers[server] = _ServerFailure(time.monotonic(), failure.code, str(failure))
        raise failure from exc
    except (smtplib.SMTPException, OSError) as exc:
        connection.close()
        failure = TemporaryFailure(
            f"Could not connect to the mail server {server[0]}: {type(exc).__name__}: {exc}",
            code="connect_failed",
            outage=True,
        )
        _failed_servers[server] = _ServerFailure(time.monotonic(), failure.code, str(failure))
        raise failure from exc
    _failed_servers.pop(server, None)


def _vendor_error(kind: SmtpFailureKind, code: str, text: str) -> Exception:
    """Return the exception that `VendorBackend.send` expects for a classified SMTP failure."""
    if kind == SmtpFailureKind.RECIPIENT_INVALID:
        return RecipientInvalid(text, code=code)
    if kind == SmtpFailureKind.UNCERTAIN:
        return UncertainOutcome(text, code=code)
    if kind in (SmtpFailureKind.TEMPORARY, SmtpFailureKind.OUTAGE):
        return TemporaryFailure(text, code=code, outage=kind == SmtpFailureKind.OUTAGE)
    return ChannelError(text, permanent=True, code=code)


@dataclass(frozen=True, slots=True)
class _ServerFailure:
    """The last failed connection or sign-in to one mail server, at a monotonic time."""

    at: float
    code: str
    message: str


# How long this process leaves a mail server alone after a failed connection or sign-in.
SMTP_PAUSE_AFTER_FAILURE_SECONDS = 60.0
# The last failure per (host, port, username), for this process.
_failed_servers: dict[tuple[str, int, str], _ServerFailure] = {}


def _esp_settings(account: ProviderAccount) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for name, value in dict(account.option("esp_settings", {})).items():
        if name.endswith("_env"):
            secret = os.environ.get(str(value), "")
            if not secret:
                raise ConfigurationError(
                    f"Environment variable {value!r} for the {account.option('esp')} setting "
                    f"{name.removesuffix('_env')!r} of creditor {account.creditor_slug!r} is empty.",
                    code="provider_secret_missing",
                )
            resolved[name.removesuffix("_env")] = secret
        else:
            resolved[name] = value
    return resolved


def esp_backend_path(esp: str) -> str:
    """Return the dotted path of django-anymail's email backend for the ESP named `esp` ("postmark")."""
    return f"anymail.backends.{esp}.EmailBackend"


def esp_display_name(esp: str) -> str | None:
    """Return the name anymail gives the ESP `esp` in its events ("Postmark"), or None for an unknown ESP."""
    try:
        return str(import_string(esp_backend_path(esp)).esp_name)
    except (ImportError, AttributeError):
        # AnymailImproperlyInstalled, for an ESP whose extra package is missing, is an ImportError.
        return None


class AnymailEmailBackend(VendorBackend):
    """Email through an ESP's API via django-anymail; the ESP's message id is the reference."""

    channel = "email"
    provider = "anymail"
    default_rate_per_second = 50.0

    def submit(self, message: OutgoingMessage, account: ProviderAccount, delivery: Delivery) -> Submission:
        esp = account.required("esp")
        try:
            connection = get_connection(esp_backend_path(esp), **_esp_settings(account))
        except ImportError as exc:
            raise ChannelError(f"django-anymail has no ESP named {esp!r}.", permanent=True,
                               code="provider_unknown") from exc
        except ConfigurationError as exc:
            raise ChannelError(str(exc), permanent=False, code=exc.code, outage=True) from exc

        # Stored before the hand-over, because the ESP can post the first
        # events before the send call returns. The webhook matches events by
        # this value, also after the creditor moves to another ESP.
        delivery.esp = esp_display_name(esp) or esp
        delivery.save(update_fields=["esp"])

        email = build_email(message, account, connection)
        email.metadata = {METADATA_KEY: message.idempotency_key}  # type: ignore[attr-defined]

        try:
            email.send()
        except AnymailRecipientsRefused as exc:
            raise RecipientInvalid(f"{esp} rejected the address: {exc}",
                                   code="esp_recipient_refused") from exc
        except AnymailRequestsAPIError as exc:
            raise _classify_api_error(esp, exc) from exc
        except AnymailAPIError as exc:
            raise ChannelError(f"{esp} rejected the message: {exc}", permanent=True,
                               code="esp_rejected") from exc
        except AnymailError as exc:
            raise ChannelError(f"{esp} is not set up correctly: {exc}", permanent=False,
                               code="provider_configuration", outage=True) from exc

        status = email.anymail_status  # type: ignore[attr-defined]
        recipient_status = status.recipients.get(message.recipient.lower()) or status.recipients.get(message.recipient)
        if recipient_status is not None and recipient_status.status in ("rejected", "invalid"):
            raise RecipientInvalid(f"{esp} rejected the address ({recipient_status.status}).",
                                   code=f"esp_{recipient_status.status}")
        message_id = status.message_id
        if isinstance(message_id, set):
            message_id = next(iter(message_id), "")
        return Submission(provider_reference=str(message_id or ""))


def _classify_api_error(esp: str, exc: AnymailRequestsAPIError) -> Exception:
    status_code = exc.status_code
    if status_code is None:
        # No response: the request may have arrived.
        return UncertainOutcome(f"{esp} did not answer: {type(exc).__name__}.")
    if status_code == 429 or status_code >= 500:
        retry_after = None
        if exc.response is not None:
            try:
                retry_after = float(exc.response.headers.get("Retry-After", ""))
            except ValueError:
                retry_after = None
        return TemporaryFailure(f"{esp} answered HTTP {status_code}.", code="provider_unavailable"
                                if status_code >= 500 else "rate_limited", retry_after=retry_after,
                                outage=status_code >= 500)
    if status_code in (401, 403):
        return ChannelError(f"{esp} rejected the credentials (HTTP {status_code}).", permanent=False,
                            code="provider_auth_failed", outage=True)
    return ChannelError(f"{esp} rejected the message (HTTP {status_code}).", permanent=True,
                        code=f"esp_{status_code}")
