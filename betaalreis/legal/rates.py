"""Statutory interest rates and the VAT rate, loaded from `data/statutory_rates.toml`."""

from __future__ import annotations

import datetime as dt
import enum
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from django.utils.translation import gettext, pgettext_lazy

from betaalreis.errors import ConfigurationError, InvalidInput

DATA_FILE = Path(__file__).resolve().parent / "data" / "statutory_rates.toml"

# How far a row is checked, from best to weakest; the data file explains each.
RATE_STATUSES = ("primary", "secondary", "derived", "unconfirmed")


class RateKind(enum.StrEnum):
    """The tables in the data file."""

    # Wettelijke rente, BW 6:119: consumers and non-commercial claims.
    STATUTORY = "statutory"
    # Wettelijke handelsrente, BW 6:119a and 6:119b: commercial contracts.
    COMMERCIAL = "commercial"
    # The VAT rate added to collection costs under BIK art. 2 lid 3.
    VAT = "vat"


# The name of each table in problem texts, in the active language.
RATE_KIND_NAMES = {
    RateKind.STATUTORY: pgettext_lazy("rate table", "wettelijke rente"),
    RateKind.COMMERCIAL: pgettext_lazy("rate table", "wettelijke handelsrente"),
    RateKind.VAT: pgettext_lazy("rate table", "btw"),
}


@dataclass(frozen=True, slots=True)
class Rate:
    """One row of the table: a yearly percentage in force from `valid_from` to `valid_until`."""

    kind: RateKind
    valid_from: dt.date
    # Last day the rate applies, inclusive; None while no newer rate is known.
    valid_until: dt.date | None
    percent: Decimal
    status: str
    source: str

    @property
    def fraction(self) -> Decimal:
        return self.percent / 100

    def covers(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


@cache
def rate_table(kind: RateKind) -> tuple[Rate, ...]:
    """Return the rows of one kind in date order, checked for gaps and overlaps."""
    rows = tuple(sorted(_load()[kind], key=lambda rate: rate.valid_from))
    check_contiguous(rows)
    return rows


def check_contiguous(rows: tuple[Rate, ...]) -> None:
    """Raise ConfigurationError unless each row starts the day after the previous one ends.

    Only the last row may be open-ended.
    """
    for previous, current in zip(rows, rows[1:]):
        if previous.valid_until is None:
            raise ConfigurationError(
                f"{DATA_FILE}: the {previous.kind} rate from {previous.valid_from} has no "
                f"end date but is followed by the rate from {current.valid_from}. "
                "Set `until` on every row except the last."
            )
        expected = previous.valid_until + dt.timedelta(days=1)
        if current.valid_from != expected:
            problem = "a gap" if current.valid_from > expected else "an overlap"
            raise ConfigurationError(
                f"{DATA_FILE}: {problem} between the {previous.kind} rate ending "
                f"{previous.valid_until} and the one starting {current.valid_from}. "
                f"The next row must start on {expected}."
            )


def weakest_status(*statuses: str) -> str:
    """Return the least checked of `statuses`, for a result built from several rows."""
    return max(statuses, key=RATE_STATUSES.index)


def unconfirmed_rates(kind: RateKind, periods: Iterable[tuple[dt.date, dt.date]]) -> tuple[Rate, ...]:
    """Return the unconfirmed rows of `kind` in force on a day of any (first, last) period, in date order."""
    periods = list(periods)
    return tuple(
        rate
        for rate in rate_table(kind)
        if rate.status == "unconfirmed"
        and any(
            rate.valid_from <= last and (rate.valid_until is None or first <= rate.valid_until)
            for first, last in periods
        )
    )


def first_rate_day(kind: RateKind) -> dt.date:
    """Return the first day for which the table has a rate of `kind`."""
    return rate_table(kind)[0].valid_from


def rate_on(kind: RateKind, day: dt.date) -> Rate:
    """Return the rate of `kind` in force on `day`.

    Raises InvalidInput when `day` is before the first row of the table.
    """
    for rate in reversed(rate_table(kind)):
        if rate.valid_from <= day:
            return rate

    first = rate_table(kind)[0].valid_from
    raise InvalidInput(gettext(
        "Er is geen tarief voor %(kind)s bekend op %(day)s: de tabel in %(file)s begint op %(first)s. "
        "Voeg de oudere tarieven toe aan de tabel of begin de berekening later."
    ) % {"kind": RATE_KIND_NAMES[kind], "day": day, "file": DATA_FILE.name, "first": first})


def next_change_after(kind: RateKind, day: dt.date) -> dt.date | None:
    """Return the first day after `day` on which another row of `kind` starts, if any."""
    for rate in rate_table(kind):
        if rate.valid_from > day:
            return rate.valid_from
    return None


@cache
def _load() -> dict[RateKind, list[Rate]]:
    with DATA_FILE.open("rb") as handle:
        data = tomllib.load(handle, parse_float=Decimal)

    tables: dict[RateKind, list[Rate]] = {}
    for kind in RateKind:
        rows = []
        for entry in data.get(str(kind), []):
            rows.append(_parse_row(kind, entry))
        if not rows:
            raise ConfigurationError(f"{DATA_FILE}: no rows for the {kind} rate.")
        tables[kind] = rows
    return tables


def _parse_row(kind: RateKind, entry: dict[str, object]) -> Rate:
    valid_from = entry.get("from")
    valid_until = entry.get("until")
    percent = entry.get("percent")
    status = entry.get("status")

    if not isinstance(valid_from, dt.date) or not (
        valid_until is None or isinstance(valid_until, dt.date)
    ):
        raise ConfigurationError(
            f"{DATA_FILE}: a {kind} row has an invalid `from` or `until`: {entry}. "
            "Use dates like 2026-07-01."
        )
    if not isinstance(percent, Decimal) or not Decimal(0) <= percent < Decimal(100):
        raise ConfigurationError(
            f"{DATA_FILE}: the {kind} row from {valid_from} has an invalid percent "
            f"{percent!r}. Use a number from 0 to 100, like 4.00."
        )
    if status not in RATE_STATUSES:
        raise ConfigurationError(
            f"{DATA_FILE}: the {kind} row from {valid_from} has status {status!r}; "
            f"use one of {', '.join(RATE_STATUSES)}."
        )
    if valid_until is not None and valid_until < valid_from:
        raise ConfigurationError(
            f"{DATA_FILE}: the {kind} row from {valid_from} ends before it starts. "
            "Correct its `until`."
        )

    return Rate(
        kind=kind,
        valid_from=valid_from,
        valid_until=valid_until,
        percent=percent,
        status=str(status),
        source=str(entry.get("source", "")),
    )
