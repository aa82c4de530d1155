"""One-time sign-in codes by email or SMS, and throttling of failed sign-ins.

A code is six digits, valid for BETAALREIS_PORTAL_CODE_MINUTES, usable once,
for one purpose, and void after BETAALREIS_PORTAL_CODE_MAX_ATTEMPTS wrong
guesses. Only an HMAC of the code is stored. At most
BETAALREIS_PORTAL_CODES_PER_HOUR codes go to one debtor per hour, and a
client address with too many failed sign-ins is blocked for a while.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from betaalreis import sign_in_limits
from betaalreis.channels.base import ChannelError, OutgoingMessage, get_backend
from betaalreis.errors import BetaalreisError
from betaalreis.ledger import timeline
from betaalreis.ledger.models import Debtor, TimelineKind
from betaalreis.portal.models import ContactKind, SignInCode, VerifiedContact
from betaalreis.portal.services import mask_contact

logger = logging.getLogger(__name__)

SIGN_IN = "sign_in"
FAILURE_WINDOW_SECONDS = sign_in_limits.FAILURE_WINDOW_SECONDS


class CodeError(BetaalreisError):
    code = "code_invalid"


class RateLimited(BetaalreisError):
    code = "rate_limited"


def _hash(code: str, debtor_id: int, purpose: str) -> str:
    return salted_hmac("betaalreis.portal.code", f"{purpose}:{debtor_id}:{code}", algorithm="sha256").hexdigest()


def contact_for(debtor: Debtor, kind: str) -> str:
    return debtor.email if kind == ContactKind.EMAIL else debtor.mobile


@dataclass(frozen=True, slots=True)
class SentCode:
    kind: str
    masked_destination: str
    expires_at: dt.datetime


def send_sign_in_code(debtor: Debtor, kind: str, *, purpose: str = SIGN_IN) -> SentCode:
    """Send a new one-time code to the debtor's email address or mobile number.

    Raises RateLimited after too many codes in the last hour, and CodeError
    when the debtor has no such contact or the channel fails.
    """
    destination = contact_for(debtor, kind)
    if not destination:
        raise CodeError(f"Debtor {debtor.pk} has no {kind} to send a code to.", code="no_contact")

    since = timezone.now() - dt.timedelta(hours=1)
    recent = SignInCode.objects.filter(debtor=debtor, purpose=purpose, created_at__gte=since).count()
    if recent >= settings.BETAALREIS_PORTAL_CODES_PER_HOUR:
        raise RateLimited("Too many codes requested; try again in an hour.", code="too_many_codes")

    code = f"{secrets.randbelow(1_000_000):06d}"
    expires_at = timezone.now() + dt.timedelta(minutes=settings.BETAALREIS_PORTAL_CODE_MINUTES)
    with transaction.atomic():
        SignInCode.objects.filter(debtor=debtor, purpose=purpose, used_at__isnull=True).update(used_at=timezone.now())
        record = SignInCode.objects.create(
            debtor=debtor, purpose=purpose, kind=kind, sent_to=destination,
            code_hash=_hash(code, debtor.pk, purpose), expires_at=expires_at,
        )

    _deliver(debtor, kind, destination, code, record)
    return SentCode(kind=kind, masked_destination=mask_contact(destination), expires_at=expires_at)


def _deliver(debtor: Debtor, kind: str, destination: str, code: str, record: SignInCode) -> None:
    minutes = settings.BETAALREIS_PORTAL_CODE_MINUTES
    if debtor.language == "en":
        subject = "Your sign-in code"
        text = f"Your code for the payment page of {debtor.creditor.display_name} is {code}. It is valid for {minutes} minutes."
    else:
        subject = "Uw inlogcode"
        text = f"Uw code voor de betaalpagina van {debtor.creditor.display_name} is {code}. De code is {minutes} minuten geldig."

    channel = "email" if kind == ContactKind.EMAIL else "sms"
    message = OutgoingMessage(
        idempotency_key=f"portal-code-{record.pk}",
        channel=channel,
        creditor_slug=debtor.creditor.slug,
        debtor_id=debtor.pk,
        language=debtor.language,
        recipient=destination,
        subject=subject,
        text=text,
        sender_name=debtor.creditor.display_name,
        metadata={"purpose": record.purpose},
    )
    try:
        get_backend(channel).send(message)
    except (ChannelError, BetaalreisError) as exc:
        logger.warning("sign-in code not sent", extra={"debtor_id": debtor.pk, "channel": channel, "error": str(exc)})
        raise CodeError(f"The code could not be sent by {channel}; try the other channel.", code="send_failed") from exc
    logger.info("sign-in code sent", extra={"debtor_id": debtor.pk, "channel": channel})


CODE_ERRORS = {
    "code_missing": "No code is waiting; request a new one.",
    "code_expired": "This code has expired; request a new one.",
    "code_locked": "Too many wrong codes; request a new one.",
    "code_wrong": "This code is not correct.",
}


def verify_sign_in_code(debtor_id: int, code: str, *, purpose: str = SIGN_IN) -> SignInCode:
    """Use the debtor's current code if `code` matches; raise CodeError otherwise.

    A matched code is spent, and its destination becomes a verified contact
    of the debtor. A wrong guess is counted before the error is raised, so
    the count survives the failed request.
    """
    record, error = _check_code(debtor_id, code, purpose)
    if error:
        raise CodeError(CODE_ERRORS[error], code=error)
    return record


@transaction.atomic
def _check_code(debtor_id: int, code: str, purpose: str) -> tuple[SignInCode | None, str]:
    record = (
        SignInCode.objects.select_for_update()
        .filter(debtor_id=debtor_id, purpose=purpose, used_at__isnull=True)
        .order_by("-created_at")
        .first()
    )
    if record is None:
        return None, "code_missing"
    if record.expires_at < timezone.now():
        return record, "code_expired"
    if record.failed_attempts >= settings.BETAALREIS_PORTAL_CODE_MAX_ATTEMPTS:
        return record, "code_locked"

    if not hmac.compare_digest(record.code_hash, _hash(code.strip(), debtor_id, purpose)):
        record.failed_attempts += 1
        record.save(update_fields=["failed_attempts"])
        return record, "code_wrong"

    record.used_at = timezone.now()
    record.save(update_fields=["used_at"])
    VerifiedContact.objects.update_or_create(
        debtor_id=debtor_id, kind=record.kind, value=record.sent_to.lower(), defaults={"verified_at": timezone.now()}
    )
    timeline.record(
        debtor_id, TimelineKind.NOTE, f"Ingelogd op het portaal met code via {record.kind}",
        source="portal", data={"channel": record.kind, "contact": mask_contact(record.sent_to)},
    )
    return record, ""


# A verified contact links debtors for this long after its last code. A
# mobile number may pass to a new subscriber, and an address to a new employee.
LINK_VERIFIED_DAYS = 365


def linked_debtor_ids(debtor_id: int) -> list[int]:
    """Return the debtor and every debtor linked to it by a verified contact, lowest id first.

    Two debtors are linked, also across creditors, when both verified the
    same email address or mobile number with a code in the last
    LINK_VERIFIED_DAYS and both records still carry it. A record whose
    contact changed since, for example because the creditor corrected a
    shared or mistyped number, is no longer linked.
    """
    since = timezone.now() - dt.timedelta(days=LINK_VERIFIED_DAYS)
    contacts = [
        (kind, value)
        for kind, value, email, mobile in VerifiedContact.objects.filter(
            debtor_id=debtor_id, verified_at__gte=since
        ).values_list("kind", "value", "debtor__email", "debtor__mobile")
        if _still_carries(kind, value, email, mobile)
    ]
    ids = {debtor_id}
    for kind, value in contacts:
        others = VerifiedContact.objects.filter(kind=kind, value=value, verified_at__gte=since).values_list(
            "debtor_id", "debtor__email", "debtor__mobile"
        )
        ids.update(pk for pk, email, mobile in others if _still_carries(kind, value, email, mobile))
    return sorted(ids)


def _still_carries(kind: str, value: str, email: str, mobile: str) -> bool:
    """Return whether a debtor record with this email and mobile still has the verified contact `value`."""
    current = email if kind == ContactKind.EMAIL else mobile
    return current.lower() == value


# The per-address count lives in Django's default cache (see `betaalreis.sign_in_limits`).
def _failure_key(address: str) -> str:
    return f"portal-failures:{address}"


def note_failure(address: str) -> int:
    """Count one failed sign-in (wrong short code or one-time code) from a client address.

    Returns the number of failures of the address in the current window.
    """
    return sign_in_limits.note_failure(_failure_key(address))


def is_blocked(address: str) -> bool:
    """Return whether a client address made too many failed sign-ins in the last window."""
    return sign_in_limits.failure_count(_failure_key(address)) >= settings.BETAALREIS_PORTAL_FAILURES_PER_ADDRESS
