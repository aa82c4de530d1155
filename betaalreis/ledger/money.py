"""Money: a Decimal amount with an ISO 4217 currency, never a float."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency, format_decimal, get_minus_sign_symbol, get_plus_sign_symbol
from django.utils import translation

CENT = Decimal("0.01")


# The lexical form of XML Schema's xsd:decimal, which UBL amounts use: an
# optional sign, digits and an optional decimal point ("12", "12.", ".5").
# Decimal() also reads "1e3", "NaN" and "Infinity", which no invoice or
# command line means as an amount.
_PLAIN_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def parse_plain_decimal(text: str) -> Decimal:
    """Parse `text` as a plain decimal such as 1234.56 or -0.5.

    Raises ValueError for exponent notation, NaN, Infinity, thousands
    separators, a decimal comma and anything else that is not one.
    """
    stripped = text.strip()
    if not _PLAIN_DECIMAL.fullmatch(stripped):
        raise ValueError(f"Not a plain decimal number: {text!r}.")
    return Decimal(stripped)


def quantize(amount: Decimal) -> Decimal:
    """Round to cents, half up, as Dutch invoices and the law round."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str = "EUR"

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"Money amount must be a Decimal, got {type(self.amount).__name__}")
        if len(self.currency) != 3 or not self.currency.isupper():
            raise ValueError(f"Invalid ISO 4217 currency code: {self.currency!r}")

    def __add__(self, other: Money) -> Money:
        self._check_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def _check_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"Cannot combine {self.currency} and {other.currency} amounts")

    def format(self, locale: str = "nl_NL") -> str:
        """Format for people, for example `€ 1.234,56` in nl_NL."""
        return format_currency(self.amount, self.currency, locale=locale)


_DUTCH_SEPARATORS = str.maketrans(",.", ".,")


def format_money(amount: Decimal, currency: str = "EUR", language: str = "nl") -> str:
    """Format an amount for a message in the debtor's language."""
    if currency == "EUR" and language == "nl" and amount.is_finite() and not amount.is_signed() and amount.as_tuple().exponent >= -2:
        # The common case without Babel, which costs about 60 µs a call and
        # bank matching formats one amount per allocation. Babel 2.x gives the
        # same text for nl_NL: "€", a no-break space, "." for thousands.
        return "€\xa0" + f"{amount:,.2f}".translate(_DUTCH_SEPARATORS)
    return format_currency(amount, currency, locale=money_locale(language))


def money_locale(language: str) -> str:
    """Return the Babel locale that `format_money` formats amounts in for `language`."""
    return "nl_NL" if language == "nl" else "en_GB"


def format_report_money(amount: Decimal, currency: str, *, signed: bool = False) -> str:
    """Format an amount for a report or problem text in the active language: "€ 1.234,56" in Dutch.

    Digits beyond the currency's cents are kept, so a difference of a tenth of
    a cent still shows. With `signed`, a positive amount gets a plus sign
    where a negative one has its minus ("€ +5,00", "+€5.00"). Without a
    currency the amount is formatted as a number with two decimals.
    """
    language = translation.get_language() or ""
    locale = "en_GB" if language.startswith("en") else "nl_NL"
    positive_signed = signed and amount > 0
    value = -amount if positive_signed else amount
    if currency:
        text = format_currency(value, currency, locale=locale, decimal_quantization=False)
    else:
        text = format_decimal(value, format="#,##0.00", locale=locale, decimal_quantization=False)
    if positive_signed:
        text = text.replace(get_minus_sign_symbol(locale), get_plus_sign_symbol(locale), 1)
    return text
