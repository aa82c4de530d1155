"""What `betaalreis run` prints: stage and channel names in the report language."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from betaalreis.ledger.models import DebtorKind
from betaalreis.testing import make_debtor, make_invoice

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 20)


def run_report(creditor, *options: str, day: dt.date = DAY) -> str:
    output = io.StringIO()
    call_command("run", "--date", day.isoformat(), "--creditor", creditor.slug, *options, stdout=output)
    return " ".join(output.getvalue().split())


def test_table_names_stages_in_dutch(creditor):
    debtor = make_debtor(creditor, kind=DebtorKind.BUSINESS)
    make_invoice(debtor, "100.00", due=DAY - dt.timedelta(days=10))

    text = run_report(creditor)

    assert "e-mail │ Herinnering" in text
    assert "│ reminder" not in text
    assert "email │" not in text


def test_table_names_stages_in_english(creditor):
    debtor = make_debtor(creditor, kind=DebtorKind.BUSINESS)
    make_invoice(debtor, "100.00", due=DAY - dt.timedelta(days=10))

    text = run_report(creditor, "--lang", "en")

    assert "email │ Reminder" in text
    assert "│ reminder" not in text


def test_unreachable_line_names_opt_out_in_language(creditor):
    debtor = make_debtor(
        creditor, kind=DebtorKind.BUSINESS, email="", street="", customer_number="OPTOUT-1",
        opted_out_channels=["email"],
    )
    make_invoice(debtor, "100.00", due=DAY - dt.timedelta(days=10))

    dutch = run_report(creditor, "--no-dispatch")
    english = run_report(creditor, "--no-dispatch", "--lang", "en", day=DAY + dt.timedelta(days=1))

    assert "Onbereikbaar voor Herinnering (voeg een postadres toe, afgemeld voor e-mail): OPTOUT-1" in dutch
    assert "Unreachable for Reminder (add a postal address, opted out of email): OPTOUT-1" in english
