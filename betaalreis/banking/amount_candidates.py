"""Propose candidates for a payment in review that only its amount can place.

A payment with no usable reference, no invoice number and an unknown payer
finds no rule, so the review queue would show no candidate. When its amount
equals the open amount of an invoice of the creditor, or the total that a
sent message requested, that debtor may have paid it. Such a guess is weak,
so it gets a low score and a reason that calls it a guess, and it never books the payment.
Only a few debtors are proposed: when more of them have that amount, the
amount points at no one and the reason states the count instead.
This runs only for payments that already go to review, with two queries per
chunk, so matching of payments that a rule places costs nothing extra.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import Protocol

from betaalreis.banking.invoice_index import OpenInvoice
from betaalreis.banking.rules import Decision
from betaalreis.ledger.actions import PAYABLE_STATUSES
from betaalreis.ledger.models import Creditor, Invoice, InvoiceKind, MatchRule
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus

# Debtors proposed per payment at most. Beyond this many the amount is too
# common to suggest a payer, and the reviewer searches by hand.
MAX_AMOUNT_CANDIDATES = 3
AMOUNT_ONLY_SCORE = 10


class _Payment(Protocol):
    amount: Decimal
    currency: str


def propose_amount_candidates(
    creditor: Creditor, reviews: dict[int, Decision], payments: Mapping[int, _Payment]
) -> None:
    """Give each review decision without candidates the debtors whose open amount or sent total equals the payment."""
    without_candidates = {
        payment_id: payments[payment_id]
        for payment_id, decision in reviews.items()
        if not decision.candidates and decision.rule == MatchRule.NONE and payments[payment_id].amount > 0
    }
    if not without_candidates:
        return

    amounts = sorted({payment.amount for payment in without_candidates.values()})
    found = _open_invoices_by_amount(creditor, amounts)
    for (currency, amount), by_debtor in _sent_totals_by_amount(creditor, amounts).items():
        for debtor_id, invoices in by_debtor.items():
            known = found[(currency, amount)].setdefault(debtor_id, {})
            for invoice in invoices:
                known.setdefault(invoice.id, invoice)

    for payment_id, payment in without_candidates.items():
        by_debtor = found.get((payment.currency, payment.amount), {})
        if not by_debtor:
            continue
        old = reviews[payment_id]
        if len(by_debtor) > MAX_AMOUNT_CANDIDATES:
            reason = (
                f"{old.reason}; {len(by_debtor)} debtors have an open invoice or a sent message "
                f"of {payment.currency} {payment.amount}, too many to propose"
            )
            reviews[payment_id] = Decision(old.rule, old.score, reason)
            continue

        candidates = []
        for debtor_id, invoices in sorted(by_debtor.items()):
            chosen = sorted(invoices.values(), key=lambda invoice: (invoice.due_date, invoice.number))
            reason = (
                f"only the amount matches: {payment.currency} {payment.amount} equals what is open or was "
                f"requested for {', '.join(invoice.number for invoice in chosen)}; no reference or known payer"
            )
            candidates.append((debtor_id, chosen, MatchRule.NONE, AMOUNT_ONLY_SCORE, reason))
        reviews[payment_id] = Decision(old.rule, old.score, old.reason, candidates=candidates)


def _open_invoices_by_amount(
    creditor: Creditor, amounts: list[Decimal]
) -> dict[tuple[str, Decimal], dict[int, dict[int, OpenInvoice]]]:
    """Return the creditor's open invoices whose open amount is one of `amounts`, by (currency, amount) and debtor."""
    found: dict[tuple[str, Decimal], dict[int, dict[int, OpenInvoice]]] = defaultdict(dict)
    rows = Invoice.objects.filter(
        creditor=creditor, kind=InvoiceKind.INVOICE, status__in=PAYABLE_STATUSES, open_amount__in=amounts
    ).values_list("pk", "number", "debtor_id", "open_amount", "currency", "due_date")
    for pk, number, debtor_id, open_amount, currency, due_date in rows:
        invoice = OpenInvoice(pk, number, debtor_id, open_amount, currency, due_date)
        found[(currency, open_amount)].setdefault(debtor_id, {})[pk] = invoice
    return found


def _sent_totals_by_amount(
    creditor: Creditor, amounts: list[Decimal]
) -> dict[tuple[str, Decimal], dict[int, list[OpenInvoice]]]:
    """Return the still open invoices of sent messages whose total is one of `amounts`, by (currency, total) and debtor."""
    found: dict[tuple[str, Decimal], dict[int, list[OpenInvoice]]] = defaultdict(dict)
    rows = CommunicationInvoice.objects.filter(
        communication__in=Communication.objects.filter(
            creditor=creditor, status=CommunicationStatus.SENT, total_amount__in=amounts
        ),
        invoice__status__in=PAYABLE_STATUSES,
        invoice__open_amount__gt=0,
    ).values_list(
        "communication__currency", "communication__total_amount", "invoice_id", "invoice__number",
        "invoice__debtor_id", "invoice__open_amount", "invoice__currency", "invoice__due_date",
    )
    for total_currency, total, pk, number, debtor_id, open_amount, currency, due_date in rows:
        invoice = OpenInvoice(pk, number, debtor_id, open_amount, currency, due_date)
        found[(total_currency, total)].setdefault(debtor_id, []).append(invoice)
    return found
