"""Reading amounts and dates as Dutch and English spreadsheets write them.

Amounts come as `1.234,56` (decimal comma) or `1,234.56` (decimal point),
with or without thousands separators. A single value like `1.234` does not
show which one it is, so the separator is decided once per column from the
values that show it. In a column where no value shows it, such values are
rejected.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.utils.formats import number_format
from django.utils.translation import gettext

from betaalreis.ledger.models import MONEY
from betaalreis.ledger.money import CENT, format_report_money

COMMA = ","
POINT = "."

# Spaces, currency signs and codes that may stand around an amount.
_AMOUNT_NOISE = re.compile(r"[\s\u00a0\u202f€$£]|EUR|USD|GBP", re.IGNORECASE)
_AMOUNT_SHAPE = re.compile(r"^[+-]?[0-9][0-9.,]*$")
# A separator followed by one or two digits at the end is a decimal separator.
_DECIMAL_TAIL = re.compile(r"([.,])[0-9]{1,2}$")


# The largest amount the ledger's money columns store (decimal with 14 digits, 2 after the point).
MAX_AMOUNT = Decimal(10) ** (MONEY["max_digits"] - MONEY["decimal_places"]) - CENT
# Dates outside these years are typing errors (0226 for 2026), and a date
# near 9999-12-31 overflows when a payment term is added to it.
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2199, 12, 31)


class ValueProblem(ValueError):
    """A cell value that cannot be read. The message states the problem and the fix.

    Messages are translated when raised, so they are in the language of the report.
    """


def format_amount(amount: Decimal) -> str:
    """Return an amount as the active language writes it, with Babel: 1.234,56 in Dutch, 1,234.56 in English."""
    return format_report_money(amount, "")


def check_amount_size(amount: Decimal) -> Decimal:
    """Return `amount`, or raise ValueProblem when the ledger cannot store it."""
    if abs(amount) > MAX_AMOUNT:
        maximum = number_format(MAX_AMOUNT, 2, use_l10n=True, force_grouping=True)
        raise ValueProblem(gettext(
            "is meer dan het hoogste bedrag, %(maximum)s; controleer of deze kolom bedragen bevat "
            "en of het decimaalteken goed is gelezen"
        ) % {"maximum": maximum})
    return amount


def _outside_years() -> str:
    return gettext("valt buiten de jaren %(first)d tot en met %(last)d; verbeter het jaartal") % {
        "first": MIN_DATE.year, "last": MAX_DATE.year,
    }


def check_date_range(date: dt.date) -> dt.date:
    """Return `date`, or raise ValueProblem when it lies outside MIN_DATE to MAX_DATE."""
    if not MIN_DATE <= date <= MAX_DATE:
        raise ValueProblem(_outside_years())
    return date


def _clean_amount(raw: str) -> tuple[str, bool]:
    """Strip noise and the sign, and return the digits and whether the amount is negative."""
    text = _AMOUNT_NOISE.sub("", raw)
    negative = False
    if text.startswith("(") and text.endswith(")"):
        text, negative = text[1:-1], True
    if text.endswith("-"):
        text, negative = text[:-1], True
    if text.startswith(("-", "+")):
        negative = text[0] == "-"
        text = text[1:]
    return text, negative


def decimal_evidence(raw: str) -> str | None:
    """Return COMMA or POINT when `raw` shows its decimal separator, else None.

    `1.234,56`, `12,5` and `1.234.567` show a decimal comma; `1,234.56`,
    `4965.8` and `1,234,567` show a decimal point. `1.234`, `1,234` and `12`
    show nothing.
    """
    text, _ = _clean_amount(raw.strip())
    if not _AMOUNT_SHAPE.match(text):
        return None

    has_comma = COMMA in text
    has_point = POINT in text
    if has_comma and has_point:
        return COMMA if text.rfind(COMMA) > text.rfind(POINT) else POINT
    if text.count(POINT) > 1:
        return COMMA
    if text.count(COMMA) > 1:
        return POINT

    tail = _DECIMAL_TAIL.search(text)
    if tail:
        return tail.group(1)
    return None


def decide_decimal_separator(values: Iterable[str]) -> str | None:
    """Return the decimal separator that the values of one column show.

    Returns None when no value shows it. Raises ValueProblem when some values
    show a comma and others a point, naming one of each.
    """
    seen: dict[str, str] = {}
    for raw in values:
        evidence = decimal_evidence(raw)
        if evidence is not None:
            seen.setdefault(evidence, raw)
    if len(seen) > 1:
        raise ValueProblem(gettext(
            "de kolom heeft bedragen met een decimale komma (%(comma)r) en met een decimale punt "
            "(%(point)r); exporteer alle bedragen in één notatie"
        ) % {"comma": seen[COMMA], "point": seen[POINT]})
    return next(iter(seen), None)


def check_amount_shape(raw: str) -> None:
    """Raise ValueProblem when `raw` is not written as an amount at all, whatever its decimal separator."""
    text, _ = _clean_amount(raw.strip())
    if not _AMOUNT_SHAPE.match(text):
        raise ValueProblem(_not_an_amount())


def parse_amount(raw: str, decimal_separator: str | None) -> Decimal:
    """Parse one amount cell as a Decimal in cents.

    `decimal_separator` is the column's separator from
    `decide_decimal_separator`, or None when the column never shows one.
    Raises ValueProblem for text that is not an amount, for wrong thousands
    grouping, for more than two decimals and for a value such as `1.234` in a
    column whose separator is unknown.
    """
    text, negative = _clean_amount(raw.strip())
    if not _AMOUNT_SHAPE.match(text):
        raise ValueProblem(_not_an_amount())

    if decimal_separator is None:
        if COMMA in text or POINT in text:
            raise ValueProblem(gettext(
                "het is niet te zien of het scheidingsteken een decimaalteken of een "
                "duizendtalscheiding is; schrijf het bedrag met twee decimalen (1.234,00 of 1,234.00)"
            ))
        integer, fraction = text, ""
    else:
        thousands = POINT if decimal_separator == COMMA else COMMA
        integer, _, fraction = text.partition(decimal_separator)
        if decimal_separator in fraction or thousands in fraction:
            raise ValueProblem(gettext(
                "heeft meer dan één decimaalteken; schrijf het bedrag als 1234,56 of 1.234,56"
            ))
        if thousands in integer:
            groups = integer.split(thousands)
            if not (1 <= len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])):
                raise ValueProblem(gettext(
                    "het scheidingsteken %(separator)r voor duizendtallen staat niet tussen groepen "
                    "van drie cijfers; controleer het bedrag en schrijf het als 1234,56 of 1.234,56"
                ) % {"separator": thousands})
            integer = "".join(groups)

    try:
        amount = Decimal(f"{integer}.{fraction or '0'}")
    except InvalidOperation as exc:
        raise ValueProblem(_not_an_amount()) from exc
    check_amount_size(amount)
    if amount != amount.quantize(CENT):
        raise ValueProblem(too_many_decimals())

    amount = amount.quantize(CENT)
    return -amount if negative else amount


def _not_an_amount() -> str:
    return gettext("geen bedrag; schrijf het als 1234,56 of 1.234,56")


def too_many_decimals() -> str:
    """Return the problem text of an amount with fractions of a cent."""
    return gettext("heeft meer dan twee decimalen; rond het bedrag af op hele centen")


def amount_from_number(value: int | float | Decimal) -> Decimal:
    """Convert a spreadsheet number to cents, rejecting fractions of a cent.

    Spreadsheet cells hold binary floats, so a computed 0.1 + 0.2 arrives as
    0.30000000000000004; values within a millionth of a cent are taken as
    that cent.
    """
    amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not amount.is_finite():
        raise ValueProblem(_not_an_amount())
    rounded = check_amount_size(amount).quantize(CENT)
    if abs(amount - rounded) > Decimal("0.00000001"):
        raise ValueProblem(too_many_decimals())
    return rounded


_DATE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][0-9:.+\-Z]*)?$"), "ymd"),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), "ymd"),
    (re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?: [0-9:]*)?$"), "dmy"),
)


def parse_date(raw: str, date_format: str | None = None) -> dt.date:
    """Parse a date cell: ISO, yyyymmdd, or day first (dd-mm-yyyy, d/m/yyyy, dd.mm.yyyy).

    Slash dates are read day first, as Dutch Excel writes them; a file with
    month-first dates needs `date_format` in a mapping file. Two-digit years
    are rejected because they are ambiguous across centuries.
    """
    text = raw.strip()
    if date_format:
        try:
            parsed = dt.datetime.strptime(text, date_format).date()
        except ValueError as exc:
            raise ValueProblem(gettext(
                "past niet bij de datumnotatie %(format)r van het mappingbestand; verbeter de datum "
                "of date_format in het mappingbestand"
            ) % {"format": date_format}) from exc
        return check_date_range(parsed)

    for pattern, order in _DATE_PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        first, second, third = (int(part) for part in match.groups())
        year, month, day = (first, second, third) if order == "ymd" else (third, second, first)
        try:
            parsed = dt.date(year, month, day)
        except ValueError as exc:
            if order == "dmy" and month > 12 and day <= 12:
                raise ValueProblem(gettext(
                    "bestaat niet als de dag vooraan staat (dd-mm-jjjj); schrijft het bestand de "
                    "maand vooraan, zet dan date_format = \"%m/%d/%Y\" onder [format] in een mappingbestand"
                )) from exc
            raise ValueProblem(_impossible_date(year, month, day)) from exc
        return check_date_range(parsed)

    if re.match(r"^\d{1,2}[-/.]\d{1,2}[-/.]\d{2}$", text):
        raise ValueProblem(gettext(
            "heeft een jaartal van twee cijfers; schrijf het jaar in vier cijfers (dd-mm-jjjj)"
        ))
    raise ValueProblem(gettext("geen datum; schrijf de datum als dd-mm-jjjj of jjjj-mm-dd"))


def nonexistent_iso_date_error(value: str, option: str) -> str | None:
    """Return the command error for a YYYY-MM-DD `value` of `option` whose month or day does not exist.

    Return None when `value` does not have that form, so that the caller
    reports the format instead.
    """
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value)
    if match is None:
        return None
    year, month, day = (int(part) for part in match.groups())
    if year < dt.MINYEAR:
        return None
    return gettext("Datum %(value)r bij %(option)s %(problem)s.") % {
        "value": value, "option": option, "problem": _impossible_date(year, month, day),
    }


def _impossible_date(year: int, month: int, day: int) -> str:
    """Return the problem text of a date whose year, month or day does not exist."""
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        return _outside_years()
    if not 1 <= month <= 12:
        return gettext("is geen bestaande datum: maand %(month)d bestaat niet; verbeter de datum") % {
            "month": month,
        }
    return gettext(
        "is geen bestaande datum: maand %(month)d van %(year)d heeft geen dag %(day)d; verbeter de datum"
    ) % {"month": month, "year": year, "day": day}
