"""Bounce emails for mail sent over SMTP (RFC 3464 delivery status notifications).

A mail server that accepted a message and fails to deliver it later sends a
multipart/report; report-type=delivery-status message to the envelope sender.
Each SMTP message therefore gets its own envelope sender,
`bounces+<delivery id>-<tag>@<bounce domain>`, whose tag is an HMAC of the
delivery id keyed with SECRET_KEY: a bounce names its delivery, and a forged
or guessed address matches none. A DSN that arrives at another address is
matched by the Message-ID of the original message it quotes, and then only
for a recipient block that names the address we sent to. A DSN sent to a
bounce address with a wrong tag matches nothing, whatever Message-ID it
quotes, because a real bounce to that address would carry the right tag.

Reading goes through `do_record_delivery_event`, so the same DSN read twice
changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import mailbox
import re
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from betaalreis.channels.delivery import StatusReport, dedupe_key_for, do_record_delivery_event
from betaalreis.channels.models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)

PROVIDER = "smtp"
BOUNCE_LOCAL_PREFIX = "bounces+"
_BOUNCE_SALT = "betaalreis.channels.bounce-address"

# Headers in which a delivering mail server records the address a message
# reached: Postfix writes Delivered-To and X-Original-To, Exim Envelope-To.
_ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To")

# Permanent status codes (RFC 3463) that mean the address itself is bad:
# X.1.X address status, 5.2.1 mailbox disabled, 5.4.4 no route to the domain.
# Other 5.X.X codes, such as 5.7.1 (policy) or 5.2.2 (mailbox full), fail
# the message but leave the address valid.
_INVALID_ADDRESS_STATUS = re.compile(r"^5\.(1\.\d+|2\.1|4\.4)$")
_STATUS_CODE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


def _bounce_tag(delivery_id: int) -> str:
    return salted_hmac(_BOUNCE_SALT, str(delivery_id)).hexdigest()[:20]


def bounce_address(delivery_id: int, domain: str) -> str:
    """Return the envelope sender for one delivery; lower-case, as some servers change the case."""
    return f"{BOUNCE_LOCAL_PREFIX}{delivery_id}-{_bounce_tag(delivery_id)}@{domain}"


def _split_bounce_address(address: str) -> tuple[int, str] | None:
    """Return the delivery id and tag of an address `bounces+<id>-<tag>@...`, valid tag or not."""
    local = address.strip().strip("<>").partition("@")[0].lower()
    if not local.startswith(BOUNCE_LOCAL_PREFIX):
        return None
    id_part, _, tag = local.removeprefix(BOUNCE_LOCAL_PREFIX).partition("-")
    if not id_part.isdigit() or not tag:
        return None
    return int(id_part), tag


def delivery_id_from_bounce_address(address: str) -> int | None:
    """Return the delivery id in a bounce address, or None when it is not one or its tag is wrong."""
    parts = _split_bounce_address(address)
    if parts is None or not constant_time_compare(parts[1], _bounce_tag(parts[0])):
        return None
    return parts[0]


@dataclass(frozen=True, slots=True)
class DsnRecipient:
    """One per-recipient block of a delivery status notification."""

    final_recipient: str
    original_recipient: str
    action: str
    status: str
    diagnostic: str

    def names(self, address: str) -> bool:
        expected = address.strip().lower()
        return expected in (self.final_recipient.lower(), self.original_recipient.lower())


@dataclass(frozen=True, slots=True)
class Dsn:
    """A parsed delivery status notification."""

    recipients: list[DsnRecipient]
    original_message_id: str
    delivery_id: int | None
    dsn_key: str
    arrived_at: dt.datetime | None = None
    # A bounce address in the envelope headers whose tag is invalid, when no valid one is there.
    forged_bounce_address: str = ""


def _address_field(value: str) -> str:
    """Return the address of an RFC 3464 address field such as `rfc822; jan@example.nl`."""
    _, _, address = value.partition(";")
    return (address or value).strip().strip("<>")


def _status_of(block: Message) -> str:
    """Return the block's Status, or the code found in its Diagnostic-Code when Status is missing."""
    status = str(block.get("Status", "")).strip()
    match = _STATUS_CODE.search(status) or _STATUS_CODE.search(str(block.get("Diagnostic-Code", "")))
    return ".".join(match.groups()) if match else ""


def _report_blocks(message: Message) -> list[Message] | None:
    """Return the header blocks of the message/delivery-status part, or None when there is none."""
    if message.get_content_type() != "multipart/report":
        return None
    if str(message.get_param("report-type", "")).lower() != "delivery-status":
        return None
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            payload = part.get_payload()
            return payload if isinstance(payload, list) else []
    return None


def _original_message_id(message: Message) -> str:
    """Return the Message-ID of the quoted original, from message/rfc822 or text/rfc822-headers."""
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            payload = part.get_payload()
            quoted = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(quoted, Message) and quoted.get("Message-ID"):
                return str(quoted["Message-ID"]).strip().strip("<>")
        elif content_type == "text/rfc822-headers":
            text = part.get_payload(decode=True) or b""
            headers = HeaderParser().parsestr(text.decode("utf-8", errors="replace"))
            if headers.get("Message-ID"):
                return str(headers["Message-ID"]).strip().strip("<>")
    return ""


def _delivery_id_from_headers(message: Message) -> tuple[int | None, str]:
    """Return the id of the first valid bounce address in the envelope headers, or None and a forged one.

    A forged address has the form of a bounce address but a wrong tag; it is
    "" when there is none.
    """
    forged = ""
    for header in _ENVELOPE_HEADERS:
        for _, address in getaddresses(message.get_all(header, [])):
            delivery_id = delivery_id_from_bounce_address(address)
            if delivery_id is not None:
                return delivery_id, ""
            if not forged and _split_bounce_address(address) is not None:
                forged = address
    return None, forged


def parse_dsn(message: Message, raw: bytes = b"") -> Dsn | None:
    """Parse a delivery status notification; return None for any other message, such as an auto-reply.

    NOTE: only RFC 3464 reports are read. Plain-text bounces, such as
    qmail's, come back as None and are left for a person.
    """
    blocks = _report_blocks(message)
    if blocks is None:
        return None

    # The first block holds per-message fields (Reporting-MTA); every block
    # with a Final-Recipient is one recipient.
    recipients = [
        DsnRecipient(
            final_recipient=_address_field(str(block.get("Final-Recipient", ""))),
            original_recipient=_address_field(str(block.get("Original-Recipient", ""))),
            action=str(block.get("Action", "")).strip().lower(),
            status=_status_of(block),
            diagnostic=" ".join(str(block.get("Diagnostic-Code", "")).split()),
        )
        for block in blocks
        if block.get("Final-Recipient")
    ]

    dsn_id = str(message.get("Message-ID", "")).strip()
    dsn_key = dsn_id or hashlib.sha256(raw or message.as_bytes()).hexdigest()
    try:
        arrived_at = parsedate_to_datetime(str(message["Date"])) if message.get("Date") else None
    except (TypeError, ValueError):
        arrived_at = None
    if arrived_at is not None and timezone.is_naive(arrived_at):
        arrived_at = timezone.make_aware(arrived_at, dt.UTC)
    delivery_id, forged_bounce_address = _delivery_id_from_headers(message)
    return Dsn(
        recipients=recipients,
        original_message_id=_original_message_id(message),
        delivery_id=delivery_id,
        dsn_key=dsn_key,
        arrived_at=arrived_at,
        forged_bounce_address=forged_bounce_address,
    )


def _find_delivery(dsn: Dsn, creditor_id: int | None) -> tuple[Delivery | None, bool]:
    """Return the delivery a DSN is about, and whether the bounce address proved it."""
    deliveries = Delivery.objects.filter(channel="email")
    if creditor_id is not None:
        deliveries = deliveries.filter(creditor_id=creditor_id)
    if dsn.delivery_id is not None:
        found = deliveries.filter(pk=dsn.delivery_id).first()
        if found is not None:
            return found, True
    if dsn.original_message_id:
        found = deliveries.filter(provider=PROVIDER, provider_reference=dsn.original_message_id).first()
        return found, False
    return None, False


def _status_for(recipient: DsnRecipient) -> str | None:
    """Map a recipient block to our delivery vocabulary; None for actions that need nothing."""
    if recipient.action == "delayed":
        return DeliveryStatus.DEFERRED
    if recipient.action == "delivered":
        return DeliveryStatus.DELIVERED
    if recipient.action != "failed":
        # relayed and expanded mean the message went on; nothing to record.
        return None
    # A failure with a 4.X.X code means the server gave up retrying a
    # temporary error, so the message failed but no address is at fault.
    return DeliveryStatus.FAILED if recipient.status.startswith("4.") else DeliveryStatus.BOUNCED


@dataclass(slots=True)
class BounceOutcome:
    """The result of reading one message, whose `kind` is one of the BounceSummary counters."""

    kind: str
    delivery_id: int | None = None
    fallback_communication_id: int | None = None


def do_read_bounce(message: Message, *, raw: bytes = b"", creditor_id: int | None = None,
                   source: str = "bounces") -> BounceOutcome:
    """Apply one bounce email to its delivery: hard bounce, soft bounce or delivery report.

    The returned kind is `not_dsn` for a message that is no DSN (an
    auto-reply, a reply from a person). It is `unmatched` when no delivery
    of ours fits or the bounce address has a wrong tag, and `duplicate` when
    every recipient event was recorded before. Otherwise it is the strongest
    event recorded:
    `hard`, `failed`, `soft` or `delivered`.
    """
    dsn = parse_dsn(message, raw)
    if dsn is None:
        return BounceOutcome("not_dsn")

    if dsn.forged_bounce_address:
        # The quoted Message-ID is not tried, because anyone who saw one of
        # our messages can quote it.
        logger.warning(
            "bounce address tag invalid", extra={"address": dsn.forged_bounce_address, "dsn_key": dsn.dsn_key}
        )
        return BounceOutcome("unmatched")

    delivery, proven = _find_delivery(dsn, creditor_id)
    if delivery is None:
        logger.info("bounce for unknown message", extra={"original_message_id": dsn.original_message_id})
        return BounceOutcome("unmatched")

    # Only the block for the address we sent to counts, so a bounce for a
    # Cc address or a forged Message-ID cannot mark the debtor's address invalid.
    relevant = [recipient for recipient in dsn.recipients if recipient.names(delivery.recipient)]
    if not relevant and proven and len(dsn.recipients) == 1:
        # NOTE: the envelope sender proves the delivery, but the server
        # rewrote the recipient (an alias); the address is left valid.
        relevant = [_without_address_claim(dsn.recipients[0])]
    if not relevant:
        logger.info("bounce names another recipient", extra={"delivery_id": delivery.pk})
        return BounceOutcome("unmatched", delivery_id=delivery.pk)

    kinds = []
    fallback_id = None
    occurred_at = dsn.arrived_at or timezone.now()
    for recipient in relevant:
        status = _status_for(recipient)
        if status is None:
            continue
        report = StatusReport(
            provider=PROVIDER,
            provider_reference=delivery.provider_reference,
            status=status,
            occurred_at=occurred_at,
            dedupe_key=dedupe_key_for("dsn", delivery.pk, dsn.dsn_key, recipient.final_recipient, recipient.action),
            vendor_status=f"{recipient.action} {recipient.status}".strip(),
            error_code=recipient.status,
            description=recipient.diagnostic or f"{recipient.action} {recipient.status}".strip(),
            address_invalid=status == DeliveryStatus.BOUNCED and bool(_INVALID_ADDRESS_STATUS.match(recipient.status)),
            idempotency_key=delivery.idempotency_key,
        )
        outcome = do_record_delivery_event(report, source=source)
        if outcome.duplicate:
            kinds.append("duplicate")
            continue
        fallback_id = fallback_id or outcome.fallback_communication_id
        kinds.append({DeliveryStatus.BOUNCED: "hard", DeliveryStatus.FAILED: "failed",
                      DeliveryStatus.DEFERRED: "soft", DeliveryStatus.DELIVERED: "delivered"}[status])

    for kind in ("hard", "failed", "soft", "delivered", "duplicate"):
        if kind in kinds:
            return BounceOutcome(kind, delivery_id=delivery.pk, fallback_communication_id=fallback_id)
    return BounceOutcome("ignored", delivery_id=delivery.pk)


def _without_address_claim(recipient: DsnRecipient) -> DsnRecipient:
    """Return the block with its status class kept but its address code dropped, so no address is marked invalid."""
    status = recipient.status[:2] + "0.0" if recipient.status else ""
    return DsnRecipient(recipient.final_recipient, recipient.original_recipient,
                        recipient.action, status, recipient.diagnostic)


@dataclass(slots=True)
class BounceSummary:
    """Counts per outcome kind of one folder read, and the files that failed to read."""

    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


def read_maildir(path: Path, *, creditor_id: int | None = None) -> BounceSummary:
    """Read every message in the Maildir's new/ folder and move each handled one to cur/.

    A bounce that was applied or seen before is marked seen (flag S). An
    unmatched bounce is flagged (F) for a person to look at, and any other
    message stays unread in cur/. A message whose handling raised stays in
    new/ and is tried again on the next run. Files keep their bytes.
    """
    new_folder, cur_folder = path / "new", path / "cur"
    if not new_folder.is_dir() or not cur_folder.is_dir():
        raise FileNotFoundError(f"{path} is not a Maildir: it needs the folders new/ and cur/.")

    summary = BounceSummary()
    for file in sorted(new_folder.iterdir()):
        if not file.is_file() or file.name.startswith("."):
            continue
        raw = file.read_bytes()
        try:
            outcome = do_read_bounce(message_from_bytes(raw), raw=raw, creditor_id=creditor_id,
                                     source=f"bounces:{path.name}")
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the folder
            logger.exception("bounce message could not be read", extra={"maildir": str(path), "file": file.name})
            summary.errors.append(f"{file.name}: {type(exc).__name__}: {exc}")
            continue
        summary.counts[outcome.kind] += 1

        flags = {"unmatched": "F", "not_dsn": ""}.get(outcome.kind, "S")
        # Maildir names a read message <unique name>:2,<flags> in cur/.
        file.rename(cur_folder / f"{file.name.partition(':')[0]}:2,{flags}")
    return summary


def read_mbox(path: Path, *, creditor_id: int | None = None) -> BounceSummary:
    """Read every message of an mbox file, which stays unchanged; a second read records nothing new."""
    summary = BounceSummary()
    for key, message in mailbox.mbox(path, create=False).iteritems():
        try:
            outcome = do_read_bounce(message, creditor_id=creditor_id, source=f"bounces:{path.name}")
        except Exception as exc:  # noqa: BLE001 - one bad message must not stop the file
            logger.exception("bounce message could not be read", extra={"mbox": str(path), "key": key})
            summary.errors.append(f"{key}: {type(exc).__name__}: {exc}")
            continue
        summary.counts[outcome.kind] += 1
    return summary


def bounce_domain(account_domain: str = "") -> str:
    """Return the domain for bounce addresses: the account's `bounce_domain`, else BETAALREIS_BOUNCE_DOMAIN."""
    return account_domain or str(getattr(settings, "BETAALREIS_BOUNCE_DOMAIN", "") or "")
