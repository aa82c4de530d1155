"""Build a claim from the ledger: the database side of `betaalreis.legal.claims`."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import Prefetch

from betaalreis.errors import InvalidInput
from betaalreis.ledger.models import (
    DUNNABLE_STATUSES,
    Allocation,
    Debtor,
    Invoice,
    InvoiceKind,
)
from betaalreis.legal.claims import ClaimBreakdown, ClaimItem, ClaimPayment, compute_claim
from betaalreis.legal.models import legal_settings_for
from betaalreis.legal.policy import LegalSettings


def claim_items_for_debtor(
    debtor: Debtor, on: dt.date
) -> tuple[list[ClaimItem], list[ClaimPayment], str]:
    """Return the debtor's open invoices as claim items, their payments, and the currency.

    The principal of an invoice is its total less credit notes applied to it,
    because credited amounts were never owed. Payments come from the ledger's
    allocations, dated by the payment's booking date and naming the invoice.
    The claim law then applies them to costs, interest and principal.
    Allocations booked after `on` are left out. Open invoices in more than
    one currency raise InvalidInput, because one claim has one currency.
    """
    invoices = (
        Invoice.objects.filter(
            creditor_id=debtor.creditor_id,
            debtor=debtor,
            kind=InvoiceKind.INVOICE,
            status__in=DUNNABLE_STATUSES,
            open_amount__gt=0,
        )
        .order_by("due_date", "number")
        .prefetch_related(
            Prefetch(
                "allocations",
                queryset=Allocation.objects.filter(creditor_id=debtor.creditor_id).select_related(
                    "payment"
                ),
            )
        )
    )

    items: list[ClaimItem] = []
    payments: list[ClaimPayment] = []
    currencies: set[str] = set()
    for invoice in invoices:
        credited = Decimal(0)
        paid_per_day: dict[dt.date, Decimal] = defaultdict(Decimal)
        for allocation in invoice.allocations.all():
            if allocation.payment_id is None:
                credited += allocation.amount
            elif allocation.payment.booking_date <= on:
                paid_per_day[allocation.payment.booking_date] += allocation.amount

        principal = invoice.total - credited
        if principal <= 0:
            continue

        currencies.add(invoice.currency)
        items.append(ClaimItem(invoice.number, principal, invoice.due_date))
        payments.extend(
            ClaimPayment(paid_on=day, amount=amount, invoice_number=invoice.number)
            for day, amount in sorted(paid_per_day.items())
            if amount > 0
        )

    if len(currencies) > 1:
        raise InvalidInput(
            f"Debtor {debtor.customer_number} has open invoices in {sorted(currencies)}. "
            "A claim has one currency: settle or convert the other invoices first."
        )

    return items, payments, currencies.pop() if currencies else "EUR"


def claim_for_debtor(
    debtor: Debtor,
    on: dt.date,
    *,
    fourteen_day_term_end: dt.date | None = None,
    settings: LegalSettings | None = None,
) -> ClaimBreakdown | None:
    """Return the debtor's claim on `on`, or None when no invoice of the debtor is open.

    Without `settings`, the creditor's stored legal settings apply.
    """
    items, payments, currency = claim_items_for_debtor(debtor, on)
    if not items:
        return None

    return compute_claim(
        debtor_kind=debtor.kind,
        items=items,
        on=on,
        payments=payments,
        fourteen_day_term_end=fourteen_day_term_end,
        settings=settings or legal_settings_for(debtor.creditor),
        currency=currency,
    )
