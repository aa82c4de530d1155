"""A run for a past day dates its timeline events on that day, not at the wall-clock time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from betaalreis.dunning.run import REPLAY_TIME, run_cycle
from betaalreis.ledger.models import TimelineEvent, TimelineKind
from betaalreis.portal.models import Promise
from betaalreis.testing import make_debtor, make_invoice

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# A day well before the real date the tests run on, so the run replays it.
PAST_DAY = dt.date(2025, 3, 12)


def test_replayed_run_dates_events_on_its_day(creditor):
    consumer = make_debtor(creditor)
    make_invoice(consumer, "100.00", due=PAST_DAY - dt.timedelta(days=30), dunning_stage="reminder",
                 dunning_stage_date=PAST_DAY - dt.timedelta(days=16))
    promiser = make_debtor(creditor)
    make_invoice(promiser, "50.00", due=PAST_DAY - dt.timedelta(days=20))
    Promise.objects.create(
        creditor=creditor, debtor=promiser, promised_date=PAST_DAY - dt.timedelta(days=1), amount="50.00"
    )

    run_cycle(PAST_DAY, creditor)

    events = list(TimelineEvent.objects.filter(creditor=creditor))
    kinds = {event.kind for event in events}
    assert TimelineKind.STAGE in kinds
    assert TimelineKind.COMMUNICATION in kinds
    assert TimelineKind.LEGAL in kinds
    assert any(event.summary.startswith("Betaalbelofte") for event in events)
    expected = dt.datetime.combine(PAST_DAY, REPLAY_TIME, tzinfo=AMSTERDAM)
    for event in events:
        assert event.at == expected, event.summary


def test_run_for_today_uses_real_time(creditor):
    today = timezone.localdate(timezone.now(), AMSTERDAM)
    debtor = make_debtor(creditor)
    make_invoice(debtor, "100.00", due=today - dt.timedelta(days=30), dunning_stage="reminder",
                 dunning_stage_date=today - dt.timedelta(days=16))
    before = timezone.now()

    run_cycle(today, creditor, dispatch_messages=False)

    stage_event = TimelineEvent.objects.get(creditor=creditor, kind=TimelineKind.STAGE)
    assert before <= stage_event.at <= timezone.now()



def test_replayed_run_dates_payment_events_on_its_day(creditor):
    from betaalreis.ledger.models import Payment, PaymentSource

    debtor = make_debtor(creditor)
    paid = make_invoice(debtor, "100.00", due=PAST_DAY - dt.timedelta(days=10))
    make_invoice(debtor, "50.00", due=PAST_DAY - dt.timedelta(days=5))
    Payment.objects.create(
        creditor=creditor, source=PaymentSource.BANK, external_id="P-1", booking_date=PAST_DAY,
        amount="130.00", payer_name=debtor.name, remittance_info=f"Factuur {paid.number}",
    )

    run_cycle(PAST_DAY, creditor, dispatch_messages=False)

    events = list(TimelineEvent.objects.filter(creditor=creditor, kind=TimelineKind.PAYMENT))
    summaries = [event.summary for event in events]
    assert any(summary.startswith(f"Betaling €\xa0100,00 op factuur {paid.number}") for summary in summaries)
    assert any(summary.startswith("Teveel betaald") for summary in summaries)
    assert any(summary.startswith("Tegoed €\xa030,00 van de betaling") for summary in summaries)
    expected = dt.datetime.combine(PAST_DAY, REPLAY_TIME, tzinfo=AMSTERDAM)
    for event in events:
        assert event.at == expected, event.summary


def test_timeline_outside_replay_uses_real_time(creditor):
    from betaalreis.ledger import timeline

    debtor = make_debtor(creditor)
    moment = dt.datetime.combine(PAST_DAY, REPLAY_TIME, tzinfo=AMSTERDAM)
    before = timezone.now()

    with timeline.dated_at(moment):
        replayed = timeline.record(debtor, TimelineKind.NOTE, "in de replay", source="test")
    live = timeline.record(debtor, TimelineKind.NOTE, "daarna", source="test")

    assert replayed.at == moment
    assert before <= live.at <= timezone.now()
