"""What `betaalreis run` prints: stage and channel names in the report language."""

from __future__ import annotations

import datetime as dt
import io

import pypdfium2 as pdfium
import pytest
from django.core.management import call_command

from betaalreis.ledger.models import DebtorKind
from betaalreis.testing import make_debtor, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def simulation_allowed(settings):
    """These creditors are made up, so `run --simulate` may move their stages on."""
    settings.ALLOW_SIMULATE = True

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


# A day on which the open-ended 2026-H2 rates, marked unconfirmed, are in force.
# It may be after today, so the runs for it are simulated.
DAY_2027 = dt.date(2027, 1, 7)


def test_unconfirmed_rate_named_once_per_run(creditor, betaalreis_home):
    for number in ("RATE-1", "RATE-2"):
        debtor = make_debtor(creditor, kind=DebtorKind.BUSINESS, customer_number=number)
        make_invoice(debtor, "1000.00", due=DAY_2027 - dt.timedelta(days=45))

    text = run_report(creditor, "--simulate", day=DAY_2027)

    assert text.count("geen officiële bron bevestigt") == 1
    assert "wettelijke handelsrente 10,40 % vanaf 01-07-2026 (2 berichten)" in text
    letters = sorted((betaalreis_home / "outbox" / "letter").rglob("*.pdf"))
    assert len(letters) == 2
    for letter in letters:
        document = pdfium.PdfDocument(str(letter))
        letter_text = " ".join(page.get_textpage().get_text_range() for page in document)
        assert "bevestig" not in letter_text


def test_unconfirmed_rate_in_english(creditor):
    debtor = make_debtor(creditor, kind=DebtorKind.BUSINESS)
    make_invoice(debtor, "1000.00", due=DAY_2027 - dt.timedelta(days=45))

    text = run_report(creditor, "--lang", "en", "--simulate", day=DAY_2027)

    assert "claims in this run use an interest rate that no official source confirms" in text
    assert "statutory commercial interest 10.40 % from 2026-07-01 (1 message)" in text


def test_confirmed_rates_print_no_rate_note(creditor):
    day = dt.date(2024, 5, 1)
    debtor = make_debtor(creditor, kind=DebtorKind.BUSINESS)
    make_invoice(debtor, "1000.00", due=day - dt.timedelta(days=45))

    text = run_report(creditor, day=day)

    assert "Laatste aanmaning" in text
    assert "geen officiële bron bevestigt" not in text


LETTER_DAY = dt.date(2026, 11, 2)


def test_invoices_in_legal_term_counted(creditor):
    # Both invoices are long overdue, so the final notice is due by its offset
    # the day after their 14-day letter, but the letter's term has not ended.
    for number in ("TERM-1", "TERM-2"):
        debtor = make_debtor(creditor, customer_number=number)
        make_invoice(debtor, "200.00", due=LETTER_DAY - dt.timedelta(days=60))
    run_report(creditor, day=LETTER_DAY)

    text = run_report(creditor, "--no-dispatch", day=LETTER_DAY + dt.timedelta(days=1))

    assert "2 facturen wachten op een termijn van 14 dagen" in text
    assert "0 facturen wachten op de minimale tijd na de vorige fase" in text


def test_invoices_waiting_for_stage_gap_counted(creditor):
    # A business has no 14-day letter, so after a reminder the next stage waits for the policy's gap.
    debtor = make_debtor(creditor, kind=DebtorKind.BUSINESS, customer_number="GAP-1")
    make_invoice(debtor, "200.00", due=LETTER_DAY - dt.timedelta(days=60))
    run_report(creditor, day=LETTER_DAY)

    text = run_report(creditor, "--no-dispatch", "--lang", "en", day=LETTER_DAY + dt.timedelta(days=1))

    assert "0 invoices waiting for a 14-day term" in text
    assert "1 invoice waiting for the minimum time after the previous stage" in text
