"""When a debtor may be contacted: contact hours, days without contact, a weekly maximum.

Defaults follow the Bki (Besluit kwaliteit incassodienstverlening, art. 4.2)
for collection agencies, which we apply to every creditor: no contact by any
channel between 20:00 and 07:00 Amsterdam time, and none on Sundays or Atw
holidays, including the days declared equal to them. Saturdays are allowed.
The weekly maximum counts contacts over all channels in a calendar week,
Monday 00:00 to Sunday 24:00 Amsterdam time.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.utils.translation import gettext

from betaalreis.errors import InvalidInput
from betaalreis.legal.calendar import is_atw_holiday
from betaalreis.legal.policy import LegalSettings

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SUNDAY = 6

# A year of consecutive blocked days cannot occur; the bound stops a loop on bad data.
MAX_DAYS_AHEAD = 366


class HoldReason(enum.StrEnum):
    """Reason that a contact cannot go out at the proposed moment."""

    OUTSIDE_CONTACT_HOURS = "outside_contact_hours"
    SUNDAY = "sunday"
    PUBLIC_HOLIDAY = "public_holiday"
    WEEKLY_MAXIMUM = "weekly_maximum"


@dataclass(frozen=True, slots=True)
class ContactDecision:
    """The earliest allowed moment for a contact, and why it differs from the proposed one."""

    proposed: dt.datetime
    allowed_at: dt.datetime
    # Empty when the contact may go out at the proposed moment.
    reasons: tuple[HoldReason, ...]

    @property
    def is_held(self) -> bool:
        return self.allowed_at != self.proposed


def is_contact_day(day: dt.date) -> bool:
    """Return whether contacts are allowed on `day` at all (not a Sunday or an Atw holiday)."""
    return day.weekday() != SUNDAY and not is_atw_holiday(day)


def next_allowed_contact(
    proposed: dt.datetime, settings: LegalSettings | None = None
) -> dt.datetime:
    """Return the first moment at or after `proposed` at which a contact is allowed.

    The result is in Amsterdam time. `proposed` must be timezone-aware;
    a naive datetime raises InvalidInput.
    """
    return _earliest_contact(proposed, settings or LegalSettings())[0]


def weekly_contact_allowed(contacts_this_week: int, settings: LegalSettings | None = None) -> bool:
    """Return whether a debtor with `contacts_this_week` contacts this week may get one more."""
    settings = settings or LegalSettings()
    if contacts_this_week < 0:
        raise InvalidInput(gettext(
            "Ongeldig aantal contacten %(count)s: gebruik 0 of meer."
        ) % {"count": contacts_this_week})
    return contacts_this_week < settings.weekly_contact_maximum


def contact_week_start(moment: dt.datetime) -> dt.datetime:
    """Return Monday 00:00 Amsterdam time of the week that contains `moment`.

    Count a debtor's contacts from this moment (inclusive) up to the same
    moment a week later (exclusive).
    """
    local = _to_amsterdam(moment)
    monday = local.date() - dt.timedelta(days=local.weekday())
    return dt.datetime.combine(monday, dt.time(0, 0), tzinfo=AMSTERDAM)


def decide_contact(
    proposed: dt.datetime,
    contacts_this_week: int,
    settings: LegalSettings | None = None,
) -> ContactDecision:
    """Return when a contact proposed for `proposed` may go out, and the reasons for any delay.

    `contacts_this_week` counts the debtor's contacts in the week of
    `proposed` (see `contact_week_start`). When the weekly maximum is reached,
    the contact moves to the first allowed moment of the next week. The caller
    then counts again for that week.
    """
    settings = settings or LegalSettings()
    reasons: list[HoldReason] = []
    moment = _to_amsterdam(proposed)

    if not weekly_contact_allowed(contacts_this_week, settings):
        reasons.append(HoldReason.WEEKLY_MAXIMUM)
        moment = contact_week_start(moment) + dt.timedelta(weeks=1)

    allowed_at, calendar_reasons = _earliest_contact(moment, settings)
    reasons.extend(reason for reason in calendar_reasons if reason not in reasons)

    return ContactDecision(proposed=proposed, allowed_at=allowed_at, reasons=tuple(reasons))


def _earliest_contact(
    proposed: dt.datetime, settings: LegalSettings
) -> tuple[dt.datetime, list[HoldReason]]:
    moment = _to_amsterdam(proposed)
    reasons: list[HoldReason] = []

    for _ in range(MAX_DAYS_AHEAD):
        day = moment.date()
        if day.weekday() == SUNDAY:
            reasons.append(HoldReason.SUNDAY)
        elif is_atw_holiday(day):
            reasons.append(HoldReason.PUBLIC_HOLIDAY)
        elif moment.time() < settings.contact_start:
            reasons.append(HoldReason.OUTSIDE_CONTACT_HOURS)
            return _at(day, settings.contact_start), _unique(reasons)
        elif moment.time() >= settings.contact_end:
            reasons.append(HoldReason.OUTSIDE_CONTACT_HOURS)
        else:
            return moment, _unique(reasons)

        moment = _at(day + dt.timedelta(days=1), settings.contact_start)

    raise InvalidInput(gettext(
        "Geen toegestaan contactmoment binnen %(days)s dagen na %(moment)s. "
        "Controleer de contacturen en de gegevens over feestdagen."
    ) % {"days": MAX_DAYS_AHEAD, "moment": proposed.isoformat()})


def _at(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=AMSTERDAM)


def _to_amsterdam(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(gettext(
            "Contactmoment %(moment)s heeft geen tijdzone. Geef een datetime met tijdzone."
        ) % {"moment": moment.isoformat()})
    return moment.astimezone(AMSTERDAM)


def _unique(reasons: list[HoldReason]) -> list[HoldReason]:
    return list(dict.fromkeys(reasons))
