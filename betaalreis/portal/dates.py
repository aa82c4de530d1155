"""Dates as the debtor portal and its PDFs write them, formatted by babel.

Babel follows the Unicode CLDR data, so Dutch month names and their
abbreviations are lower case ("9 okt 2026"), which Django's own `date`
filter does not guarantee for every language.
"""

from __future__ import annotations

import datetime as dt

from babel.dates import format_date


def _locale(language: str) -> str:
    return "en_GB" if language == "en" else "nl_NL"


def format_medium_date(value: dt.date, language: str) -> str:
    """Format a date with an abbreviated month: 9 okt 2026, or 9 Oct 2026 in English."""
    return format_date(value, "d MMM y", locale=_locale(language))


def format_long_date(value: dt.date, language: str) -> str:
    """Format a date with the month in full: 9 oktober 2026, or 9 October 2026 in English."""
    return format_date(value, "long", locale=_locale(language))
