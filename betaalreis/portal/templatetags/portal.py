"""Template helpers of the debtor portal."""

from decimal import Decimal

from django import template
from django.utils import translation

from betaalreis.ledger.money import format_money

register = template.Library()


@register.simple_tag
def money(amount: Decimal, currency: str = "EUR") -> str:
    """Format an amount in the active language, for example `€ 1.234,56` in Dutch."""
    return format_money(amount, currency, translation.get_language() or "nl")


@register.filter
def money_text(amount: Decimal, currency: str = "EUR") -> str:
    return format_money(amount, currency, translation.get_language() or "nl")
