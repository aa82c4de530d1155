"""Statutory interest on one invoice: periods across rate changes, yearly compounding, payments.

Rules (BW 6:119, 6:119a, 6:120):
- Interest runs per day from the first day of default up to and including
  the day of payment, so a payment lowers the base from the next day on.
- After each full year, counted from the first day of interest (not the
  calendar year), the interest of that year is added to the base and bears
  interest itself. A part added to an invoice later (`InvoiceInterest`)
  counts its years from its own first day of interest.
- A new rate applies to running interest from the day it takes effect.
- Amount of a period: base x rate x year fraction of its days. The statute
  sets no day count; the default is actual/365 (see `DayCount`).

Rounding: amounts are kept as exact fractions, so splitting a period into
steps never changes them. A year's interest is rounded half up to cents once,
when it is added to the base, and the last, partial year when the
computation ends. Each period shows its share of that rounded year: the
rounded running total of the year at its end minus the rounded running total
at its start. The shown periods therefore add up to the total, and each one
differs by at most a cent from its own amount rounded alone.

A compounding year that starts on 29 February ends on 28 February of a
common year, so the next year starts on 1 March (see `anniversary`).
"""

from __future__ import annotations

import calendar as stdlib_calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from betaalreis.legal.policy import DayCount
from betaalreis.legal.rates import RateKind, next_change_after, rate_on, weakest_status

ZERO = Decimal("0.00")
ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class InterestPeriod:
    """Interest on one invoice over consecutive days with one rate and one base."""

    invoice_number: str
    start: dt.date
    # Last day of the period, inclusive.
    end: dt.date
    days: int
    percent: Decimal
    base: Decimal
    # Amount before rounding, to 28 significant digits.
    amount: Decimal
    rate_status: str
    # The period's share of its year's rounded interest, see the module docstring.
    rounded_amount: Decimal


@dataclass(frozen=True, slots=True)
class Capitalisation:
    """Unpaid interest of one year added to an invoice's interest base."""

    invoice_number: str
    # First day on which the added interest bears interest itself.
    day: dt.date
    amount: Decimal


def exact_interest(
    base: Decimal, percent: Decimal, first_day: dt.date, last_day: dt.date, day_count: DayCount
) -> Fraction:
    """Return the interest on `base` at `percent` over `first_day` to `last_day` (inclusive), unrounded."""
    if last_day < first_day:
        return Fraction(0)

    if day_count is DayCount.ACTUAL_365:
        year_part = Fraction((last_day - first_day).days + 1, 365)
    else:
        year_part = Fraction(0)
        day = first_day
        while day <= last_day:
            year_end = min(last_day, dt.date(day.year, 12, 31))
            days_in_year = 366 if stdlib_calendar.isleap(day.year) else 365
            year_part += Fraction((year_end - day).days + 1, days_in_year)
            day = year_end + ONE_DAY

    return Fraction(base) * Fraction(percent) / 100 * year_part


def round_cents(amount: Fraction) -> Decimal:
    """Round an exact amount half up (away from zero) to cents, as `quantize` does."""
    cents = abs(amount) * 100
    rounded = int(cents) + (1 if cents - int(cents) >= Fraction(1, 2) else 0)
    return (Decimal(rounded if amount >= 0 else -rounded) / 100).quantize(Decimal("0.01"))


def to_decimal(amount: Fraction) -> Decimal:
    """Return an exact amount as a Decimal to 28 significant digits, for display."""
    return Decimal(amount.numerator) / Decimal(amount.denominator)


def anniversary(start: dt.date, years: int) -> dt.date:
    """Return the first day of the compounding year that begins `years` years after `start`.

    A year that starts on 29 February ends on 28 February of a common year,
    so the next one starts on 1 March. The statute does not settle this case.
    This reading never capitalises interest before a full year has passed,
    and BW 6:119 lid 2 adds interest to the base only after each full year.
    """
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return dt.date(start.year + years, 3, 1)


class InterestAccount:
    """The running statutory interest on one invoice.

    The account contains the unpaid principal, interest already added to the
    base, and the interest of the current compounding year. The caller moves
    it forward in steps that contain no rate change and no anniversary (see
    `next_boundary`), and applies payments and anniversaries between steps.
    """

    def __init__(
        self,
        invoice_number: str,
        principal: Decimal,
        first_day: dt.date,
        kind: RateKind,
        day_count: DayCount,
        *,
        compounding_from: dt.date | None = None,
    ) -> None:
        """Open the account with interest from `first_day`.

        `compounding_from` is the day from which the compounding years are
        counted when it differs from `first_day`: the real first day of
        default of an invoice whose interest is claimed only from a later day.
        """
        self.invoice_number = invoice_number
        self.first_day = first_day
        self.kind = kind
        self.day_count = day_count
        self.compounding_from = compounding_from or first_day

        self.principal_outstanding = principal
        self.capitalised_outstanding = ZERO
        # Interest of the current compounding year: exact, and what was paid of it.
        self.year_exact = Fraction(0)
        self.year_paid = ZERO
        # Rounded interest of the years already closed.
        self.closed_years_interest = ZERO
        self.years_closed = 0
        # Anniversaries of `compounding_from` that passed before `first_day`.
        self.years_skipped = 0
        while anniversary(self.compounding_from, self.years_skipped + 1) <= first_day:
            self.years_skipped += 1
        # First day of the current compounding year, and of the next one.
        self.year_start = first_day
        self.next_anniversary = anniversary(self.compounding_from, self.years_skipped + 1)

        self.periods: list[InterestPeriod] = []
        self.capitalisations: list[Capitalisation] = []
        # Exact amount of the last period, and the year's exact interest before it.
        self._last_period_exact = Fraction(0)
        self._year_exact_before_last_period = Fraction(0)

    @property
    def base(self) -> Decimal:
        return self.principal_outstanding + self.capitalised_outstanding

    @property
    def interest_total(self) -> Decimal:
        """Return all interest accrued so far, each year rounded to cents."""
        return self.closed_years_interest + round_cents(self.year_exact)

    @property
    def interest_outstanding(self) -> Decimal:
        return self.capitalised_outstanding + round_cents(self.year_exact) - self.year_paid

    def next_boundary(self, day: dt.date) -> dt.date | None:
        """Return the first day after `day` on which the rate or the base may change by itself."""
        if day < self.first_day:
            return self.first_day

        candidates = [self.next_anniversary]
        rate_change = next_change_after(self.kind, day)
        if rate_change is not None:
            candidates.append(rate_change)
        if self.day_count is DayCount.ACTUAL_ACTUAL:
            candidates.append(dt.date(day.year + 1, 1, 1))
        return min(candidate for candidate in candidates if candidate > day)

    def accrue(self, first_day: dt.date, last_day: dt.date) -> None:
        """Add the interest of `first_day` to `last_day` (inclusive).

        The caller guarantees that the range contains no rate change and no
        anniversary after its first day. Days before the account's first day
        accrue nothing.
        """
        first_day = max(first_day, self.first_day)
        if last_day < first_day or self.base <= 0:
            return

        rate = rate_on(self.kind, first_day)
        amount = exact_interest(self.base, rate.percent, first_day, last_day, self.day_count)
        self.year_exact += amount
        self._add_period(first_day, last_day, rate.percent, rate.status, amount)

    def close_year_if_due(self, day: dt.date) -> None:
        """Add the unpaid interest of the year to the base when `day` is an anniversary."""
        if day != self.next_anniversary:
            return

        year_interest = round_cents(self.year_exact)
        unpaid = year_interest - self.year_paid
        self.closed_years_interest += year_interest
        self.capitalised_outstanding += unpaid
        self.year_exact = Fraction(0)
        self.year_paid = ZERO
        self.years_closed += 1
        self.year_start = day
        self.next_anniversary = anniversary(
            self.compounding_from, self.years_skipped + self.years_closed + 1
        )

        if unpaid > 0:
            self.capitalisations.append(Capitalisation(self.invoice_number, day, unpaid))

    def pay_interest(self, amount: Decimal) -> Decimal:
        """Apply up to `amount` to unpaid interest, older years first, and return it."""
        from_capitalised = min(amount, self.capitalised_outstanding)
        self.capitalised_outstanding -= from_capitalised

        current_year_unpaid = round_cents(self.year_exact) - self.year_paid
        from_current_year = min(amount - from_capitalised, max(current_year_unpaid, ZERO))
        self.year_paid += from_current_year

        return from_capitalised + from_current_year

    def pay_principal(self, amount: Decimal) -> Decimal:
        """Apply up to `amount` to the unpaid principal and return the amount applied."""
        applied = min(amount, self.principal_outstanding)
        self.principal_outstanding -= applied
        return applied

    def _add_period(
        self, first_day: dt.date, last_day: dt.date, percent: Decimal, status: str, amount: Fraction
    ) -> None:
        """Record `amount`, which `accrue` already added to `year_exact`, as a period row."""
        days = (last_day - first_day).days + 1
        previous = self.periods[-1] if self.periods else None

        # Steps split by another invoice's events continue the same period.
        if (
            previous is not None
            and previous.end + ONE_DAY == first_day
            and previous.percent == percent
            and previous.base == self.base
            and first_day != self.year_start
        ):
            self._last_period_exact += amount
            start = previous.start
            days += previous.days
            status = weakest_status(previous.rate_status, status)
            self.periods.pop()
        else:
            self._last_period_exact = amount
            self._year_exact_before_last_period = self.year_exact - amount
            start = first_day

        rounded = round_cents(self.year_exact) - round_cents(self._year_exact_before_last_period)
        self.periods.append(
            InterestPeriod(
                self.invoice_number,
                start,
                last_day,
                days,
                percent,
                self.base,
                to_decimal(self._last_period_exact),
                status,
                rounded,
            )
        )


class InvoiceInterest:
    """The statutory interest on one invoice whose principal may contain parts added later.

    Each part, such as a raise of the invoice's amount, falls due on its own
    date and has its own `InterestAccount`. So its interest runs from its own
    first day and is added to its base after each full year counted from
    that day (art. 6:119 lid 2 and 6:119a lid 3 BW), not at the invoice's
    anniversary. The invoice's own account is the first. The claim run
    (`betaalreis.legal.claims`) moves it forward like one `InterestAccount`.
    Only `pay_principal` also takes the payment day, and `deferred_amount`
    returns the unpaid principal of parts that bear no interest yet.
    """

    def __init__(self, main: InterestAccount) -> None:
        self.main = main
        self.invoice_number = main.invoice_number
        self.first_day = main.first_day
        self.compounding_from = main.compounding_from
        # Later parts, ordered by their first day of interest.
        self.parts: list[InterestAccount] = []
        self._accounts = [main]

    def add_part(self, amount: Decimal, first_day: dt.date, *, compounding_from: dt.date) -> None:
        """Move `amount` of the invoice's principal to a part that bears interest from `first_day`.

        `compounding_from` is the part's real first day of default, when its
        interest is claimed only from a later day.
        """
        main = self.main
        part = InterestAccount(
            self.invoice_number, amount, first_day, main.kind, main.day_count, compounding_from=compounding_from
        )
        main.principal_outstanding -= amount
        self.parts.append(part)
        self.parts.sort(key=lambda account: account.first_day)
        self._accounts = [main, *self.parts]

    @property
    def principal_outstanding(self) -> Decimal:
        return sum((account.principal_outstanding for account in self._accounts), ZERO)

    def deferred_amount(self, after: dt.date) -> Decimal:
        """Return the unpaid principal of parts whose interest starts after `after`."""
        return sum((part.principal_outstanding for part in self.parts if part.first_day > after), ZERO)

    @property
    def interest_total(self) -> Decimal:
        return sum((account.interest_total for account in self._accounts), ZERO)

    @property
    def interest_outstanding(self) -> Decimal:
        return sum((account.interest_outstanding for account in self._accounts), ZERO)

    @property
    def periods(self) -> list[InterestPeriod]:
        return sorted(
            (period for account in self._accounts for period in account.periods),
            key=lambda period: period.start,
        )

    @property
    def capitalisations(self) -> list[Capitalisation]:
        return sorted(
            (entry for account in self._accounts for entry in account.capitalisations),
            key=lambda entry: entry.day,
        )

    def next_boundary(self, day: dt.date) -> dt.date | None:
        """Return the first day after `day` on which the rate or the base of any part may change by itself."""
        boundaries = [account.next_boundary(day) for account in self._accounts]
        return min((boundary for boundary in boundaries if boundary is not None), default=None)

    def accrue(self, first_day: dt.date, last_day: dt.date) -> None:
        for account in self._accounts:
            account.accrue(first_day, last_day)

    def close_year_if_due(self, day: dt.date) -> None:
        for account in self._accounts:
            account.close_year_if_due(day)

    def pay_interest(self, amount: Decimal) -> Decimal:
        """Apply up to `amount` to unpaid interest, the invoice's own first, then the parts', and return it."""
        applied = ZERO
        for account in self._accounts:
            applied += account.pay_interest(amount - applied)
        return applied

    def pay_principal(self, amount: Decimal, paid_on: dt.date) -> Decimal:
        """Apply up to `amount` paid on `paid_on` to the unpaid principal and return the amount applied.

        The invoice's own principal is paid first, then the parts that bear
        interest on `paid_on`, earliest first, then the others, latest first.
        That reading leaves the least interest to claim.
        """
        bearing = [self.main, *(part for part in self.parts if part.first_day <= paid_on)]
        waiting = [part for part in reversed(self.parts) if part.first_day > paid_on]
        applied = ZERO
        for account in (*bearing, *waiting):
            applied += account.pay_principal(amount - applied)
        return applied
