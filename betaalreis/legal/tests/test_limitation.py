"""Limitation period of a payment claim: five years from the due date or the latest interruption."""

from __future__ import annotations

import datetime as dt

from betaalreis.legal.limitation import add_years, barred_due_dates_before, check_limitation


def test_barred_five_years_after_day_after_due():
    check = check_limitation(dt.date(2015, 1, 9), [])

    assert check.barred_from == dt.date(2020, 1, 10)
    assert not check.is_possibly_barred(dt.date(2020, 1, 9))
    assert check.is_possibly_barred(dt.date(2020, 1, 10))


def test_latest_interruption_starts_new_period():
    check = check_limitation(dt.date(2015, 1, 9), [dt.date(2016, 3, 1), None, dt.date(2019, 6, 1)])

    assert check.last_interruption == dt.date(2019, 6, 1)
    assert check.barred_from == dt.date(2024, 6, 2)


def test_leap_day_moves_to_february_28():
    assert add_years(dt.date(2024, 2, 29), 5) == dt.date(2029, 2, 28)


def test_candidates_include_every_barred_due_date():
    day = dt.date(2027, 1, 7)
    before = barred_due_dates_before(day)

    for offset in range(-3, 4):
        due = before + dt.timedelta(days=offset)
        if check_limitation(due, []).is_possibly_barred(day):
            assert due < before
