"""The daily run end to end on the file outbox: plan, write, dispatch, once."""

from __future__ import annotations

import datetime as dt
import email
import gc
import json
from decimal import Decimal
from email import policy
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation

from betaalreis.banking.gc_pause import cyclic_gc_paused
from betaalreis.channels.base import ChannelBackend, ChannelError, OutgoingMessage, SendResult
from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning.run import run_cycle
from betaalreis.ledger.actions import do_allocate_payment
from betaalreis.ledger.models import DebtorKind, InvoiceStatus, Payment, PaymentSource, PaymentStatus, TimelineEvent
from betaalreis.legal.contact import is_contact_day
from betaalreis.outbox.dispatch import InvalidTransition, check_transition, dispatch
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.portal.links import SHORT_CODE_LENGTH
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 20)
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def creditor():
    creditor = make_creditor()
    seed_default_policies(creditor)
    return creditor


def outbox_files(home: Path, channel: str) -> list[Path]:
    folder = home / "outbox" / channel
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


def pay(invoice, amount=None):
    payment = Payment.objects.create(
        creditor=invoice.creditor, debtor=invoice.debtor, source=PaymentSource.MANUAL,
        external_id=f"pay-{invoice.pk}", booking_date=DAY, amount=Decimal(amount or invoice.open_amount),
    )
    do_allocate_payment(payment, [invoice], source="test", reason="test payment")


def test_run_writes_every_channel_to_file_outbox(creditor, betaalreis_home):
    email_debtor = make_debtor(creditor)
    sms_debtor = make_debtor(creditor, email="")
    letter_debtor = make_debtor(creditor, email="", mobile="")
    phone_debtor = make_debtor(creditor, phone="+31201234567")
    make_invoice(email_debtor, "120.00", due=DAY - dt.timedelta(days=3))
    make_invoice(sms_debtor, "80.00", due=DAY - dt.timedelta(days=3))
    make_invoice(letter_debtor, "95.50", due=DAY - dt.timedelta(days=3))
    make_invoice(phone_debtor, "300.00", due=DAY - dt.timedelta(days=57), dunning_stage="final_notice",
                 dunning_stage_date=DAY - dt.timedelta(days=8))

    summary = run_cycle(DAY, creditor)

    assert summary.dispatched.total("sent") == 4
    assert summary.dispatched.total("failed") == 0
    emails = outbox_files(betaalreis_home, "email")
    assert len(emails) == 1
    parsed = email.message_from_bytes(emails[0].read_bytes(), policy=policy.default)
    assert parsed["To"] == email_debtor.email
    assert "/p/" in parsed.get_body(("plain",)).get_content()
    sms = [json.loads(path.read_text()) for path in outbox_files(betaalreis_home, "sms")]
    assert len(sms) == 1
    assert "/b/" in sms[0]["text"]
    assert sms[0]["segments"] == 1
    assert outbox_files(betaalreis_home, "letter")[0].read_bytes().startswith(b"%PDF")
    assert len(outbox_files(betaalreis_home, "phone")) == 1
    assert set(Communication.objects.values_list("status", flat=True)) == {CommunicationStatus.SENT}


def test_second_run_same_day_sends_nothing(creditor, betaalreis_home):
    make_invoice(make_debtor(creditor), due=DAY - dt.timedelta(days=3))
    run_cycle(DAY, creditor)
    files_before = outbox_files(betaalreis_home, "email")

    summary = run_cycle(DAY, creditor)

    assert summary.planned == 0
    assert summary.dispatched.total("sent") == 0
    assert outbox_files(betaalreis_home, "email") == files_before
    assert Communication.objects.count() == 1


def test_invoice_paid_after_planning_leaves_message(creditor, betaalreis_home):
    debtor = make_debtor(creditor)
    paid = make_invoice(debtor, "100.00", due=DAY - dt.timedelta(days=4))
    still_open = make_invoice(debtor, "40.00", due=DAY - dt.timedelta(days=5))
    run_cycle(DAY, creditor, dispatch_messages=False)

    pay(paid)
    dispatch(due_by=timezone.now())

    communication = Communication.objects.get()
    assert communication.status == CommunicationStatus.SENT
    assert list(communication.items.values_list("invoice_id", flat=True)) == [still_open.pk]
    assert communication.total_amount == Decimal("40.00")
    body = outbox_files(betaalreis_home, "email")[0].read_text()
    assert still_open.number in body
    assert paid.number not in body
    assert TimelineEvent.objects.filter(kind="communication_cancelled", invoice=paid).exists()


def test_message_left_without_invoice_is_not_sent(creditor, betaalreis_home):
    invoice = make_invoice(make_debtor(creditor), "60.00", due=DAY - dt.timedelta(days=4))
    run_cycle(DAY, creditor, dispatch_messages=False)

    pay(invoice)
    summary = dispatch(due_by=timezone.now())

    assert summary.total("cancelled") == 1
    assert Communication.objects.get().status == CommunicationStatus.CANCELLED
    assert outbox_files(betaalreis_home, "email") == []


def test_paid_invoice_never_in_later_message(creditor):
    debtor = make_debtor(creditor)
    paid = make_invoice(debtor, "70.00", due=DAY - dt.timedelta(days=3))
    other = make_invoice(debtor, "30.00", due=DAY - dt.timedelta(days=3))
    run_cycle(DAY, creditor)
    pay(paid)

    for offset in range(1, 40):
        run_cycle(DAY + dt.timedelta(days=offset), creditor)

    later = Communication.objects.filter(run_date__gt=DAY)
    assert later.exists()
    assert not later.filter(items__invoice=paid).exists()
    assert later.filter(items__invoice=other).exists()


class CrashingBackend(ChannelBackend):
    """Writes through to the file backend, but fails the first call with a timeout."""

    channel = "email"
    provider = "crashing"
    # It writes the file outbox, so dispatch applies no contact hours to it.
    reaches_debtor = False
    calls: list[str] = []

    def send(self, message: OutgoingMessage) -> SendResult:
        from betaalreis.channels.backends.email import FileEmailBackend

        CrashingBackend.calls.append(message.idempotency_key)
        if len(CrashingBackend.calls) == 1:
            raise ChannelError("provider timed out", permanent=False, code="timeout")
        return FileEmailBackend().send(message)


def test_temporary_error_retried_then_sent_once(creditor, settings, betaalreis_home):
    settings.BETAALREIS_CHANNEL_BACKENDS = {**settings.BETAALREIS_CHANNEL_BACKENDS,
                                            "email": f"{__name__}.CrashingBackend"}
    CrashingBackend.calls = []
    make_invoice(make_debtor(creditor), due=DAY - dt.timedelta(days=3))
    run_cycle(DAY, creditor, dispatch_messages=False)

    first = dispatch(due_by=timezone.now())
    too_early = dispatch(due_by=timezone.now())
    retry = Communication.objects.get()
    second = dispatch(due_by=retry.not_before)
    third = dispatch(due_by=timezone.now() + dt.timedelta(hours=2))

    assert first.total("retry") == 1
    assert first.total("sent") == 0
    assert too_early.total("sent") == 0
    assert retry.status == CommunicationStatus.PENDING
    assert "timeout" in retry.last_error
    assert retry.not_before > timezone.now()
    assert second.total("sent") == 1
    assert third.total("sent") == 0
    assert len(outbox_files(betaalreis_home, "email")) == 1
    communication = Communication.objects.get()
    assert communication.attempts == 2


def test_retry_waits_for_contact_hours(creditor, settings, betaalreis_home):
    settings.BETAALREIS_CHANNEL_BACKENDS = {**settings.BETAALREIS_CHANNEL_BACKENDS,
                                            "email": f"{__name__}.CrashingBackend"}
    CrashingBackend.calls = []
    make_invoice(make_debtor(creditor), due=DAY - dt.timedelta(days=3))
    run_cycle(DAY, creditor, dispatch_messages=False)
    # Saturday 19:59:30: the first retry delay (48 to 72 seconds) ends after
    # 20:00, and Sunday has no contact, so the retry waits for Monday.
    late = dt.datetime(2026, 11, 21, 19, 59, 30, tzinfo=AMSTERDAM)
    Communication.objects.update(not_before=None)

    with mock.patch("betaalreis.outbox.dispatch.timezone.now", return_value=late):
        dispatch(due_by=late)

    retry = Communication.objects.get()
    assert retry.status == CommunicationStatus.PENDING
    assert retry.not_before == dt.datetime(2026, 11, 23, 7, 0, tzinfo=AMSTERDAM)


def test_run_for_later_day_tries_once(creditor, settings, betaalreis_home):
    settings.BETAALREIS_CHANNEL_BACKENDS = {**settings.BETAALREIS_CHANNEL_BACKENDS,
                                            "email": f"{__name__}.CrashingBackend"}
    CrashingBackend.calls = []
    later_day = timezone.localdate() + dt.timedelta(days=30)
    while not is_contact_day(later_day):
        later_day += dt.timedelta(days=1)
    make_invoice(make_debtor(creditor), due=later_day - dt.timedelta(days=3))

    run_cycle(later_day, creditor)

    communication = Communication.objects.get()
    assert len(CrashingBackend.calls) == 1
    assert communication.status == CommunicationStatus.PENDING
    assert communication.attempts == 1


def test_crash_after_send_resumes_without_second_message(creditor, settings, betaalreis_home):
    make_invoice(make_debtor(creditor), due=DAY - dt.timedelta(days=3))
    run_cycle(DAY, creditor)
    assert len(outbox_files(betaalreis_home, "email")) == 1

    # A dispatcher that sent the message and died before recording it leaves
    # the row in `sending`. While its lease runs, another dispatcher leaves
    # the row alone and names it in its summary.
    settings.BETAALREIS_DISPATCH_LEASE_SECONDS = 300
    claimed_at = timezone.now() - dt.timedelta(minutes=1)
    Communication.objects.update(status=CommunicationStatus.SENDING, claimed_at=claimed_at)
    held = dispatch(due_by=timezone.now())

    assert held.total("sent") == 0
    assert held.held_by_lease == 1
    assert held.lease_ends == claimed_at + dt.timedelta(seconds=300)
    assert len(outbox_files(betaalreis_home, "email")) == 1
    assert Communication.objects.get().status == CommunicationStatus.SENDING

    # After the lease another dispatcher takes it over.
    settings.BETAALREIS_DISPATCH_LEASE_SECONDS = 0
    Communication.objects.update(
        status=CommunicationStatus.SENDING, claimed_at=timezone.now() - dt.timedelta(minutes=10)
    )
    summary = dispatch(due_by=timezone.now())

    assert summary.total("sent") == 1
    assert summary.held_by_lease == 0
    assert len(outbox_files(betaalreis_home, "email")) == 1
    assert Communication.objects.get().status == CommunicationStatus.SENT


def test_unreachable_channel_falls_back_to_next_channel(creditor, betaalreis_home):
    debtor = make_debtor(creditor)
    make_invoice(debtor, due=DAY - dt.timedelta(days=3))
    run_cycle(DAY, creditor, dispatch_messages=False)
    type(debtor).objects.filter(pk=debtor.pk).update(email="")
    # Inside contact hours, so the fallback goes out in the same dispatch run.
    monday_morning = dt.datetime(2026, 11, 23, 10, 0, tzinfo=AMSTERDAM)

    summary = dispatch(due_by=monday_morning, clock=monday_morning)

    assert summary.total("failed") == 1
    assert summary.total("sent") == 1
    assert summary.counts[("sms", "friendly_reminder", "fallback")] == 1
    failed = Communication.objects.get(channel="email")
    assert failed.status == CommunicationStatus.FAILED
    assert failed.last_error
    fallback = Communication.objects.get(channel="sms")
    assert fallback.status == CommunicationStatus.SENT
    assert len(outbox_files(betaalreis_home, "sms")) == 1


def test_no_channel_left_fails_without_message(creditor, betaalreis_home):
    debtor = make_debtor(creditor, mobile="", street="")
    make_invoice(debtor, due=DAY - dt.timedelta(days=3))
    run_cycle(DAY, creditor, dispatch_messages=False)
    type(debtor).objects.filter(pk=debtor.pk).update(email="")

    summary = dispatch(due_by=timezone.now())

    assert summary.total("failed") == 1
    assert summary.total("sent") == 0
    assert summary.total("fallback") == 0
    assert Communication.objects.count() == 1
    assert TimelineEvent.objects.filter(debtor=debtor, summary__contains="geen ander kanaal").exists()


def test_fourteen_day_letter_records_term_on_timeline(creditor, betaalreis_home):
    debtor = make_debtor(creditor)
    make_invoice(debtor, "150.00", due=dt.date(2026, 11, 4) - dt.timedelta(days=30),
                 dunning_stage="reminder", dunning_stage_date=dt.date(2026, 10, 20))

    run_cycle(dt.date(2026, 11, 4), creditor)

    communication = Communication.objects.get()
    assert communication.stage == "fourteen_day_letter"
    assert communication.status == CommunicationStatus.SENT
    event = TimelineEvent.objects.get(debtor=debtor, kind="legal")
    # Posted Wednesday 4 November 2026: presumed received Friday 6 November,
    # term 7 up to and including 20 November.
    assert event.data["received_on"] == "2026-11-06"
    assert event.data["term_start"] == "2026-11-07"
    assert event.data["term_end"] == "2026-11-20"


def test_mixed_currencies_reminded_on_two_days(creditor, betaalreis_home):
    wednesday = dt.date(2026, 11, 4)
    debtor = make_debtor(creditor)
    euro = make_invoice(debtor, "150.00", due=wednesday - dt.timedelta(days=30),
                        dunning_stage="reminder", dunning_stage_date=dt.date(2026, 10, 20))
    dollar = make_invoice(debtor, "80.00", due=wednesday - dt.timedelta(days=30), currency="USD",
                          dunning_stage="reminder", dunning_stage_date=dt.date(2026, 10, 20))

    first = run_cycle(wednesday, creditor)

    assert first.dispatched.total("failed") == 0
    euro_letter = Communication.objects.get(debtor=debtor, stage="fourteen_day_letter")
    assert euro_letter.status == CommunicationStatus.SENT
    assert euro_letter.currency == "EUR"
    assert list(euro_letter.items.values_list("invoice_id", flat=True)) == [euro.pk]
    (euro_file,) = outbox_files(betaalreis_home, euro_letter.channel)
    euro_text = " ".join(pdf_text(euro_file).split())
    assert euro.number in euro_text
    assert dollar.number not in euro_text
    assert "Totaal te betalen € 150,49" in euro_text
    assert "€ 40,00 incassokosten" in euro_text

    second = run_cycle(wednesday + dt.timedelta(days=1), creditor)

    assert second.dispatched.total("failed") == 0
    dollar_letter = Communication.objects.exclude(pk=euro_letter.pk).get(debtor=debtor)
    assert dollar_letter.status == CommunicationStatus.SENT
    assert dollar_letter.currency == "USD"
    assert dollar_letter.stage == "fourteen_day_letter"
    assert list(dollar_letter.items.values_list("invoice_id", flat=True)) == [dollar.pk]
    (dollar_file,) = set(outbox_files(betaalreis_home, dollar_letter.channel)) - {euro_file}
    dollar_text = " ".join(pdf_text(dollar_file).split())
    assert dollar.number in dollar_text
    assert euro.number not in dollar_text
    assert "Totaal US$ 80,00" in dollar_text
    assert "incassokosten" not in dollar_text
    assert "rente" not in dollar_text

    run_cycle(wednesday + dt.timedelta(days=2), creditor)

    assert Communication.objects.filter(debtor=debtor).count() == 2
    assert not Communication.objects.filter(debtor=debtor, status=CommunicationStatus.FAILED).exists()


def pdf_text(path: Path) -> str:
    import pypdfium2

    document = pypdfium2.PdfDocument(str(path))
    return "\n".join(page.get_textpage().get_text_range() for page in document)


def test_final_notice_states_costs_after_term(creditor, betaalreis_home):
    debtor = make_debtor(creditor, email="")
    make_invoice(debtor, "1000.00", due=dt.date(2026, 10, 7), dunning_stage="reminder",
                 dunning_stage_date=dt.date(2026, 10, 21))
    run_cycle(dt.date(2026, 11, 4), creditor)
    letter = Communication.objects.get(stage="fourteen_day_letter")
    (letter_file,) = outbox_files(betaalreis_home, "letter")

    run_cycle(dt.date(2026, 11, 25), creditor)

    final = Communication.objects.get(stage="final_notice")
    assert letter.channel == "letter"
    assert final.status == CommunicationStatus.SENT
    # The 14-day letter announces the statutory costs over EUR 1,000 (15
    # percent), and the final notice after the term charges them.
    assert "150,00" in pdf_text(letter_file)
    (final_file,) = [path for path in outbox_files(betaalreis_home, "letter") if path != letter_file]
    assert "150,00" in pdf_text(final_file)


def test_business_debtor_reminded_before_due_date(creditor, betaalreis_home):
    debtor = make_debtor(creditor, kind=DebtorKind.BUSINESS, contact_person="J. de Vries")
    make_invoice(debtor, "2500.00", due=DAY + dt.timedelta(days=3))

    summary = run_cycle(DAY, creditor)

    assert summary.dispatched.total("sent") == 1
    assert Communication.objects.get().stage == "friendly_reminder"


def test_handover_invoice_stays_in_its_notice(creditor, betaalreis_home):
    debtor = make_debtor(creditor)
    invoice = make_invoice(debtor, "300.00", due=DAY - dt.timedelta(days=75), dunning_stage="call_task",
                           dunning_stage_date=DAY - dt.timedelta(days=15))

    summary = run_cycle(DAY, creditor)

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.HANDED_OVER
    assert summary.dispatched.total("sent") == 1


@pytest.mark.parametrize(
    ("current", "new"),
    [("sent", "pending"), ("cancelled", "pending"), ("pending", "sent"), ("sent", "failed")],
)
def test_status_machine_rejects_invalid_moves(current, new):
    with pytest.raises(InvalidTransition):
        check_transition(current, new)


def test_foreign_currency_final_notice_lists_open_amounts(creditor, betaalreis_home):
    debtor = make_debtor(creditor)
    make_invoice(debtor, "500.00", due=DAY - dt.timedelta(days=50), currency="USD",
                 dunning_stage="fourteen_day_letter", dunning_stage_date=DAY - dt.timedelta(days=30))
    Communication.objects.create(
        creditor=creditor, debtor=debtor, channel="letter", stage="fourteen_day_letter",
        language="nl", idempotency_key="earlier-letter", run_date=DAY - dt.timedelta(days=30),
        total_amount=Decimal("500.00"), currency="USD", status=CommunicationStatus.SENT,
        sent_at=dt.datetime(2026, 10, 21, 10, 0, tzinfo=dt.timezone.utc),
    ).items.create(invoice=debtor.invoices.get(), open_amount=Decimal("500.00"))

    summary = run_cycle(DAY + dt.timedelta(days=5), creditor)

    final = Communication.objects.get(stage="final_notice")
    assert final.currency == "USD"
    assert final.status == CommunicationStatus.SENT
    assert summary.dispatched.total("failed") == 0


def test_promise_pauses_dunning_until_it_lapses(creditor, betaalreis_home):
    from betaalreis.portal.services import do_make_promise

    debtor = make_debtor(creditor)
    make_invoice(debtor, "90.00", due=DAY - dt.timedelta(days=1))
    do_make_promise(debtor, DAY + dt.timedelta(days=5), today=DAY)

    paused = run_cycle(DAY + dt.timedelta(days=3), creditor)
    resumed = run_cycle(DAY + dt.timedelta(days=6), creditor)

    assert paused.planned == 0
    assert paused.creditors[0].plan.paused == 1
    assert resumed.planned == 1
    assert Communication.objects.get().run_date == DAY + dt.timedelta(days=6)


def test_portal_shows_costs_after_fourteen_day_term(creditor, betaalreis_home):
    from django.core.cache import cache

    from betaalreis.portal.services import load_accounts

    debtor = make_debtor(creditor, email="")
    make_invoice(debtor, "1000.00", due=dt.date(2026, 10, 7), dunning_stage="reminder",
                 dunning_stage_date=dt.date(2026, 10, 21))
    run_cycle(dt.date(2026, 11, 4), creditor)
    cache.clear()

    (during_term,) = load_accounts([debtor.pk], dt.date(2026, 11, 20))
    cache.clear()
    (after_term,) = load_accounts([debtor.pk], dt.date(2026, 11, 21))

    assert during_term.costs == Decimal("0.00")
    assert after_term.costs == Decimal("150.00")


def test_run_command_names_unreachable_debtors(creditor):
    import io

    from django.core.management import call_command

    unreachable = make_debtor(creditor, email="", mobile="", street="", customer_number="NOWAY-1")
    make_invoice(unreachable, due=DAY - dt.timedelta(days=3))
    output = io.StringIO()

    call_command("run", "--date", DAY.isoformat(), "--creditor", creditor.slug, "--lang", "en", stdout=output)

    text = " ".join(output.getvalue().split())
    assert "1 debtor unreachable" in text
    assert (
        "Unreachable for Friendly reminder (add an email address, mobile number or postal address): NOWAY-1"
        in text
    )


def test_run_command_names_messages_under_lease(creditor, settings, betaalreis_home):
    import io

    from django.core.management import call_command

    make_invoice(make_debtor(creditor), due=DAY - dt.timedelta(days=3))
    run_cycle(DAY, creditor, dispatch_messages=False)
    # A dispatcher killed after claiming leaves the row in `sending`.
    settings.BETAALREIS_DISPATCH_LEASE_SECONDS = 300
    claimed_at = dt.datetime(2030, 1, 2, 9, 0, tzinfo=AMSTERDAM)
    Communication.objects.update(status=CommunicationStatus.SENDING, claimed_at=claimed_at)
    output = io.StringIO()

    call_command("run", "--date", DAY.isoformat(), "--creditor", creditor.slug, "--lang", "en", stdout=output)

    text = " ".join(output.getvalue().split())
    assert "1 message is in status 'Sending' under another or an aborted dispatch" in text
    assert "The first run after 02-01-2030 09:05:00 sends it again" in text
    assert Communication.objects.get().status == CommunicationStatus.SENDING


def test_run_command_reports_in_dutch_by_default(creditor):
    import io

    from django.core.management import call_command

    unreachable = make_debtor(creditor, email="", mobile="", street="", customer_number="NOWAY-1")
    make_invoice(unreachable, due=DAY - dt.timedelta(days=3))
    output = io.StringIO()

    call_command("run", "--date", DAY.isoformat(), "--creditor", creditor.slug, stdout=output)

    text = " ".join(output.getvalue().split())
    assert f"Betaalreis-run van {DAY.isoformat()}" in text
    assert "1 debiteur onbereikbaar" in text
    assert "1 openstaande factuur gecontroleerd" in text
    assert (
        "Onbereikbaar voor Vriendelijke herinnering (voeg een e-mailadres, mobiel nummer of postadres toe): "
        "NOWAY-1"
    ) in text
    assert "friendly_reminder" not in text
    assert "Berichten per kanaal en fase" in text


def put_in_review(creditor, *debtors, amount="100.00"):
    from betaalreis.banking.models import MatchCandidate, MatchRule

    payment = Payment.objects.create(
        creditor=creditor, source=PaymentSource.BANK, external_id=f"review-{debtors[0].pk}",
        booking_date=DAY, amount=Decimal(amount), status=PaymentStatus.REVIEW,
    )
    for debtor in debtors:
        MatchCandidate.objects.create(
            creditor=creditor, payment=payment, debtor=debtor, rule=MatchRule.PAYER_NAME, score=60
        )
    return payment


def test_payment_in_review_pauses_candidates(creditor):
    import io

    from django.core.management import call_command

    jansen = make_debtor(creditor, customer_number="REVIEW-1")
    pietersen = make_debtor(creditor, customer_number="REVIEW-2")
    other = make_debtor(creditor)
    for debtor in (jansen, pietersen, other):
        make_invoice(debtor, "100.00", due=DAY - dt.timedelta(days=30), dunning_stage="reminder",
                     dunning_stage_date=DAY - dt.timedelta(days=16))
    put_in_review(creditor, jansen, pietersen)
    output = io.StringIO()

    call_command("run", "--date", DAY.isoformat(), "--creditor", creditor.slug, "--lang", "en", stdout=output)
    run_cycle(DAY + dt.timedelta(days=1), creditor)

    text = " ".join(output.getvalue().split())
    assert "2 open invoices of paused debtors" in text
    assert "Paused until a payment in bank review is decided: REVIEW-1, REVIEW-2" in text
    assert list(Communication.objects.values_list("debtor_id", "stage")) == [(other.pk, "fourteen_day_letter")]
    pauses = TimelineEvent.objects.filter(summary__startswith="Aanmaningen gepauzeerd")
    assert sorted(pauses.values_list("debtor_id", flat=True)) == [jansen.pk, pietersen.pk]
    assert "€ 100,00 wacht op beoordeling" in pauses.first().summary.replace("\xa0", " ")


def test_decided_review_resumes_dunning(creditor):
    debtor = make_debtor(creditor)
    make_invoice(debtor, "100.00", due=DAY - dt.timedelta(days=30), dunning_stage="reminder",
                 dunning_stage_date=DAY - dt.timedelta(days=16))
    payment = put_in_review(creditor, debtor)
    paused = run_cycle(DAY, creditor)
    Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.IGNORED)

    resumed = run_cycle(DAY + dt.timedelta(days=1), creditor)

    assert paused.creditors[0].paused_for_review == frozenset({debtor.pk})
    assert paused.planned == 0
    assert resumed.creditors[0].paused_for_review == frozenset()
    assert [c.stage for c in Communication.objects.filter(debtor=debtor)] == ["fourteen_day_letter"]


def test_paused_collector_resumes_after_error():
    assert gc.isenabled()

    with pytest.raises(RuntimeError), cyclic_gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("fails inside the block")

    assert gc.isenabled()


def test_paused_collector_stays_off_if_it_was():
    gc.disable()
    try:
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_other_currency_review_pauses_quoted_debtor(creditor):
    import io

    from django.core.management import call_command

    dekker = make_debtor(creditor, customer_number="DEKKER")
    invoice = make_invoice(dekker, "250.00", due=DAY - dt.timedelta(days=30), currency="GBP", number="77003",
                           dunning_stage="friendly_reminder", dunning_stage_date=DAY - dt.timedelta(days=16))
    Payment.objects.create(
        creditor=creditor, source=PaymentSource.BANK, external_id="eur-for-gbp", booking_date=DAY,
        amount=Decimal("250.00"), currency="EUR", remittance_info="77003",
    )
    output = io.StringIO()

    call_command("run", "--date", DAY.isoformat(), "--creditor", creditor.slug, "--lang", "en", stdout=output)

    text = " ".join(output.getvalue().split())
    assert "Paused until a payment in bank review is decided: DEKKER" in text
    assert not Communication.objects.filter(debtor=dekker).exists()
    invoice.refresh_from_db()
    assert invoice.open_amount == Decimal("250.00")


def test_foreign_currency_letter_claims_no_costs(creditor, betaalreis_home):
    import io

    from betaalreis.dunning.management.commands.run import print_summary
    from rich.console import Console

    debtor = make_debtor(creditor, email="")
    make_invoice(debtor, "250.00", due=dt.date(2026, 10, 4), currency="GBP",
                 dunning_stage="reminder", dunning_stage_date=dt.date(2026, 10, 20))
    output = io.StringIO()

    summary = run_cycle(dt.date(2026, 11, 4), creditor)
    print_summary(summary, Console(file=output, width=200))
    english = io.StringIO()
    with translation.override("en"):
        print_summary(summary, Console(file=english, width=200))

    letter = Communication.objects.get(stage="fourteen_day_letter")
    assert letter.currency == "GBP"
    assert letter.status == CommunicationStatus.SENT
    event = TimelineEvent.objects.get(debtor=debtor, kind="legal")
    assert "incassokosten verschuldigd" not in event.summary
    assert "geen incassokosten of rente berekend" in event.summary
    assert "costs_due_from" not in event.data
    assert event.data["term_end"] == "2026-11-20"
    text = " ".join(output.getvalue().split())
    assert "geen wettelijke rente of incassokosten berekend voor 1 factuur in GBP" in text
    english_text = " ".join(english.getvalue().split())
    assert "no statutory interest or collection costs computed for 1 invoice in GBP" in english_text


def test_every_channel_opted_out_gets_letter(creditor, betaalreis_home):
    import io

    from django.core.management import call_command

    everything = ["email", "sms", "whatsapp", "letter", "phone"]
    nowhere = make_debtor(creditor, customer_number="NOWHERE", opted_out_channels=everything)
    make_invoice(nowhere, "150.00", due=dt.date(2026, 10, 4),
                 dunning_stage="reminder", dunning_stage_date=dt.date(2026, 10, 20))
    no_letter = make_debtor(creditor, customer_number="NOLETTER", email="", opted_out_channels=["letter"])
    make_invoice(no_letter, "150.00", due=dt.date(2026, 10, 4),
                 dunning_stage="reminder", dunning_stage_date=dt.date(2026, 10, 20))
    output = io.StringIO()

    call_command("run", "--date", "2026-11-04", "--creditor", creditor.slug, "--lang", "en", stdout=output)

    letter = Communication.objects.get(debtor=nowhere)
    assert letter.channel == "letter"
    assert letter.status == CommunicationStatus.SENT
    assert not Communication.objects.filter(debtor=no_letter, channel="letter").exists()
    text = " ".join(output.getvalue().split())
    assert "Opted out of every channel, so messages go by letter only: NOWHERE" in text


def test_english_run_writes_dutch_timeline(creditor, betaalreis_home):
    import io

    from django.core.management import call_command

    from betaalreis.outbox.dispatch import _channel_labels

    debtor = make_debtor(creditor)
    make_invoice(debtor, "120.00", due=DAY - dt.timedelta(days=3))
    # The labels are cached, so an earlier Dutch run would hide an English first call.
    _channel_labels.cache_clear()

    call_command("run", "--date", DAY.isoformat(), "--creditor", creditor.slug, "--lang", "en", stdout=io.StringIO())

    summaries = list(TimelineEvent.objects.filter(debtor=debtor).values_list("summary", flat=True))
    assert any(summary.startswith("E-mail verzonden (") for summary in summaries), summaries
    assert not any(summary.startswith("Email") for summary in summaries), summaries


def test_handover_letter_short_link_no_qr(creditor, betaalreis_home, client):
    from betaalreis.channels.tests.test_letter_pdf import decode_qr_codes

    debtor = make_debtor(creditor, email="", mobile="")
    invoice = make_invoice(debtor, "300.00", due=DAY - dt.timedelta(days=75), dunning_stage="call_task",
                           dunning_stage_date=DAY - dt.timedelta(days=15))

    run_cycle(DAY, creditor)

    handover = Communication.objects.get(stage="handover")
    (letter_file,) = outbox_files(betaalreis_home, "letter")
    text = " ".join(pdf_text(letter_file).split())
    assert handover.channel == "letter"
    assert "/p/" not in text
    short_path = text[text.index("/b/"):].split()[0]
    assert len(short_path) == len("/b//") + SHORT_CODE_LENGTH
    assert client.get(short_path).status_code == 302
    # The invoice is handed over, so the letter tells the debtor to pay the agency and has no QR code.
    assert decode_qr_codes(letter_file.read_bytes()) == []
    assert "niet meer aan ons, maar aan het incassobureau" in text
    assert invoice.number in text
