"""Amounts and dates as Dutch and English spreadsheets write them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from betaalreis.imports.values import (
    COMMA,
    POINT,
    ValueProblem,
    amount_from_number,
    decide_decimal_separator,
    decimal_evidence,
    parse_amount,
    parse_date,
)

# These tests check the English wording of problem texts and notes.
pytestmark = pytest.mark.usefixtures("english_reports")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.234,56", COMMA),
        ("12,5", COMMA),
        ("1.234.567", COMMA),
        ("-50,00", COMMA),
        ("+31070,11", COMMA),
        ("1,234.56", POINT),
        ("4965.8", POINT),
        ("1,234,567", POINT),
        ("€ 1.234,56", COMMA),
        ("1.234", None),
        ("1,234", None),
        ("12", None),
        ("abc", None),
    ],
)
def test_decimal_evidence(raw: str, expected: str | None) -> None:
    assert decimal_evidence(raw) == expected


def test_column_separator_from_one_telling_value() -> None:
    assert decide_decimal_separator(["1.234", "12", "99,95"]) == COMMA
    assert decide_decimal_separator(["1,234", "0.5"]) == POINT
    assert decide_decimal_separator(["1.234", "12"]) is None


def test_column_mixing_separators_rejected() -> None:
    with pytest.raises(ValueProblem, match="mixes decimal comma"):
        decide_decimal_separator(["1.234,56", "1,234.56"])


@pytest.mark.parametrize(
    ("raw", "separator", "expected"),
    [
        ("1.234,56", COMMA, "1234.56"),
        ("1234,5", COMMA, "1234.50"),
        ("-50,00", COMMA, "-50.00"),
        ("50,00-", COMMA, "-50.00"),
        ("(12,00)", COMMA, "-12.00"),
        ("€ 1.234,56", COMMA, "1234.56"),
        ("1.234", COMMA, "1234.00"),
        ("1,234.56", POINT, "1234.56"),
        ("1,234", POINT, "1234.00"),
        ("25717.69", POINT, "25717.69"),
        ("12", None, "12.00"),
        ("0.000", POINT, "0.00"),
        ("EUR 10,50", COMMA, "10.50"),
    ],
)
def test_parse_amount(raw: str, separator: str | None, expected: str) -> None:
    assert parse_amount(raw, separator) == Decimal(expected)


@pytest.mark.parametrize(
    ("raw", "separator", "problem"),
    [
        ("1.234", None, "cannot tell"),
        ("12,345", None, "cannot tell"),
        ("1.23,45", COMMA, "groups of three"),
        ("12,345", COMMA, "more than two decimals"),
        ("abc", COMMA, "not an amount"),
        ("1,2,3", COMMA, "more than one decimal separator"),
    ],
)
def test_parse_amount_rejects(raw: str, separator: str | None, problem: str) -> None:
    with pytest.raises(ValueProblem, match=problem):
        parse_amount(raw, separator)


@given(st.decimals(min_value=Decimal("-9999999.99"), max_value=Decimal("9999999.99"), places=2))
def test_amount_round_trip_both_formats(amount: Decimal) -> None:
    sign = "-" if amount < 0 else ""
    integer, fraction = f"{abs(amount):.2f}".split(".")
    grouped = f"{int(integer):,}"
    dutch = f"{sign}{grouped.replace(',', '.')},{fraction}"
    english = f"{sign}{grouped}.{fraction}"

    assert parse_amount(dutch, COMMA) == amount
    assert parse_amount(english, POINT) == amount


def test_amount_from_spreadsheet_float() -> None:
    assert amount_from_number(0.1 + 0.2) == Decimal("0.30")
    assert amount_from_number(25717.69) == Decimal("25717.69")
    assert amount_from_number(12) == Decimal("12.00")
    with pytest.raises(ValueProblem, match="more than two decimals"):
        amount_from_number(1.005001)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-02-06", dt.date(2024, 2, 6)),
        ("2024-02-06 00:00:00", dt.date(2024, 2, 6)),
        ("2024-02-06T00:00:00", dt.date(2024, 2, 6)),
        ("20230523", dt.date(2023, 5, 23)),
        ("06-02-2024", dt.date(2024, 2, 6)),
        ("6-2-2024", dt.date(2024, 2, 6)),
        ("06/02/2024", dt.date(2024, 2, 6)),
        ("6.2.2024", dt.date(2024, 2, 6)),
    ],
)
def test_parse_date(raw: str, expected: dt.date) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("01/04/20", "two-digit year"),
        ("31-02-2024", "not a real date"),
        ("next week", "not a date"),
        ("2024-13-01", "not a real date"),
        ("10/15/2026", "if the file writes the month first, set date_format"),
    ],
)
def test_parse_date_rejects(raw: str, problem: str) -> None:
    with pytest.raises(ValueProblem, match=problem):
        parse_date(raw)


def test_parse_date_with_mapping_format() -> None:
    assert parse_date("02/06/2024", "%m/%d/%Y") == dt.date(2024, 2, 6)
    with pytest.raises(ValueProblem, match="does not match the date format"):
        parse_date("2024-02-06", "%m/%d/%Y")


@pytest.mark.parametrize("raw", ["99999999999999,99", "1.000.000.000.000,00", "-1000000000000", "1" * 40])
def test_amount_beyond_ledger_rejected(raw: str) -> None:
    with pytest.raises(ValueProblem, match="maximum amount of 999,999,999,999.99"):
        parse_amount(raw, COMMA)


def test_largest_ledger_amount_read() -> None:
    assert parse_amount("999.999.999.999,99", COMMA) == Decimal("999999999999.99")


@pytest.mark.parametrize("value", [1e15, -1e30, Decimal("1E+40")])
def test_number_beyond_ledger_rejected(value: float | Decimal) -> None:
    with pytest.raises(ValueProblem, match="maximum amount"):
        amount_from_number(value)


@pytest.mark.parametrize("raw", ["31-12-9999", "0001-01-01", "01-01-1899", "2200-01-01"])
def test_date_out_of_range_rejected(raw: str) -> None:
    with pytest.raises(ValueProblem, match="outside the years 1900 to 2199"):
        parse_date(raw)


def test_date_format_out_of_range_rejected() -> None:
    with pytest.raises(ValueProblem, match="outside the years"):
        parse_date("31.12.9999", "%d.%m.%Y")
