"""compact_iban: the one spelling of an IBAN that bank files, debtor accounts and creditors are compared in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from schwifty import IBAN

from betaalreis.ledger.iban import compact_iban

# Each case: the value as a form, a bank file or a test file writes it, and its compact form.
CASES = [
    ("grouped in fours", "NL91 ABNA 0417 1643 00", "NL91ABNA0417164300"),
    ("lower case", "nl91abna0417164300", "NL91ABNA0417164300"),
    ("already compact", "NL91ABNA0417164300", "NL91ABNA0417164300"),
    ("wrong check digits are kept", "NL00 ABNA 0417 1643 00", "NL00ABNA0417164300"),
    ("domestic account number", "54.49.42.108", "54.49.42.108"),
    ("empty", "", ""),
    ("tab is not a space", "NL91\tABNA0417164300", "NL91\tABNA0417164300"),
]


@pytest.mark.parametrize("label,value,expected", CASES, ids=[case[0] for case in CASES])
def test_compact_iban_cases(label, value, expected):
    assert compact_iban(value) == expected


# Bank codes that schwifty's registry lists, with the account length of the country.
BANKS = {"NL": ("ABNA", 10), "DE": ("37040044", 10)}


@given(st.sampled_from(sorted(BANKS)), st.integers(min_value=1, max_value=10**10 - 1))
def test_compact_iban_equals_schwifty(country_code, number):
    """A valid IBAN in the printed form compacts to what schwifty stores for it."""
    bank_code, account_length = BANKS[country_code]
    iban = IBAN.generate(country_code, bank_code=bank_code, account_code=str(number).zfill(account_length))

    assert compact_iban(iban.formatted) == iban.compact
    assert compact_iban(iban.formatted.lower()) == iban.compact
    assert compact_iban(compact_iban(iban.formatted)) == iban.compact
