"""Dispatch keeps to the contact hours at the real moment of a hand-over that reaches the debtor."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from betaalreis.channels.base import ChannelBackend, ChannelError, OutgoingMessage, SendResult
from betaalreis.dunning.run import run_cycle
from betaalreis.legal.models import CreditorLegalSettings
from betaalreis.outbox.dispatch import dispatch
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.portal.tests.factories import CapturingBackend
from betaalreis.testing import make_debtor, make_invoice

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
FRIDAY = dt.date(2026, 12, 4)
SUNDAY_NIGHT = dt.datetime(2026, 12, 6, 1, 4, tzinfo=AMSTERDAM)
MONDAY_MORNING = dt.datetime(2026, 12, 7, 7, 0, tzinfo=AMSTERDAM)
MONDAY_TEN = dt.datetime(2026, 12, 7, 10, 0, tzinfo=AMSTERDAM)
# The consumer policy's friendly reminder goes out 3 days after the due date, by email first.
FRIENDLY_OFFSET = 3


@pytest.fixture
def email_reaches_debtor(settings):
    """Email through an adapter that reaches the debtor (kept in memory here)."""
    dotted = "betaalreis.portal.tests.factories.CapturingBackend"
    settings.BETAALREIS_CHANNEL_BACKENDS = {**settings.BETAALREIS_CHANNEL_BACKENDS, "email": dotted}
    CapturingBackend.sent = []
    return CapturingBackend.sent


def friendly_reminder_due_on(creditor, day: dt.date):
    debtor = make_debtor(creditor)
    make_invoice(debtor, "55.00", due=day - dt.timedelta(days=FRIENDLY_OFFSET))
    return debtor


def test_catch_up_waits_for_monday(creditor, betaalreis_home, real_now, email_reaches_debtor):
    debtor = friendly_reminder_due_on(creditor, FRIDAY)
    real_now(SUNDAY_NIGHT)

    summary = run_cycle(FRIDAY, creditor)

    message = Communication.objects.get(debtor=debtor)
    assert message.channel == "email"
    assert message.status == CommunicationStatus.PENDING
    assert message.not_before == MONDAY_MORNING
    assert message.attempts == 0
    assert message.hold_reason == "zondag"
    assert email_reaches_debtor == []
    assert [(waiting.channel, waiting.count) for waiting in summary.creditors[0].waiting] == [("email", 1)]

    real_now(MONDAY_TEN)
    dispatch(creditor=creditor)

    message.refresh_from_db()
    assert message.status == CommunicationStatus.SENT
    assert message.sent_at == MONDAY_TEN
    (sent,) = email_reaches_debtor
    assert sent.metadata.get("sent_at") is None


def test_catch_up_sends_at_real_time(creditor, betaalreis_home, real_now, email_reaches_debtor):
    debtor = friendly_reminder_due_on(creditor, FRIDAY)
    real_now(MONDAY_TEN)

    run_cycle(FRIDAY, creditor)

    message = Communication.objects.get(debtor=debtor)
    assert message.status == CommunicationStatus.SENT
    assert message.sent_at == MONDAY_TEN


def test_file_outbox_replays_the_run_day(creditor, betaalreis_home, real_now):
    debtor = friendly_reminder_due_on(creditor, FRIDAY)
    real_now(SUNDAY_NIGHT)

    run_cycle(FRIDAY, creditor)

    message = Communication.objects.get(debtor=debtor)
    assert message.status == CommunicationStatus.SENT
    assert message.sent_at.astimezone(AMSTERDAM).date() == FRIDAY
    (eml,) = (betaalreis_home / "outbox" / "email").rglob("*.eml")
    assert "Fri, 04 Dec 2026 09:00:00 +0100" in eml.read_text(encoding="utf-8")


# A week without holidays: Saturday 5 to Wednesday 9 December 2026.
SATURDAY = dt.date(2026, 12, 5)
SATURDAY_NINE_PM = dt.datetime(2026, 12, 5, 21, 0, tzinfo=AMSTERDAM)
SUNDAY_NOON = dt.datetime(2026, 12, 6, 12, 0, tzinfo=AMSTERDAM)
TUESDAY = dt.date(2026, 12, 8)
TUESDAY_SIX = dt.datetime(2026, 12, 8, 6, 0, tzinfo=AMSTERDAM)
TUESDAY_SEVEN = dt.datetime(2026, 12, 8, 7, 0, tzinfo=AMSTERDAM)
WEDNESDAY = dt.date(2026, 12, 9)
WEDNESDAY_SIX = dt.datetime(2026, 12, 9, 6, 0, tzinfo=AMSTERDAM)
WEDNESDAY_SEVEN = dt.datetime(2026, 12, 9, 7, 0, tzinfo=AMSTERDAM)


def held_from_tuesday_six(creditor, real_now):
    """Plan a friendly reminder in a run on Tuesday 06:00, which holds it until 07:00."""
    debtor = friendly_reminder_due_on(creditor, TUESDAY)
    real_now(TUESDAY_SIX)
    run_cycle(TUESDAY, creditor)
    return Communication.objects.get(debtor=debtor)


def test_run_at_six_holds(creditor, betaalreis_home, real_now, email_reaches_debtor):
    message = held_from_tuesday_six(creditor, real_now)

    assert message.status == CommunicationStatus.PENDING
    assert message.not_before == TUESDAY_SEVEN
    assert message.hold_reason == "buiten de contacturen"
    assert email_reaches_debtor == []


def test_next_run_at_six_holds_again(creditor, betaalreis_home, real_now, email_reaches_debtor):
    message = held_from_tuesday_six(creditor, real_now)
    real_now(WEDNESDAY_SIX)

    summary = run_cycle(WEDNESDAY, creditor)

    message.refresh_from_db()
    assert message.status == CommunicationStatus.PENDING
    assert message.not_before == WEDNESDAY_SEVEN
    assert message.hold_reason == "buiten de contacturen"
    assert message.attempts == 0
    assert message.last_error == ""
    assert email_reaches_debtor == []
    waiting = summary.creditors[0].waiting
    assert [(item.channel, item.count, item.first_allowed) for item in waiting] == [("email", 1, WEDNESDAY_SEVEN)]


def test_dispatch_command_sends_at_seven(creditor, betaalreis_home, real_now, email_reaches_debtor):
    message = held_from_tuesday_six(creditor, real_now)
    real_now(WEDNESDAY_SIX)
    call_command("dispatch", stdout=io.StringIO())
    assert email_reaches_debtor == []
    real_now(WEDNESDAY_SEVEN)
    output = io.StringIO()

    call_command("dispatch", "--creditor", creditor.slug, stdout=output)

    message.refresh_from_db()
    assert message.status == CommunicationStatus.SENT
    assert message.sent_at == WEDNESDAY_SEVEN
    assert message.attempts == 1
    assert len(email_reaches_debtor) == 1
    assert "Verzending van 09-12-2026 07:00" in output.getvalue()
    assert "verzonden" in output.getvalue()


def test_dispatch_later_than_now_ends(creditor, betaalreis_home, real_now, email_reaches_debtor):
    message = held_from_tuesday_six(creditor, real_now)
    real_now(WEDNESDAY_SIX)

    summary = dispatch(due_by=WEDNESDAY_SIX + dt.timedelta(hours=3), creditor=creditor)

    message.refresh_from_db()
    assert summary.total("sent") == 0
    assert summary.total("retry") == 0
    assert message.status == CommunicationStatus.PENDING
    assert message.not_before == WEDNESDAY_SEVEN
    assert message.attempts == 0


def test_saturday_evening_run_sends_monday(creditor, betaalreis_home, real_now, email_reaches_debtor):
    debtor = friendly_reminder_due_on(creditor, SATURDAY)
    real_now(SATURDAY_NINE_PM)
    run_cycle(SATURDAY, creditor)
    real_now(SUNDAY_NOON)
    call_command("dispatch", stdout=io.StringIO())

    message = Communication.objects.get(debtor=debtor)
    assert message.status == CommunicationStatus.PENDING
    assert message.not_before == MONDAY_MORNING
    assert email_reaches_debtor == []

    real_now(MONDAY_MORNING)
    call_command("dispatch", stdout=io.StringIO())

    message.refresh_from_db()
    assert message.status == CommunicationStatus.SENT
    assert message.sent_at == MONDAY_MORNING
    assert len(email_reaches_debtor) == 1


def test_christmas_holds_until_monday(creditor, betaalreis_home, real_now, email_reaches_debtor):
    christmas_eve = dt.date(2026, 12, 24)
    debtor = friendly_reminder_due_on(creditor, christmas_eve)
    real_now(dt.datetime(2026, 12, 24, 6, 0, tzinfo=AMSTERDAM))
    run_cycle(christmas_eve, creditor)
    # Christmas Day and Boxing Day (a Saturday) are Atw holidays, then comes a Sunday.
    real_now(dt.datetime(2026, 12, 25, 10, 0, tzinfo=AMSTERDAM))

    dispatch(creditor=creditor)

    message = Communication.objects.get(debtor=debtor)
    assert message.status == CommunicationStatus.PENDING
    assert message.not_before == dt.datetime(2026, 12, 28, 7, 0, tzinfo=AMSTERDAM)
    assert "feestdag" in message.hold_reason
    assert message.attempts == 0
    assert email_reaches_debtor == []


def test_weekly_maximum_of_sending_week(creditor, betaalreis_home, real_now, email_reaches_debtor):
    CreditorLegalSettings.objects.create(creditor=creditor, weekly_contact_maximum=1)
    friday = dt.date(2026, 12, 11)
    debtor = friendly_reminder_due_on(creditor, friday)
    real_now(dt.datetime(2026, 12, 11, 21, 0, tzinfo=AMSTERDAM))
    run_cycle(friday, creditor)
    message = Communication.objects.get(debtor=debtor)
    assert message.not_before == dt.datetime(2026, 12, 12, 7, 0, tzinfo=AMSTERDAM)
    # Nothing dispatched on Saturday, and the debtor got another message on Monday.
    monday = dt.datetime(2026, 12, 14, 8, 0, tzinfo=AMSTERDAM)
    other = Communication.objects.get(pk=message.pk)
    other.pk = None
    other.idempotency_key += ":other"
    other.status = CommunicationStatus.SENT
    other.run_date = monday.date()
    other.not_before = None
    other.sent_at = monday
    other.save()
    real_now(monday + dt.timedelta(hours=2))

    dispatch(creditor=creditor)

    message.refresh_from_db()
    assert message.status == CommunicationStatus.PENDING
    assert message.not_before == dt.datetime(2026, 12, 21, 7, 0, tzinfo=AMSTERDAM)
    assert message.hold_reason.startswith("maximum aantal contacten deze week bereikt")
    assert email_reaches_debtor == []


def test_waiting_message_keeps_one_a_day(creditor, betaalreis_home, real_now, email_reaches_debtor):
    waiting = held_from_tuesday_six(creditor, real_now)
    make_invoice(waiting.debtor, "20.00", due=WEDNESDAY - dt.timedelta(days=FRIENDLY_OFFSET))
    real_now(WEDNESDAY_SIX)

    run_cycle(WEDNESDAY, creditor)

    waiting.refresh_from_db()
    planned = Communication.objects.exclude(pk=waiting.pk).get(debtor=waiting.debtor)
    assert planned.not_before == WEDNESDAY_SEVEN
    assert waiting.status == CommunicationStatus.PENDING
    assert waiting.not_before == dt.datetime(2026, 12, 10, 7, 0, tzinfo=AMSTERDAM)
    assert waiting.hold_reason == "buiten de contacturen, al een bericht op die dag"
    assert waiting.attempts == 0


def test_file_outbox_sends_waiting_message(creditor, betaalreis_home, real_now):
    debtor = friendly_reminder_due_on(creditor, TUESDAY)
    real_now(TUESDAY_SIX)
    run_cycle(TUESDAY, creditor)
    real_now(WEDNESDAY_SIX)

    dispatch(creditor=creditor)

    message = Communication.objects.get(debtor=debtor)
    assert message.status == CommunicationStatus.SENT
    assert len(list((betaalreis_home / "outbox" / "email").rglob("*.eml"))) == 1


class FailingEmailBackend(ChannelBackend):
    """An email adapter whose provider is down: every hand-over fails and may be retried."""

    channel = "email"
    provider = "down"

    def send(self, message: OutgoingMessage) -> SendResult:
        raise ChannelError("provider unavailable", permanent=False, code="provider_unavailable")


def test_dispatch_command_fails_on_silent_channel(creditor, settings, betaalreis_home, real_now):
    settings.BETAALREIS_CHANNEL_BACKENDS = {
        **settings.BETAALREIS_CHANNEL_BACKENDS, "email": f"{__name__}.FailingEmailBackend",
    }
    friendly_reminder_due_on(creditor, WEDNESDAY)
    real_now(WEDNESDAY_SIX)
    run_cycle(WEDNESDAY, creditor)
    real_now(WEDNESDAY_SEVEN)
    output = io.StringIO()

    with pytest.raises(CommandError) as failed:
        call_command("dispatch", "--lang", "en", stdout=output)

    assert failed.value.returncode == 1
    assert "Nothing sent by email" in str(failed.value)
    assert "Messages per channel and stage" in output.getvalue()


def test_dispatch_command_unknown_creditor(creditor):
    with pytest.raises(CommandError, match="acme"):
        call_command("dispatch", "--creditor", "nope", stdout=io.StringIO())
