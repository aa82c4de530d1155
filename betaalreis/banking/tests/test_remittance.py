"""Reading invoice numbers, digit runs and dates from remittance texts."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from betaalreis.banking import remittance
from betaalreis.banking.remittance import NumberTokens, is_date, letter_o_tokens, number_tokens

# Each case: text, keys that must be found, keys that must not, weak keys.
TOKEN_CASES = [
    ("factuur 2026-1091", {"20261091"}, {"2026", "1091"}, set()),
    ("Betaling 4711 van 15-10-2026", {"4711"}, {"2026", "15", "10"}, {"4711", "15102026"}),
    ("Factuur nr. F 77310", {"F", "77310"}, set(), set()),
    ("F-77310, F-77311", {"F77310", "F77311"}, {"77310"}, set()),
    ("lid 11", {"11"}, set(), {"11"}),
    ("2026-0201/2026-0202", {"20260201", "20260202", "2026020120260202"}, set(), set()),
    ("2026-0201+2026-0202", {"20260201", "20260202"}, set(), set()),
    ("INV2026/0042", {"INV20260042", "INV2026"}, set(), {"0042"}),
    ("betaald 15/10/2026", {"15102026"}, {"15", "10", "2026"}, {"15102026"}),
    ("ordernr 1501-2026-0301", {"150120260301", "1501"}, {"20260301", "2026", "0301"}, {"1501"}),
    ("fact.nr.2026/0301", {"FACTNR20260301"}, set(), {"2026", "0301"}),
]


@pytest.mark.parametrize("text,keys,absent,weak", TOKEN_CASES, ids=[case[0] for case in TOKEN_CASES])
def test_number_tokens_keys(text, keys, absent, weak):
    tokens = number_tokens(text)

    assert keys <= tokens.number_keys
    assert not absent & tokens.number_keys
    assert weak <= tokens.weak_keys


def test_digit_runs_skip_dates():
    tokens = number_tokens("Betaling 4711 van 15-10-2026")

    assert tokens.digit_runs == ["4711"]


def test_digit_runs_join_spaced_numbers():
    tokens = number_tokens("fact 2026 10042")

    assert "202610042" in tokens.digit_runs
    assert "2026" in tokens.weak_keys
    assert "202610042" not in tokens.weak_keys


def test_digit_runs_join_space_for_dash():
    tokens = number_tokens("2027 0010")

    assert "20270010" in tokens.digit_runs
    assert "20270010" not in tokens.weak_keys


def test_digit_runs_of_prefixed_number():
    tokens = number_tokens("nr.2026-1090 F77310")

    assert "20261090" in tokens.digit_runs
    assert "77310" in tokens.digit_runs
    assert "2026" not in tokens.digit_runs


def test_spaced_run_stops_at_comma():
    tokens = number_tokens("2026, 11")

    assert "202611" not in tokens.digit_runs


@pytest.mark.parametrize("word,expected", [
    ("15-10-2026", True), ("2026-10-15", True), ("15/10/26", True), ("31-02-2026", False), ("2026-1090", False), ("12.11.2026", True),
])
def test_is_date(word, expected):
    assert is_date(word) is expected


def test_digit_runs_join_prefixed_and_spaced():
    tokens = number_tokens("Factuur nr. F2026 0000123")

    assert "20260000123" in tokens.digit_runs
    assert "2026" in tokens.weak_keys


def test_tail_of_order_number():
    tokens = number_tokens("ordernr 1501-2026-0301")

    assert tokens.tail_keys == {"20260301": ("150120260301", "150120260301")}


def test_tail_of_prefixed_number():
    tokens = number_tokens("F1501-2026-0301")

    assert "20260301" in tokens.tail_keys


@pytest.mark.parametrize("text", ["2026-1091", "15-10-2026", "ref 1-2-301", "1501-15-10-2026"])
def test_no_tail_keys(text):
    tokens = number_tokens(text)

    assert not tokens.tail_keys


def test_date_at_start_gives_no_weak_day():
    tokens = number_tokens("15-10-2026-0301")

    assert "15" not in tokens.weak_keys
    assert "15" not in tokens.number_keys


def test_prefix_of_several_words_gives_digits():
    tokens = number_tokens("fact.nr.2026/0301")

    assert "20260301" in tokens.digit_runs
    assert "20260301" not in tokens.weak_keys


def test_listed_prefixed_year_is_weak():
    tokens = number_tokens("INV2026/0042")

    assert "2026" in tokens.weak_keys
    assert "20260042" not in tokens.weak_keys


@pytest.mark.parametrize(("text", "keys", "runs"), [
    ("INV-2O24-0012", {"INV20240012"}, ["20240012"]),
    ("2O240012", {"20240012"}, ["20240012"]),
    ("factuur 2o26-1oo42", {"202610042"}, ["202610042"]),
])
def test_letter_o_read_as_zero(text: str, keys: set[str], runs: list[str]):
    found = letter_o_tokens(text, number_tokens(text))

    assert found is not None
    assert found.number_keys == keys
    assert found.digit_runs == runs


@pytest.mark.parametrize("text", ["factuur 2026-0012", "PO12345 oktober", "NO 1234", "bedankt"])
def test_letter_o_tokens_none_without_o_by_digit(text: str):
    assert letter_o_tokens(text, number_tokens(text)) is None


def test_letter_o_year_not_a_key():
    found = letter_o_tokens("betaling 2O26", number_tokens("betaling 2O26"))

    assert found is not None
    assert found.number_keys == set()
    assert found.digit_runs == []


# Characters that steer the tokenizer: digits, prefix letters, the letter O,
# edge punctuation, number and list separators, word separators, and
# whitespace that str.split and the regular expression must treat alike.
_TOKENIZER_ALPHABET = "0123456789FfNnOoRr -./+_:#*=,;()[]\"'\t\n\xa0\u2003\x1c\u0663\u00b2"
remittance_texts = st.one_of(
    st.text(alphabet=_TOKENIZER_ALPHABET, max_size=40),
    st.text(max_size=40),
)


def _words_by_pattern(text: str) -> list[str | None]:
    """Return what `remittance._words` must return, found by `_GAPS_AND_WORDS` alone."""
    words: list[str | None] = []
    for gap, word in remittance._GAPS_AND_WORDS.findall(text):
        if words and not gap.isspace():
            words.append(None)
        words.append(word)
    return words


def _tokens_without_shortcuts(text: str) -> NumberTokens:
    """Tokenize `text` with `_GAPS_AND_WORDS` for the words and `_digits_of` for every word."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(remittance, "_words", _words_by_pattern)
        patch.setattr(remittance, "_digits_of_alphanumeric", remittance._digits_of)
        return number_tokens(text)


@given(remittance_texts)
@example("Factuur nr. F2026 0001234")
@example("F2026-0001234 en F2026-0004567")
@example("2026, 11 F77310; 2026 10042 (4711)")
@example("gift 0.1234567890123456")
def test_number_tokens_shortcuts_change_nothing(text: str):
    assert remittance._words(text) == _words_by_pattern(text)
    assert number_tokens(text) == _tokens_without_shortcuts(text)


@given(st.from_regex(r"\A[A-Za-z0-9]{1,12}\Z"))
@example("F2026")
@example("2026F")
@example("F2026A1")
def test_digits_of_alphanumeric_word(word: str):
    if word.isdigit() or word.isalpha():
        # number_tokens never calls _digits_of_alphanumeric for these words.
        return

    assert remittance._digits_of_alphanumeric(word) == remittance._digits_of(word)
