"""End-to-end tests: a small demo of 50 debtors over 10 days, with the real
camt import, matching, planning, rendering and file outbox."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Max

from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning.run import run_cycle
from betaalreis.ledger.models import (
    Allocation,
    Creditor,
    Debtor,
    Invoice,
    InvoiceStatus,
    Payment,
)
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus

START = dt.date(2026, 3, 2)
SMALL = ("--debtors", "50", "--invoices", "300", "--days", "10", "--start", START.isoformat())


def _run_demo(*arguments: str) -> str:
    output = StringIO()
    call_command("demo", *arguments, stdout=output)
    return output.getvalue()


def _outbox_files(outbox: Path) -> list[Path]:
    return sorted(path for path in outbox.rglob("*") if path.is_file())


@pytest.mark.django_db(transaction=True)
def test_small_demo_outbox_has_every_channel(settings) -> None:
    output = _run_demo(*SMALL)

    sent = Communication.objects.filter(status=CommunicationStatus.SENT)
    channels = set(sent.values_list("channel", flat=True))
    assert {"email", "sms", "letter", "phone"} <= channels
    for channel in ("email", "sms", "letter", "phone"):
        assert _outbox_files(settings.OUTBOX_DIR / channel), f"no {channel} files in the outbox"
    assert "Berichtenmap:" in output
    assert "uitbak" not in output.lower()
    assert "/p/" in output
    assert "Demogrootboek gebouwd in" in output
    assert "betalingen binnen" in output
    assert "Bankinvoer: camt.053-rekeningafschriften." in " ".join(output.split())
    assert "Importer" not in output
    assert "Berichten per fase en kanaal" in output
    assert "Klantportaal:" in output


@pytest.mark.django_db(transaction=True)
def test_small_demo_outbox_files_are_well_formed(settings) -> None:
    _run_demo(*SMALL)

    for path in _outbox_files(settings.OUTBOX_DIR / "email"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert message["Subject"], path
        assert message["To"], path
        assert message.get_body(preferencelist=("plain",)) is not None, path
    for path in _outbox_files(settings.OUTBOX_DIR / "letter"):
        assert path.read_bytes().startswith(b"%PDF-"), path
    for channel in ("sms", "phone"):
        for path in _outbox_files(settings.OUTBOX_DIR / channel):
            data = json.loads(path.read_text(encoding="utf-8"))
            assert data["idempotency_key"], path


@pytest.mark.django_db(transaction=True)
def test_small_demo_settles_invoices_by_bank(settings) -> None:
    _run_demo(*SMALL)

    statements = sorted((Path(settings.BETAALREIS_HOME) / "bank").rglob("camt053-*.xml"))
    assert statements
    run_payments = Payment.objects.filter(booking_date__gte=START)
    assert run_payments.exists()
    allocated_in_run = Allocation.objects.filter(payment__booking_date__gte=START)
    assert allocated_in_run.exists()


@pytest.mark.django_db(transaction=True)
def test_small_demo_rerun_same_day_creates_nothing(settings) -> None:
    _run_demo(*SMALL)
    last_day = START + dt.timedelta(days=9)
    communications = Communication.objects.count()
    files = _outbox_files(settings.OUTBOX_DIR)

    summary = run_cycle(last_day, creditor=None, dispatch_messages=True)

    assert summary.planned == 0
    assert Communication.objects.count() == communications
    assert _outbox_files(settings.OUTBOX_DIR) == files


@pytest.mark.django_db(transaction=True)
def test_small_demo_paid_invoice_not_chased() -> None:
    _run_demo(*SMALL)

    paid_on = dict(
        Allocation.objects.filter(invoice__status=InvoiceStatus.PAID)
        .values("invoice_id")
        .annotate(last=Max("payment__booking_date"))
        .values_list("invoice_id", "last")
    )
    assert paid_on
    later_items = [
        (item.invoice_id, item.communication.run_date)
        for item in CommunicationInvoice.objects.filter(
            invoice_id__in=paid_on, communication__status=CommunicationStatus.SENT
        ).select_related("communication")
        if item.communication.run_date >= paid_on[item.invoice_id]
    ]
    assert later_items == []


@pytest.mark.django_db(transaction=True)
def test_demo_twice_rebuilds() -> None:
    _run_demo(*SMALL)
    first = (Debtor.objects.count(), Invoice.objects.count())

    output = _run_demo(*SMALL, "--lang", "en")

    assert (Debtor.objects.count(), Invoice.objects.count()) == first
    assert "Deleted the previous demo data (2 creditors)" in output


@pytest.mark.django_db(transaction=True)
def test_small_demo_leaves_other_creditors_alone() -> None:
    other = Creditor.objects.create(
        slug="other-tenant", legal_name="Other Tenant B.V.", iban="NL20INGB0001234567"
    )
    seed_default_policies(other)
    debtor = Debtor.objects.create(
        creditor=other, customer_number="X1", name="A. Debtor", email="a.debtor@example.com"
    )
    invoice = Invoice.objects.create(
        creditor=other,
        debtor=debtor,
        number="X-1",
        issue_date=START - dt.timedelta(days=60),
        due_date=START - dt.timedelta(days=30),
        total=Decimal("100.00"),
        open_amount=Decimal("100.00"),
    )

    _run_demo(*SMALL)

    invoice.refresh_from_db()
    assert Communication.objects.filter(creditor=other).count() == 0
    assert invoice.dunning_stage == ""
    assert Creditor.objects.filter(slug="other-tenant").exists()


@pytest.mark.django_db(transaction=True)
def test_demo_names_stages_like_run() -> None:
    dutch = _run_demo(*SMALL)
    english = _run_demo(*SMALL, "--lang", "en")

    for code in ("friendly_reminder", "fourteen_day_letter", "final_notice", "call_task"):
        assert code not in dutch, code
        assert code not in english, code
    assert "Vriendelijke herinnering" in dutch
    assert "Veertiendagenbrief" in dutch
    assert "Friendly reminder" in english
    assert "Fourteen-day letter" in english


@pytest.mark.django_db(transaction=True)
def test_small_demo_dates_payment_events_on_simulated_days() -> None:
    from zoneinfo import ZoneInfo

    from betaalreis.ledger.models import TimelineEvent, TimelineKind

    _run_demo(*SMALL)

    amsterdam = ZoneInfo("Europe/Amsterdam")
    last_day = START + dt.timedelta(days=9)
    payment_days = [
        event.at.astimezone(amsterdam).date()
        for event in TimelineEvent.objects.filter(kind=TimelineKind.PAYMENT, source__startswith="bank")
    ]
    assert payment_days
    assert [day for day in payment_days if not START <= day <= last_day] == []


class ProviderEmailBackend:
    """Stands in for a real provider such as SMTP: records every message handed to it."""

    channel = "email"
    provider = "test-provider"
    sent: list[str] = []

    def send(self, message):
        ProviderEmailBackend.sent.append(message.idempotency_key)
        raise AssertionError("the demo must not send through a configured provider")


@pytest.mark.django_db(transaction=True)
def test_demo_after_today_sends_only_to_files(settings) -> None:
    from betaalreis.dunning.run import amsterdam_today

    ProviderEmailBackend.sent = []
    settings.BETAALREIS_CHANNEL_BACKENDS = {
        **settings.BETAALREIS_CHANNEL_BACKENDS, "email": f"{__name__}.ProviderEmailBackend",
    }
    start = amsterdam_today() + dt.timedelta(days=30)

    _run_demo("--debtors", "50", "--invoices", "250", "--days", "3", "--start", start.isoformat())

    sent = Communication.objects.filter(status=CommunicationStatus.SENT, channel="email")
    assert sent.exists()
    assert ProviderEmailBackend.sent == []
    assert len(_outbox_files(settings.OUTBOX_DIR / "email")) == sent.count()


@pytest.mark.django_db
def test_held_sunday_message_counts_on_monday() -> None:
    from zoneinfo import ZoneInfo

    from betaalreis.demo.simulation import sent_on_day
    from betaalreis.testing import make_creditor, make_debtor

    sunday, monday = dt.date(2026, 3, 8), dt.date(2026, 3, 9)
    creditor = make_creditor()
    Communication.objects.create(
        creditor=creditor, debtor=make_debtor(creditor), channel="email", stage="reminder", language="nl",
        idempotency_key="held-sunday", status=CommunicationStatus.SENT, run_date=sunday,
        total_amount=Decimal("50.00"),
        sent_at=dt.datetime.combine(monday, dt.time(9), tzinfo=ZoneInfo("Europe/Amsterdam")),
    )

    assert sent_on_day([creditor], sunday) == {}
    assert sent_on_day([creditor], monday) == {("email", "reminder"): 1}
