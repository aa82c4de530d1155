"""The booking plan of a review candidate: what confirming it would book per debtor.

The review page shows this plan next to each candidate, so a split over the
invoices of several debtors is not mistaken for a candidate of one debtor.
The plan follows `do_confirm_match`, which pays the chosen invoices that are
still open in order. When none of them is open, it pays the debtor's open
invoices oldest due date first. Money beyond the principal of an invoice it
closes pays that invoice's collection costs and interest as the claim states
them on the payment's booking day, and what stays unpaid of them is waived
(`ledger.actions.do_allocate_payment` with `dunning.charges`). What is left
becomes the credit of the candidate's debtor.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from betaalreis.banking.models import MatchCandidate
from betaalreis.dunning.charges import split_over_charges, unpaid_charges
from betaalreis.ledger.actions import PAYABLE_STATUSES, unallocated_amount
from betaalreis.ledger.models import ZERO, AllocationPart, Debtor, Invoice, InvoiceKind


@dataclass(slots=True)
class PlannedInvoice:
    """One invoice's part of a planned booking: principal, costs and interest paid, and the charges waived."""

    number: str
    amount: Decimal
    costs: Decimal = ZERO
    interest: Decimal = ZERO
    waived_costs: Decimal = ZERO
    waived_interest: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.amount + self.costs + self.interest


@dataclass(slots=True)
class DebtorShare:
    """The invoices of one debtor that a confirmation would pay, and their sum."""

    debtor: Debtor
    invoices: list[PlannedInvoice] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.invoices), ZERO)


@dataclass(frozen=True, slots=True)
class CandidatePlan:
    """Debtor shares in booking order, and the rest that stays as credit of `credit_debtor`."""

    shares: list[DebtorShare]
    credit: Decimal
    credit_debtor: Debtor
    currency: str

    @property
    def is_split(self) -> bool:
        return len(self.shares) > 1


def plan_candidate(candidate: MatchCandidate) -> CandidatePlan:
    """Return what confirming `candidate` now would pay per debtor. Reads the database and writes nothing."""
    payment = candidate.payment
    open_invoices = _open_invoices(candidate)
    remaining = unallocated_amount(payment) if payment.amount > ZERO else ZERO

    shares: dict[int, DebtorShare] = {}
    lines: dict[int, PlannedInvoice] = {}
    closing: dict[int, dt.date] = {}
    for invoice in open_invoices:
        if remaining <= ZERO:
            break
        if invoice.currency != payment.currency:
            continue
        amount = min(remaining, invoice.open_amount)
        share = shares.setdefault(invoice.debtor_id, DebtorShare(invoice.debtor))
        lines[invoice.pk] = PlannedInvoice(invoice.number, amount)
        share.invoices.append(lines[invoice.pk])
        if amount == invoice.open_amount:
            closing[invoice.pk] = payment.booking_date
        remaining -= amount

    if closing:
        remaining = _plan_charges(candidate.creditor_id, closing, lines, remaining)
    return CandidatePlan(list(shares.values()), remaining, candidate.debtor, payment.currency)


def _plan_charges(creditor_id: int, closing: dict[int, dt.date], lines: dict[int, PlannedInvoice], remaining: Decimal) -> Decimal:
    """Add to `lines` the costs and interest that `remaining` pays, and what is waived, as the booking does; return the rest."""
    charges = unpaid_charges(creditor_id, closing)
    bookings, remaining = split_over_charges(remaining, list(charges.values()))
    for booking in bookings:
        line = lines[booking.invoice_id]
        if booking.part == AllocationPart.COSTS:
            line.costs += booking.amount
        else:
            line.interest += booking.amount
    for invoice_id, invoice_charges in charges.items():
        line = lines[invoice_id]
        line.waived_costs = invoice_charges.costs - line.costs
        line.waived_interest = invoice_charges.interest - line.interest
    return remaining


def _open_invoices(candidate: MatchCandidate) -> list[Invoice]:
    """Return the invoices a confirmation would pay, in the order it pays them."""
    payable = Invoice.objects.filter(
        creditor_id=candidate.creditor_id, kind=InvoiceKind.INVOICE, status__in=PAYABLE_STATUSES, open_amount__gt=0
    ).select_related("debtor")
    chosen = list(payable.filter(pk__in=candidate.invoices.values("pk")).order_by("due_date", "number"))
    if chosen:
        return chosen
    return list(payable.filter(debtor_id=candidate.debtor_id).order_by("due_date", "number"))
