"""Dispatch stores every field of each message's outcome, and leaves rows that another dispatcher recorded."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from betaalreis.channels.base import SendResult
from betaalreis.dunning.run import run_cycle
from betaalreis.outbox import dispatch as dispatch_module
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.testing import make_debtor, make_invoice

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 20)


def plan_emails(creditor, count: int) -> None:
    for _ in range(count):
        make_invoice(make_debtor(creditor), due=DAY - dt.timedelta(days=3))
    run_cycle(DAY, creditor, dispatch_messages=False)


def test_store_outcomes_writes_each_field(creditor) -> None:
    plan_emails(creditor, 5)
    claimed_at = timezone.now()
    Communication.objects.update(status=CommunicationStatus.SENDING, claimed_at=claimed_at, attempts=1)
    sent, sent_with_cost, retry, failed, recorded_elsewhere = Communication.objects.order_by("id")
    # Another dispatcher recorded this one already, so this late write must not change it.
    Communication.objects.filter(pk=recorded_elsewhere.pk).update(status=CommunicationStatus.CANCELLED)
    sent_at = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.timezone.utc)
    for communication, amount in ((sent, "120.50"), (sent_with_cost, "99.99"), (recorded_elsewhere, "10.00")):
        communication.total_amount = Decimal(amount)
    results = [
        (sent, CommunicationStatus.SENT, SendResult("file", "email/acme/a.eml", sent_at), ""),
        (sent_with_cost, CommunicationStatus.SENT, SendResult("vendor", "ref-2", sent_at, cost=Decimal("0.0725")), ""),
        (retry, CommunicationStatus.PENDING, None, "smtp_unavailable: connection refused"),
        (failed, CommunicationStatus.FAILED, None, "missing_recipient: Email has no recipient address."),
        (recorded_elsewhere, CommunicationStatus.SENT, SendResult("file", "late", sent_at), ""),
    ]
    retry_from = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.timezone.utc)

    dispatch_module._store_outcomes(results, timezone.now(), {}, retry_from=retry_from)

    stored = {row.pk: row for row in Communication.objects.all()}
    assert stored[sent.pk].status == CommunicationStatus.SENT
    assert stored[sent.pk].sent_at == sent_at
    assert stored[sent.pk].provider == "file"
    assert stored[sent.pk].provider_reference == "email/acme/a.eml"
    assert stored[sent.pk].cost is None
    assert stored[sent.pk].total_amount == Decimal("120.50")
    assert stored[sent.pk].last_error == ""
    assert stored[sent_with_cost.pk].cost == Decimal("0.0725")
    assert stored[sent_with_cost.pk].total_amount == Decimal("99.99")
    assert stored[sent_with_cost.pk].provider_reference == "ref-2"
    assert stored[retry.pk].status == CommunicationStatus.PENDING
    assert stored[retry.pk].last_error == "smtp_unavailable: connection refused"
    assert stored[retry.pk].sent_at is None
    # The first retry waits 60 s, less at most 20 % jitter, and then for the contact hours.
    assert stored[retry.pk].not_before >= retry_from + dt.timedelta(seconds=48)
    assert stored[failed.pk].status == CommunicationStatus.FAILED
    assert stored[failed.pk].last_error.startswith("missing_recipient: ")
    assert stored[recorded_elsewhere.pk].status == CommunicationStatus.CANCELLED
    assert stored[recorded_elsewhere.pk].provider_reference == ""
    assert stored[recorded_elsewhere.pk].sent_at is None
