"""Collection costs: the BIK scale, its minimum and maximum, and the VAT add-on."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from betaalreis.legal.costs import (
    MAXIMUM_COSTS,
    MINIMUM_COSTS,
    collection_costs,
    scale_costs,
)

ON = dt.date(2026, 12, 4)

# Principal, costs, costs with the 21 % VAT add-on.
BIK_CASES = [
    ("123.45", "40.00", "48.40"),
    ("250.00", "40.00", "48.40"),
    ("266.66", "40.00", "48.40"),
    ("266.67", "40.00", "48.40"),
    ("1234.56", "185.18", "224.07"),
    ("2500.00", "375.00", "453.75"),
    ("3000.00", "425.00", "514.25"),
    ("10000.00", "875.00", "1058.75"),
    ("300000.00", "3275.00", "3962.75"),
    ("1000000.00", "6775.00", "8197.75"),
    ("2000000.00", "6775.00", "8197.75"),
]


@pytest.mark.parametrize(("principal", "costs", "with_vat"), BIK_CASES)
def test_bik_scale_worked_examples(principal: str, costs: str, with_vat: str) -> None:
    assert scale_costs(Decimal(principal)) == Decimal(costs)

    result = collection_costs(Decimal(principal), vat_deductible=False, on=ON)
    assert result.costs == Decimal(costs)
    assert result.total == Decimal(with_vat)
    assert result.vat_percent == Decimal("21.00")


def test_two_invoices_summed_not_per_invoice() -> None:
    assert scale_costs(Decimal("150") + Decimal("200")) == Decimal("52.50")


def test_no_vat_when_deductible() -> None:
    result = collection_costs(Decimal("3000"), vat_deductible=True, on=ON)

    assert result.vat == Decimal("0.00")
    assert result.vat_percent is None


def test_fixed_minimum_ignores_principal() -> None:
    result = collection_costs(Decimal("50000"), fixed_minimum_only=True, on=ON)

    assert result.costs == Decimal("40.00")


def test_zero_principal_owes_nothing() -> None:
    assert scale_costs(Decimal("0")) == Decimal("0.00")
    assert collection_costs(Decimal("0"), fixed_minimum_only=True, on=ON).total == Decimal("0.00")


principals = st.decimals(
    min_value=Decimal("0.01"), max_value=Decimal("5000000"), places=2, allow_nan=False
)


@given(principals)
def test_costs_within_minimum_and_maximum(principal: Decimal) -> None:
    assert MINIMUM_COSTS <= scale_costs(principal) <= MAXIMUM_COSTS


@given(principals, principals)
def test_costs_never_decrease_in_principal(first: Decimal, second: Decimal) -> None:
    low, high = sorted((first, second))

    assert scale_costs(low) <= scale_costs(high)
