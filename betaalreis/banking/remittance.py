"""Read the words of a remittance text that may be invoice numbers, and check the weak ones.

A bank description mixes invoice numbers with order numbers, phone numbers,
dates and years. `number_tokens` splits it into words and returns:

- the normalised words, each compared whole with invoice numbers, so the
  `2026` in `2026-1091` or in `15-10-2026` is never read on its own;
- digit runs: a word's digits ("F-77310" gives 77310, "2026-1090" gives
  20261090 but never 2026) and the joined digits of numbers written with
  spaces ("2026 10042" gives 202610042, 2026 and 10042). A date gives no
  digit run;
- the weak keys among both: bare numbers of at most WEAK_NUMBER_DIGITS digits
  (which include every year) and words shaped like a date;
- tail keys: the digits of the last two or more groups of a word of three or
  more digit groups ("1501-2026-0301" gives 20260301), because an order or
  customer number often comes before the invoice number. A tail counts only
  when the whole word names no invoice (see InvoiceIndex.numbers). The first
  group of such a word is a weak key when it is short ("1501").

An invoice found only through a weak key counts as paid only when
`confirmed_invoices` finds the amount, the payer IBAN or the payer name
pointing at its debtor. For a number that reads as a year, only the payer
counts.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol, TypeVar

from betaalreis.ledger.iban import compact_iban

# A bare number of up to this many digits ("11", "4711", "2026") is as likely
# a member number, house number or year as an invoice number.
WEAK_NUMBER_DIGITS = 4

# A word and the separators before it. Only whitespace between two numbers joins them.
_GAPS_AND_WORDS = re.compile(r"([\s,;()\[\]{}<>\"']*)([^\s,;()\[\]{}<>\"']+)")
_EDGE_PUNCTUATION = ".:#*!?-/_+="
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})$")
_YEAR_MONTH_DAY = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
# A word that is an invoice number written with a prefix: one or more groups
# of letters, then digits with separators ("F-77310", "nr.2026-1090",
# "INV2026/0042", "fact.nr.2026/0301").
_PREFIXED_DIGITS = re.compile(r"^[A-Za-z]+(?:[-./:#_]+[A-Za-z]+)*[-./:#_]*(\d+(?:[-./_]\d+)*)$")
_DIGITS_WITH_SEPARATORS = re.compile(r"^\d+(?:[-./_]\d+)+$")
_KEEP_ALPHANUMERIC = re.compile(r"[^0-9A-Z]")
_NON_DIGITS = re.compile(r"\D")
_DIGIT_GROUP = re.compile(r"\d+")
_ASCII_LETTERS = string.ascii_letters
# Whether a text has a word separator other than whitespace (see _GAPS_AND_WORDS).
_WORD_SEPARATOR = re.compile(r"[,;()\[\]{}<>\"']")
# Separators between invoice numbers listed in one word: "F1+F2", "2026-0201/2026-0202".
_LIST_SEPARATORS = re.compile(r"[+/]")
# Letters O typed for zeros: a run of O with a digit on one side and no
# letter on the other ("2O24", "INV-2O24-0012", "2OO1"). The O of "PO1234"
# or "NO 12" stays a letter.
_LETTER_O_FOR_ZERO = re.compile(r"(?<=\d)[Oo]+(?![A-Za-z])|(?<![A-Za-z])[Oo]+(?=\d)")
# Whether a text may have a letter O next to a digit, which most texts lack.
# It also matches "PO1234", so _LETTER_O_FOR_ZERO decides. On texts without
# such an O it took a quarter of the time of _LETTER_O_FOR_ZERO (CPU time of
# both on benchmark-like texts), and the bound method saves a Python call.
may_have_letter_o_for_zero = re.compile(r"[Oo](?:(?<=\d[Oo])|(?=\d))").search


@dataclass(slots=True)
class NumberTokens:
    """Words and digit runs of a remittance text, with the weak ones marked."""

    number_keys: set[str] = field(default_factory=set)
    digit_runs: list[str] = field(default_factory=list)
    weak_keys: set[str] = field(default_factory=set)
    # Tail digits ("20260301") mapped to the keys of the whole word they end
    # ("150120260301"), which must name no invoice for the tail to count.
    tail_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _compact(word: str) -> str:
    upper = word.upper()
    if upper.isascii() and upper.isalnum():
        return upper
    return _KEEP_ALPHANUMERIC.sub("", upper)


def is_date(word: str) -> bool:
    """Return whether `word` is a calendar date as 15-10-2026, 15/10/26 or 2026-10-15."""
    # Both patterns start with a digit and need a separator, and most words fail this cheaper test.
    if not word[:1].isdigit() or ("-" not in word and "/" not in word and "." not in word):
        return False
    match = _DAY_MONTH_YEAR.match(word)
    if match is not None:
        day, month, year = (int(part) for part in match.groups())
    else:
        match = _YEAR_MONTH_DAY.match(word)
        if match is None:
            return False
        year, month, day = (int(part) for part in match.groups())
    if year < 100:
        year += 2000
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def _is_weak_number(key: str) -> bool:
    return key.isdigit() and len(key) <= WEAK_NUMBER_DIGITS


def _digits_of(word: str) -> str:
    """Return the digits a word contributes as an invoice number: all of "2026-1090", the number of "F-77310"."""
    if word.isdigit():
        return word
    if word.isalpha():
        # Both patterns below need a digit.
        return ""
    if _DIGITS_WITH_SEPARATORS.match(word):
        return _NON_DIGITS.sub("", word)
    prefixed = _PREFIXED_DIGITS.match(word)
    if prefixed is not None:
        return _NON_DIGITS.sub("", prefixed.group(1))
    return ""


def _digits_of_alphanumeric(word: str) -> str:
    """Return what `_digits_of` returns for an ASCII word of letters and digits that has both.

    Such a word has no separators, so only the prefix form of
    _PREFIXED_DIGITS applies: letters, then digits to the end ("F2026").
    """
    digits = word.lstrip(_ASCII_LETTERS)
    return digits if digits.isdigit() else ""


def _words(text: str) -> list[str | None]:
    """Return the words of `text` as `_GAPS_AND_WORDS` finds them, with None where a gap is not only whitespace.

    A None stands for the end of a number written with spaces. The gap
    before the first word needs none, because no number precedes it.
    """
    if _WORD_SEPARATOR.search(text) is None:
        # Only whitespace separates the words, and str.split finds the same words.
        return text.split()
    words: list[str | None] = []
    for gap, word in _GAPS_AND_WORDS.findall(text):
        if words and not gap.isspace():
            words.append(None)
        words.append(word)
    return words


def number_tokens(text: str) -> NumberTokens:
    """Split a remittance text into invoice number keys and digit runs (see the module docstring)."""
    tokens = NumberTokens()
    number_keys = tokens.number_keys
    weak_keys = tokens.weak_keys
    digit_runs = tokens.digit_runs
    spaced: list[str] = []

    for raw in _words(text):
        if raw is None:
            # Numbers written with spaces ("F2026 0000123", "2026 10042") join
            # only across whitespace: "2026, 11" are two numbers.
            if spaced:
                _close_spaced_run(spaced, digit_runs, weak_keys)
            continue
        word = raw.strip(_EDGE_PUNCTUATION)
        if not word:
            continue

        if word.isascii() and word.isalnum():
            # Most words are letters and digits only. Such a word is no date,
            # lists no numbers and has no tail, so only its key and digits count.
            key = word.upper()
            number_keys.add(key)
            if word.isdigit():
                if len(word) <= WEAK_NUMBER_DIGITS:
                    weak_keys.add(key)
                spaced.append(word)
                continue
            digits = "" if word.isalpha() else _digits_of_alphanumeric(word)
            if digits:
                spaced.append(digits)
            elif spaced:
                _close_spaced_run(spaced, digit_runs, weak_keys)
            continue

        key = _compact(word)
        if key:
            number_keys.add(key)
            if _is_weak_number(key):
                weak_keys.add(key)
        if is_date(word):
            # The whole date may still equal an invoice number, but only as a weak key.
            if spaced:
                _close_spaced_run(spaced, digit_runs, weak_keys)
            weak_keys.add(key)
            continue
        _add_listed_parts(word, tokens)
        digits = _digits_of(word)
        # A head of one digit or more and a tail of more than WEAK_NUMBER_DIGITS digits need six digits at least.
        if len(digits) > WEAK_NUMBER_DIGITS + 1:
            _add_tail_parts(word, key, digits, tokens)
        if digits:
            spaced.append(digits)
        elif spaced:
            _close_spaced_run(spaced, digit_runs, weak_keys)
    if spaced:
        _close_spaced_run(spaced, digit_runs, weak_keys)
    return tokens


def _close_spaced_run(spaced: list[str], digit_runs: list[str], weak_keys: set[str]) -> None:
    """Add the digit groups of one number written with spaces, joined and each alone, and empty `spaced`."""
    if len(spaced) > 1:
        joined = "".join(spaced)
        digit_runs.append(joined)
        if _is_weak_number(joined):
            weak_keys.add(joined)
    for part in spaced:
        digit_runs.append(part)
        if _is_weak_number(part):
            weak_keys.add(part)
    spaced.clear()


def letter_o_tokens(text: str, tokens: NumberTokens) -> NumberTokens | None:
    """Return the keys that `text` gives with each letter O typed for a zero read as 0, or None when it has no such O.

    Callers check `may_have_letter_o_for_zero(text)` first, so texts without
    an O next to a digit cost no more than that check.

    Only keys and digit runs that `tokens` (the tokens of `text` as written)
    lacks are returned, and no weak ones, because a year or short number
    written with an O is no surer than one written with a zero.
    """
    corrected, count = _LETTER_O_FOR_ZERO.subn(lambda match: "0" * len(match.group()), text)
    if not count:
        return None
    read = number_tokens(corrected)
    weak = read.weak_keys
    written_runs = set(tokens.digit_runs)
    return NumberTokens(
        number_keys={key for key in read.number_keys - tokens.number_keys if key not in weak},
        digit_runs=[run for run in read.digit_runs if run not in written_runs and run not in weak],
    )


def _add_listed_parts(word: str, tokens: NumberTokens) -> None:
    """Add the parts of numbers listed with "+" or "/" ("2026-0201/2026-0202") as keys of their own.

    The whole word stays a key too, because "/" also occurs inside one
    invoice number ("INV2026/0042"). A part of at most WEAK_NUMBER_DIGITS
    digits is a weak key.
    """
    if "+" not in word and "/" not in word:
        return
    parts = [part.strip(_EDGE_PUNCTUATION) for part in _LIST_SEPARATORS.split(word)]
    if len(parts) < 2:
        return
    for part in parts:
        key = _compact(part)
        if not key or is_date(part):
            continue
        tokens.number_keys.add(key)
        digits = _digits_of(part)
        if digits:
            tokens.digit_runs.append(digits)
            # The digits of "INV2026" in "INV2026/0042" are as weak as a bare 2026.
            if _is_weak_number(digits):
                tokens.weak_keys.add(digits)
        if _is_weak_number(key):
            tokens.weak_keys.add(key)


def _digit_groups(word: str) -> list[str]:
    """Return the digit groups of a number word ("1501-2026-0301", "F1501-2026-0301"), else []."""
    if _DIGITS_WITH_SEPARATORS.match(word):
        return _DIGIT_GROUP.findall(word)
    prefixed = _PREFIXED_DIGITS.match(word)
    if prefixed is not None:
        return _DIGIT_GROUP.findall(prefixed.group(1))
    return []


def _add_tail_parts(word: str, key: str, digits: str, tokens: NumberTokens) -> None:
    """Add the tails of a word of three or more digit groups as tail keys, and a short first group as a weak key.

    A tail is the last two or more groups, so "2026-1091" gives none and its
    1091 is never read on its own. A tail of at most WEAK_NUMBER_DIGITS
    digits is left out.
    """
    # Three groups need two separators, and most words have fewer.
    if word.count("-") + word.count(".") + word.count("/") + word.count("_") < 2:
        return
    groups = _digit_groups(word)
    if len(groups) < 3:
        return
    # A word that ends in a date ("1501-15-10-2026") has no invoice number at its end.
    if not is_date("-".join(groups[-3:])):
        whole = (key, digits)
        for start in range(1, len(groups) - 1):
            tail_digits = "".join(groups[start:])
            if len(tail_digits) > WEAK_NUMBER_DIGITS:
                tokens.tail_keys.setdefault(tail_digits, whole)
    # The day of a date at the start ("15-10-2026-0301") is no number of its own.
    if _is_weak_number(groups[0]) and not is_date("-".join(groups[:3])):
        tokens.number_keys.add(groups[0])
        tokens.weak_keys.add(groups[0])


class CandidateInvoice(Protocol):
    """The invoice fields the checks below read; invoice_index.OpenInvoice has them."""

    number: str
    debtor_id: int
    open_amount: Decimal
    currency: str


InvoiceT = TypeVar("InvoiceT", bound=CandidateInvoice)


class PayerLookup(Protocol):
    """The debtor lookups the checks below need; invoice_index.InvoiceIndex has them."""

    @property
    def debtors_by_iban(self) -> dict[str, set[int]]: ...

    def name_candidates(self, name: str) -> list[tuple[int, float]]: ...


class PaymentParty(Protocol):
    amount: Decimal
    currency: str
    payer_name: str
    payer_iban: str


def payer_debtors(payment: PaymentParty, debtor_ids: Iterable[int], index: PayerLookup) -> set[int]:
    """Return those of `debtor_ids` that the payer IBAN is linked to, else those whose name is close to the payer's."""
    allowed = set(debtor_ids)
    iban = compact_iban(payment.payer_iban or "")
    by_iban = allowed & index.debtors_by_iban.get(iban, set()) if iban else set()
    if by_iban:
        return by_iban
    if not payment.payer_name:
        return set()
    return allowed & {debtor_id for debtor_id, _ in index.name_candidates(payment.payer_name)}


def confirmed_invoices(
    payment: PaymentParty,
    weak: list[InvoiceT],
    strong: list[InvoiceT],
    index: PayerLookup,
) -> list[InvoiceT]:
    """Return the weakly named invoices that the payment confirms.

    An invoice is confirmed when the payer IBAN or payer name points at its
    debtor. Unless its number reads as a year, it is also confirmed when its
    open amount equals the payment or when the named invoices of its debtor
    (weak and strong) add up to the payment.
    """
    if not weak:
        return []
    named: dict[int, list[CandidateInvoice]] = defaultdict(list)
    for invoice in [*weak, *strong]:
        if invoice.currency == payment.currency:
            named[invoice.debtor_id].append(invoice)
    payers = payer_debtors(payment, {invoice.debtor_id for invoice in weak}, index)

    confirmed: list[InvoiceT] = []
    for invoice in weak:
        if invoice.currency != payment.currency:
            continue
        if invoice.debtor_id in payers:
            confirmed.append(invoice)
            continue
        # A year in a description ("december 2027") is so common that an
        # amount alone, which other invoices may share, does not confirm it.
        if _is_year(invoice.number):
            continue
        debtor_total = sum((item.open_amount for item in named[invoice.debtor_id]), Decimal("0.00"))
        if invoice.open_amount == payment.amount or debtor_total == payment.amount:
            confirmed.append(invoice)
    return confirmed


def _is_year(number: str) -> bool:
    """Return whether an invoice number reads as a year from 1900 to 2099."""
    return len(number) == 4 and number.isdigit() and 1900 <= int(number) <= 2099
