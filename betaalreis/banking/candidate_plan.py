"""The booking plan of a review candidate: what confirming it would book per debtor.

The review page shows this plan next to each candidate, so a split over the
invoices of several debtors is not mistaken for a candidate of one debtor.
The plan follows `do_confirm_match`, which pays the chosen invoices that are
still open in order. When none of them is open, it pays the debtor's open
invoices oldest due date first. What is left becomes the credit of the
candidate's debtor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from betaalreis.banking.models import MatchCandidate
from betaalreis.ledger.actions import PAYABLE_STATUSES, unallocated_amount
from betaalreis.ledger.models import ZERO, Debtor, Invoice, InvoiceKind


@dataclass(frozen=True, slots=True)
class PlannedInvoice:
    number: str
    amount: Decimal


@dataclass(slots=True)
class DebtorShare:
    """The invoices of one debtor that a confirmation would pay, and their sum."""

    debtor: Debtor
    invoices: list[PlannedInvoice] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.invoices), ZERO)


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
    for invoice in open_invoices:
        if remaining <= ZERO:
            break
        if invoice.currency != payment.currency:
            continue
        amount = min(remaining, invoice.open_amount)
        share = shares.setdefault(invoice.debtor_id, DebtorShare(invoice.debtor))
        share.invoices.append(PlannedInvoice(invoice.number, amount))
        remaining -= amount
    return CandidatePlan(list(shares.values()), remaining, candidate.debtor, payment.currency)


def _open_invoices(candidate: MatchCandidate) -> list[Invoice]:
    """Return the invoices a confirmation would pay, in the order it pays them."""
    payable = Invoice.objects.filter(
        creditor_id=candidate.creditor_id, kind=InvoiceKind.INVOICE, status__in=PAYABLE_STATUSES, open_amount__gt=0
    ).select_related("debtor")
    chosen = list(payable.filter(pk__in=candidate.invoices.values("pk")).order_by("due_date", "number"))
    if chosen:
        return chosen
    return list(payable.filter(debtor_id=candidate.debtor_id).order_by("due_date", "number"))
