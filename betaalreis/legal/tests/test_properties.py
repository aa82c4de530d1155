"""Property tests: interest, split periods, payments, statutory terms and contact moments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from betaalreis.legal.calendar import extend_statutory_term, is_working_day
from betaalreis.legal.claims import ClaimItem, ClaimPayment, compute_claim
from betaalreis.legal.contact import AMSTERDAM, is_contact_day, next_allowed_contact
from betaalreis.legal.policy import DayCount, LegalSettings

CENT = Decimal("0.01")

principals = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("2000000"), places=2)
start_days = st.dates(min_value=dt.date(2014, 1, 1), max_value=dt.date(2026, 6, 30))
kinds = st.sampled_from(["consumer", "business"])
day_counts = st.sampled_from(list(DayCount))


@given(principals, start_days, st.integers(min_value=0, max_value=2000), kinds, day_counts)
def test_interest_never_negative(
    principal: Decimal, start: dt.date, days: int, kind: str, day_count: DayCount
) -> None:
    breakdown = compute_claim(
        debtor_kind=kind,
        items=[ClaimItem("F1", principal, start, default_date=start)],
        on=start + dt.timedelta(days=days),
        settings=LegalSettings(day_count=day_count),
    )

    assert breakdown.interest >= 0
    assert all(period.amount >= 0 for period in breakdown.interest_periods)


@given(principals, start_days, st.integers(min_value=1, max_value=363), st.data(), kinds, day_counts)
def test_split_period_sums_to_whole(
    principal: Decimal,
    start: dt.date,
    length: int,
    data: st.DataObject,
    kind: str,
    day_count: DayCount,
) -> None:
    # Within one compounding year the base stays the same, so interest over
    # a period equals the interest over its two parts, up to rounding.
    split_after = data.draw(st.integers(min_value=0, max_value=length - 1))
    end = start + dt.timedelta(days=length)
    middle = start + dt.timedelta(days=split_after)
    options = LegalSettings(day_count=day_count)

    def interest(first: dt.date, last: dt.date) -> Decimal:
        return compute_claim(
            debtor_kind=kind,
            items=[ClaimItem("F1", principal, first, default_date=first)],
            on=last,
            settings=options,
        ).interest

    whole = interest(start, end)
    parts = interest(start, middle) + interest(middle + dt.timedelta(days=1), end)

    assert abs(whole - parts) <= CENT


@settings(max_examples=60)
@given(
    principals,
    start_days,
    st.lists(
        st.tuples(
            st.integers(min_value=-30, max_value=900),
            st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2),
        ),
        max_size=6,
    ),
    kinds,
)
def test_payments_balance_the_claim(
    principal: Decimal,
    due: dt.date,
    raw_payments: list[tuple[int, Decimal]],
    kind: str,
) -> None:
    on = due + dt.timedelta(days=900)
    payments = [ClaimPayment(due + dt.timedelta(days=offset), amount) for offset, amount in raw_payments]

    breakdown = compute_claim(
        debtor_kind=kind,
        items=[ClaimItem("F1", principal, due)],
        on=on,
        payments=payments,
        fourteen_day_term_end=due + dt.timedelta(days=30),
    )

    paid = sum((payment.amount for payment in payments), Decimal(0))
    applied = sum(
        (entry.to_costs + entry.to_interest + entry.to_principal for entry in breakdown.payments),
        Decimal(0),
    )
    assert applied + breakdown.unapplied_payments == paid
    assert breakdown.principal_outstanding >= 0
    assert breakdown.interest_outstanding >= 0
    assert breakdown.costs.outstanding >= 0
    owed = breakdown.principal + breakdown.interest + breakdown.costs.total
    assert breakdown.total_outstanding == owed - applied


@given(st.dates(min_value=dt.date(2014, 1, 1), max_value=dt.date(2030, 12, 31)))
def test_extended_term_ends_on_working_day(last_day: dt.date) -> None:
    extended = extend_statutory_term(last_day)

    assert extended >= last_day
    assert is_working_day(extended)
    assert extended - last_day <= dt.timedelta(days=5)


@given(st.datetimes(min_value=dt.datetime(2014, 1, 1), max_value=dt.datetime(2030, 12, 31)))
def test_next_contact_is_allowed(naive: dt.datetime) -> None:
    proposed = naive.replace(tzinfo=AMSTERDAM)

    allowed = next_allowed_contact(proposed)

    assert allowed >= proposed
    assert is_contact_day(allowed.date())
    assert dt.time(7, 0) <= allowed.time() < dt.time(20, 0)
