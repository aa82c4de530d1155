"""Interest rounding does not depend on how the days are split into periods."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from betaalreis.legal.claims import ClaimItem, ClaimPayment, compute_claim
from betaalreis.legal.interest import anniversary

d = dt.date
D = Decimal


def test_half_cent_same_with_term_split() -> None:
    # 4115.75 x 2 % over a full year is 82.315 exactly, which rounds half up.
    item = ClaimItem("F1", D("4115.75"), d(2020, 12, 18))

    plain = compute_claim(debtor_kind="consumer", items=[item], on=d(2021, 12, 18))
    split = compute_claim(
        debtor_kind="consumer", items=[item], on=d(2021, 12, 18), fourteen_day_term_end=d(2021, 1, 1)
    )

    assert plain.interest == D("82.32")
    assert split.interest == D("82.32")


def test_other_due_date_leaves_interest_unchanged() -> None:
    first = ClaimItem("A", D("4115.75"), d(2020, 12, 18))
    alone = compute_claim(debtor_kind="consumer", items=[first], on=d(2021, 12, 18))

    changed = []
    day = d(2020, 12, 19)
    while day < d(2021, 12, 18):
        second = ClaimItem("B", D("333.33"), day)
        breakdown = compute_claim(debtor_kind="consumer", items=[first, second], on=d(2021, 12, 18))
        if breakdown.items[0].interest != alone.items[0].interest:
            changed.append(day)
        day += dt.timedelta(days=1)

    assert changed == []


def test_period_rows_add_up_to_total() -> None:
    breakdown = compute_claim(
        debtor_kind="business",
        items=[ClaimItem("A", D("1234.57"), d(2022, 3, 3)), ClaimItem("B", D("987.65"), d(2023, 9, 9))],
        on=d(2026, 6, 1),
        payments=[ClaimPayment(d(2024, 5, 5), D("321.09")), ClaimPayment(d(2025, 8, 8), D("55.55"))],
    )

    assert len(breakdown.interest_periods) > 5
    assert sum(period.rounded_amount for period in breakdown.interest_periods) == breakdown.interest


def test_period_rows_of_worked_example() -> None:
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("F1", D("1000.00"), d(2025, 9, 30), default_date=d(2025, 10, 1))],
        on=d(2026, 3, 31),
    )

    assert [period.rounded_amount for period in breakdown.interest_periods] == [D("15.12"), D("9.87")]
    assert breakdown.interest == D("24.99")


def test_leap_day_start_compounds_on_1_march() -> None:
    breakdown = compute_claim(
        debtor_kind="business",
        items=[ClaimItem("F1", D("5000.00"), d(2024, 2, 28))],
        on=d(2028, 3, 5),
    )

    assert [entry.day for entry in breakdown.capitalisations] == [
        d(2025, 3, 1),
        d(2026, 3, 1),
        d(2027, 3, 1),
        d(2028, 2, 29),
    ]
    assert breakdown.interest_periods[0].start == d(2024, 2, 29)


def test_anniversary_of_ordinary_day() -> None:
    assert anniversary(d(2024, 2, 28), 1) == d(2025, 2, 28)
    assert anniversary(d(2024, 3, 1), 1) == d(2025, 3, 1)
    assert anniversary(d(2024, 2, 29), 4) == d(2028, 2, 29)
