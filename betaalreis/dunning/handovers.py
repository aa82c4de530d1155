"""The handover file and timeline task for the collection agency, written on the day a run hands debtors over.

The handover message announces to the debtor that an agency takes over the
claim, so the agency needs the file that day. For every handover message a run
writes, `do_record_handovers` stores a task on the debtor timeline (kind
TASK) and writes one CSV file per creditor and run day,
`$BETAALREIS_HOME/handover/<creditor>/<day>.csv`. The file lists every
handover message of that day, so a second run on the same day rewrites it
with the same rows plus any new ones. It is UTF-8 with a byte order mark and
`;` as separator, with decimal commas, because that is what a Dutch Excel
opens without an import dialog.

Only runs with a handover message do this work, so a plain planning run
pays nothing for it.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import translation

from betaalreis.channels.render.context import ClaimBreakdown
from betaalreis.dunning.models import Stage, StageAction
from betaalreis.dunning.planner import CHANNEL_NAMES, Plan
from betaalreis.dunning.writer import WriteResult
from betaalreis.errors import InvalidInput
from betaalreis.ledger import timeline
from betaalreis.ledger.models import Creditor, Debtor, Invoice, TimelineKind
from betaalreis.ledger.money import format_money
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus

logger = logging.getLogger(__name__)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

# The value of `data["task"]` on the timeline rows of these tasks.
TASK_TYPE = "handover"

HEADERS = (
    "Klantnummer",
    "Naam",
    "Contactpersoon",
    "Straat en huisnummer",
    "Postcode",
    "Plaats",
    "Land",
    "E-mail",
    "Mobiel",
    "Telefoon",
    "Facturen",
    "Valuta",
    "Hoofdsom",
    "Rente",
    "Incassokosten",
    "Betaald",
    "Totaal",
    "Verzonden aanmaningen",
    "Overdrachtsbericht",
)

# Messages that went out or may still go out. The file leaves out a failed or cancelled handover.
_LISTED_STATUSES = (
    CommunicationStatus.PENDING,
    CommunicationStatus.HELD,
    CommunicationStatus.SENDING,
    CommunicationStatus.SENT,
)


@dataclass(frozen=True, slots=True)
class HandedOverDebtor:
    """One debtor in a handover file: who, which invoices, and the claim on the run day."""

    communication_id: int
    debtor_id: int
    customer_number: str
    name: str
    currency: str
    total: Decimal


@dataclass(slots=True)
class HandoverResult:
    """The debtors a run handed over, and the file that lists every handover of the run day."""

    debtors: list[HandedOverDebtor] = field(default_factory=list)
    path: Path | None = None


def handover_path(creditor: Creditor, day: dt.date) -> Path:
    """Return `$BETAALREIS_HOME/handover/<creditor slug>/<day>.csv`."""
    return Path(settings.BETAALREIS_HOME) / "handover" / creditor.slug / f"{day.isoformat()}.csv"


@transaction.atomic
def do_record_handovers(plan: Plan, written: WriteResult, *, source: str, moment: dt.datetime) -> HandoverResult:
    """Store a timeline task per handover message in `written`, write the day's handover file, and return both.

    Call it after `write_plan` with the plan it wrote. A run that wrote no
    handover message does nothing and runs no query, so running the same
    day twice stores no second task.
    """
    result = HandoverResult()
    handover_codes = {message.stage.code for message in plan.messages if message.stage.action == StageAction.HANDOVER}
    if not handover_codes:
        return result
    creditor = plan.creditor
    day = plan.day
    created_ids = [
        communication.pk for communication in written.created if communication.stage in handover_codes
    ]
    if not created_ids:
        return result

    communications = list(
        Communication.objects.filter(
            creditor=creditor, run_date=day, stage__in=handover_codes, status__in=_LISTED_STATUSES
        )
        .select_related("debtor", "creditor")
        .order_by("debtor__customer_number", "id")
    )
    stages = _stages(creditor)
    stage_names = {key: stage.name_nl for key, stage in stages.items()}
    result.path = handover_path(creditor, day)
    items_by_message = _items_by_message(communications)
    claims = _claims(communications, items_by_message, stages, day)
    sent_by_invoice = _sent_by_invoice(communications, items_by_message)
    rows = []
    for communication in communications:
        items = items_by_message[communication.pk]
        claim = claims.get(communication.pk)
        total = claim.total if claim is not None else sum((item.invoice.open_amount for item in items), Decimal("0.00"))
        letters = _letters_sent(communication, items, stage_names, sent_by_invoice)
        rows.append(_row(communication, items, claim, total, letters))
        if communication.pk in created_ids:
            debtor = communication.debtor
            handed_over = HandedOverDebtor(
                communication_id=communication.pk,
                debtor_id=debtor.pk,
                customer_number=debtor.customer_number,
                name=debtor.name,
                currency=communication.currency,
                total=total,
            )
            result.debtors.append(handed_over)
            _record_task(creditor, handed_over, [item.invoice for item in items], result.path, source, moment)

    _write_file(result.path, rows)
    logger.info(
        "handover file written",
        extra={"creditor_id": creditor.pk, "day": day.isoformat(), "debtors": len(rows), "path": str(result.path)},
    )
    return result


def _stages(creditor: Creditor) -> dict[tuple[str, str], Stage]:
    """Return the creditor's stages by (debtor kind, stage code). One query."""
    return {
        (stage.policy.debtor_kind, stage.code): stage
        for stage in Stage.objects.filter(policy__creditor=creditor).select_related("policy")
    }


def _items_by_message(communications: list[Communication]) -> dict[int, list[CommunicationInvoice]]:
    """Return the invoice lines of each message by communication id, oldest due date first. One query."""
    items: dict[int, list[CommunicationInvoice]] = {communication.pk: [] for communication in communications}
    lines = (
        CommunicationInvoice.objects.filter(communication_id__in=list(items))
        .select_related("invoice")
        .order_by("invoice__due_date", "invoice__number")
    )
    for line in lines:
        items[line.communication_id].append(line)
    return items


def _claims(
    communications: list[Communication],
    items_by_message: dict[int, list[CommunicationInvoice]],
    stages: dict[tuple[str, str], Stage],
    day: dt.date,
) -> dict[int, ClaimBreakdown]:
    """Return the claim of each handover message by communication id, from one batch load as dispatch does.

    A message whose claim cannot be computed is left out, so the file shows its open amounts only.
    """
    from betaalreis.outbox.render import claim_for_message, load_batch_claim_data, message_date

    if not communications:
        return {}
    messages = [
        (communication, items_by_message[communication.pk], stages.get((communication.debtor.kind, communication.stage)))
        for communication in communications
        if items_by_message[communication.pk]
    ]
    batch_data = load_batch_claim_data(messages, day)

    claims: dict[int, ClaimBreakdown] = {}
    for communication, items, stage in messages:
        try:
            claim = claim_for_message(
                communication, items, stage, message_date(communication, day), batch_data=batch_data
            )
        except (InvalidInput, KeyError) as error:
            # The message itself reports a claim error at dispatch.
            logger.warning(
                "handover claim not computed",
                extra={"creditor_id": communication.creditor_id, "debtor_id": communication.debtor_id,
                       "communication_id": communication.pk, "error": str(error)},
            )
            continue
        if claim is not None:
            claims[communication.pk] = claim
    return claims


def _sent_by_invoice(
    communications: list[Communication], items_by_message: dict[int, list[CommunicationInvoice]]
) -> dict[int, list[tuple[int, str, str, dt.datetime]]]:
    """Return, by invoice id, the sent messages that named it as (id, stage, channel, sent at). One query."""
    invoice_ids = {item.invoice_id for items in items_by_message.values() for item in items}
    if not communications or not invoice_ids:
        return {}
    lines = CommunicationInvoice.objects.filter(
        communication__creditor_id=communications[0].creditor_id,
        communication__status=CommunicationStatus.SENT,
        invoice_id__in=sorted(invoice_ids),
    ).values_list(
        "invoice_id", "communication_id", "communication__stage", "communication__channel", "communication__sent_at"
    )
    sent: dict[int, list[tuple[int, str, str, dt.datetime]]] = {}
    for invoice_id, communication_id, stage, channel, sent_at in lines:
        sent.setdefault(invoice_id, []).append((communication_id, stage, channel, sent_at))
    return sent


def _letters_sent(
    communication: Communication,
    items: list[CommunicationInvoice],
    stage_names: dict[tuple[str, str], str],
    sent_by_invoice: dict[int, list[tuple[int, str, str, dt.datetime]]],
) -> str:
    """Return the sent messages that named any of the invoices, oldest first, as "Veertiendagenbrief 18-12-2026 (brief)"."""
    sent = {
        entry
        for item in items
        for entry in sent_by_invoice.get(item.invoice_id, ())
        if entry[0] != communication.pk
    }
    kind = communication.debtor.kind
    return "; ".join(
        f"{stage_names.get((kind, stage), stage)} {sent_at.astimezone(AMSTERDAM):%d-%m-%Y} ({_channel_name(channel)})"
        for _, stage, channel, sent_at in sorted(sent, key=lambda entry: (entry[3], entry[0]))
    )


def _channel_name(channel: str) -> str:
    """Return the Dutch name of a channel code, such as "brief" for "letter"."""
    with translation.override("nl"):
        return str(CHANNEL_NAMES.get(channel, channel))


def _row(
    communication: Communication,
    items: list[CommunicationInvoice],
    claim: ClaimBreakdown | None,
    total: Decimal,
    letters: str,
) -> list[str]:
    debtor: Debtor = communication.debtor
    invoices = ", ".join(
        f"{item.invoice.number} (vervaldatum {item.invoice.due_date:%d-%m-%Y}, open {_amount(item.invoice.open_amount)})"
        for item in items
    )
    if claim is not None:
        costs = claim.costs if claim.costs_due else Decimal("0.00")
        parts = [_amount(claim.principal), _amount(claim.interest), _amount(costs), _amount(claim.paid)]
    else:
        parts = [_amount(total), "", "", ""]
    return [
        debtor.customer_number,
        debtor.name,
        debtor.contact_person,
        debtor.street,
        debtor.postal_code,
        debtor.city,
        debtor.country,
        debtor.email,
        debtor.mobile,
        debtor.phone,
        invoices,
        communication.currency,
        *parts,
        _amount(total),
        letters,
        _channel_name(communication.channel),
    ]


def _amount(value: Decimal) -> str:
    """Format an amount with a decimal comma and no thousands separator, as a Dutch Excel reads a number."""
    return f"{value:.2f}".replace(".", ",")


def _write_file(path: Path, rows: list[list[str]]) -> None:
    """Write the rows under `HEADERS` to `path`, replacing the file through a temporary one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".csv.tmp")
    with temporary.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADERS)
        writer.writerows(rows)
    temporary.replace(path)


def _record_task(
    creditor: Creditor,
    debtor: HandedOverDebtor,
    invoices: list[Invoice],
    path: Path,
    source: str,
    moment: dt.datetime,
) -> None:
    """Write the open TASK row for passing the debtor's claim to the collection agency."""
    numbers = ", ".join(invoice.number for invoice in invoices)
    amount = format_money(debtor.total, debtor.currency)
    summary = (
        f"Taak: geef de vordering van {amount} (facturen {numbers}) door aan het incassobureau. "
        f"De gegevens staan in {path}."
    )
    summary_en = (
        f"Task: pass the claim of {amount} (invoices {numbers}) to the collection agency. "
        f"The details are in {path}."
    )
    timeline.record(
        debtor.debtor_id,
        TimelineKind.TASK,
        timeline.clip(summary, 500),
        source=source,
        creditor_id=creditor.pk,
        at=moment,
        data={
            "task": TASK_TYPE,
            "state": "open",
            "communication_id": debtor.communication_id,
            "invoice_ids": [invoice.pk for invoice in invoices],
            "total": str(debtor.total),
            "currency": debtor.currency,
            "file": str(path),
            "summary_en": summary_en,
        },
    )
    logger.info(
        "handover task stored",
        extra={"creditor_id": creditor.pk, "debtor_id": debtor.debtor_id, "communication_id": debtor.communication_id},
    )
