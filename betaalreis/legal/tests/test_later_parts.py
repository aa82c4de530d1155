"""Interest and costs on a part of an invoice that was added later, such as a raise of its amount.

The part falls due on its own date. Statutory interest on it runs from then
(art. 6:119 and 6:119a BW), not from the invoice's due date, and a business
owes costs on it from the day after (art. 6:96 lid 4 BW).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from betaalreis.errors import InvalidInput
from betaalreis.legal.claims import ClaimItem, ClaimPayment, LaterPart, compute_claim
from betaalreis.legal.ledger_claims import _later_parts

d = dt.date
D = Decimal

DUE = d(2026, 1, 31)
RAISE_DUE = d(2026, 3, 31)


def _raised(kind: str, on: dt.date, payments=()):
    return compute_claim(
        debtor_kind=kind,
        items=[ClaimItem("F1", D("1500.00"), DUE, later_parts=(LaterPart(D("500.00"), RAISE_DUE),))],
        on=on,
        payments=payments,
    )


@pytest.mark.parametrize(
    ("kind", "periods"),
    [
        # Business: 10.15 % from the day after each due date. The part has its own periods.
        ("business", [(d(2026, 2, 1), d(2026, 4, 30), D("1000.00")), (d(2026, 4, 1), d(2026, 4, 30), D("500.00"))]),
        ("consumer", [(d(2026, 2, 1), d(2026, 4, 30), D("1000.00")), (d(2026, 4, 1), d(2026, 4, 30), D("500.00"))]),
    ],
)
def test_part_interest_from_due_date(kind, periods) -> None:
    claim = _raised(kind, d(2026, 4, 30))

    assert [(period.start, period.end, period.base) for period in claim.interest_periods] == periods


def test_interest_equals_separate_invoices() -> None:
    raised = _raised("business", d(2026, 4, 30))
    separate = compute_claim(
        debtor_kind="business",
        items=[ClaimItem("F1", D("1000.00"), DUE), ClaimItem("F1-raise", D("500.00"), RAISE_DUE)],
        on=d(2026, 4, 30),
    )

    # 1000 x 10.15 % x 89/365 + 500 x 10.15 % x 30/365 = 24.75 + 4.17.
    assert raised.interest == separate.interest == D("28.92")


@pytest.mark.parametrize(
    ("on", "base", "costs"),
    [
        # Before the part is due: the scale over 1000.00.
        (d(2026, 3, 31), D("1000.00"), D("150.00")),
        # From the day after its due date: the scale over 1500.00.
        (d(2026, 4, 1), D("1500.00"), D("225.00")),
    ],
)
def test_business_costs_after_part_due(on, base, costs) -> None:
    claim = _raised("business", on)

    assert claim.costs.base == base
    assert claim.costs.total == costs


@pytest.mark.parametrize(
    ("term_end", "base"),
    [
        # The term ends before the part is due: the letter made no costs owed over it.
        (d(2026, 3, 20), D("1000.00")),
        (d(2026, 4, 10), D("1500.00")),
    ],
)
def test_letter_base_skips_undue_part(term_end, base) -> None:
    claim = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("F1", D("1500.00"), DUE, later_parts=(LaterPart(D("500.00"), RAISE_DUE),))],
        on=d(2026, 5, 1),
        fourteen_day_term_end=term_end,
    )

    assert claim.costs.base == base


def test_announced_costs_skip_undue_part() -> None:
    claim = _raised("consumer", d(2026, 3, 1))

    # 15 % of 1000.00: the part falls due after the claim date.
    assert claim.costs.if_unpaid == D("150.00")


def test_payment_pays_bearing_part_first() -> None:
    # Consumer without a letter, so no costs: of 600.00 paid on 2026-02-28,
    # 3.07 goes to interest (1000.00 x 4 % x 28/365) and 596.93 to the part that bears interest.
    claim = _raised("consumer", d(2026, 4, 30), payments=[ClaimPayment(d(2026, 2, 28), D("600.00"))])

    assert [(period.start, period.base) for period in claim.interest_periods] == [
        (d(2026, 2, 1), D("1000.00")),
        (d(2026, 3, 1), D("403.07")),
        (d(2026, 4, 1), D("500.00")),
    ]
    assert claim.items[0].principal_outstanding == D("903.07")


def test_part_compounds_from_own_start() -> None:
    """Art. 6:119a lid 3 BW adds a year's interest to the base after each full year of that interest.

    The invoice's first year runs from 2025-02-01 and the part's from
    2025-08-01, so each is capitalised on its own anniversary.
    """
    items = [ClaimItem("F1", D("1500.00"), d(2025, 1, 31), later_parts=(LaterPart(D("500.00"), d(2025, 7, 31)),))]

    claim = compute_claim(debtor_kind="business", items=items, on=d(2026, 12, 31))

    # 1000.00 x (150 days x 11.15 % + 215 days x 10.15 %) / 365 = 45.82 + 59.79;
    # 500.00 x (334 days x 10.15 % + 31 days x 10.40 %) / 365 = 46.44 + 4.42.
    assert [(entry.day, entry.amount) for entry in claim.capitalisations] == [
        (d(2026, 2, 1), D("105.61")),
        (d(2026, 8, 1), D("50.86")),
    ]


def test_part_interest_equals_separate_invoice_over_years() -> None:
    on = d(2027, 12, 31)
    raised = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("F1", D("1500.00"), d(2025, 1, 31), later_parts=(LaterPart(D("500.00"), d(2025, 7, 31)),))],
        on=on,
    )
    separate = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("F1", D("1000.00"), d(2025, 1, 31)), ClaimItem("F2", D("500.00"), d(2025, 7, 31))],
        on=on,
    )

    assert raised.interest == separate.interest
    assert sorted(entry.day for entry in raised.capitalisations) == sorted(entry.day for entry in separate.capitalisations)


@pytest.mark.usefixtures("english_reports")
@pytest.mark.parametrize(
    ("part", "message"),
    [
        (LaterPart(D("2000.00"), RAISE_DUE), "exceed its principal"),
        (LaterPart(D("100.00"), d(2026, 1, 1)), "before the invoice's due date"),
        (LaterPart(D("0.00"), RAISE_DUE), "later part"),
    ],
)
def test_invalid_part_rejected(part, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        compute_claim(
            debtor_kind="business",
            items=[ClaimItem("F1", D("1500.00"), DUE, later_parts=(part,))],
            on=d(2026, 4, 30),
        )


amounts = st.integers(min_value=1, max_value=500_000).map(lambda cents: Decimal(cents) / 100)


@settings(max_examples=60, deadline=None)
@given(
    principal=amounts,
    part=amounts,
    part_after=st.integers(min_value=0, max_value=400),
    on_after=st.integers(min_value=0, max_value=1000),
    kind=st.sampled_from(["business", "consumer"]),
)
def test_later_part_never_adds_interest(principal, part, part_after, on_after, kind) -> None:
    """A later part bears no more interest than the same amount due with the invoice."""
    part_due = DUE + dt.timedelta(days=part_after)
    on = DUE + dt.timedelta(days=on_after)
    total = principal + part

    with_part = compute_claim(
        debtor_kind=kind, items=[ClaimItem("F1", total, DUE, later_parts=(LaterPart(part, part_due),))], on=on,
    )
    from_due = compute_claim(debtor_kind=kind, items=[ClaimItem("F1", total, DUE)], on=on)
    separate = compute_claim(
        debtor_kind=kind, items=[ClaimItem("F1", principal, DUE), ClaimItem("F2", part, part_due)], on=on,
    )

    # Each account rounds its year to cents, so two accounts may round up by a cent per year where one would not.
    assert with_part.interest <= from_due.interest + D("0.01") * (1 + on_after // 365)
    # The part is an account of its own, so it bears what a separate invoice would, also across anniversaries.
    assert with_part.interest == separate.interest
    assert with_part.costs.total <= from_due.costs.total


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        # Both raises fit.
        (D("1000.00"), ((D("100.00"), d(2026, 3, 1)), (D("200.00"), d(2026, 4, 1)))),
        # A credit note left 250.00: the latest raise is kept whole, the earlier one in part.
        (D("250.00"), ((D("50.00"), d(2026, 3, 1)), (D("200.00"), d(2026, 4, 1)))),
        (D("150.00"), ((D("150.00"), d(2026, 4, 1)),)),
    ],
)
def test_raises_fit_in_principal(principal, expected) -> None:
    raises = [LaterPart(D("100.00"), d(2026, 3, 1)), LaterPart(D("200.00"), d(2026, 4, 1))]

    parts = _later_parts(raises, principal)

    assert tuple((part.amount, part.due_date) for part in parts) == expected
