"""Template helpers of the debtor portal."""

import datetime as dt
from decimal import Decimal

from django import template
from django.utils import translation

from betaalreis.ledger.money import format_money, money_locale
from betaalreis.portal.dates import format_long_date, format_medium_date
from betaalreis.portal.sentences import with_full_stop

register = template.Library()


@register.simple_tag
def money(amount: Decimal, currency: str = "EUR") -> str:
    """Format an amount in the active language, for example `€ 1.234,56` in Dutch."""
    return format_money(amount, currency, translation.get_language() or "nl")


@register.simple_tag
def money_language_tag() -> str:
    """Return the BCP 47 tag of the locale that `money` formats in, such as `nl-NL`, for a script's Intl.NumberFormat."""
    return money_locale(translation.get_language() or "nl").replace("_", "-")


@register.filter
def money_text(amount: Decimal, currency: str = "EUR") -> str:
    return format_money(amount, currency, translation.get_language() or "nl")


@register.filter
def medium_date(value: dt.date) -> str:
    """Format a date in the active language with an abbreviated month, for example `9 okt 2026`."""
    return format_medium_date(value, translation.get_language() or "nl")


@register.filter
def long_date(value: dt.date) -> str:
    """Format a date in the active language with the month in full, for example `9 oktober 2026`."""
    return format_long_date(value, translation.get_language() or "nl")


@register.filter
def full_stop(value: str) -> str:
    """End a name that closes a sentence with one full stop, so "Acme B.V." gets no second one."""
    return with_full_stop(value)
