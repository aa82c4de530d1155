"""Payment references: RF creditor references and the Dutch betalingskenmerk."""

from __future__ import annotations

import pytest
from stdnum import iban

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
