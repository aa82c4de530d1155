"""Dispatch keeps to the contact hours at the real moment of a hand-over that reaches the debtor."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from betaalreis.dunning.run import run_cycle
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
