"""A message that waits in the outbox does not go out on a channel the debtor opted out of after planning."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from betaalreis.channels.consent import do_opt_out
from betaalreis.dunning.run import run_cycle
from betaalreis.ledger.models import TimelineEvent
from betaalreis.outbox.dispatch import dispatch
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.testing import make_debtor, make_invoice

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# A Tuesday well before the real date the tests run on.
DAY = dt.date(2026, 11, 24)
EVENING = dt.datetime.combine(DAY, dt.time(18), tzinfo=AMSTERDAM)


def friendly_reminder_planned(creditor, **fields) -> Communication:
    """Plan the consumer's friendly reminder (channels email, sms, letter) without sending it."""
    debtor = make_debtor(creditor, **fields)
    make_invoice(debtor, "100.00", due=DAY - dt.timedelta(days=3))
    run_cycle(DAY, creditor, dispatch_messages=False)
    return Communication.objects.get(debtor=debtor)


def test_opt_out_after_planning_sends_on_next_channel(creditor, betaalreis_home):
    planned = friendly_reminder_planned(creditor)
    assert planned.channel == "email"
    do_opt_out(planned.debtor, "email", source="portal")

    summary = dispatch(due_by=EVENING, creditor=creditor)

    planned.refresh_from_db()
    assert planned.status == CommunicationStatus.FAILED
    assert planned.last_error.startswith("opted_out_since_planned")
    sms = Communication.objects.get(debtor=planned.debtor, channel="sms")
    assert sms.status == CommunicationStatus.SENT
    assert not list((betaalreis_home / "outbox" / "email").rglob("*.eml"))
    assert summary.total("fallback") == 1
    summaries = list(TimelineEvent.objects.filter(debtor=planned.debtor).values_list("summary", flat=True))
    assert any("na het plannen afgemeld" in summary for summary in summaries), summaries


def test_opt_out_of_every_channel_leaves_post(creditor, betaalreis_home):
    planned = friendly_reminder_planned(creditor, mobile="")
    for channel in ("email", "sms", "letter", "phone", "whatsapp"):
        do_opt_out(planned.debtor, channel, source="portal")

    dispatch(due_by=EVENING, creditor=creditor)

    planned.refresh_from_db()
    assert planned.status == CommunicationStatus.FAILED
    letter = Communication.objects.get(debtor=planned.debtor, channel="letter")
    assert letter.status == CommunicationStatus.SENT


def test_no_opt_out_sends_as_planned(creditor, betaalreis_home):
    planned = friendly_reminder_planned(creditor)
    do_opt_out(planned.debtor, "sms", source="portal")

    dispatch(due_by=EVENING, creditor=creditor)

    planned.refresh_from_db()
    assert planned.status == CommunicationStatus.SENT
