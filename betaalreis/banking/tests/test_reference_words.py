"""Structured references followed or preceded by other words in a remittance text."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from betaalreis.banking.invoice_index import references_in
from betaalreis.legal.references import make_rf_reference


@dataclass
class _Payment:
    remittance_info: str
    structured_reference: str = ""
    amount: Decimal = Decimal("10.00")
    currency: str = "EUR"
    payer_name: str = ""
    payer_iban: str = ""


def _spaced(reference: str) -> str:
    """Return `reference` as letters print it: check digits, a space, then the body ("RF45 D5")."""
    return f"{reference[:4]} {reference[4:]}"


D5 = make_rf_reference("D5")
D3 = make_rf_reference("D3")
INVOICE = make_rf_reference("F261001")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{_spaced(D5)} restant", [D5]),
        (f"{_spaced(D3)} bedankt", [D3]),
        (f"Factuur T-1 {_spaced(D5)}", [D5]),
        (f"{D5} restant", [D5]),
        (f"{_spaced(D5)} F26-1001 en F26-1002", [D5]),
        (f"betaling {_spaced(INVOICE)} rest volgt", [INVOICE]),
        (f"{_spaced(D5)} {_spaced(D3)}", [D5, D3]),
    ],
)
def test_reference_found_among_words(text: str, expected: list[str]) -> None:
    assert references_in(_Payment(text), []) == expected


def test_invalid_reference_with_words_not_found() -> None:
    wrong = "RF00 " + D5[4:]

    assert references_in(_Payment(f"{wrong} restant"), []) == []


def test_glued_word_not_split() -> None:
    # Without a space the word is part of the reference, so nothing valid remains.
    assert references_in(_Payment(f"{D5}RESTANT"), []) == []
