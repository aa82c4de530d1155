"""Payment references: RF creditor references and the Dutch betalingskenmerk."""

from __future__ import annotations

import random
import string

import pytest
from stdnum import iban, iso11649

from betaalreis.legal.references import (
    is_valid_betalingskenmerk,
    is_valid_rf_reference,
    make_betalingskenmerk,
    make_rf_reference,
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("539007547034", "RF18539007547034"),
        ("20260000042", "RF0520260000042"),
        ("INV2026X42", "RF19INV2026X42"),
    ],
)
def test_rf_reference_worked_examples(body: str, expected: str) -> None:
    assert make_rf_reference(body) == expected
    assert is_valid_rf_reference(expected)


@pytest.mark.parametrize(
    "reference",
    [
        "", "RF", "RF1", "RF18", "RF181", "RF18539007547034", "rf18539007547034", "RF18 5390 0754 7034",
        "RF18-5390-0754-7034", "RF19539007547034", "XX18539007547034", "18539007547034",
        "RF" + "1" * 24, "RF0" + "9" * 22, "RF18٣", "RF18\u20135390", "RF18539007547034\n",
    ],
)
def test_rf_validity_matches_stdnum(reference: str) -> None:
    assert is_valid_rf_reference(reference) == iso11649.is_valid(reference)


def test_rf_validity_matches_stdnum_random() -> None:
    """Valid references of every body length, and each with one character changed."""
    rng = random.Random(11649)
    alphabet = string.ascii_letters + string.digits
    for length in range(1, 22):
        for _ in range(40):
            reference = make_rf_reference("".join(rng.choice(alphabet) for _ in range(length)))
            position = rng.randrange(len(reference))
            changed = reference[:position] + rng.choice(alphabet) + reference[position + 1:]

            assert is_valid_rf_reference(reference), reference
            assert is_valid_rf_reference(reference.lower()), reference
            assert is_valid_rf_reference(changed) == iso11649.is_valid(changed), changed


@pytest.mark.parametrize(
    ("number", "length", "expected"),
    [
        ("000000202600042", 16, "1000000202600042"),
        ("2026042", 9, "572026042"),
        ("2026000042", 12, "702026000042"),
    ],
)
def test_betalingskenmerk_worked_examples(number: str, length: int, expected: str) -> None:
    assert make_betalingskenmerk(number, length) == expected
    assert is_valid_betalingskenmerk(expected)


@pytest.mark.parametrize("value", ["5000056789012345", "12 2345 3462 2567"])
def test_betalingskenmerk_specification_examples_valid(value: str) -> None:
    assert is_valid_betalingskenmerk(value)


@pytest.mark.parametrize("value", ["5000056789012346", "22 2345 3462 2567", "12345678"])
def test_betalingskenmerk_wrong_check_digit_invalid(value: str) -> None:
    assert not is_valid_betalingskenmerk(value)


def test_example_iban_valid() -> None:
    assert iban.is_valid("NL91ABNA0417164300")
