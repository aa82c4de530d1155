"""Deleting a debtor, creditor or invoice through Django deletes or clears the rows a run wrote.

The outbox rows and timeline events have no foreign key constraint in the
database, so only Django's cascade removes or clears them.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from betaalreis.dunning.planner import plan_day
from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning.writer import write_plan
from betaalreis.ledger.models import TimelineEvent, TimelineKind
from betaalreis.outbox.models import Communication, CommunicationInvoice
from betaalreis.testing import make_creditor, make_debtor, make_invoice

DAY = dt.date(2026, 12, 4)
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def creditor(db):
    creditor = make_creditor()
    seed_default_policies(creditor)
    return creditor


def run(creditor):
    plan = plan_day(DAY, creditor)
    write_plan(plan, source="test", moment=dt.datetime.combine(DAY, dt.time(9), tzinfo=AMSTERDAM))


def test_debtor_delete_removes_outbox_rows(creditor):
    debtor = make_debtor(creditor)
    invoice = make_invoice(debtor, due=DAY - dt.timedelta(days=3))
    other_debtor = make_debtor(creditor)
    make_invoice(other_debtor, due=DAY - dt.timedelta(days=3))
    run(creditor)
    debtor_id, invoice_id = debtor.pk, invoice.pk
    assert Communication.objects.filter(debtor_id=debtor_id).count() == 1

    debtor.delete()

    assert not Communication.objects.filter(debtor_id=debtor_id).exists()
    assert not CommunicationInvoice.objects.filter(invoice_id=invoice_id).exists()
    assert Communication.objects.filter(debtor=other_debtor).count() == 1


def test_creditor_delete_removes_outbox_rows(creditor):
    make_invoice(make_debtor(creditor), due=DAY - dt.timedelta(days=3))
    other_creditor = make_creditor("other")
    seed_default_policies(other_creditor)
    make_invoice(make_debtor(other_creditor), due=DAY - dt.timedelta(days=3))
    run(creditor)
    run(other_creditor)
    creditor_id = creditor.pk
    assert Communication.objects.filter(creditor_id=creditor_id).count() == 1

    creditor.delete()

    assert not Communication.objects.filter(creditor_id=creditor_id).exists()
    assert Communication.objects.filter(creditor=other_creditor).count() == 1


def test_debtor_delete_removes_timeline(creditor):
    debtor = make_debtor(creditor)
    make_invoice(debtor, due=DAY - dt.timedelta(days=3))
    other_debtor = make_debtor(creditor)
    make_invoice(other_debtor, due=DAY - dt.timedelta(days=3))
    run(creditor)
    debtor_id = debtor.pk
    assert TimelineEvent.objects.filter(debtor_id=debtor_id).exists()
    other_events = TimelineEvent.objects.filter(debtor=other_debtor).count()

    debtor.delete()

    assert not TimelineEvent.objects.filter(debtor_id=debtor_id).exists()
    assert TimelineEvent.objects.filter(debtor=other_debtor).count() == other_events


def test_invoice_delete_keeps_timeline_row(creditor):
    debtor = make_debtor(creditor)
    invoice = make_invoice(debtor, due=DAY - dt.timedelta(days=3))
    event = TimelineEvent.objects.create(
        creditor=creditor, debtor=debtor, invoice=invoice, kind=TimelineKind.IMPORT, source="test", summary="imported"
    )

    invoice.delete()

    event.refresh_from_db()
    assert event.invoice_id is None
    assert event.debtor_id == debtor.pk
