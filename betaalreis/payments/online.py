"""The rule for which invoices a debtor can pay online, shared by the portal and the checkout service.

The portal's total and checkboxes, its pay form and `start_checkout` all
ask `online_payment_blocker`. A debtor can pay an invoice online while it
is open or disputed and has an open amount. An invoice in a payment plan is
paid through the plan's instalments, so only an instalment checkout of that
active plan covers it. A handed-over invoice is collected by the collection
agency, and the debtor pays the agency. A checkout payment that still
arrives for such an invoice is booked on it (`ledger.actions.PAYABLE_STATUSES`),
because that money is the debtor's either way; a bank payment goes to the
review queue first (`banking.handover_review`).

A disputed invoice can be paid online, but only when the debtor ticks it:
the portal neither ticks it nor counts it in its default total
(`preselected_for_payment`). It stays in the claim
(`betaalreis.legal.ledger_claims.CLAIM_STATUSES`), so its interest runs on
while the dispute is open, and without it the default total carries no
collection costs.
"""

from __future__ import annotations

from collections.abc import Sequence

from betaalreis.errors import InvalidInput
from betaalreis.ledger.models import ZERO, Invoice, InvoiceKind, InvoiceStatus
from betaalreis.payments.models import PaymentPlan, PlanStatus

# Codes that `online_payment_blocker` returns and `NotPayableOnline` carries.
ALREADY_PAID = "invoice_already_paid"
CLOSED = "invoice_closed"
IN_PAYMENT_PLAN = "invoice_in_payment_plan"
HANDED_OVER = "invoice_handed_over"
NOT_AN_INVOICE = "invoice_not_found"

# Blockers that mean the invoice needs no more money: a checkout for it would be paid twice.
SETTLED = frozenset({ALREADY_PAID, CLOSED})


class NotPayableOnline(InvalidInput):
    """Error for a checkout request that covers invoices the debtor cannot pay online, named in `numbers`."""

    def __init__(self, message: str, *, code: str, numbers: Sequence[str]) -> None:
        super().__init__(message, code=code)
        self.numbers = list(numbers)


def online_payment_blocker(invoice: Invoice, *, plan: PaymentPlan | None = None) -> str:
    """Return why the debtor cannot pay `invoice` online now, as one of the codes above, or "".

    With `plan`, an invoice of that plan in status payment_plan can be paid
    while the plan is active, because that is how its instalments are paid.
    """
    if invoice.kind != InvoiceKind.INVOICE:
        return NOT_AN_INVOICE
    if invoice.status in (InvoiceStatus.CREDITED, InvoiceStatus.WRITTEN_OFF):
        return CLOSED
    if invoice.open_amount <= ZERO or invoice.status == InvoiceStatus.PAID:
        return ALREADY_PAID
    if invoice.status == InvoiceStatus.PAYMENT_PLAN:
        return "" if _in_active_plan(invoice, plan) else IN_PAYMENT_PLAN
    if invoice.status == InvoiceStatus.HANDED_OVER:
        return HANDED_OVER
    return ""


def preselected_for_payment(invoice: Invoice) -> bool:
    """Return whether the portal ticks `invoice` and counts it in the total it shows to pay.

    Only call this for an invoice without a blocker. A disputed invoice is
    left out, because the debtor contests it. The debtor may still tick it.
    """
    return invoice.status != InvoiceStatus.DISPUTED


def check_payable_online(invoices: Sequence[Invoice], *, plan: PaymentPlan | None = None) -> None:
    """Raise NotPayableOnline for the first blocker that any of `invoices` has, naming every invoice with it."""
    blockers = {invoice.number: online_payment_blocker(invoice, plan=plan) for invoice in invoices}
    for code in (NOT_AN_INVOICE, ALREADY_PAID, CLOSED, IN_PAYMENT_PLAN, HANDED_OVER):
        numbers = sorted(number for number, blocker in blockers.items() if blocker == code)
        if numbers:
            raise NotPayableOnline(
                f"Invoices {numbers} cannot be paid online ({code}). Choose other invoices.",
                code=code,
                numbers=numbers,
            )


def _in_active_plan(invoice: Invoice, plan: PaymentPlan | None) -> bool:
    if plan is None or plan.status != PlanStatus.ACTIVE:
        return False
    return plan.invoices.filter(pk=invoice.pk).exists()
