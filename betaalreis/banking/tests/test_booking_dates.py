"""Payments are applied and dated by their booking date, also in imports and replayed runs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from betaalreis.banking.samples import SampleEntry
from betaalreis.banking.tests.helpers import PAYER_IBAN, import_entries, make_creditor, make_debtor, make_invoice
from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning.run import run_cycle
from betaalreis.ledger.models import Invoice, InvoiceStatus, Payment, PaymentStatus, TimelineEvent, TimelineKind

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
IMPORTED_AT = dt.datetime(2026, 12, 5, 10, 0, tzinfo=AMSTERDAM)


@pytest.fixture
def invoice() -> Invoice:
    creditor = make_creditor()
    seed_default_policies(creditor)
    return make_invoice(make_debtor(creditor, "K1", "Jan de Vries"), "2027-0020", "80.00", due=dt.date(2027, 3, 1))


def import_payment(tmp_path: Path, booked: dt.date) -> Payment:
    """Import a statement at `IMPORTED_AT` with one payment of invoice 2027-0020, booked on `booked`."""
    entry = SampleEntry(
        Decimal("80.00"), name="Jan de Vries", iban=PAYER_IBAN, remittance="Factuur 2027-0020", booking_date=booked
    )
    with mock.patch("django.utils.timezone.now", return_value=IMPORTED_AT):
        import_entries(tmp_path, [entry], day=booked)
    return Payment.objects.get()


def payment_events(invoice: Invoice) -> list[TimelineEvent]:
    return list(TimelineEvent.objects.filter(invoice=invoice, kind=TimelineKind.PAYMENT).order_by("at"))


def test_import_dates_payment_on_booking_day(invoice, tmp_path):
    payment = import_payment(tmp_path, dt.date(2026, 12, 1))

    assert payment.status == PaymentStatus.MATCHED
    (event,) = payment_events(invoice)
    assert event.at.astimezone(AMSTERDAM).date() == dt.date(2026, 12, 1)
    assert event.at < dt.datetime(2026, 12, 2, tzinfo=AMSTERDAM)


def test_import_same_day_keeps_moment(invoice, tmp_path):
    import_payment(tmp_path, IMPORTED_AT.date())

    (event,) = payment_events(invoice)
    assert event.at == IMPORTED_AT


def test_run_waits_for_booking_date(invoice, tmp_path):
    booked = dt.date(2027, 4, 25)
    payment = import_payment(tmp_path, booked)
    # Booked after the import day, so the import leaves it for a run.
    assert payment.status == PaymentStatus.NEW

    run_cycle(dt.date(2027, 4, 10), invoice.creditor)

    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.status == PaymentStatus.NEW
    assert invoice.status == InvoiceStatus.OPEN
    assert payment_events(invoice) == []

    run_cycle(booked, invoice.creditor)

    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.status == PaymentStatus.MATCHED
    assert invoice.status == InvoiceStatus.PAID
    (event,) = payment_events(invoice)
    assert event.at == dt.datetime(2027, 4, 25, 9, 0, tzinfo=AMSTERDAM)


def import_report(tmp_path: Path, booked: list[dt.date], language: str) -> list[str]:
    """Import a statement at `IMPORTED_AT` with one payment per date of `booked`, and return its report notes."""
    entries = [
        SampleEntry(Decimal("80.00"), name="Jan de Vries", iban=PAYER_IBAN, remittance="Factuur 2027-0020",
                    booking_date=day)
        for day in booked
    ]
    with mock.patch("django.utils.timezone.now", return_value=IMPORTED_AT), translation.override(language):
        return import_entries(tmp_path, entries, day=max(booked)).notes


@pytest.mark.parametrize(("language", "note"), [
    ("nl", "1 betaling is geboekt op 2027-04-25, na vandaag, en wacht op een run op of na die datum"),
    ("en", "1 payment is booked on 2027-04-25, after today, and waits for a run on or after that date"),
])
def test_report_names_waiting_payment(invoice, tmp_path, language, note):
    notes = import_report(tmp_path, [dt.date(2027, 4, 25)], language)

    assert note in notes
    assert Payment.objects.get().status == PaymentStatus.NEW


@pytest.mark.parametrize(("language", "note"), [
    ("nl", "2 betalingen zijn geboekt op 2027-04-25..2027-04-28, na vandaag, en wachten op een run op of na die datum"),
    ("en", "2 payments are booked on 2027-04-25..2027-04-28, after today, and wait for a run on or after that date"),
])
def test_report_names_waiting_dates(invoice, tmp_path, language, note):
    booked = [dt.date(2026, 12, 1), dt.date(2027, 4, 25), dt.date(2027, 4, 28)]

    notes = import_report(tmp_path, booked, language)

    assert note in notes
    assert Payment.objects.filter(status=PaymentStatus.NEW).count() == 2


def test_report_silent_without_waiting(invoice, tmp_path):
    notes = import_report(tmp_path, [dt.date(2026, 12, 1)], "nl")

    assert [note for note in notes if "na vandaag" in note] == []
