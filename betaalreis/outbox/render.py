"""Turning a planned communication into a message for its channel.

This is where the outbox meets the channels and the claim law: the claim is
computed here, at dispatch, over the invoices still due, so a message never
states an amount that a payment since planning has changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from betaalreis.channels.base import OutgoingMessage
from betaalreis.channels.render.context import ClaimBreakdown, MessageContext
from betaalreis.channels.render.message import render_message
from betaalreis.dunning.legal_terms import sent_fourteen_day_terms
from betaalreis.dunning.models import Stage
from betaalreis.legal.claims import compute_claim
from betaalreis.legal.ledger_claims import claim_items_for_debtor
from betaalreis.legal.models import legal_settings_for
from betaalreis.outbox.models import Communication, CommunicationInvoice
from betaalreis.portal.links import portal_url, short_portal_url

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def claim_for_message(
    communication: Communication,
    items: Sequence[CommunicationInvoice],
    stage: Stage | None,
    on: dt.date,
) -> ClaimBreakdown | None:
    """Return the claim over the message's invoices on `on`, for stages that state it."""
    if stage is None or not stage.states_claim:
        return None
    if communication.currency != "EUR":
        # NOTE: the statutory cost amounts are in euro and the claim engine
        # rejects other currencies, so such a message lists open amounts only.
        return None

    debtor = communication.debtor
    settings = legal_settings_for(communication.creditor)
    numbers = {item.invoice.number for item in items}
    claim_input = claim_items_for_debtor(debtor, on)
    claim_items = [item for item in claim_input.items if item.invoice_number in numbers]
    payments = [payment for payment in claim_input.payments if payment.invoice_number in numbers]
    if not claim_items:
        return None

    term_end = None
    if not stage.is_fourteen_day_letter:
        terms = sent_fourteen_day_terms(
            communication.creditor, settings, invoice_ids=[item.invoice_id for item in items]
        )
        if terms:
            term_end = max(term.term_end for term in terms.values())

    breakdown = compute_claim(
        debtor_kind=debtor.kind,
        items=claim_items,
        on=on,
        payments=payments,
        fourteen_day_term_end=term_end,
        settings=settings,
        currency=claim_input.currency,
    )
    return ClaimBreakdown.from_legal(breakdown)


def render_communication(
    communication: Communication,
    items: Sequence[CommunicationInvoice],
    stage: Stage | None,
) -> OutgoingMessage:
    """Render a communication with its still-due invoices for its channel."""
    claim = claim_for_message(communication, items, stage, communication.run_date)
    context = MessageContext.from_communication(
        communication,
        items,
        stage,
        portal_url=portal_url(communication.debtor),
        short_url=short_portal_url(communication.debtor) if communication.channel == "sms" else "",
        claim=claim,
    )
    return render_message(context, communication.channel)
