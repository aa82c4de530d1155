"""The collection costs of part of a claim: each invoice's share of the costs fixed once.

`compute_claim` sets the collection costs once for the whole claim: for a
consumer over the summed principal that a 14-day letter named and that was
unpaid when its term passed (art. 6:96 lid 6 and lid 7 BW), for a business
over the summed overdue principal. A message or a portal payment that
covers only some of the invoices requests those invoices' share of that one
amount, never costs computed again over its own invoices. Computing again
would add a new EUR 40 minimum (BIK art. 2 lid 1) per message, and together
the messages would ask more than the letter announced and the law allows.

The share is pro rata to each invoice's part of the cost base
(`ItemBreakdown.cost_base`). Lid 7 fixes one amount over the summed
principals and names no split, and the BIK scale is a function of the sum
alone, so the only split that charges no principal more than another is the
proportional one. Because the scale's rate falls as the principal grows and
the minimum applies to the sum, a share is never more than the costs over
that invoice's principal alone.

Invoices that were paid since, or went into a payment plan, keep their
part of the cost base (`CostsBreakdown.closed_base`). A paid invoice's share
was charged when it closed (`betaalreis.dunning.charges.unpaid_charges`),
and whatever of it was not paid then was waived. A plan takes the share of
its invoices. Neither moves to the invoices still open. Costs paid beyond
that share, and costs that payments on open invoices paid (BW 6:44), lower
the costs of the open invoices.

Cents are split by the largest remainder, so the shares of all open invoices
add up exactly to the costs still owed, and the shares of any invoices
requested apart (one message each, or the portal) never add up to more.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from betaalreis.ledger.money import quantize
from betaalreis.legal.claims import ClaimBreakdown, CostsBreakdown, CostsStatus, ItemBreakdown
from betaalreis.legal.costs import collection_costs
from betaalreis.legal.policy import LegalSettings

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class InvoiceCosts:
    """One open invoice's share of the collection costs of its claim, with VAT."""

    # The share of the costs fixed for the claim, including `vat`.
    charged: Decimal = ZERO
    vat: Decimal = ZERO
    # The share still unpaid.
    outstanding: Decimal = ZERO

    @property
    def paid(self) -> Decimal:
        return self.charged - self.outstanding


def invoice_costs(claim: ClaimBreakdown, *, costs_paid: Decimal | None = None) -> dict[str, InvoiceCosts]:
    """Split the claim's collection costs over its open invoices, by invoice number.

    Invoices that carry no costs, and every invoice while no costs are owed
    (`CostsStatus.DUE`), get zero. `costs_paid` replaces `claim.costs.paid`
    (which includes `claim.costs.paid_before`) for a caller that counts
    payments as the ledger booked them rather than as the claim applies them.
    """
    numbers = [item.invoice_number for item in claim.items]
    costs = claim.costs
    if costs.status != CostsStatus.DUE or costs.total <= 0:
        return {number: InvoiceCosts() for number in numbers}

    paid = costs.paid if costs_paid is None else costs_paid
    closed_share = quantize(costs.total * costs.closed_base / costs.base) if costs.base > 0 else ZERO
    open_charged = costs.total - closed_share
    paid_with_open = paid - costs.paid_before + max(costs.paid_before - closed_share, ZERO)
    open_outstanding = max(open_charged - max(paid_with_open, ZERO), ZERO)
    open_vat = quantize(costs.vat * open_charged / costs.total)

    weights = {item.invoice_number: item.cost_base for item in claim.items if item.cost_base > 0}
    charged = split_by_weight(open_charged, weights)
    outstanding = split_by_weight(open_outstanding, weights)
    vat = split_by_weight(open_vat, weights)
    return {
        number: InvoiceCosts(charged.get(number, ZERO), vat.get(number, ZERO), outstanding.get(number, ZERO))
        for number in numbers
    }


def split_by_weight(amount: Decimal, weights: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Split `amount` (in cents) over `weights` pro rata, giving the cents left after rounding down by largest remainder.

    Ties go to the lower key, so the split is the same on every call. The
    parts add up to `amount` exactly.
    """
    total_weight = sum(weights.values(), Decimal(0))
    if amount <= 0 or total_weight <= 0:
        return {key: ZERO for key in weights}

    cents = int(amount / CENT)
    exact = {key: Decimal(cents) * weight / total_weight for key, weight in weights.items()}
    parts = {key: int(value.to_integral_value(rounding=ROUND_FLOOR)) for key, value in exact.items()}
    left = cents - sum(parts.values())
    for key in sorted(weights, key=lambda key: (parts[key] - exact[key], key))[:left]:
        parts[key] += 1
    return {key: part * CENT for key, part in parts.items()}


def claim_for_invoices(
    claim: ClaimBreakdown, invoice_numbers: Collection[str], settings: LegalSettings
) -> ClaimBreakdown | None:
    """Return the part of `claim` that covers `invoice_numbers`, with their share of the collection costs.

    Items, interest and payments are those of the requested invoices (a
    payment counts when it named one of them). The costs are their shares
    from `invoice_costs`. `costs.if_unpaid` is what the costs of these
    invoices come to if a 14-day term over them passes unpaid: the costs
    over their unpaid principal today, or their share of the costs already
    owed when that is higher. Returns None when the claim has none of the
    invoices.
    """
    requested = set(invoice_numbers)
    items = tuple(item for item in claim.items if item.invoice_number in requested)
    if not items:
        return None

    shares = invoice_costs(claim)
    charged = sum((shares[item.invoice_number].charged for item in items), ZERO)
    vat = sum((shares[item.invoice_number].vat for item in items), ZERO)
    outstanding = sum((shares[item.invoice_number].outstanding for item in items), ZERO)

    if_unpaid = collection_costs(
        sum((item.costed_principal for item in items), ZERO),
        fixed_minimum_only=claim.costs.is_fixed_minimum,
        vat_deductible=settings.vat_deductible,
        on=claim.on,
    )
    if_unpaid_total, if_unpaid_vat = if_unpaid.total, if_unpaid.vat
    if charged > if_unpaid_total:
        if_unpaid_total, if_unpaid_vat = charged, vat

    costs = CostsBreakdown(
        status=claim.costs.status,
        base=sum((item.cost_base for item in items), ZERO),
        costs=charged - vat,
        vat=vat,
        vat_percent=claim.costs.vat_percent,
        due_from=claim.costs.due_from,
        paid=charged - outstanding,
        if_unpaid=if_unpaid_total,
        if_unpaid_vat=if_unpaid_vat,
        is_fixed_minimum=claim.costs.is_fixed_minimum,
    )
    return _with_items(claim, items, costs, requested)


def _with_items(
    claim: ClaimBreakdown, items: tuple[ItemBreakdown, ...], costs: CostsBreakdown, requested: set[str]
) -> ClaimBreakdown:
    periods = tuple(period for period in claim.interest_periods if period.invoice_number in requested)
    payments = tuple(payment for payment in claim.payments if payment.invoice_number in requested)
    principal_outstanding = sum((item.principal_outstanding for item in items), ZERO)
    interest_outstanding = sum((item.interest_outstanding for item in items), ZERO)
    not_claimed_before: dt.date | None = min(
        (item.interest_from for item in items if item.default_before_rate_table), default=None
    )
    return dataclasses.replace(
        claim,
        items=items,
        interest_periods=periods,
        capitalisations=tuple(entry for entry in claim.capitalisations if entry.invoice_number in requested),
        payments=payments,
        costs=costs,
        principal=sum((item.principal for item in items), ZERO),
        principal_outstanding=principal_outstanding,
        interest=sum((item.interest for item in items), ZERO),
        interest_outstanding=interest_outstanding,
        total_outstanding=principal_outstanding + interest_outstanding + costs.outstanding,
        unapplied_payments=sum((payment.unapplied for payment in payments), ZERO),
        uses_unconfirmed_rates=any(period.rate_status == "unconfirmed" for period in periods),
        interest_not_claimed_before=not_claimed_before,
    )
