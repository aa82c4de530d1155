"""A replayed run (`run --date`) files and dates its messages on the day it sends them."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path

import pytest

from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning.run import run_cycle
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

SUNDAY = dt.date(2026, 10, 4)
SENT_ON = dt.date(2026, 10, 15)


def test_held_messages_filed_on_send_day(betaalreis_home: Path):
    creditor = make_creditor()
    seed_default_policies(creditor)
    make_invoice(make_debtor(creditor, mobile=""), "100.00", due=SUNDAY - dt.timedelta(days=3))
    make_invoice(make_debtor(creditor, email="", mobile=""), "100.00", due=SUNDAY - dt.timedelta(days=3))

    run_cycle(SUNDAY, creditor)
    held = list(Communication.objects.order_by("channel"))
    assert [communication.status for communication in held] == [CommunicationStatus.PENDING] * 2
    run_cycle(SENT_ON, creditor)

    outbox = betaalreis_home / "outbox"
    for communication in held:
        communication.refresh_from_db()
        assert communication.status == CommunicationStatus.SENT
        assert Path(communication.provider_reference).parent.name == SENT_ON.isoformat()
    eml = outbox / held[0].provider_reference
    parsed = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert parsed["Date"] == "Thu, 15 Oct 2026 09:00:00 +0200"
    assert (outbox / held[1].provider_reference).suffix == ".pdf"


def test_next_stage_waits_after_held_send(betaalreis_home: Path):
    creditor = make_creditor()
    seed_default_policies(creditor)
    debtor = make_debtor(creditor, mobile="")
    make_invoice(debtor, "100.00", due=SUNDAY - dt.timedelta(days=3))

    run_cycle(SUNDAY, creditor)
    # The reminder is due 14 days after the due date, but its 7 days after
    # the friendly reminder count from when that went out on SENT_ON.
    run_cycle(SENT_ON, creditor)
    assert list(Communication.objects.values_list("stage", "status")) == [
        ("friendly_reminder", CommunicationStatus.SENT),
    ]
    run_cycle(SENT_ON + dt.timedelta(days=6), creditor)
    assert Communication.objects.count() == 1

    run_cycle(SENT_ON + dt.timedelta(days=7), creditor)

    reminder = Communication.objects.get(stage="reminder")
    assert reminder.status == CommunicationStatus.SENT
    assert reminder.run_date == SENT_ON + dt.timedelta(days=7)
