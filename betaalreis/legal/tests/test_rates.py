"""The statutory rate table: continuity, lookups and the marks on unconfirmed rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from betaalreis.errors import ConfigurationError, InvalidInput
from betaalreis.legal.rates import (
    Rate,
    RateKind,
    check_contiguous,
    next_change_after,
    rate_on,
    rate_table,
)

d = dt.date


@pytest.mark.parametrize("kind", list(RateKind))
def test_table_has_no_gaps_or_overlaps(kind: RateKind) -> None:
    rows = rate_table(kind)

    for previous, current in zip(rows, rows[1:]):
        assert previous.valid_until is not None, f"{kind} row {previous.valid_from} is open-ended"
        assert current.valid_from == previous.valid_until + dt.timedelta(days=1), (
            f"{kind}: {previous.valid_until} is not followed by {current.valid_from}"
        )
    assert rows[-1].valid_until is None


@pytest.mark.parametrize("kind", list(RateKind))
def test_every_row_names_a_source(kind: RateKind) -> None:
    for row in rate_table(kind):
        assert row.source, f"{kind} row from {row.valid_from} has no source"


def _row(start: dt.date, end: dt.date | None) -> Rate:
    return Rate(RateKind.STATUTORY, start, end, Decimal("2"), "primary", "test")


def test_check_contiguous_rejects_gap() -> None:
    with pytest.raises(ConfigurationError, match="a gap"):
        check_contiguous((_row(d(2020, 1, 1), d(2020, 6, 30)), _row(d(2020, 7, 2), None)))


def test_check_contiguous_rejects_overlap() -> None:
    with pytest.raises(ConfigurationError, match="an overlap"):
        check_contiguous((_row(d(2020, 1, 1), d(2020, 6, 30)), _row(d(2020, 6, 30), None)))


def test_check_contiguous_rejects_open_row_in_middle() -> None:
    with pytest.raises(ConfigurationError, match="no end date"):
        check_contiguous((_row(d(2020, 1, 1), None), _row(d(2020, 7, 1), None)))


@pytest.mark.parametrize(
    ("kind", "day", "percent"),
    [
        (RateKind.STATUTORY, d(2014, 12, 31), "3.00"),
        (RateKind.STATUTORY, d(2015, 1, 1), "2.00"),
        (RateKind.STATUTORY, d(2023, 7, 1), "6.00"),
        (RateKind.STATUTORY, d(2024, 12, 31), "7.00"),
        (RateKind.STATUTORY, d(2025, 1, 1), "6.00"),
        (RateKind.STATUTORY, d(2026, 1, 1), "4.00"),
        (RateKind.COMMERCIAL, d(2014, 7, 1), "8.15"),
        (RateKind.COMMERCIAL, d(2016, 7, 1), "8.00"),
        (RateKind.COMMERCIAL, d(2023, 1, 1), "10.50"),
        (RateKind.COMMERCIAL, d(2024, 7, 1), "12.25"),
        (RateKind.COMMERCIAL, d(2025, 6, 30), "11.15"),
        (RateKind.COMMERCIAL, d(2025, 7, 1), "10.15"),
        (RateKind.COMMERCIAL, d(2026, 7, 1), "10.40"),
        (RateKind.VAT, d(2026, 12, 4), "21.00"),
    ],
)
def test_rate_on_known_days(kind: RateKind, day: dt.date, percent: str) -> None:
    assert rate_on(kind, day).percent == Decimal(percent)


@pytest.mark.parametrize(
    ("kind", "start"),
    [
        (RateKind.STATUTORY, d(2025, 7, 1)),
        (RateKind.STATUTORY, d(2026, 7, 1)),
        (RateKind.COMMERCIAL, d(2026, 7, 1)),
    ],
)
def test_unchecked_rows_marked_unconfirmed(kind: RateKind, start: dt.date) -> None:
    assert rate_on(kind, start).status == "unconfirmed"


@pytest.mark.usefixtures("english_reports")
def test_rate_before_table_rejected() -> None:
    with pytest.raises(InvalidInput, match="starts on 2012-07-01"):
        rate_on(RateKind.STATUTORY, d(2012, 6, 30))


def test_next_change_after_skips_to_next_row() -> None:
    assert next_change_after(RateKind.COMMERCIAL, d(2025, 6, 15)) == d(2025, 7, 1)
    assert next_change_after(RateKind.COMMERCIAL, d(2026, 7, 1)) is None
