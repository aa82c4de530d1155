"""A message held over Sunday counts for the day it reaches the debtor: one message a day, a few a week."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from betaalreis.dunning.run import run_cycle
from betaalreis.legal.models import CreditorLegalSettings
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.testing import make_debtor, make_invoice

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SUNDAY = dt.date(2026, 11, 22)
MONDAY = SUNDAY + dt.timedelta(days=1)
# The consumer policy's friendly reminder goes out 3 days after the due date.
FRIENDLY_OFFSET = 3


def send_day(message: Communication) -> dt.date:
    return message.not_before.astimezone(AMSTERDAM).date() if message.not_before else message.run_date


def test_monday_waits_after_held_message(creditor, betaalreis_home):
    debtor = make_debtor(creditor)
    make_invoice(debtor, "80.00", due=SUNDAY - dt.timedelta(days=FRIENDLY_OFFSET))
    run_cycle(SUNDAY, creditor)
    (held,) = Communication.objects.filter(debtor=debtor)
    assert send_day(held) == MONDAY
    # A second invoice reaches the friendly reminder on Monday.
    make_invoice(debtor, "60.00", due=MONDAY - dt.timedelta(days=FRIENDLY_OFFSET))

    summary = run_cycle(MONDAY, creditor)

    monday = [message for message in Communication.objects.filter(debtor=debtor) if send_day(message) == MONDAY]
    assert len(monday) == 1, [(m.stage, m.run_date, m.not_before) for m in monday]
    assert summary.creditors[0].plan.held_second_messages

    run_cycle(MONDAY + dt.timedelta(days=1), creditor)
    tuesday = [message for message in Communication.objects.filter(debtor=debtor) if send_day(message) != MONDAY]
    assert [message.status for message in tuesday] == [CommunicationStatus.SENT]


def test_week_counts_a_message_held_into_it(creditor, betaalreis_home):
    CreditorLegalSettings.objects.update_or_create(creditor=creditor, defaults={"weekly_contact_maximum": 1})
    debtor = make_debtor(creditor)
    make_invoice(debtor, "80.00", due=SUNDAY - dt.timedelta(days=FRIENDLY_OFFSET))
    run_cycle(SUNDAY, creditor)
    # Tuesday's stage for another invoice is this week's second contact.
    tuesday = MONDAY + dt.timedelta(days=1)
    make_invoice(debtor, "60.00", due=tuesday - dt.timedelta(days=FRIENDLY_OFFSET))

    run_cycle(tuesday, creditor)

    second = Communication.objects.filter(debtor=debtor).order_by("id").last()
    assert second.run_date == tuesday
    assert send_day(second) == MONDAY + dt.timedelta(weeks=1)
