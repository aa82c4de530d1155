"""The day a planned message reaches the debtor, for the contact limits of one a day and a few a week.

A run plans a message for its run day. The contact rules may delay it to
a later moment (`Communication.not_before`), because of a Sunday, a public
holiday, the hours before the creditor's contact hours, or a week that
already had its maximum of contacts. The debtor receives it on the day of
that moment. The limits count messages by that day, so a message held from
Sunday to Monday counts for Monday and for Monday's week.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

# How long before its send day a held message can have been planned: a
# week for the weekly maximum, plus a few days of Sundays and holidays.
# Queries bound the run day by it, so they use the (creditor, run_date) index.
HELD_LOOKBACK = dt.timedelta(days=14)


def sent_between(first: dt.date, last: dt.date) -> Q:
    """Return a filter for Communication rows that reach the debtor from `first` to `last`, both included.

    Combine it with `run_date__gte=first - HELD_LOOKBACK` and
    `run_date__lte=last`. Dates of `not_before` are days in Amsterdam.
    """
    return Q(not_before__isnull=True, run_date__gte=first, run_date__lte=last) | Q(
        not_before__date__gte=first, not_before__date__lte=last
    )


def sent_on_or_waiting_after(day: dt.date) -> Q:
    """Return a filter for Communication rows that reach the debtor on `day`, or that wait to go out after it.

    Combine it with `run_date__gte=day - HELD_LOOKBACK` and `run_date__lte=day`,
    and leave out cancelled and failed messages.
    """
    return Q(not_before__isnull=True, run_date=day) | Q(not_before__date__gte=day)
