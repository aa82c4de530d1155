"""Send payments on handed-over invoices to review instead of booking them.

A handed-over invoice is collected by the collection agency, which claims
the principal with its costs and interest. A payment that reaches the
creditor instead must be reported to the agency. When it covers only the
principal, booking it would close the invoice and waive the costs and
interest (see `betaalreis.dunning.charges`). So matching never books such a
payment itself: it goes to the review queue with the invoice's debtor as
candidate, and the credit manager books it after telling the agency.
"""

from __future__ import annotations

from collections.abc import Collection

from betaalreis.banking.credit import review_with_candidates
from betaalreis.banking.rules import Decision
from betaalreis.ledger.models import Creditor, Invoice, InvoiceStatus


def handed_over_invoice_ids(creditor: Creditor) -> frozenset[int]:
    """Return the ids of the creditor's handed-over invoices. One query."""
    return frozenset(
        Invoice.objects.filter(creditor=creditor, status=InvoiceStatus.HANDED_OVER).values_list("pk", flat=True)
    )


def review_handed_over(decision: Decision, handed_over: Collection[int]) -> Decision:
    """Return `decision`, or a review decision with its invoices as candidates when it pays a handed-over invoice."""
    numbers = [invoice.number for invoice in decision.invoices if invoice.id in handed_over]
    if not numbers:
        return decision

    reason = (
        f"{decision.reason}, but {'invoices' if len(numbers) > 1 else 'invoice'} {', '.join(numbers)} "
        f"{'were' if len(numbers) > 1 else 'was'} handed over to the collection agency: "
        "tell the agency of this payment before booking it, because booking only the principal waives "
        "the costs and interest"
    )
    return review_with_candidates(decision, reason)
