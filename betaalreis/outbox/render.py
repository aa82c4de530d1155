"""Turning a planned communication into a message for its channel.

This is where the outbox meets the channels and the claim law: the claim is
computed here, at dispatch, over the invoices still due and on the day the
message goes out (`message_date`), so a message never states an amount that
a payment since planning has changed. A letter held over a Sunday is dated
and computed on the Monday it is sent. So is a message that the dispatch of
a run for an earlier day hands to an adapter that reaches the debtor,
because that adapter sends it at the real moment.
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
from betaalreis.dunning.legal_terms import sent_fourteen_day_terms
from betaalreis.dunning.letter_costs import LetterCosts, letter_costs
from betaalreis.dunning.models import Stage
from betaalreis.ledger.models import DebtorKind
from betaalreis.legal.claims import compute_claim
from betaalreis.legal.fourteen_day import FourteenDayTerm
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
    claim_inputs: dict[tuple[int, dt.date], ClaimInput] = field(default_factory=dict)
    # By invoice id: the term of the latest 14-day letter sent for the invoice.
    fourteen_day_terms: dict[int, FourteenDayTerm] = field(default_factory=dict)
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
    term_invoices: dict[int, set[int]] = defaultdict(set)
    lettered_claims: dict[int, dict[int, tuple[int, list[int]]]] = defaultdict(dict)
    numbers: dict[int, str] = {}
    for communication, items, stage in stating:
        on = message_date(communication, days.get(communication.pk, today))
        debtors_by_day[(communication.creditor_id, on)].add(communication.debtor_id)
        if not stage.is_fourteen_day_letter:
            term_invoices[communication.creditor_id].update(item.invoice_id for item in items)
        lettered_claims[communication.creditor_id][communication.pk] = (
            communication.debtor_id, [item.invoice_id for item in items]
        )
        numbers.update((item.invoice_id, item.invoice.number) for item in items)

    for (creditor_id, on), debtor_ids in debtors_by_day.items():
        for debtor_id, claim_input in claim_items_for_debtors(creditor_id, debtor_ids, on).items():
            data.claim_inputs[(debtor_id, on)] = claim_input
    for creditor_id, invoice_ids in term_invoices.items():
        data.fourteen_day_terms.update(
            sent_fourteen_day_terms(creditors[creditor_id], data.settings[creditor_id], invoice_ids=invoice_ids)
        )
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

    With `batch_data` from `load_batch_claim_data` for the message's batch,
    the claim is computed from it without a query.
    """
    if not _states_claim(communication, stage):
        return None

    debtor = communication.debtor
    invoice_ids = [item.invoice_id for item in items]
    if batch_data is None:
        settings = legal_settings_for(communication.creditor)
        claim_input = claim_items_for_debtor(debtor, on)
    else:
        settings = batch_data.settings[communication.creditor_id]
        claim_input = batch_data.claim_inputs[(debtor.pk, on)]

    numbers = {item.invoice.number for item in items}
    claim_items = [item for item in claim_input.items if item.invoice_number in numbers]
    payments = [payment for payment in claim_input.payments if payment.invoice_number in numbers]
    if not claim_items:
        return None

    # A consumer's costs follow the letters already sent (see
    # `betaalreis.dunning.letter_costs`). A new 14-day letter starts no term
    # before it is sent, so its claim states as owed only the costs whose
    # earlier letter's term passed, and `costs.if_unpaid` is what the costs
    # come to if its own term passes unpaid (art. 6:96 lid 6 and lid 7 BW).
    term_end = None
    letters = LetterCosts()
    if batch_data is None:
        terms = {}
        if not stage.is_fourteen_day_letter:
            terms = sent_fourteen_day_terms(communication.creditor, settings, invoice_ids=invoice_ids)
        if debtor.kind == DebtorKind.CONSUMER:
            letters = letter_costs(
                communication.creditor, settings, {debtor.pk: (debtor.pk, invoice_ids)},
                {item.invoice_id: item.invoice.number for item in items},
            )[debtor.pk]
    else:
        all_terms = {} if stage.is_fourteen_day_letter else batch_data.fourteen_day_terms
        terms = {invoice_id: all_terms[invoice_id] for invoice_id in invoice_ids if invoice_id in all_terms}
        letters = batch_data.letters.get(communication.pk, letters)
    if terms:
        term_end = max(term.term_end for term in terms.values())

    # A consumer's costs follow the letters behind the claim, so that the
    # invoices of a letter paid since still count in its cost base, and a
    # later letter never adds costs on top of an earlier one.
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
    return ClaimBreakdown.from_legal(breakdown)


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
