"""Payments over several invoices: BW 6:43 lid 2 between invoices, 6:44 within one."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from betaalreis.legal.claims import ClaimItem, ClaimPayment, compute_claim
from betaalreis.legal.policy import LegalSettings, parse_allocation_order

d = dt.date
D = Decimal


def _rows(breakdown):  # type: ignore[no-untyped-def]
    return {row.invoice_number: row for row in breakdown.items}


def test_oldest_invoice_paid_in_full_first() -> None:
    breakdown = compute_claim(
        debtor_kind="business",
        items=[ClaimItem("OLD", D("1000"), d(2024, 1, 1)), ClaimItem("NEW", D("1000"), d(2026, 1, 1))],
        on=d(2026, 6, 1),
        payments=[ClaimPayment(d(2026, 6, 1), D("1200"))],
    )

    rows = _rows(breakdown)
    application = breakdown.payments[0]
    assert application.to_costs == D("300.00")
    assert rows["OLD"].interest_paid == rows["OLD"].interest
    assert rows["NEW"].interest_paid == D("0.00")
    assert rows["OLD"].principal_paid == D("1200") - D("300.00") - rows["OLD"].interest
    assert rows["NEW"].principal_paid == D("0.00")


def test_due_invoice_before_invoice_not_yet_due() -> None:
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("DUE", D("100.00"), d(2026, 3, 1)), ClaimItem("NOT_DUE", D("100.00"), d(2026, 5, 1))],
        on=d(2026, 5, 10),
        payments=[ClaimPayment(d(2026, 4, 1), D("100.00"))],
    )

    rows = _rows(breakdown)
    assert rows["NOT_DUE"].principal_paid == D("0.00")
    assert rows["DUE"].interest_paid > D("0.00")
    assert rows["DUE"].principal_paid == D("100.00") - rows["DUE"].interest_paid


def test_interest_bearing_invoice_paid_first() -> None:
    # Both invoices are due, but only NEW bears interest on the day of payment,
    # which makes it the more burdensome debt.
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[
            ClaimItem("OLD", D("100.00"), d(2026, 1, 1), default_date=d(2026, 6, 1)),
            ClaimItem("NEW", D("100.00"), d(2026, 2, 1)),
        ],
        on=d(2026, 4, 1),
        payments=[ClaimPayment(d(2026, 4, 1), D("100.00"))],
    )

    rows = _rows(breakdown)
    assert rows["OLD"].principal_paid == D("0.00")
    assert rows["NEW"].interest_paid == rows["NEW"].interest
    assert rows["NEW"].principal_paid == D("100.00") - rows["NEW"].interest


def test_order_setting_applies_per_invoice() -> None:
    settings = LegalSettings(allocation_order=parse_allocation_order("principal,interest,costs"))

    breakdown = compute_claim(
        debtor_kind="business",
        items=[ClaimItem("OLD", D("1000"), d(2024, 1, 1)), ClaimItem("NEW", D("1000"), d(2026, 1, 1))],
        on=d(2026, 6, 1),
        payments=[ClaimPayment(d(2026, 6, 1), D("1100"))],
        settings=settings,
    )

    rows = _rows(breakdown)
    assert rows["OLD"].principal_paid == D("1000")
    assert rows["OLD"].interest_paid == D("100")
    assert rows["NEW"].principal_paid == D("0.00")
    assert breakdown.payments[0].to_costs == D("0.00")


def test_named_invoice_then_oldest() -> None:
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[
            ClaimItem("A", D("100.00"), d(2026, 1, 1)),
            ClaimItem("B", D("100.00"), d(2026, 2, 1)),
            ClaimItem("C", D("100.00"), d(2026, 3, 1)),
        ],
        on=d(2026, 3, 1),
        payments=[ClaimPayment(d(2026, 3, 1), D("250.00"), invoice_number="C")],
    )

    rows = _rows(breakdown)
    assert rows["C"].principal_outstanding == D("0.00")
    assert rows["A"].interest_paid == rows["A"].interest
    assert rows["A"].principal_outstanding == D("0.00")
    assert rows["B"].interest_paid == rows["B"].interest
    assert rows["B"].principal_paid == D("50.00") - rows["A"].interest - rows["B"].interest
