"""The limitation period (verjaring) of a payment claim under Dutch law.

A claim for payment under a contract is time-barred five years after the
start of the day after it became due (art. 3:307 lid 1 BW). A written
reminder (aanmaning) interrupts the period (stuiting, art. 3:317 lid 1 BW),
and so does an acknowledgement by the debtor, such as a partial payment
(art. 3:318 BW). After an interruption a new five-year period starts on the
next day (art. 3:319 lid 1 BW).

A time-barred claim still exists, but the debtor can invoke the limitation
and the court will then reject it. Betaalreis has a record only of the
reminders it sent and the payments it recorded, and an interruption outside
it may have kept the claim alive. So the run holds such invoices for review
and names them instead of treating them as lost.

NOTE: other periods are not checked: two years for a consumer's purchase of
goods (art. 7:28 BW), and five years for each interest amount on its own
(art. 3:308 BW), which can shorten the interest a claim may state.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

LIMITATION_YEARS = 5


def add_years(day: dt.date, years: int) -> dt.date:
    """Return the same calendar day `years` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True, slots=True)
class LimitationCheck:
    """Whether an invoice may be time-barred on a day, and from which event the period runs."""

    due_date: dt.date
    # The latest interruption on record: a written reminder or a payment.
    last_interruption: dt.date | None
    # The first day on which the claim is time-barred unless something interrupted it.
    barred_from: dt.date

    def is_possibly_barred(self, day: dt.date) -> bool:
        return day >= self.barred_from


def check_limitation(due_date: dt.date, interruptions: list[dt.date | None]) -> LimitationCheck:
    """Return when the period that runs from the due date or the latest interruption ends.

    The period starts the day after the due date or after the interruption,
    and ends after five years, so the claim is barred from that anniversary.
    """
    known = [day for day in interruptions if day is not None]
    last_interruption = max(known) if known else None
    start = max(due_date, last_interruption) if last_interruption else due_date
    barred_from = add_years(start + dt.timedelta(days=1), LIMITATION_YEARS)
    return LimitationCheck(due_date, last_interruption, barred_from)


def barred_due_dates_before(day: dt.date) -> dt.date:
    """Return a day such that only invoices due before it can be time-barred on `day`.

    It leaves a day of margin for 29 February, so callers check these
    invoices with `check_limitation` and skip the others without a query.
    """
    return add_years(day, -LIMITATION_YEARS) + dt.timedelta(days=1)
