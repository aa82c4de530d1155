"""Parts of the bank import report: what each file covers, amounts per currency, and the review lines."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

from django.db.models import Count, DecimalField, Max, Min, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from betaalreis.banking.reason_text import reason_in_language
from betaalreis.banking.store import StoredStatement
from betaalreis.ledger.models import Payment, PaymentStatus
from betaalreis.ledger.money import format_report_money

ZERO = Decimal("0.00")
# The report lists at most this many payments sent to review; the admin's
# review queue lists them all.
MAX_REVIEW_LINES = 20
# Payment ids per IN (...) query, below SQLite's default limit of 999 parameters.
ID_BATCH = 900


def statement_lines(statements: list[StoredStatement]) -> list[str]:
    """Return one line per statement: creditor, account and booking period."""
    lines = []
    for statement in statements:
        if statement.first_booking is None or statement.last_booking is None:
            period = _("geen boekingen")
        else:
            period = f"{statement.first_booking.isoformat()}..{statement.last_booking.isoformat()}"
        lines.append(
            _("rekeningafschrift %(statement)s: crediteur %(creditor)s, rekening %(account)s, periode %(period)s") % {
                "statement": statement.statement_id or "?",
                "creditor": statement.creditor_slug,
                "account": statement.account,
                "period": period,
            }
        )
    return lines


def _batches(payment_ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(payment_ids), ID_BATCH):
        yield payment_ids[start:start + ID_BATCH]


def review_lines(payment_ids: list[int]) -> list[str]:
    """Return a line per payment of `payment_ids` in review (date, amount, payer, reason), at most MAX_REVIEW_LINES."""
    in_review: list[Payment] = []
    total = 0
    for batch in _batches(payment_ids):
        found = Payment.objects.filter(pk__in=batch, status=PaymentStatus.REVIEW).order_by("booking_date", "id")
        total += found.count()
        if len(in_review) < MAX_REVIEW_LINES:
            in_review += list(found[:MAX_REVIEW_LINES - len(in_review)])
    lines = [
        _("te beoordelen: %(date)s, %(amount)s, %(payer)s: %(reason)s") % {
            "date": payment.booking_date.isoformat(),
            "amount": format_report_money(payment.amount, payment.currency),
            "payer": payment.payer_name or _("betaler onbekend"),
            "reason": reason_in_language(payment.match_reason) or _("geen reden vastgelegd"),
        }
        for payment in in_review
    ]
    if total > len(in_review):
        rest = total - len(in_review)
        lines.append(ngettext(
            "… en nog %(count)d te beoordelen betaling; zie de beoordelingslijst in de backoffice",
            "… en nog %(count)d te beoordelen betalingen; zie de beoordelingslijst in de backoffice",
            rest,
        ) % {"count": rest})
    return lines


def waiting_lines(payment_ids: list[int], today: dt.date) -> list[str]:
    """Return a line naming how many of `payment_ids` are still new because they are booked after `today`, and when.

    Matching leaves such payments new (see `match_payments`), so they are in
    no other row of the report until a run on or after their booking date.
    """
    count = 0
    first: dt.date | None = None
    last: dt.date | None = None
    for batch in _batches(payment_ids):
        found = Payment.objects.filter(pk__in=batch, status=PaymentStatus.NEW, booking_date__gt=today).aggregate(
            count=Count("id"), first=Min("booking_date"), last=Max("booking_date")
        )
        if not found["count"]:
            continue
        count += found["count"]
        first = found["first"] if first is None else min(first, found["first"])
        last = found["last"] if last is None else max(last, found["last"])
    if first is None or last is None:
        return []

    dates = first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"
    return [ngettext(
        "%(count)d betaling is geboekt op %(date)s, na vandaag, en wacht op een run op of na die datum",
        "%(count)d betalingen zijn geboekt op %(date)s, na vandaag, en wachten op een run op of na die datum",
        count,
    ) % {"count": count, "date": dates}]


def amounts_per_currency(payment_ids: list[int]) -> dict[str, dict[str, Decimal]]:
    """Return, per report row and currency, the amounts of the new payments after matching.

    Used when one file contains payments in several currencies, where the
    matching report's totals would add up different currencies.
    """
    rows: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for batch in _batches(payment_ids):
        payments = Payment.objects.filter(pk__in=batch).annotate(
            allocated=Coalesce(Sum("allocations__amount"), Value(ZERO), output_field=DecimalField())
        )
        for payment in payments:
            if payment.amount < 0:
                row = "reversed" if payment.status == PaymentStatus.MATCHED else "reversals sent to review"
            elif payment.status == PaymentStatus.MATCHED:
                row = "matched automatically"
                rows["credit left on payments"][payment.currency] += payment.amount - payment.allocated
            elif payment.status == PaymentStatus.PARTLY_MATCHED:
                row = "matched partly"
            else:
                row = "sent to review"
            rows[row][payment.currency] += payment.amount
    return rows
