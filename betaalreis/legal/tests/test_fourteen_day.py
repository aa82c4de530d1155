"""Dates of the 14-day letter: presumed receipt per channel and the term with the Atw extension."""

from __future__ import annotations

import datetime as dt
from types import MappingProxyType

import pytest

from betaalreis.errors import InvalidInput
from betaalreis.legal.fourteen_day import (
    fourteen_day_term,
    presumed_receipt_date,
    term_for_posted_letter,
)
from betaalreis.legal.policy import LegalSettings

d = dt.date

# Posted, presumed receipt, first day of term, fourteenth day, last day after Atw, costs from.
POSTED_LETTER_CASES = [
    (d(2026, 12, 4), d(2026, 12, 8), d(2026, 12, 9), d(2026, 12, 22), d(2026, 12, 22), d(2026, 12, 23)),
    (d(2026, 12, 10), d(2026, 12, 12), d(2026, 12, 13), d(2026, 12, 26), d(2026, 12, 28), d(2026, 12, 29)),
    (d(2026, 4, 30), d(2026, 5, 2), d(2026, 5, 3), d(2026, 5, 16), d(2026, 5, 18), d(2026, 5, 19)),
]


@pytest.mark.parametrize(
    ("posted", "received", "start", "nominal_end", "term_end", "costs_from"), POSTED_LETTER_CASES
)
def test_posted_letter_worked_examples(
    posted: dt.date,
    received: dt.date,
    start: dt.date,
    nominal_end: dt.date,
    term_end: dt.date,
    costs_from: dt.date,
) -> None:
    term = fourteen_day_term(posted, "letter")

    assert term.received_on == received
    assert term.term_start == start
    assert term.nominal_end == nominal_end
    assert term.term_end == term_end
    assert term.costs_due_from == costs_from
    assert not term.has_passed(term_end)
    assert term.has_passed(costs_from)


def test_post_skips_holidays_in_receipt() -> None:
    # Wednesday 13 May 2026: Thursday 14 (Ascension) and Friday 15 (declared
    # day) do not count, so the second delivery day is Tuesday 19 May.
    assert presumed_receipt_date(d(2026, 5, 13), "letter") == d(2026, 5, 19)


def test_email_received_on_delivery_day() -> None:
    term = fourteen_day_term(d(2026, 12, 4), "email")

    assert term.received_on == d(2026, 12, 4)
    assert term.term_start == d(2026, 12, 5)
    assert term.term_end == d(2026, 12, 18)


def test_receipt_days_configurable() -> None:
    settings = LegalSettings(receipt_days=MappingProxyType({"letter": 3, "email": 1}))

    assert presumed_receipt_date(d(2026, 12, 4), "letter", settings) == d(2026, 12, 9)
    assert presumed_receipt_date(d(2026, 12, 4), "email", settings) == d(2026, 12, 5)


def test_channel_without_receipt_days_rejected() -> None:
    with pytest.raises(InvalidInput, match="'sms'"):
        presumed_receipt_date(d(2026, 12, 4), "sms")


def test_term_as_timeline_data() -> None:
    data = fourteen_day_term(d(2026, 12, 10), "letter").as_data()

    assert data["term_start"] == "2026-12-13"
    assert data["term_end"] == "2026-12-28"
    assert data["costs_due_from"] == "2026-12-29"


def test_posted_letter_shortcut() -> None:
    term = term_for_posted_letter(d(2026, 4, 30))

    assert term.channel == "letter"
    assert term.last_day == d(2026, 5, 18)


def test_term_past_declared_years_flagged() -> None:
    from betaalreis.legal.calendar import declared_days

    last_year = declared_days().declared_through

    assert fourteen_day_term(dt.date(last_year, 6, 1), "letter").declared_days_on_file
    assert not fourteen_day_term(dt.date(last_year + 1, 6, 1), "letter").declared_days_on_file
    assert not fourteen_day_term(dt.date(last_year, 12, 30), "letter").declared_days_on_file


def test_term_before_atw_calendar_rejected() -> None:
    with pytest.raises(InvalidInput, match="2013-04-01"):
        fourteen_day_term(dt.date(2013, 4, 1), "letter")
