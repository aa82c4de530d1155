"""The Dutch calendar for statutory terms: public holidays of the Algemene termijnenwet.

The Atw (art. 3) names these public holidays: New Year's Day, Easter Monday,
Whit Monday, both Christmas days, Ascension Day, the day the King's birthday
is celebrated and 5 May. Good Friday counts the same, and the government can
declare further days equal by decree. This module computes the named days.
The declared days are data in `data/atw_holidays.toml`. The `holidays`
package lacks 5 May in most years and all declared days, so it is not used
for legal terms.

A term set by statute that ends on a Saturday, Sunday or such a holiday runs
on to the next day that is none of these (Atw art. 1).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from dateutil.easter import easter

DATA_FILE = Path(__file__).resolve().parent / "data" / "atw_holidays.toml"

# First year with Koningsdag; the calendar rejects earlier years.
FIRST_YEAR = 2014

SATURDAY = 5
SUNDAY = 6


@dataclass(frozen=True, slots=True)
class DeclaredDays:
    """The days declared equal to Atw holidays, and the years the data covers."""

    days: dict[dt.date, str]
    declared_from: int
    declared_through: int


@cache
def declared_days() -> DeclaredDays:
    """Load the declared days from the data file (once per process)."""
    with DATA_FILE.open("rb") as handle:
        data = tomllib.load(handle)

    days: dict[dt.date, str] = {}
    for entry in data["declared"]:
        day = entry["date"]
        if not isinstance(day, dt.date) or day in days:
            raise ValueError(f"{DATA_FILE}: invalid or repeated declared day {day!r}")
        days[day] = entry["name"]

    return DeclaredDays(days, int(data["declared_from"]), int(data["declared_through"]))


def kings_day(year: int) -> dt.date:
    """Return Koningsdag of `year`: 27 April, or 26 April when the 27th is a Sunday.

    The rule applies from 2014, the first year of King Willem-Alexander.
    Earlier years raise ValueError because Queen's Day followed other rules.
    """
    if year < FIRST_YEAR:
        raise ValueError(f"The Atw calendar covers the years from {FIRST_YEAR} on, not {year}")

    day = dt.date(year, 4, 27)
    if day.weekday() == SUNDAY:
        day -= dt.timedelta(days=1)
    return day


def atw_holidays(year: int) -> dict[dt.date, str]:
    """Return the Atw public holidays of `year` with their Dutch names, in date order.

    Includes Good Friday (art. 3 lid 2) and the declared days in the data
    file (art. 3 lid 3). Declared days outside the years the file covers are
    missing; see `declared_days()`.
    """
    return dict(_holidays_of_year(year))


@cache
def _holidays_of_year(year: int) -> dict[dt.date, str]:
    easter_sunday = easter(year)
    days = {
        dt.date(year, 1, 1): "Nieuwjaarsdag",
        easter_sunday - dt.timedelta(days=2): "Goede Vrijdag",
        easter_sunday + dt.timedelta(days=1): "Tweede Paasdag",
        kings_day(year): "Koningsdag",
        dt.date(year, 5, 5): "Bevrijdingsdag",
        easter_sunday + dt.timedelta(days=39): "Hemelvaartsdag",
        easter_sunday + dt.timedelta(days=50): "Tweede Pinksterdag",
        dt.date(year, 12, 25): "Eerste Kerstdag",
        dt.date(year, 12, 26): "Tweede Kerstdag",
    }

    for day, name in declared_days().days.items():
        if day.year == year:
            days.setdefault(day, name)

    return dict(sorted(days.items()))


def is_atw_holiday(day: dt.date) -> bool:
    """Return whether `day` is an Atw public holiday or a day declared equal to one."""
    return day in _holidays_of_year(day.year)


def is_working_day(day: dt.date) -> bool:
    """Return whether `day` is neither a Saturday, a Sunday nor an Atw holiday."""
    return day.weekday() < SATURDAY and not is_atw_holiday(day)


def next_working_day(day: dt.date) -> dt.date:
    """Return the first working day after `day`."""
    candidate = day + dt.timedelta(days=1)
    while not is_working_day(candidate):
        candidate += dt.timedelta(days=1)
    return candidate


def extend_statutory_term(last_day: dt.date) -> dt.date:
    """Return the last day of a statutory term after the Atw art. 1 extension.

    A term that would end on a Saturday, Sunday or Atw holiday ends on the
    next working day instead. Any other last day is returned unchanged.
    """
    if is_working_day(last_day):
        return last_day
    return next_working_day(last_day)


def statutory_term_end(first_day: dt.date, days: int) -> dt.date:
    """Return the last day of a statutory term of `days` days that starts on `first_day`.

    Applies Atw art. 1 (no end on a weekend or holiday) and art. 2 (a term of
    three days or more contains at least two working days). The Atw does not
    apply to terms of more than 90 days (art. 4), so those raise ValueError.
    """
    if not 1 <= days <= 90:
        raise ValueError(f"The Atw applies to terms of 1 to 90 days, not {days}")

    last_day = extend_statutory_term(first_day + dt.timedelta(days=days - 1))

    if days >= 3:
        while _count_working_days(first_day, last_day) < 2:
            last_day = next_working_day(last_day)

    return last_day


def _count_working_days(first_day: dt.date, last_day: dt.date) -> int:
    count = 0
    day = first_day
    while day <= last_day:
        if is_working_day(day):
            count += 1
        day += dt.timedelta(days=1)
    return count
