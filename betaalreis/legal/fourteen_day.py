"""Dates of the 14-day letter (veertiendagenbrief) that a consumer must get before collection costs.

BW 6:96 lid 6: costs are owed only after the consumer was asked, without
result, to pay within 14 days starting the day after receipt of the letter.
The creditor must prove receipt, so the day of receipt is presumed per
channel (`LegalSettings.receipt_days`). For post the default follows what
courts presume for an ordinary letter: the second day after posting, not
counting Sundays, Mondays and Atw holidays. The 14-day term is a statutory
term, so the Algemene termijnenwet moves a last day on a weekend or holiday
to the next working day.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.utils.translation import gettext

from betaalreis.errors import InvalidInput
from betaalreis.legal.calendar import (
    FIRST_YEAR,
    declared_days,
    is_atw_holiday,
    statutory_term_end,
)
from betaalreis.legal.policy import POSTAL_CHANNELS, LegalSettings
from betaalreis.legal.validation import LAST_CLAIM_DATE

logger = logging.getLogger(__name__)

TERM_DAYS = 14
ONE_DAY = dt.timedelta(days=1)
MONDAY = 0
SUNDAY = 6


@dataclass(frozen=True, slots=True)
class FourteenDayTerm:
    """The dates of one 14-day letter."""

    channel: str
    sent_on: dt.date
    # Day the debtor is presumed to have received the letter.
    received_on: dt.date
    # First day of the term: the day after receipt.
    term_start: dt.date
    # Fourteenth day, before the Atw extension.
    nominal_end: dt.date
    # Last day to pay, after the Atw extension.
    term_end: dt.date
    # False when the term reaches a year after the last decree of declared Atw
    # days on file, so a declared day may be missing from the computation.
    declared_days_on_file: bool = True

    @property
    def costs_due_from(self) -> dt.date:
        """Return the first day on which collection costs are owed if the claim is still unpaid."""
        return self.term_end + ONE_DAY

    @property
    def last_day(self) -> dt.date:
        """Return the last day to pay, after the Atw extension (the same as `term_end`)."""
        return self.term_end

    def as_data(self) -> dict[str, str]:
        """Return the dates in ISO 8601, for the `data` of a timeline event."""
        return {
            "channel": self.channel,
            "sent_on": self.sent_on.isoformat(),
            "received_on": self.received_on.isoformat(),
            "term_start": self.term_start.isoformat(),
            "term_end": self.term_end.isoformat(),
            "costs_due_from": self.costs_due_from.isoformat(),
        }

    def has_passed(self, day: dt.date) -> bool:
        """Return whether the term is over on `day`, so costs may be charged from then on."""
        return day > self.term_end


def presumed_receipt_date(
    sent_on: dt.date, channel: str, settings: LegalSettings | None = None
) -> dt.date:
    """Return the day a 14-day letter sent on `sent_on` by `channel` is presumed received.

    Postal channels count only days with mail delivery: Sundays, Mondays and
    Atw holidays are skipped. Other channels count calendar days, and 0 days
    means the day of delivery. A channel without a setting raises InvalidInput.
    """
    settings = settings or LegalSettings()
    if channel not in settings.receipt_days:
        raise InvalidInput(gettext(
            "Voor kanaal %(channel)r is geen aantal dagen tot de vermoedelijke ontvangst ingesteld. "
            "Verstuur de veertiendagenbrief via een van %(channels)s of voeg het kanaal toe aan de "
            "ontvangstdagen van de crediteur."
        ) % {"channel": channel, "channels": sorted(settings.receipt_days)})
    days = settings.receipt_days[channel]

    if channel not in POSTAL_CHANNELS:
        return sent_on + dt.timedelta(days=days)

    day = sent_on
    counted = 0
    while counted < days:
        day += ONE_DAY
        if day.weekday() not in (SUNDAY, MONDAY) and not is_atw_holiday(day):
            counted += 1
    return day


def fourteen_day_term(
    sent_on: dt.date, channel: str, settings: LegalSettings | None = None
) -> FourteenDayTerm:
    """Return the dates of a 14-day letter sent on `sent_on` by `channel`.

    Raises InvalidInput for a day outside the years the Atw calendar covers.
    A term that reaches past the last year of declared Atw days on file is
    still computed, with `declared_days_on_file` False and a logged warning.
    """
    if not dt.date(FIRST_YEAR, 1, 1) <= sent_on <= LAST_CLAIM_DATE:
        raise InvalidInput(gettext(
            "Ongeldige datum van de veertiendagenbrief %(sent)s: de Atw-kalender loopt van %(first)s "
            "tot en met %(last)s. Bereken oudere termijnen met de hand."
        ) % {"sent": sent_on, "first": dt.date(FIRST_YEAR, 1, 1), "last": LAST_CLAIM_DATE})

    received_on = presumed_receipt_date(sent_on, channel, settings)
    term_start = received_on + ONE_DAY
    nominal_end = term_start + dt.timedelta(days=TERM_DAYS - 1)
    term_end = statutory_term_end(term_start, TERM_DAYS)

    declared_through = declared_days().declared_through
    on_file = term_end.year <= declared_through
    if not on_file:
        logger.warning(
            "14-day term runs past the declared Atw days on file",
            extra={"sent_on": sent_on.isoformat(), "declared_through": declared_through},
        )

    return FourteenDayTerm(
        channel=channel,
        sent_on=sent_on,
        received_on=received_on,
        term_start=term_start,
        nominal_end=nominal_end,
        term_end=term_end,
        declared_days_on_file=on_file,
    )


def term_for_posted_letter(
    posted_on: dt.date, settings: LegalSettings | None = None
) -> FourteenDayTerm:
    """Return the dates of a 14-day letter posted on `posted_on` as ordinary mail."""
    return fourteen_day_term(posted_on, "letter", settings)
