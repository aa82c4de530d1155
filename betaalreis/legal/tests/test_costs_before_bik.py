"""Collection costs of invoices in default before the BIK took effect on 1 July 2012.

BIK art. 3 excludes a claim whose debtor was in default before that day, so
such an invoice adds nothing to the cost base and the claim states why. The
VAT add-on (BIK art. 2 lid 3) has no rate before the VAT table's first day.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from betaalreis.errors import InvalidInput
from betaalreis.legal.claims import ClaimItem, CostsStatus, compute_claim
from betaalreis.legal.policy import BusinessCostMode, LegalSettings

d = dt.date
D = Decimal


@pytest.mark.parametrize(
    ("kind", "due", "term_end", "costs", "status"),
    [
        # Default from 2012-06-30: excluded, whatever the debtor kind.
        ("consumer", d(2012, 6, 29), d(2013, 1, 20), "0.00", CostsStatus.NONE),
        ("business", d(2012, 6, 29), None, "0.00", CostsStatus.NONE),
        # Default from 2012-07-01, the BIK's first day: 15 % of 1000.00.
        ("consumer", d(2012, 6, 30), d(2013, 1, 20), "150.00", CostsStatus.DUE),
        ("business", d(2012, 6, 30), None, "150.00", CostsStatus.DUE),
    ],
)
def test_costs_by_default_date(kind, due, term_end, costs, status) -> None:
    breakdown = compute_claim(
        debtor_kind=kind,
        items=[ClaimItem("F1", D("1000.00"), due)],
        on=d(2013, 3, 1),
        fourteen_day_term_end=term_end,
    )

    assert breakdown.costs.total == D(costs)
    assert breakdown.costs.status is status


def test_fixed_business_minimum_excluded() -> None:
    breakdown = compute_claim(
        debtor_kind="business",
        items=[ClaimItem("F1", D("100.00"), d(2011, 5, 1))],
        on=d(2013, 3, 1),
        settings=LegalSettings(business_cost_mode=BusinessCostMode.FIXED_40),
    )

    assert breakdown.costs.total == D("0.00")


def test_old_invoice_left_out_of_base() -> None:
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[
            ClaimItem("OUD", D("2000.00"), d(2012, 3, 1)),
            ClaimItem("NIEUW", D("400.00"), d(2012, 9, 1)),
        ],
        on=d(2013, 3, 1),
        fourteen_day_term_end=d(2013, 1, 20),
    )

    assert breakdown.costs.base == D("400.00")
    # 15 % of 400.00; over 2400.00 it would be 360.00.
    assert breakdown.costs.total == D("60.00")
    assert breakdown.costs.if_unpaid == D("60.00")
    old, new = breakdown.items
    assert old.default_before_bik == d(2012, 3, 2)
    assert new.default_before_bik is None


def test_letter_announces_no_costs_on_old_invoice() -> None:
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("OUD", D("500.00"), d(2012, 3, 1))],
        on=d(2013, 1, 10),
        fourteen_day_term_end=d(2013, 1, 20),
    )

    assert breakdown.costs.if_unpaid == D("0.00")
    assert breakdown.costs.status is CostsStatus.NONE


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nl", "Factuur OUD is al sinds 02-03-2012 niet betaald, dus van vóór 1 juli 2012."),
        ("en", "Invoice OUD has been unpaid since 2 Mar 2012, before 1 July 2012."),
    ],
)
def test_claim_states_why(language, expected) -> None:
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("OUD", D("500.00"), d(2012, 3, 1))],
        on=d(2013, 3, 1),
        fourteen_day_term_end=d(2013, 1, 20),
    )

    notices = breakdown.notices(language)

    assert any(notice.startswith(expected) for notice in notices)
    assert "(art. 3)" in breakdown.explanation(language)


@pytest.mark.usefixtures("english_reports")
def test_vat_before_vat_table_rejected() -> None:
    # Costs fall due on 2012-08-02, before the VAT table's first row of 2012-10-01.
    with pytest.raises(InvalidInput, match="No vat rate is known for 2012-08-02"):
        compute_claim(
            debtor_kind="business",
            items=[ClaimItem("F1", D("1000.00"), d(2012, 8, 1))],
            on=d(2012, 9, 1),
            settings=LegalSettings(vat_deductible=False),
        )


def test_vat_from_vat_table() -> None:
    breakdown = compute_claim(
        debtor_kind="business",
        items=[ClaimItem("F1", D("1000.00"), d(2012, 10, 1))],
        on=d(2012, 11, 1),
        settings=LegalSettings(vat_deductible=False),
    )

    # 21 % of 150.00.
    assert breakdown.costs.vat == D("31.50")
