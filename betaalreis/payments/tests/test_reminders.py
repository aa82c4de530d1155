"""Instalment reminders: planned by the daily run, rendered with the instalment amount."""

from __future__ import annotations

import datetime as dt
import email
import io
from decimal import Decimal
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
import zxingcpp
from django.core.management import call_command

from betaalreis.channels.base import get_backend
from betaalreis.channels.render.context import INSTALMENT_REMINDER_STAGE
from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning.run import run_cycle
from betaalreis.ledger.actions import do_allocate_payment
from betaalreis.ledger.models import Payment, PaymentSource, TimelineEvent, TimelineKind
from betaalreis.outbox.models import Communication, CommunicationInvoice
from betaalreis.outbox.render import render_communication
from betaalreis.payments import plans
from betaalreis.payments.models import Instalment
from betaalreis.payments.reminders import plan_instalment_reminders
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
FRIDAY = dt.date(2026, 11, 20)
SUNDAY = dt.date(2026, 11, 22)


@pytest.fixture
def creditor():
    creditor = make_creditor()
    seed_default_policies(creditor)
    return creditor


def start_plan(debtor, day: dt.date, amount: str = "300.00", terms: int = 3):
    invoice = make_invoice(debtor, amount, due=day + dt.timedelta(days=10))
    return plans.do_request_plan(debtor, [invoice], terms, today=day)


def reminders() -> list[Communication]:
    return list(Communication.objects.filter(stage=INSTALMENT_REMINDER_STAGE))


def send_to_file_outbox(communication: Communication) -> None:
    items = list(CommunicationInvoice.objects.filter(communication=communication).select_related("invoice"))
    get_backend(communication.channel).send(render_communication(communication, items, None))


def outbox_files(home: Path, channel: str) -> list[Path]:
    folder = home / "outbox" / channel
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


def test_run_plans_one_instalment_reminder(creditor, betaalreis_home):
    debtor = make_debtor(creditor)
    plan = start_plan(debtor, FRIDAY)

    run_cycle(FRIDAY, creditor, dispatch_messages=False)

    [communication] = reminders()
    assert communication.channel == "email"
    assert communication.total_amount == Decimal("100.00")
    assert communication.not_before is None
    assert communication.idempotency_key == (
        f"acme:{debtor.pk}:instalment:{plan.instalments.get(number=1).pk}:email"
    )
    assert list(communication.items.values_list("invoice_id", flat=True)) == list(
        plan.invoices.values_list("pk", flat=True)
    )
    first = Instalment.objects.get(plan=plan, number=1)
    assert first.reminded_at is not None
    assert first.reminder_id == communication.pk
    assert TimelineEvent.objects.filter(
        debtor=debtor, kind=TimelineKind.STAGE, data__communication_id=communication.pk
    ).exists()


def test_reminder_email_asks_for_instalment(creditor, betaalreis_home):
    debtor = make_debtor(creditor)
    start_plan(debtor, FRIDAY)
    run_cycle(FRIDAY, creditor, dispatch_messages=False)

    send_to_file_outbox(reminders()[0])

    [path] = outbox_files(betaalreis_home, "email")
    parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    # Babel puts a no-break space between the euro sign and the amount.
    body = " ".join(parsed.get_body(("plain",)).get_content().replace("\xa0", " ").split())
    assert "Termijn 1 van uw betalingsregeling" in parsed["Subject"]
    assert "termijn 1 van 3" in body
    assert "20 november 2026" in body
    assert "Bedrag: € 100,00" in body
    assert "Totaal open: € 300,00" in body


def test_run_sends_reminder_to_file_outbox(creditor, betaalreis_home):
    start_plan(make_debtor(creditor), FRIDAY)

    run_cycle(FRIDAY, creditor)

    (email_file,) = outbox_files(betaalreis_home, "email")
    [communication] = reminders()
    assert communication.status == "sent"
    assert communication.total_amount == Decimal("100.00")
    assert "100,00" in email_file.read_text()


def test_reminder_letter_qr_amount_is_instalment(creditor, betaalreis_home):
    debtor = make_debtor(creditor, email="", mobile="")
    start_plan(debtor, FRIDAY)
    run_cycle(FRIDAY, creditor, dispatch_messages=False)
    [communication] = reminders()
    items = list(communication.items.select_related("invoice"))

    message = render_communication(communication, items, None)

    assert communication.channel == "letter"
    assert message.metadata["amount_due"] == "100.00"
    page = pdfium.PdfDocument(message.attachments[0].content)[0]
    image = page.render(scale=200 / 72).to_pil()
    codes = [result.bytes for result in zxingcpp.read_barcodes(image)
             if result.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(codes) == 1
    # Line 8 of an EPC QR payload is the currency and amount.
    assert codes[0].decode("utf-8").split("\n")[7] == "EUR100.00"
    assert "Termijn 1 van uw betalingsregeling: € 100,00" in message.subject.replace("\xa0", " ")


def test_reminder_sms_names_instalment(creditor, betaalreis_home):
    debtor = make_debtor(creditor, email="", language="en")
    start_plan(debtor, FRIDAY)
    run_cycle(FRIDAY, creditor, dispatch_messages=False)
    [communication] = reminders()
    items = list(communication.items.select_related("invoice"))

    message = render_communication(communication, items, None)

    assert communication.channel == "sms"
    assert "instalment 1 of your payment plan, €100.00, is due on" in message.text.replace("\xa0", " ")


def test_second_run_same_day_adds_nothing(creditor, betaalreis_home):
    debtor = make_debtor(creditor)
    start_plan(debtor, FRIDAY)
    run_cycle(FRIDAY, creditor, dispatch_messages=False)
    events = TimelineEvent.objects.count()

    run_cycle(FRIDAY, creditor, dispatch_messages=False)

    assert len(reminders()) == 1
    assert TimelineEvent.objects.count() == events


def test_paid_instalment_gets_no_reminder(creditor, betaalreis_home):
    debtor = make_debtor(creditor)
    plan = start_plan(debtor, FRIDAY)
    invoice = plan.invoices.get()
    payment = Payment.objects.create(
        creditor=creditor, debtor=debtor, source=PaymentSource.MANUAL, external_id="instalment-1",
        booking_date=FRIDAY, amount=Decimal("100.00"),
    )
    do_allocate_payment(payment, [invoice], source="test", reason="first instalment")

    result = plan_instalment_reminders(
        creditor, FRIDAY, dt.datetime.combine(FRIDAY, dt.time(9), tzinfo=AMSTERDAM), source="test"
    )

    assert result.created == 0
    assert reminders() == []
    assert Instalment.objects.get(plan=plan, number=1).reminded_at is None


def test_sunday_reminder_held_to_monday(creditor, betaalreis_home):
    start_plan(make_debtor(creditor), SUNDAY)

    run_cycle(SUNDAY, creditor, dispatch_messages=False)

    [communication] = reminders()
    assert communication.not_before is not None
    held_until = communication.not_before.astimezone(AMSTERDAM)
    assert held_until.date() == dt.date(2026, 11, 23)
    assert "zondag" in communication.hold_reason
    assert TimelineEvent.objects.filter(kind=TimelineKind.HELD, data__communication_id=communication.pk).exists()


def test_unreachable_debtor_gets_no_reminder(creditor, betaalreis_home):
    debtor = make_debtor(creditor, email="", mobile="", street="")
    plan = start_plan(debtor, FRIDAY)

    run_cycle(FRIDAY, creditor, dispatch_messages=False)

    assert reminders() == []
    assert Instalment.objects.get(plan=plan, number=1).reminded_at is None


def _letter_due(debtor) -> None:
    """Give `debtor` an invoice whose 14-day letter is due on FRIDAY."""
    make_invoice(
        debtor, "80.00", due=FRIDAY - dt.timedelta(days=28),
        dunning_stage="reminder", dunning_stage_date=FRIDAY - dt.timedelta(days=14),
    )


def _stages_on(debtor, day: dt.date) -> list[str]:
    return sorted(Communication.objects.filter(debtor=debtor, run_date=day).values_list("stage", flat=True))


def test_fourteen_day_letter_goes_before_reminder(creditor, betaalreis_home):
    debtor = make_debtor(creditor, customer_number="PLAN-1")
    start_plan(debtor, FRIDAY)
    _letter_due(debtor)

    summary = run_cycle(FRIDAY, creditor, dispatch_messages=False)
    next_day = run_cycle(FRIDAY + dt.timedelta(days=1), creditor, dispatch_messages=False)

    assert _stages_on(debtor, FRIDAY) == ["fourteen_day_letter"]
    assert summary.creditors[0].reminders.waiting_debtor_ids == [debtor.pk]
    assert _stages_on(debtor, FRIDAY + dt.timedelta(days=1)) == [INSTALMENT_REMINDER_STAGE]
    assert next_day.creditors[0].reminders.created == 1


def test_reminder_goes_before_other_stage(creditor, betaalreis_home):
    debtor = make_debtor(creditor)
    start_plan(debtor, FRIDAY)
    make_invoice(debtor, "80.00", due=FRIDAY - dt.timedelta(days=3))

    summary = run_cycle(FRIDAY, creditor, dispatch_messages=False)

    assert _stages_on(debtor, FRIDAY) == [INSTALMENT_REMINDER_STAGE]
    [held] = summary.creditors[0].plan.held_second_messages
    assert held.stage.code == "friendly_reminder"
    assert summary.creditors[0].reminders.waiting_debtor_ids == []


def test_reminder_after_message_of_earlier_run(creditor, betaalreis_home):
    debtor = make_debtor(creditor)
    make_invoice(debtor, "80.00", due=FRIDAY - dt.timedelta(days=3))
    run_cycle(FRIDAY, creditor, dispatch_messages=False)
    start_plan(debtor, FRIDAY)

    summary = run_cycle(FRIDAY, creditor, dispatch_messages=False)

    assert _stages_on(debtor, FRIDAY) == ["friendly_reminder"]
    assert summary.creditors[0].reminders.waiting_debtor_ids == [debtor.pk]


@pytest.mark.parametrize(
    ("language", "line"),
    [
        ("nl", "Termijnherinnering uitgesteld tot de volgende run, omdat de debiteur vandaag al een bericht krijgt: PLAN-1"),
        ("en", "Instalment reminder held to the next run, because the debtor already gets a message today: PLAN-1"),
    ],
)
def test_run_summary_names_waiting_reminder(creditor, betaalreis_home, language, line):
    debtor = make_debtor(creditor, customer_number="PLAN-1")
    start_plan(debtor, FRIDAY)
    _letter_due(debtor)
    output = io.StringIO()

    call_command(
        "run", "--date", FRIDAY.isoformat(), "--creditor", creditor.slug, "--no-dispatch", "--lang", language,
        stdout=output,
    )

    assert line in " ".join(output.getvalue().split())


def test_replayed_reminder_events_at_nine(creditor, betaalreis_home):
    start_plan(make_debtor(creditor), SUNDAY)

    run_cycle(SUNDAY, creditor, dispatch_messages=False)

    [communication] = reminders()
    events = TimelineEvent.objects.filter(data__communication_id=communication.pk)
    assert {event.kind for event in events} == {TimelineKind.STAGE, TimelineKind.HELD}
    for event in events:
        assert event.at == dt.datetime.combine(SUNDAY, dt.time(9), tzinfo=AMSTERDAM), event.summary


@pytest.mark.parametrize(("language", "subject", "sentence", "deadline"), [
    ("nl", "vervallen op", "moest op", "uiterlijk"),
    ("en", "due on", "was due on", " by "),
])
def test_overdue_instalment_asks_pay_now(creditor, betaalreis_home, language, subject, sentence, deadline):
    debtor = make_debtor(creditor, language=language)
    start_plan(debtor, FRIDAY)
    run_cycle(FRIDAY, creditor, dispatch_messages=False)
    [communication] = reminders()
    items = list(communication.items.select_related("invoice"))
    due_date = Instalment.objects.get(reminder=communication).due_date

    message = render_communication(communication, items, None, today=due_date + dt.timedelta(days=5))

    text = " ".join(message.text.replace("\xa0", " ").split())
    assert subject in message.subject
    assert deadline not in message.subject
    assert sentence in text
    assert "zodat uw betalingsregeling doorloopt" in text or "so that your payment plan continues" in text
