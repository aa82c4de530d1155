"""Turning a planned communication into a message for its channel.

This is where the outbox meets the channels and the claim law: the claim is
computed here, at dispatch, over the invoices still due and on the day the
message goes out (`message_date`), so a message never states an amount that
a payment since planning has changed. A letter held over a Sunday is dated
and computed on the Monday it is sent. So is a message that the dispatch of
a run for an earlier day hands to an adapter that reaches the debtor,
because that adapter sends it at the real moment. The claim covers the
debtor's whole claim, as the portal shows it, and the message states its
own invoices with their share of the collection costs
(`betaalreis.legal.cost_shares`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from betaalreis.channels.base import OutgoingMessage
from betaalreis.channels.render.context import ClaimBreakdown, MessageContext
from betaalreis.channels.render.message import render_message
from betaalreis.dunning.charges import charged_open_invoices
from betaalreis.dunning.letter_costs import LetterCosts, letter_costs
from betaalreis.dunning.models import Stage
from betaalreis.errors import InvalidInput
from betaalreis.legal.claims import compute_claim
from betaalreis.legal.cost_shares import claim_for_invoices
from betaalreis.legal.ledger_claims import ClaimInput, claim_items_for_debtor, claim_items_for_debtors
from betaalreis.legal.models import legal_settings_by_creditor, legal_settings_for
from betaalreis.legal.policy import LegalSettings
from betaalreis.outbox.history import reminded_before
from betaalreis.outbox.models import Communication, CommunicationInvoice
from betaalreis.portal.links import portal_url, short_portal_url

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@dataclass(slots=True)
class BatchClaimData:
    """The legal data the claims of a dispatch batch need, loaded with a few queries for the whole batch.

    Computing each message's claim on its own took four to six queries per
    message. `load_batch_claim_data` loads the same rows per batch, and
    `claim_for_message` reads them from here.
    """

    settings: dict[int, LegalSettings] = field(default_factory=dict)
    # By (debtor id, claim date).
    claim_inputs: dict[tuple[int, dt.date], ClaimInput | InvalidInput] = field(default_factory=dict)
    # By communication id: the invoice numbers of the claim the message's costs are split over.
    claim_numbers: dict[int, set[str]] = field(default_factory=dict)
    # By communication id: the 14-day letters behind a consumer's claim.
    letters: dict[int, LetterCosts] = field(default_factory=dict)


def message_date(communication: Communication, today: dt.date | None) -> dt.date:
    """Return the date a message carries and computes its claim on: the day it goes out.

    `today` is the dispatch day in Amsterdam; a message is never dated
    before the run that planned it.
    """
    if today is None:
        return communication.run_date
    return max(communication.run_date, today)


def load_batch_claim_data(
    messages: Sequence[tuple[Communication, Sequence[CommunicationInvoice], Stage | None]],
    today: dt.date | None = None,
    *,
    days: Mapping[int, dt.date] | None = None,
) -> BatchClaimData:
    """Load the legal data for every message of a batch that states a claim.

    `today` is the dispatch day, as `render_communication` gets it. `days`
    replaces it by communication id for messages that go out on another day.
    """
    days = days or {}
    data = BatchClaimData()
    stating = [
        (communication, items, stage)
        for communication, items, stage in messages
        if _states_claim(communication, stage)
    ]
    if not stating:
        return data

    creditors = {communication.creditor_id: communication.creditor for communication, _, _ in stating}
    data.settings = legal_settings_by_creditor(creditors.values())

    debtors_by_day: dict[tuple[int, dt.date], set[int]] = defaultdict(set)
    debtors_by_creditor: dict[int, set[int]] = defaultdict(set)
    for communication, _, _ in stating:
        on = message_date(communication, days.get(communication.pk, today))
        debtors_by_day[(communication.creditor_id, on)].add(communication.debtor_id)
        debtors_by_creditor[communication.creditor_id].add(communication.debtor_id)
    charged = {
        creditor_id: charged_open_invoices(creditor_id, debtor_ids)
        for creditor_id, debtor_ids in debtors_by_creditor.items()
    }

    lettered_claims: dict[int, dict[int, tuple[int, list[int]]]] = defaultdict(dict)
    numbers: dict[int, str] = {}
    for communication, items, _ in stating:
        claim_invoices = {
            **charged[communication.creditor_id][communication.debtor_id],
            **{item.invoice_id: item.invoice.number for item in items},
        }
        lettered_claims[communication.creditor_id][communication.pk] = (
            communication.debtor_id, list(claim_invoices)
        )
        data.claim_numbers[communication.pk] = set(claim_invoices.values())
        numbers.update(claim_invoices)

    for (creditor_id, on), debtor_ids in debtors_by_day.items():
        for debtor_id, claim_input in claim_items_for_debtors(creditor_id, debtor_ids, on).items():
            data.claim_inputs[(debtor_id, on)] = claim_input
    for creditor_id, claims in lettered_claims.items():
        data.letters.update(letter_costs(creditors[creditor_id], data.settings[creditor_id], claims, numbers))
    return data


def _states_claim(communication: Communication, stage: Stage | None) -> bool:
    # NOTE: the statutory cost amounts are in euro and the claim engine
    # rejects other currencies, so such a message lists open amounts only,
    # and the claim of a euro message leaves the debtor's other currencies out.
    return stage is not None and stage.states_claim and communication.currency == "EUR"


def claim_for_message(
    communication: Communication,
    items: Sequence[CommunicationInvoice],
    stage: Stage | None,
    on: dt.date,
    *,
    batch_data: BatchClaimData | None = None,
) -> ClaimBreakdown | None:
    """Return the claim over the message's invoices on `on`, for stages that state it.

    The amounts are those of the debtor's whole claim for these invoices,
    with their share of its collection costs, so they match the portal's.
    With `batch_data` from `load_batch_claim_data` for the message's batch,
    the claim is computed from it without a query.
    """
    if not _states_claim(communication, stage):
        return None

    debtor = communication.debtor
    if batch_data is None:
        settings = legal_settings_for(communication.creditor)
        claim_invoices = {
            **charged_open_invoices(communication.creditor_id, [debtor.pk])[debtor.pk],
            **{item.invoice_id: item.invoice.number for item in items},
        }
        claim_input = claim_items_for_debtor(debtor, on, invoice_ids=list(claim_invoices))
        claim_numbers = set(claim_invoices.values())
        letters = letter_costs(
            communication.creditor, settings, {debtor.pk: (debtor.pk, list(claim_invoices))}, claim_invoices
        )[debtor.pk]
    else:
        settings = batch_data.settings[communication.creditor_id]
        claim_input = batch_data.claim_inputs[(debtor.pk, on)]
        if isinstance(claim_input, InvalidInput):
            raise InvalidInput(str(claim_input), code=claim_input.code)
        claim_numbers = batch_data.claim_numbers[communication.pk]
        letters = batch_data.letters.get(communication.pk, LetterCosts())

    numbers = {item.invoice.number for item in items}
    claim_items = [item for item in claim_input.items if item.invoice_number in claim_numbers]
    payments = [payment for payment in claim_input.payments if payment.invoice_number in claim_numbers]
    if not any(item.invoice_number in numbers for item in claim_items):
        return None

    # The claim covers the debtor's whole claim, so the collection costs are
    # those fixed once for it (art. 6:96 lid 7 BW), and the message requests its
    # own invoices' share of them (`claim_for_invoices`). A consumer's costs
    # follow the letters already sent (see `betaalreis.dunning.letter_costs`):
    # the invoices of a letter paid since still count in its cost base, and a
    # later letter never adds costs on top of an earlier one. A new 14-day
    # letter starts no term before it is sent, so its claim states as owed
    # only the costs whose earlier letter's term passed, and `costs.if_unpaid`
    # is what the costs come to if its own term passes unpaid (lid 6).
    term_end = None if stage.is_fourteen_day_letter else letters.term_end
    breakdown = compute_claim(
        debtor_kind=debtor.kind,
        items=claim_items,
        on=on,
        payments=payments,
        fourteen_day_term_end=term_end,
        settings=settings,
        currency=claim_input.currency,
        letter_terms=letters.letter_terms,
        costs_paid_before=letters.costs_paid_before,
    )
    return ClaimBreakdown.from_legal(claim_for_invoices(breakdown, numbers, settings))


def prints_short_link(communication: Communication, stage: Stage | None) -> bool:
    """Return whether the message prints the short sign-in link: in an SMS, and in every letter PDF.

    A debtor types a printed link by hand, and the signed link is about 90
    case-sensitive characters, so a letter prints the `/b/<code>/` link,
    whose code has one case and no look-alike characters.
    """
    if communication.channel in ("sms", "letter"):
        return True
    return communication.channel == "email" and stage is not None and stage.attach_letter


def render_communication(
    communication: Communication,
    items: Sequence[CommunicationInvoice],
    stage: Stage | None,
    *,
    batch_data: BatchClaimData | None = None,
    today: dt.date | None = None,
    reminded: bool | None = None,
) -> OutgoingMessage:
    """Render a communication with its still-due invoices for its channel.

    `today` is the dispatch day in Amsterdam. The message is dated and its
    claim computed on `message_date`, so every amount in it comes from the
    ledger as it is when the message goes out. `reminded` is True when every
    invoice was in an earlier sent message (see `reminded_before`). When it
    is None, it is looked up.
    """
    if reminded is None:
        reminded = communication.pk in reminded_before([(communication, items)])
    on = message_date(communication, today)
    claim = claim_for_message(communication, items, stage, on, batch_data=batch_data)
    context = MessageContext.from_communication(
        communication,
        items,
        stage,
        portal_url=portal_url(communication.debtor),
        short_url=short_portal_url(communication.debtor) if prints_short_link(communication, stage) else "",
        claim=claim,
        on=on,
        reminded_before=reminded,
    )
    return render_message(context, communication.channel)
