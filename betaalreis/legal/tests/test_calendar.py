"""The Atw calendar against the published 2026 and 2027 holiday lists and the `holidays` package."""

from __future__ import annotations

import datetime as dt

import holidays
import pytest
from dateutil.easter import easter

from betaalreis.legal.calendar import (
    atw_holidays,
    declared_days,
    extend_statutory_term,
    is_atw_holiday,
    is_working_day,
    kings_day,
    statutory_term_end,
)

d = dt.date

ATW_2026 = {
    d(2026, 1, 1), d(2026, 1, 2), d(2026, 4, 3), d(2026, 4, 6), d(2026, 4, 27), d(2026, 5, 5),
    d(2026, 5, 14), d(2026, 5, 15), d(2026, 5, 25), d(2026, 12, 25), d(2026, 12, 26),
}
ATW_2027 = {
    d(2027, 1, 1), d(2027, 3, 26), d(2027, 3, 29), d(2027, 4, 27), d(2027, 5, 5), d(2027, 5, 6),
    d(2027, 5, 7), d(2027, 5, 17), d(2027, 12, 25), d(2027, 12, 26),
}


@pytest.mark.parametrize(("year", "expected"), [(2026, ATW_2026), (2027, ATW_2027)])
def test_atw_holidays_match_published_list(year: int, expected: set[dt.date]) -> None:
    assert set(atw_holidays(year)) == expected


@pytest.mark.parametrize(("year", "expected"), [(2026, ATW_2026), (2027, ATW_2027)])
def test_holidays_package_misses_atw_days(year: int, expected: set[dt.date]) -> None:
    package_days = set(holidays.NL(years=year))

    missing = expected - package_days

    # 5 May and every declared day are missing from the package.
    assert d(year, 5, 5) in missing
    assert {day for day in declared_days().days if day.year == year} <= missing
    # The package adds Easter Sunday and Whit Sunday, which the Atw does not list.
    easter_sunday = easter(year)
    assert package_days - expected == {easter_sunday, easter_sunday + dt.timedelta(days=49)}


@pytest.mark.parametrize(
    ("year", "expected"),
    [(2025, d(2025, 4, 26)), (2026, d(2026, 4, 27)), (2014, d(2014, 4, 26)), (2031, d(2031, 4, 26))],
)
def test_kings_day_moves_from_sunday(year: int, expected: dt.date) -> None:
    assert kings_day(year) == expected


def test_kings_day_rejects_queens_day_years() -> None:
    with pytest.raises(ValueError, match="2014"):
        kings_day(2013)


def test_working_day_excludes_weekend_and_holidays() -> None:
    assert is_working_day(d(2026, 12, 4))
    assert not is_working_day(d(2026, 12, 5))
    assert not is_working_day(d(2026, 12, 6))
    assert not is_working_day(d(2026, 5, 15))
    assert is_atw_holiday(d(2028, 5, 26))
    assert not is_atw_holiday(d(2026, 5, 4))


@pytest.mark.parametrize(
    ("last_day", "expected"),
    [
        (d(2026, 12, 22), d(2026, 12, 22)),
        (d(2026, 12, 26), d(2026, 12, 28)),
        (d(2026, 5, 16), d(2026, 5, 18)),
        (d(2026, 5, 14), d(2026, 5, 18)),
        (d(2026, 12, 31), d(2026, 12, 31)),
        (d(2027, 1, 1), d(2027, 1, 4)),
    ],
)
def test_extend_statutory_term_cases(last_day: dt.date, expected: dt.date) -> None:
    assert extend_statutory_term(last_day) == expected


def test_short_term_gets_two_working_days() -> None:
    # Three days from Thursday 2026-05-14 (Ascension) cover only holidays and a
    # Saturday, so Atw art. 2 extends the term until it contains two working days.
    assert statutory_term_end(d(2026, 5, 14), 3) == d(2026, 5, 19)


def test_long_term_outside_atw() -> None:
    with pytest.raises(ValueError, match="90"):
        statutory_term_end(d(2026, 1, 1), 91)


def test_atw_holidays_returns_copy() -> None:
    days = atw_holidays(2026)
    days.clear()

    assert is_atw_holiday(d(2026, 1, 1))


def test_declared_days_data_covers_through_2028() -> None:
    data = declared_days()

    assert data.declared_through == 2028
    assert all(data.declared_from <= day.year <= data.declared_through for day in data.days)
