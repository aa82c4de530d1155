"""The `betaalreis claim` command."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command


def _run(*args: str) -> str:
    output = StringIO()
    call_command("claim", *args, stdout=output)
    return output.getvalue()


def test_json_business_with_vat() -> None:
    data = json.loads(
        _run("--principal", "10000", "--due", "2025-06-15", "--on", "2026-02-10",
             "--business", "--no-vat-deductible", "--format", "json")
    )

    assert data["interest"] == "671.51"
    assert data["costs"]["costs"] == "875.00"
    assert data["costs"]["vat"] == "183.75"
    # Each period shows its share of the rounded total, so the rows add up to it.
    assert [period["amount"] for period in data["interest_periods"]] == ["45.82", "625.69"]
    assert data["explanation_nl"].startswith("Hoofdsom")


def test_table_consumer_with_letter() -> None:
    output = _run("--principal", "1234.56", "--due", "2026-01-15", "--on", "2026-12-04",
                  "--letter-sent", "2026-10-01")

    assert "185.18" in output
    assert "collection costs (due)" in output


def test_consumer_before_letter_shows_no_costs() -> None:
    data = json.loads(_run("--principal", "1234.56", "--due", "2026-01-15", "--on", "2026-12-04", "--format", "json"))

    assert data["costs"]["status"] == "no_letter"
    assert data["costs"]["if_unpaid"] == "185.18"


def test_payment_option() -> None:
    data = json.loads(
        _run("--principal", "1000", "--due", "2026-01-31", "--on", "2026-03-31",
             "--paid", "2026-02-28=500", "--format", "json")
    )

    assert data["principal_outstanding"] == "503.07"


def test_payment_after_claim_date_rejected() -> None:
    with pytest.raises(CommandError, match="after the claim date"):
        _run("--principal", "100", "--due", "2026-01-31", "--on", "2026-03-31", "--paid", "2026-04-01=5")
