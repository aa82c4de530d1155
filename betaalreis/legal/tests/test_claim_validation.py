"""Extreme and malformed claim input gets an InvalidInput that names the value."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from betaalreis.errors import InvalidInput
from betaalreis.legal.claims import ClaimItem, ClaimPayment, compute_claim

# The checks below read the English texts. test_claim_errors_language checks both languages.
pytestmark = pytest.mark.usefixtures("english_reports")

d = dt.date
D = Decimal
ITEM = ClaimItem("F1", D("100.00"), d(2026, 1, 1))


@pytest.mark.parametrize(
    ("principal", "message"),
    [
        (D("NaN"), "NaN"),
        (D("sNaN"), "sNaN"),
        (D("Infinity"), "Infinity"),
        (D("1E+26"), "above the maximum"),
        (D("100.005"), "more than two decimals"),
        (100, "invalid"),
    ],
)
def test_invalid_principal_rejected(principal, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match=message):
        compute_claim(debtor_kind="business", items=[ClaimItem("F1", principal, d(2026, 1, 1))], on=d(2026, 2, 1))


@pytest.mark.parametrize("amount", [D("NaN"), D("Infinity"), D("0.001"), D("-5")])
def test_invalid_payment_rejected(amount) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="Payment of 2026-01-15: amount"):
        compute_claim(
            debtor_kind="consumer", items=[ITEM], on=d(2026, 2, 1), payments=[ClaimPayment(d(2026, 1, 15), amount)]
        )


@pytest.mark.parametrize(
    ("currency", "message", "code"),
    [
        ("1A3", "Invalid currency code '1A3'", "invalid_input"),
        ("XYZ", "Invalid currency code 'XYZ'", "invalid_input"),
        ("eur", "Invalid currency code 'eur'", "invalid_input"),
        ("USD", "Claims in USD are not supported", "currency_not_supported"),
    ],
)
def test_currency_rejected(currency, message, code) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match=message) as caught:
        compute_claim(debtor_kind="business", items=[ITEM], on=d(2026, 2, 1), currency=currency)

    assert caught.value.code == code


def test_datetime_claim_date_rejected() -> None:
    with pytest.raises(InvalidInput, match="without a time"):
        compute_claim(debtor_kind="consumer", items=[ITEM], on=dt.datetime(2026, 2, 1, 12, 0))


def test_far_future_date_rejected() -> None:
    with pytest.raises(InvalidInput, match="9999-12-31"):
        compute_claim(debtor_kind="consumer", items=[ITEM], on=d(9999, 12, 31))


def test_empty_generator_rejected() -> None:
    with pytest.raises(InvalidInput, match="at least one invoice"):
        compute_claim(debtor_kind="consumer", items=(item for item in []), on=d(2026, 2, 1))


def test_generator_items_accepted() -> None:
    breakdown = compute_claim(debtor_kind="consumer", items=(item for item in [ITEM]), on=d(2026, 2, 1))

    assert breakdown.principal == D("100.00")


def test_unknown_debtor_kind_rejected() -> None:
    with pytest.raises(InvalidInput, match="'person'"):
        compute_claim(debtor_kind="person", items=[ITEM], on=d(2026, 2, 1))
