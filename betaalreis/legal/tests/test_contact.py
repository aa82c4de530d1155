"""Contact rules: contact hours, Sundays and holidays, and the weekly maximum."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from betaalreis.errors import InvalidInput
from betaalreis.legal.contact import (
    HoldReason,
    contact_week_start,
    decide_contact,
    is_contact_day,
    next_allowed_contact,
    weekly_contact_allowed,
)
from betaalreis.legal.policy import LegalSettings

AMS = ZoneInfo("Europe/Amsterdam")
UTC = dt.timezone.utc


def ams(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=AMS)


@pytest.mark.parametrize(
    ("proposed", "expected"),
    [
        # Friday 4 December 2026, 10:00: allowed.
        (ams(2026, 12, 4, 10, 0), ams(2026, 12, 4, 10, 0)),
        # 06:59 waits for 07:00 the same day.
        (ams(2026, 12, 4, 6, 59), ams(2026, 12, 4, 7, 0)),
        # 20:00 is already too late; Saturday 07:00 is allowed.
        (ams(2026, 12, 4, 20, 0), ams(2026, 12, 5, 7, 0)),
        (ams(2026, 12, 4, 19, 59), ams(2026, 12, 4, 19, 59)),
        # Saturday evening skips Sunday to Monday 07:00.
        (ams(2026, 12, 5, 21, 0), ams(2026, 12, 7, 7, 0)),
        # Christmas Eve evening skips both Christmas days and Sunday 27 December.
        (ams(2026, 12, 24, 20, 30), ams(2026, 12, 28, 7, 0)),
        # Ascension Day and the declared Friday after it, then Saturday.
        (ams(2026, 5, 14, 9, 0), ams(2026, 5, 16, 7, 0)),
        # 5 May is an Atw holiday every year.
        (ams(2027, 5, 5, 12, 0), ams(2027, 5, 8, 7, 0)),
    ],
)
def test_next_allowed_contact_cases(proposed: dt.datetime, expected: dt.datetime) -> None:
    assert next_allowed_contact(proposed) == expected


def test_utc_input_uses_amsterdam_hours() -> None:
    # 05:30 UTC in winter is 06:30 in Amsterdam: wait until 07:00 local.
    result = next_allowed_contact(dt.datetime(2026, 12, 4, 5, 30, tzinfo=UTC))

    assert result == ams(2026, 12, 4, 7, 0)
    assert result.tzinfo == AMS


def test_summer_time_contact_hours() -> None:
    # 18:30 UTC in July is 20:30 in Amsterdam: too late.
    assert next_allowed_contact(dt.datetime(2026, 7, 3, 18, 30, tzinfo=UTC)) == ams(2026, 7, 4, 7, 0)


@pytest.mark.usefixtures("english_reports")
def test_naive_time_rejected() -> None:
    with pytest.raises(InvalidInput, match="no time zone"):
        next_allowed_contact(dt.datetime(2026, 12, 4, 10, 0))


def test_custom_contact_hours() -> None:
    settings = LegalSettings(contact_start=dt.time(9, 0), contact_end=dt.time(17, 0))

    assert next_allowed_contact(ams(2026, 12, 4, 8, 0), settings) == ams(2026, 12, 4, 9, 0)
    assert next_allowed_contact(ams(2026, 12, 4, 17, 0), settings) == ams(2026, 12, 5, 9, 0)


def test_contact_days() -> None:
    assert is_contact_day(dt.date(2026, 12, 5))
    assert not is_contact_day(dt.date(2026, 12, 6))
    assert not is_contact_day(dt.date(2026, 1, 2))


def test_weekly_maximum() -> None:
    settings = LegalSettings(weekly_contact_maximum=2)

    assert weekly_contact_allowed(0, settings)
    assert weekly_contact_allowed(1, settings)
    assert not weekly_contact_allowed(2, settings)
    with pytest.raises(InvalidInput):
        weekly_contact_allowed(-1, settings)


def test_contact_week_starts_monday_midnight() -> None:
    assert contact_week_start(ams(2026, 12, 6, 23, 59)) == ams(2026, 11, 30, 0, 0)
    assert contact_week_start(ams(2026, 12, 7, 0, 0)) == ams(2026, 12, 7, 0, 0)


def test_decide_contact_weekly_maximum_moves_to_next_week() -> None:
    decision = decide_contact(ams(2026, 12, 4, 10, 0), contacts_this_week=3)

    assert decision.is_held
    assert decision.allowed_at == ams(2026, 12, 7, 7, 0)
    assert decision.reasons == (HoldReason.WEEKLY_MAXIMUM, HoldReason.OUTSIDE_CONTACT_HOURS)


def test_decide_contact_names_holiday() -> None:
    decision = decide_contact(ams(2026, 12, 25, 10, 0), contacts_this_week=0)

    assert decision.allowed_at == ams(2026, 12, 28, 7, 0)
    assert decision.reasons == (HoldReason.PUBLIC_HOLIDAY, HoldReason.SUNDAY)


def test_decide_contact_allowed_now() -> None:
    decision = decide_contact(ams(2026, 12, 4, 10, 0), contacts_this_week=0)

    assert not decision.is_held
    assert decision.reasons == ()
