"""Extrajudicial collection costs (buitengerechtelijke incassokosten, BIK).

The Besluit vergoeding voor buitengerechtelijke incassokosten (art. 2) sets
the costs as a marginal scale over the principal of the claim. It charges
15 % of the first EUR 2,500, 10 % of the next 2,500, 5 % of the next 5,000,
1 % of the next 190,000 and 0.5 % of the rest. The result is at least EUR 40
and at most EUR 6,775.
Interest is not part of the principal. The statute does not say how to round;
we round half up to cents once, at the end.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from betaalreis.ledger.money import quantize
from betaalreis.legal.rates import RateKind, rate_on

# NOTE: the Wki limit on costs for small recurring instalments (from 1 October
# 2024) is not applied, because its formula in the amended BIK was not read.
MINIMUM_COSTS = Decimal("40.00")
# BIK art. 3: the Besluit does not apply to a claim whose debtor was already in
# default before it entered into force on 1 July 2012.
BIK_START = dt.date(2012, 7, 1)
MAXIMUM_COSTS = Decimal("6775.00")

# (upper bound of the bracket, rate); None is the open top bracket.
SCALE: tuple[tuple[Decimal | None, Decimal], ...] = (
    (Decimal("2500"), Decimal("0.15")),
    (Decimal("5000"), Decimal("0.10")),
    (Decimal("10000"), Decimal("0.05")),
    (Decimal("200000"), Decimal("0.01")),
    (None, Decimal("0.005")),
)


@dataclass(frozen=True, slots=True)
class CollectionCosts:
    """Collection costs over one principal, with the VAT add-on where it applies."""

    principal: Decimal
    costs: Decimal
    vat: Decimal
    vat_percent: Decimal | None

    @property
    def total(self) -> Decimal:
        return self.costs + self.vat


def scale_costs(principal: Decimal) -> Decimal:
    """Return the BIK scale amount for `principal`, rounded to cents.

    A principal of zero or less owes no costs, so it returns 0.00. Any
    positive principal owes at least EUR 40 and at most EUR 6,775.
    """
    if principal <= 0:
        return Decimal("0.00")

    total = Decimal(0)
    lower = Decimal(0)
    for upper, rate in SCALE:
        if upper is None or principal <= upper:
            total += (principal - lower) * rate
            break
        total += (upper - lower) * rate
        lower = upper

    return quantize(min(max(total, MINIMUM_COSTS), MAXIMUM_COSTS))


def vat_percent_on(day: dt.date) -> Decimal:
    """Return the VAT percentage in force on `day` from the rate table."""
    return rate_on(RateKind.VAT, day).percent


def collection_costs(
    principal: Decimal,
    *,
    fixed_minimum_only: bool = False,
    vat_deductible: bool = True,
    on: dt.date,
) -> CollectionCosts:
    """Return the collection costs over `principal` as due on `on`.

    With `fixed_minimum_only` the costs are the flat EUR 40 of BW 6:96 lid 4
    for a business debtor, whatever the principal (but nothing on a principal
    of zero). VAT is added only when the creditor cannot deduct VAT, at the
    rate in force on `on`; BIK art. 2 lid 3 also requires that the creditor
    used an outside collection service charging VAT and states both facts.
    """
    if principal <= 0:
        costs = Decimal("0.00")
    elif fixed_minimum_only:
        costs = MINIMUM_COSTS
    else:
        costs = scale_costs(principal)

    if vat_deductible or costs == 0:
        return CollectionCosts(principal, costs, Decimal("0.00"), None)

    percent = vat_percent_on(on)
    return CollectionCosts(principal, costs, quantize(costs * percent / 100), percent)
