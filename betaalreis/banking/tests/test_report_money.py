"""Amounts in bank import reports and problems are formatted by babel for the report language."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from betaalreis.imports.report_labels import amount_text
from betaalreis.ledger.money import format_report_money

CASES = [
    # (language, amount, currency, signed, expected)
    ("nl", "1234.56", "EUR", False, "€\xa01.234,56"),
    ("en", "1234.56", "EUR", False, "€1,234.56"),
    ("nl", "5.00", "EUR", True, "€\xa0+5,00"),
    ("en", "5.00", "EUR", True, "+€5.00"),
    ("nl", "-5.00", "EUR", True, "€\xa0-5,00"),
    ("en", "-5.00", "EUR", True, "-€5.00"),
    ("nl", "0.001", "EUR", True, "€\xa0+0,001"),
    ("nl", "0", "EUR", True, "€\xa00,00"),
    ("nl", "12", "", False, "12,00"),
    ("nl", "4500", "CHF", False, "CHF\xa04.500,00"),
]


@pytest.mark.parametrize(("language", "amount", "currency", "signed", "expected"), CASES)
def test_report_money_format(language: str, amount: str, currency: str, signed: bool, expected: str):
    with translation.override(language):
        assert format_report_money(Decimal(amount), currency, signed=signed) == expected


def test_report_row_amount_takes_key_currency():
    with translation.override("nl"):
        assert amount_text("matched automatically (EUR)", "1234.50") == "€\xa01.234,50"
        assert amount_text("ignored (EUR/USD)", "1234.50") == "1.234,50"
