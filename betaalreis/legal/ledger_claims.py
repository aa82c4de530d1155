"""Build claims from the ledger: the database side of `betaalreis.legal.claims`.

The principal of an invoice is its total less credit notes applied to it,
because credited amounts were never owed. Payments come from the ledger's
allocations, dated by the payment's booking date and naming the invoice.
The claim law then applies them to costs, interest and principal, so its
unpaid principal can differ from the ledger's open amount.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch

from betaalreis.errors import InvalidInput
from betaalreis.ledger.models import (
    DUNNABLE_STATUSES,
    Allocation,
    Creditor,
    Debtor,
    Invoice,
    InvoiceKind,
)
from betaalreis.legal.claims import ClaimBreakdown, ClaimItem, ClaimPayment, compute_claim
from betaalreis.legal.models import legal_settings_for
from betaalreis.legal.policy import LegalSettings

# Debtor ids per IN (...) query; SQLite allows at most 32766 parameters per statement.
ID_CHUNK = 10000


@dataclass(frozen=True, slots=True)
class ClaimInput:
    """The claim items of one debtor with their payments, ready for `compute_claim`."""

    items: list[ClaimItem]
    payments: list[ClaimPayment]
    currency: str


def claim_items_for_debtor(debtor: Debtor, on: dt.date) -> ClaimInput:
    """Return the debtor's open invoices as claim items, their payments, and the currency.

    Allocations booked after `on` are left out. Open invoices in more than
    one currency raise InvalidInput, because one claim has one currency.
    """
    invoices = _open_invoices(debtor.creditor_id, [debtor.pk])
    return _claim_input(debtor.pk, invoices, on)


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
    claim_input = claim_items_for_debtor(debtor, on)
    if not claim_input.items:
        return None

    return compute_claim(
        debtor_kind=debtor.kind,
        items=claim_input.items,
        on=on,
        payments=claim_input.payments,
        fourteen_day_term_end=fourteen_day_term_end,
        settings=settings or legal_settings_for(debtor.creditor),
        currency=claim_input.currency,
    )


def claims_for_debtors(
    creditor: Creditor,
    debtor_kinds: Mapping[int, str],
    on: dt.date,
    *,
    fourteen_day_term_ends: Mapping[int, dt.date] | None = None,
    settings: LegalSettings | None = None,
) -> dict[int, ClaimBreakdown]:
    """Return the claims of many debtors of one creditor, keyed by debtor id.

    `debtor_kinds` maps each debtor id to its kind (consumer or business).
    Loads invoices and allocations in two queries per chunk of debtors, for
    the daily run. Debtors without open invoices are left out of the result.
    """
    settings = settings or legal_settings_for(creditor)
    term_ends = fourteen_day_term_ends or {}
    ids = sorted(debtor_kinds)
    claims: dict[int, ClaimBreakdown] = {}

    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start:start + ID_CHUNK]
        invoices_by_debtor: dict[int, list[Invoice]] = defaultdict(list)
        for invoice in _open_invoices(creditor.pk, chunk):
            invoices_by_debtor[invoice.debtor_id].append(invoice)

        for debtor_id, invoices in invoices_by_debtor.items():
            claim_input = _claim_input(debtor_id, invoices, on)
            if not claim_input.items:
                continue
            claims[debtor_id] = compute_claim(
                debtor_kind=debtor_kinds[debtor_id],
                items=claim_input.items,
                on=on,
                payments=claim_input.payments,
                fourteen_day_term_end=term_ends.get(debtor_id),
                settings=settings,
                currency=claim_input.currency,
            )

    return claims


def _open_invoices(creditor_id: int, debtor_ids: list[int]) -> Iterable[Invoice]:
    return (
        Invoice.objects.filter(
            creditor_id=creditor_id,
            debtor_id__in=debtor_ids,
            kind=InvoiceKind.INVOICE,
            status__in=DUNNABLE_STATUSES,
            open_amount__gt=0,
        )
        .order_by("debtor_id", "due_date", "number")
        .prefetch_related(
            Prefetch(
                "allocations",
                queryset=Allocation.objects.filter(creditor_id=creditor_id).select_related(
                    "payment"
                ),
            )
        )
    )


def _claim_input(debtor_id: int, invoices: Iterable[Invoice], on: dt.date) -> ClaimInput:
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
            f"Debtor {debtor_id} has open invoices in {sorted(currencies)}. "
            "A claim has one currency: settle or convert the other invoices first."
        )

    return ClaimInput(items, payments, currencies.pop() if currencies else "EUR")
