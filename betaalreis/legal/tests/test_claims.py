"""The claim engine: the worked interest examples, payments, allocation and collection costs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from betaalreis.errors import InvalidInput
from betaalreis.legal.claims import (
    ClaimItem,
    ClaimPayment,
    CostsStatus,
    allocate_payment,
    compute_claim,
)
from betaalreis.legal.policy import (
    BusinessCostMode,
    ClaimPart,
    DayCount,
    LegalSettings,
    parse_allocation_order,
)

d = dt.date
D = Decimal


def _periods(breakdown):  # type: ignore[no-untyped-def]
    return [
        (period.start, period.end, period.days, period.percent, period.base, period.amount.quantize(D("0.0001")))
        for period in breakdown.interest_periods
    ]


def test_consumer_interest_across_rate_change() -> None:
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("F1", D("1000.00"), d(2025, 9, 30), default_date=d(2025, 10, 1))],
        on=d(2026, 3, 31),
    )

    assert _periods(breakdown) == [
        (d(2025, 10, 1), d(2025, 12, 31), 92, D("6.00"), D("1000.00"), D("15.1233")),
        (d(2026, 1, 1), d(2026, 3, 31), 90, D("4.00"), D("1000.00"), D("9.8630")),
    ]
    assert breakdown.interest == D("24.99")


def test_business_interest_across_half_years() -> None:
    breakdown = compute_claim(
        debtor_kind="business",
        items=[ClaimItem("F1", D("10000.00"), d(2025, 6, 15))],
        on=d(2026, 2, 10),
    )

    assert _periods(breakdown) == [
        (d(2025, 6, 16), d(2025, 6, 30), 15, D("11.15"), D("10000.00"), D("45.8219")),
        (d(2025, 7, 1), d(2026, 2, 10), 225, D("10.15"), D("10000.00"), D("625.6849")),
    ]
    assert breakdown.interest == D("671.51")
    assert breakdown.costs.costs == D("875.00")


def test_business_fixed_costs_without_reminder() -> None:
    breakdown = compute_claim(
        debtor_kind="business",
        items=[ClaimItem("F1", D("10000.00"), d(2025, 6, 15))],
        on=d(2026, 2, 10),
        settings=LegalSettings(business_cost_mode=BusinessCostMode.FIXED_40),
    )

    assert breakdown.costs.costs == D("40.00")
    assert breakdown.costs.due_from == d(2025, 6, 16)
    assert breakdown.costs.status is CostsStatus.DUE


def test_interest_compounds_on_anniversary() -> None:
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("F1", D("1000.00"), d(2021, 2, 28), default_date=d(2021, 3, 1))],
        on=d(2023, 2, 28),
    )

    assert _periods(breakdown) == [
        (d(2021, 3, 1), d(2022, 2, 28), 365, D("2.00"), D("1000.00"), D("20.0000")),
        (d(2022, 3, 1), d(2022, 12, 31), 306, D("2.00"), D("1020.00"), D("17.1025")),
        (d(2023, 1, 1), d(2023, 2, 28), 59, D("4.00"), D("1020.00"), D("6.5951")),
    ]
    assert [(entry.day, entry.amount) for entry in breakdown.capitalisations] == [
        (d(2022, 3, 1), D("20.00"))
    ]
    assert breakdown.interest == D("43.70")


def test_allocation_costs_interest_principal() -> None:
    split = allocate_payment(
        D("100.00"),
        costs=D("40.00"),
        interest=D("12.30"),
        principal=D("250.00"),
        order=parse_allocation_order("costs,interest,principal"),
    )

    assert split == {
        ClaimPart.COSTS: D("40.00"),
        ClaimPart.INTEREST: D("12.30"),
        ClaimPart.PRINCIPAL: D("47.70"),
    }
    assert D("250.00") - split[ClaimPart.PRINCIPAL] == D("202.30")


def test_allocation_waived_order_principal_first() -> None:
    split = allocate_payment(
        D("100.00"),
        costs=D("40.00"),
        interest=D("12.30"),
        principal=D("250.00"),
        order=parse_allocation_order("principal,interest,costs"),
    )

    assert split[ClaimPart.PRINCIPAL] == D("100.00")
    assert split[ClaimPart.COSTS] == D("0.00")


def test_partial_payment_lowers_base_next_day() -> None:
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("F1", D("1000.00"), d(2026, 1, 31))],
        on=d(2026, 3, 31),
        payments=[ClaimPayment(d(2026, 2, 28), D("500.00"))],
    )

    first, second = breakdown.interest_periods
    assert (first.start, first.end, first.base) == (d(2026, 2, 1), d(2026, 2, 28), D("1000.00"))
    # 28 days at 4 % on 1000 = 3.07; the payment pays that interest first.
    assert breakdown.payments[0].to_interest == D("3.07")
    assert breakdown.payments[0].to_principal == D("496.93")
    assert (second.start, second.base) == (d(2026, 3, 1), D("503.07"))
    assert breakdown.principal_outstanding == D("503.07")


def test_payment_before_due_date_lowers_principal() -> None:
    breakdown = compute_claim(
        debtor_kind="business",
        items=[ClaimItem("F1", D("1000.00"), d(2026, 3, 31))],
        on=d(2026, 4, 30),
        payments=[ClaimPayment(d(2026, 3, 1), D("400.00"))],
    )

    assert breakdown.interest_periods[0].base == D("600.00")
    # Costs are over what was unpaid when the due date passed.
    assert breakdown.costs.base == D("600.00")
    assert breakdown.costs.costs == D("90.00")


def test_consumer_without_letter_owes_no_costs() -> None:
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("F1", D("1234.56"), d(2026, 1, 15))],
        on=d(2026, 12, 4),
    )

    assert breakdown.costs.status is CostsStatus.NO_LETTER
    assert breakdown.costs.total == D("0.00")
    assert breakdown.costs.if_unpaid == D("185.18")


def test_consumer_costs_wait_for_term_end() -> None:
    items = [ClaimItem("F1", D("150.00"), d(2026, 10, 1)), ClaimItem("F2", D("200.00"), d(2026, 10, 15))]

    running = compute_claim(
        debtor_kind="consumer", items=items, on=d(2026, 12, 22), fourteen_day_term_end=d(2026, 12, 22)
    )
    passed = compute_claim(
        debtor_kind="consumer", items=items, on=d(2026, 12, 23), fourteen_day_term_end=d(2026, 12, 22)
    )

    assert running.costs.status is CostsStatus.TERM_RUNNING
    assert running.costs.total == D("0.00")
    assert running.costs.due_from == d(2026, 12, 23)
    assert passed.costs.status is CostsStatus.DUE
    assert passed.costs.costs == D("52.50")


def test_part_paid_in_term_lowers_costs() -> None:
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("F1", D("3000.00"), d(2026, 10, 1))],
        on=d(2027, 1, 15),
        payments=[ClaimPayment(d(2026, 12, 22), D("2000.00"))],
        fourteen_day_term_end=d(2026, 12, 22),
    )

    # Interest 2 October to 22 December: 82 days at 4 % on 3000 = 26.96, paid
    # first; the other 1973.04 lowers the principal to 1026.96 within the term.
    assert breakdown.payments[0].to_interest == D("26.96")
    assert breakdown.costs.base == D("1026.96")
    assert breakdown.costs.costs == D("154.04")


def test_payment_after_term_pays_costs_first() -> None:
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("F1", D("1000.00"), d(2026, 10, 1))],
        on=d(2027, 1, 15),
        payments=[ClaimPayment(d(2027, 1, 5), D("100.00"))],
        fourteen_day_term_end=d(2026, 12, 22),
    )

    assert breakdown.payments[0].to_costs == D("100.00")
    assert breakdown.costs.outstanding == D("50.00")


def test_named_invoice_paid_first() -> None:
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("OLD", D("100.00"), d(2026, 1, 1)), ClaimItem("NEW", D("100.00"), d(2026, 6, 1))],
        on=d(2026, 6, 1),
        payments=[ClaimPayment(d(2026, 6, 1), D("100.00"), invoice_number="NEW")],
    )

    rows = {row.invoice_number: row for row in breakdown.items}
    assert rows["NEW"].principal_outstanding == D("0.00")
    assert rows["OLD"].principal_outstanding == D("100.00")


def test_overpayment_stays_unapplied() -> None:
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("F1", D("100.00"), d(2026, 6, 1))],
        on=d(2026, 6, 1),
        payments=[ClaimPayment(d(2026, 5, 1), D("150.00"))],
    )

    assert breakdown.unapplied_payments == D("50.00")
    assert breakdown.total_outstanding == D("0.00")


def test_unconfirmed_rates_flagged() -> None:
    item = ClaimItem("F1", D("100.00"), d(2024, 1, 1))

    assert not compute_claim(debtor_kind="consumer", items=[item], on=d(2024, 12, 31)).uses_unconfirmed_rates
    assert compute_claim(debtor_kind="consumer", items=[item], on=d(2025, 7, 1)).uses_unconfirmed_rates


@pytest.mark.usefixtures("english_reports")
@pytest.mark.parametrize(
    ("items", "payments", "message"),
    [
        ([], [], "at least one invoice"),
        ([ClaimItem("F1", D("0"), d(2026, 1, 1))], [], "principal"),
        ([ClaimItem("F1", D("10"), d(2026, 1, 1))] * 2, [], "more than once"),
        ([ClaimItem("F1", D("10"), d(2026, 1, 1))], [ClaimPayment(d(2027, 1, 1), D("1"))], "after the claim date"),
        ([ClaimItem("F1", D("10"), d(2026, 1, 1))], [ClaimPayment(d(2026, 1, 1), D("1"), "X")], "not in the claim"),
    ],
)
def test_invalid_claim_input_rejected(items, payments, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match=message):
        compute_claim(debtor_kind="consumer", items=items, payments=payments, on=d(2026, 12, 4))


def test_explanation_in_both_languages() -> None:
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("F1", D("1000.00"), d(2025, 9, 30))],
        on=d(2026, 3, 31),
    )

    assert "€\xa024,99" in breakdown.explanation("nl")
    assert "€24.99" in breakdown.explanation("en")
    assert "Totaal openstaand: €\xa01.024,99." in breakdown.explanation_nl


def test_actual_actual_day_count() -> None:
    # 2024 is a leap year: 31 days of December count 31/366 of a year.
    options = LegalSettings(day_count=DayCount.ACTUAL_ACTUAL)

    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("F1", D("10000.00"), d(2024, 11, 30))],
        on=d(2025, 1, 31),
        settings=options,
    )

    first, second = breakdown.interest_periods
    assert (first.end, first.days) == (d(2024, 12, 31), 31)
    assert first.amount == D("10000.00") * D("0.07") * 31 / 366
    assert second.amount == D("10000.00") * D("0.06") * 31 / 365


def test_consumer_interest_start_offset() -> None:
    options = LegalSettings(consumer_interest_start_offset_days=15)

    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("F1", D("1000.00"), d(2026, 1, 31))],
        on=d(2026, 3, 31),
        settings=options,
    )

    assert breakdown.items[0].interest_from == d(2026, 2, 15)
    assert breakdown.interest_periods[0].start == d(2026, 2, 15)


def test_paid_interest_not_capitalised() -> None:
    # Interest of the first year (2 % on 1000 = 20.00) is paid before the
    # anniversary, so nothing is added to the base.
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("F1", D("1000.00"), d(2021, 2, 28), default_date=d(2021, 3, 1))],
        on=d(2022, 6, 30),
        payments=[ClaimPayment(d(2022, 2, 28), D("20.00"))],
    )

    assert breakdown.payments[0].to_interest == D("20.00")
    assert breakdown.capitalisations == ()
    assert breakdown.interest_periods[-1].base == D("1000.00")
    assert breakdown.interest_outstanding == breakdown.interest - D("20.00")


@pytest.mark.usefixtures("english_reports")
def test_interest_start_offset_zero_rejected() -> None:
    with pytest.raises(InvalidInput, match="offset 0"):
        LegalSettings(consumer_interest_start_offset_days=0)


def test_credit_named_in_explanation() -> None:
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("F1", D("100.00"), d(2026, 6, 1))],
        on=d(2026, 6, 1),
        payments=[ClaimPayment(d(2026, 5, 1), D("150.00"))],
    )

    assert "€\xa050,00 meer betaald" in breakdown.explanation_nl
    assert "paid €50.00 more than you owed" in breakdown.explanation_en
