"""Debtor credit: the unallocated rest of matched payments, and when an overpayment needs a person.

A payment larger than the invoices it pays keeps the rest unallocated, and
that rest is the debtor's credit (see `ledger.actions.unallocated_amount`).
`apply_credit` pays the debtor's open invoices from it, oldest due date
first, so a reminder requests only what is still open. The daily run calls
it right after matching new payments.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, OuterRef

from betaalreis.banking.invoice_index import OpenInvoice
from betaalreis.banking.rules import Decision
from betaalreis.ledger import timeline
from betaalreis.ledger.actions import PAYABLE_STATUSES, do_allocate_payment
from betaalreis.ledger.credit import with_credit
from betaalreis.ledger.models import Creditor, Invoice, InvoiceKind, InvoiceStatus, Payment, PaymentStatus, TimelineKind
from betaalreis.ledger.money import format_money

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")
SOURCE = "credit"
# A payment goes to review instead of being matched when its surplus is
# larger than the open amount of the invoices it pays, so it is over twice
# what was due. The surplus must also exceed this many units of its currency,
# because a few euros too much stays as credit. EUR 5000 on an EUR 50 invoice
# is more likely a typo or a payment meant for something else.
LARGE_SURPLUS_MINIMUM = Decimal("100.00")
# Invoices that credit pays. A handed-over invoice is left out, because the
# collection agency must hear of money set against it, as for a payment
# (see `betaalreis.banking.handover_review`), so its credit stays for review.
CREDIT_PAYS_STATUSES = tuple(status for status in PAYABLE_STATUSES if status != InvoiceStatus.HANDED_OVER)


def is_large_overpayment(amount: Decimal, open_amount: Decimal) -> bool:
    """Return whether paying `amount` on invoices with `open_amount` open leaves a surplus large enough for review."""
    surplus = amount - open_amount
    return surplus > open_amount and surplus > LARGE_SURPLUS_MINIMUM


def review_large_overpayment(amount: Decimal, currency: str, decision: Decision) -> Decision:
    """Return `decision`, or a review decision with its invoices as candidates when the surplus is large."""
    same_currency = [invoice for invoice in decision.invoices if invoice.currency == currency]
    # Invoices only in other currencies are no overpayment: allocation pays
    # none of them and names the currency mismatch in the review reason.
    if not same_currency:
        return decision
    open_amount = sum((invoice.open_amount for invoice in same_currency), ZERO)
    if not is_large_overpayment(amount, open_amount):
        return decision
    reason = (
        f"{decision.reason}, but the payment of {currency} {amount} is more than twice the {currency} {open_amount} "
        "open: large overpayment"
    )
    return review_with_candidates(decision, reason)


def review_with_candidates(decision: Decision, reason: str) -> Decision:
    """Return a review decision with `reason` that proposes the debtors of `decision`'s invoices as candidates."""
    by_debtor: dict[int, list[OpenInvoice]] = {}
    for invoice in decision.invoices:
        by_debtor.setdefault(invoice.debtor_id, []).append(invoice)
    return Decision(
        decision.rule, decision.score, reason,
        candidates=[(debtor_id, invoices, decision.rule, decision.score, reason) for debtor_id, invoices in by_debtor.items()],
    )


@dataclass
class CreditApplied:
    """Credit used by one `apply_credit` call: payments drawn on, invoices paid and the amount per currency."""

    payments: int = 0
    allocations: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)


def apply_credit(creditor: Creditor) -> CreditApplied:
    """Pay the creditor's open invoices from their debtors' credit, oldest due date first."""
    result = CreditApplied()
    open_invoices = Invoice.objects.filter(
        creditor=creditor,
        kind=InvoiceKind.INVOICE,
        status__in=CREDIT_PAYS_STATUSES,
        open_amount__gt=0,
    )
    # NOTE: this sums the allocations of every matched payment of the
    # creditor on each run, because credit is not stored as a column. A
    # creditor with millions of payments may want a stored credit amount.
    payments = with_credit(
        Payment.objects.filter(
            creditor=creditor,
            debtor_id__isnull=False,
            status__in=(PaymentStatus.MATCHED, PaymentStatus.PARTLY_MATCHED),
            amount__gt=0,
        ).filter(Exists(open_invoices.filter(debtor_id=OuterRef("debtor_id"))))
    )
    for payment in payments.filter(credit__gt=0).order_by("booking_date", "id"):
        credit = payment.credit
        reason = f"credit of payment {payment.pk} applied"
        invoices = list(open_invoices.filter(debtor_id=payment.debtor_id).order_by("due_date", "number"))
        allocations = do_allocate_payment(payment, invoices, source=SOURCE, reason=reason)
        if not allocations:
            continue

        used = sum((allocation.amount for allocation in allocations), ZERO)
        timeline.record(
            payment.debtor_id,
            TimelineKind.PAYMENT,
            f"Tegoed {format_money(used, payment.currency)} van de betaling van {payment.booking_date.isoformat()} "
            f"verrekend met {', '.join(allocation.invoice.number for allocation in allocations)}; "
            f"{format_money(credit - used, payment.currency)} tegoed over",
            source=SOURCE,
            creditor_id=creditor.pk,
            data={"payment_id": payment.pk, "amount": str(used), "credit_left": str(credit - used)},
        )
        result.payments += 1
        result.allocations += len(allocations)
        result.amounts[payment.currency] = result.amounts.get(payment.currency, ZERO) + used

    if result.payments:
        logger.info(
            "debtor credit applied",
            extra={"creditor_id": creditor.pk, "payments": result.payments, "allocations": result.allocations},
        )
    return result
