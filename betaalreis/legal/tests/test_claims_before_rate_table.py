"""Claims on invoices in default before the first row of the interest rate table."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from betaalreis.legal.claims import ClaimItem, compute_claim

d = dt.date
D = Decimal


def test_consumer_interest_starts_at_table() -> None:
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("OUD-2012", D("250.00"), d(2012, 1, 15))],
        on=d(2013, 3, 1),
    )

    item = breakdown.items[0]
    assert item.interest_from == d(2012, 7, 1)
    assert item.default_before_rate_table == d(2012, 1, 16)
    assert breakdown.interest_not_claimed_before == d(2012, 7, 1)
    # 250.00 x 3 % x 199/365 up to the anniversary of default on 2013-01-16,
    # then 254.09 x 3 % x 45/365.
    assert [(period.start, period.end, period.base) for period in breakdown.interest_periods] == [
        (d(2012, 7, 1), d(2013, 1, 15), D("250.00")),
        (d(2013, 1, 16), d(2013, 3, 1), D("254.09")),
    ]
    assert breakdown.interest == D("5.03")


def test_business_interest_starts_at_table() -> None:
    breakdown = compute_claim(
        debtor_kind="business",
        items=[ClaimItem("TOSL108", D("1000.00"), d(2009, 12, 16))],
        on=d(2013, 7, 10),
    )

    assert breakdown.items[0].interest_from == d(2013, 7, 1)
    # 1000.00 x 8.50 % x 10/365.
    assert breakdown.interest == D("2.33")
    # In default since 2009, so BIK art. 3 excludes collection costs.
    assert breakdown.costs.status == "none"
    assert breakdown.costs.total == D("0.00")


def test_notice_names_invoice_in_both_languages() -> None:
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("OUD-2012", D("250.00"), d(2012, 1, 15))],
        on=d(2026, 11, 20),
    )

    # The second notice of each is on collection costs (BIK art. 3).
    dutch, _ = breakdown.notices("nl")
    english, _ = breakdown.notices("en")
    assert "OUD-2012" in dutch
    assert "16-01-2012" in dutch
    assert "01-07-2012" in dutch
    assert "OUD-2012" in english
    assert dutch in breakdown.explanation_nl
    assert english in breakdown.explanation_en


def test_invoice_inside_table_has_no_notice() -> None:
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("F1", D("250.00"), d(2025, 1, 15))],
        on=d(2026, 11, 20),
    )

    assert breakdown.items[0].default_before_rate_table is None
    assert breakdown.interest_not_claimed_before is None
    assert breakdown.notices("nl") == ()
