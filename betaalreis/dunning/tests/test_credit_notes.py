"""Open credit notes pay the debtor's other open invoices in the daily run."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning.run import apply_payments, run_cycle
from betaalreis.ledger.credit_notes import apply_unlinked_credit_notes
from betaalreis.ledger.models import Allocation, Invoice, InvoiceStatus, TimelineEvent
from betaalreis.outbox.models import Communication
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 20)


@pytest.fixture
def creditor():
    creditor = make_creditor()
    seed_default_policies(creditor)
    return creditor


def refreshed(invoice: Invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


def test_unlinked_credit_note_pays_oldest_invoice_first(creditor):
    debtor = make_debtor(creditor)
    newer = make_invoice(debtor, "400.00", due=dt.date(2026, 11, 10))
    older = make_invoice(debtor, "300.00", due=dt.date(2026, 10, 1))
    credit_note = make_invoice(debtor, "-500.00", due=dt.date(2026, 10, 24))

    result = apply_unlinked_credit_notes(creditor)

    assert refreshed(older).open_amount == Decimal("0.00")
    assert refreshed(older).status == InvoiceStatus.CREDITED
    assert refreshed(newer).open_amount == Decimal("200.00")
    assert refreshed(credit_note).open_amount == Decimal("0.00")
    assert refreshed(credit_note).status == InvoiceStatus.CREDITED
    assert result.amounts == {"EUR": Decimal("500.00")}
    assert Allocation.objects.filter(credit_note=credit_note).count() == 2
    summary = TimelineEvent.objects.get(debtor=debtor, source="credit note", invoice=credit_note).summary
    assert f"{older.number}, {newer.number}" in summary


def test_unlinked_credit_note_rest_stays_open(creditor):
    debtor = make_debtor(creditor)
    invoice = make_invoice(debtor, "45.00", due=dt.date(2026, 10, 1))
    credit_note = make_invoice(debtor, "-100.00", due=dt.date(2026, 10, 24))

    apply_unlinked_credit_notes(creditor)
    again = apply_unlinked_credit_notes(creditor)

    assert refreshed(invoice).open_amount == Decimal("0.00")
    assert refreshed(credit_note).open_amount == Decimal("-55.00")
    assert refreshed(credit_note).status == InvoiceStatus.OPEN
    assert again.credit_notes == 0
    summary = TimelineEvent.objects.get(source="credit note", invoice=credit_note).summary
    assert "55,00 blijft open als tegoed" in summary


def test_unlinked_credit_note_only_same_currency_and_debtor(creditor):
    debtor = make_debtor(creditor)
    other_debtor = make_debtor(creditor)
    dollars = make_invoice(debtor, "300.00", due=dt.date(2026, 10, 1), currency="USD")
    others = make_invoice(other_debtor, "300.00", due=dt.date(2026, 10, 1))
    credit_note = make_invoice(debtor, "-100.00", due=dt.date(2026, 10, 24))

    result = apply_unlinked_credit_notes(creditor)

    assert result.credit_notes == 0
    assert refreshed(dollars).open_amount == Decimal("300.00")
    assert refreshed(others).open_amount == Decimal("300.00")
    assert refreshed(credit_note).open_amount == Decimal("-100.00")


def test_unlinked_credit_note_skips_closed_invoices(creditor):
    debtor = make_debtor(creditor)
    written_off = make_invoice(debtor, "300.00", due=dt.date(2026, 9, 1), status=InvoiceStatus.WRITTEN_OFF)
    disputed = make_invoice(debtor, "300.00", due=dt.date(2026, 10, 1), status=InvoiceStatus.DISPUTED)
    credit_note = make_invoice(debtor, "-100.00", due=dt.date(2026, 10, 24))

    apply_unlinked_credit_notes(creditor)

    assert refreshed(written_off).open_amount == Decimal("300.00")
    assert refreshed(disputed).open_amount == Decimal("300.00")
    assert refreshed(credit_note).open_amount == Decimal("-100.00")


@pytest.mark.parametrize(
    ("older_status", "older_open", "newer_open"),
    [
        (InvoiceStatus.OPEN, "50.00", "100.00"),
        (InvoiceStatus.DISPUTED, "100.00", "50.00"),
        (InvoiceStatus.PAYMENT_PLAN, "100.00", "50.00"),
        (InvoiceStatus.HANDED_OVER, "100.00", "50.00"),
    ],
)
def test_unlinked_credit_note_pays_open_status_only(creditor, older_status, older_open, newer_open):
    debtor = make_debtor(creditor)
    older = make_invoice(debtor, "100.00", due=dt.date(2026, 11, 1), status=older_status)
    newer = make_invoice(debtor, "100.00", due=dt.date(2026, 11, 15))
    credit_note = make_invoice(debtor, "-50.00", due=dt.date(2026, 12, 1))

    apply_unlinked_credit_notes(creditor)

    assert refreshed(older).open_amount == Decimal(older_open)
    assert refreshed(older).status == older_status
    assert refreshed(newer).open_amount == Decimal(newer_open)
    assert refreshed(credit_note).open_amount == Decimal("0.00")


def test_unlinked_credit_note_waits_for_open_invoice(creditor):
    debtor = make_debtor(creditor)
    disputed = make_invoice(debtor, "100.00", due=dt.date(2026, 11, 1), status=InvoiceStatus.DISPUTED)
    credit_note = make_invoice(debtor, "-50.00", due=dt.date(2026, 12, 1))

    waiting = apply_unlinked_credit_notes(creditor)

    assert waiting.credit_notes == 0
    assert refreshed(disputed).open_amount == Decimal("100.00")
    assert refreshed(credit_note).open_amount == Decimal("-50.00")
    assert refreshed(credit_note).status == InvoiceStatus.OPEN

    Invoice.objects.filter(pk=disputed.pk).update(status=InvoiceStatus.OPEN)
    applied = apply_unlinked_credit_notes(creditor)

    assert applied.credit_notes == 1
    assert refreshed(disputed).open_amount == Decimal("50.00")
    assert refreshed(credit_note).open_amount == Decimal("0.00")


def test_linked_credit_note_rest_pays_other_invoices(creditor):
    debtor = make_debtor(creditor)
    corrected = make_invoice(debtor, "45.00", due=dt.date(2026, 9, 1), open_amount=Decimal("0.00"),
                             status=InvoiceStatus.CREDITED)
    other = make_invoice(debtor, "300.00", due=dt.date(2026, 10, 1))
    credit_note = make_invoice(debtor, "-100.00", due=dt.date(2026, 10, 24), open_amount=Decimal("-55.00"),
                               corrects=corrected)

    result = apply_unlinked_credit_notes(creditor)

    assert result.amounts == {"EUR": Decimal("55.00")}
    assert refreshed(other).open_amount == Decimal("245.00")
    assert refreshed(credit_note).status == InvoiceStatus.CREDITED
    summary = TimelineEvent.objects.get(source="credit note", invoice=credit_note).summary
    assert "rest na de gecorrigeerde factuur" in summary
    # One allocation, one timeline row: the summary on the credit note, not a second row on the invoice.
    rows = TimelineEvent.objects.filter(debtor=debtor, summary__contains=credit_note.number)
    assert len(rows) == 1
    assert rows[0].data["invoice_ids"] == [other.pk]


def test_held_credit_note_left_alone(creditor):
    debtor = make_debtor(creditor)
    invoice = make_invoice(debtor, "300.00", due=dt.date(2026, 10, 1))
    make_invoice(debtor, "-100.00", due=dt.date(2026, 10, 24), allocation_held=True)

    result = apply_unlinked_credit_notes(creditor)

    assert result.credit_notes == 0
    assert refreshed(invoice).open_amount == Decimal("300.00")


def test_run_lowers_reminder_by_credit_note(creditor, betaalreis_home):
    debtor = make_debtor(creditor, mobile="", street="")
    invoice = make_invoice(debtor, "12500.00", due=DAY - dt.timedelta(days=3))
    make_invoice(debtor, "-500.00", due=DAY)

    applied = apply_payments(creditor)
    summary = run_cycle(DAY, creditor, dispatch_messages=False)

    assert applied.credit_notes_applied == {"EUR": Decimal("500.00")}
    assert summary.planned == 1
    assert Communication.objects.get().total_amount == Decimal("12000.00")
    assert refreshed(invoice).open_amount == Decimal("12000.00")


def test_run_command_reports_credit_notes(creditor, betaalreis_home):
    debtor = make_debtor(creditor)
    make_invoice(debtor, "200.00", due=DAY - dt.timedelta(days=3))
    make_invoice(debtor, "-50.00", due=DAY)
    output = io.StringIO()

    call_command("run", "--date", DAY.isoformat(), "--creditor", creditor.slug, "--no-dispatch", "--lang", "en", stdout=output)

    text = " ".join(output.getvalue().split())
    assert "applied to other invoices: € 50,00 from open credit notes" in text
    assert "0 payments applied" in text
    assert "1 open invoice checked" in text
    assert "1 message planned" in text


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nl", "niets verrekend uit tegoed van debiteuren of open creditnota's"),
        ("en", "nothing applied from debtor credit or open credit notes"),
    ],
)
def test_run_summary_nothing_applied(creditor, betaalreis_home, language, expected):
    debtor = make_debtor(creditor)
    make_invoice(debtor, "200.00", due=DAY - dt.timedelta(days=3))
    output = io.StringIO()

    call_command(
        "run", "--date", DAY.isoformat(), "--creditor", creditor.slug, "--no-dispatch", "--lang", language,
        stdout=output,
    )

    text = " ".join(output.getvalue().split())
    assert expected in text
    assert "geen aan" not in text


def test_run_summary_credit_note_dutch(creditor, betaalreis_home):
    debtor = make_debtor(creditor)
    make_invoice(debtor, "200.00", due=DAY - dt.timedelta(days=3))
    make_invoice(debtor, "-50.00", due=DAY)
    output = io.StringIO()

    call_command("run", "--date", DAY.isoformat(), "--creditor", creditor.slug, "--no-dispatch", stdout=output)

    text = " ".join(output.getvalue().split())
    assert "verrekend met andere facturen: € 50,00 uit open creditnota's" in text
    assert "tegoed van debiteuren" not in text


def test_run_summary_counts_fallback_messages(english_reports):
    from rich.console import Console

    from betaalreis.dunning.management.commands.run import print_summary
    from betaalreis.dunning.run import RunSummary
    from betaalreis.outbox.dispatch import DispatchSummary

    dispatched = DispatchSummary()
    dispatched.counts[("letter", "fourteen_day_letter", "failed")] = 1
    dispatched.counts[("email", "fourteen_day_letter", "fallback")] = 1
    dispatched.counts[("email", "fourteen_day_letter", "failed")] = 1
    summary = RunSummary(day=DAY, moment=dt.datetime(2026, 11, 20, 9), dispatched=dispatched)
    output = io.StringIO()

    print_summary(summary, Console(file=output, width=200))

    assert "1 message planned on another channel because a send failed" in output.getvalue()
    rows = {
        tuple(cell.strip() for cell in line.strip("│ ").split("│"))[:2]: [cell.strip() for cell in line.split("│")[3:-1]]
        for line in output.getvalue().splitlines()
        if line.startswith("│")
    }
    # Columns after channel and stage: planned, fallback, sent, cancelled, failed, retry.
    assert rows[("email", "fourteen_day_letter")] == ["0", "1", "0", "0", "1", "0"]
    assert rows[("letter", "fourteen_day_letter")] == ["0", "0", "0", "0", "1", "0"]
