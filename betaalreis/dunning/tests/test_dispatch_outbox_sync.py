"""Dispatch to the file outbox: a message is marked sent only once its file is on disk, with every field stored."""

from __future__ import annotations

import datetime as dt
import errno
import gc
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from betaalreis.channels import files
from betaalreis.channels.base import SendResult
from betaalreis.dunning.run import run_cycle
from betaalreis.outbox import dispatch as dispatch_module
from betaalreis.outbox.dispatch import dispatch
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.testing import make_debtor, make_invoice

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 20)


def plan_emails(creditor, count: int) -> None:
    for _ in range(count):
        make_invoice(make_debtor(creditor), due=DAY - dt.timedelta(days=3))
    run_cycle(DAY, creditor, dispatch_messages=False)


def email_files(home: Path) -> list[Path]:
    folder = home / "outbox" / "email"
    return sorted(path for path in folder.rglob("*.eml")) if folder.exists() else []


def statuses() -> list[str]:
    return sorted(Communication.objects.values_list("status", flat=True))


def test_messages_marked_sent_after_commit(creditor, betaalreis_home, monkeypatch: pytest.MonkeyPatch) -> None:
    plan_emails(creditor, 3)
    seen_at_commit: list[list[str]] = []
    original_commit = files.DurableBatch.commit

    def recording_commit(batch: files.DurableBatch) -> int:
        seen_at_commit.append(statuses())
        named = original_commit(batch)
        assert len(email_files(betaalreis_home)) == 3
        return named

    monkeypatch.setattr(files.DurableBatch, "commit", recording_commit)

    summary = dispatch(due_by=timezone.now())

    assert summary.total("sent") == 3
    assert seen_at_commit == [[CommunicationStatus.SENDING] * 3]
    assert statuses() == [CommunicationStatus.SENT] * 3


def test_failed_sync_leaves_messages_for_retry(creditor, betaalreis_home, monkeypatch: pytest.MonkeyPatch) -> None:
    plan_emails(creditor, 2)

    def failing_sync(pending: list[files._PendingFile]) -> None:
        raise OSError(errno.EIO, "Input/output error")

    with monkeypatch.context() as patch:
        patch.setattr(files, "_sync_data", failing_sync)
        failed = dispatch(due_by=timezone.now())

    assert failed.total("sent") == 0
    assert failed.total("retry") == 2
    assert email_files(betaalreis_home) == []
    assert statuses() == [CommunicationStatus.PENDING] * 2
    errors = set(Communication.objects.values_list("last_error", flat=True))
    assert len(errors) == 1
    assert errors.pop().startswith("outbox_not_synced: ")

    # The retry waits for its delay and the contact hours, at most a week here.
    retried = dispatch(due_by=timezone.now() + dt.timedelta(days=7))

    assert retried.total("sent") == 2
    assert len(email_files(betaalreis_home)) == 2
    assert statuses() == [CommunicationStatus.SENT] * 2


def test_crash_before_marks_resumes_once(
    creditor, settings, betaalreis_home, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan_emails(creditor, 2)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("dispatcher killed before it recorded the batch")

    with monkeypatch.context() as patch:
        patch.setattr(dispatch_module, "_record_results", crash)
        with pytest.raises(RuntimeError):
            dispatch(due_by=timezone.now())

    written = email_files(betaalreis_home)
    contents = [path.read_bytes() for path in written]
    assert len(written) == 2
    assert statuses() == [CommunicationStatus.SENDING] * 2

    # After the lease the next dispatcher finds both files, syncs their
    # folder again and marks the messages sent without writing a second file.
    settings.BETAALREIS_DISPATCH_LEASE_SECONDS = 0
    synced: list[str] = []
    original_sync_directory = files._sync_directory

    def recording_sync_directory(directory: str) -> None:
        synced.append(directory)
        original_sync_directory(directory)

    monkeypatch.setattr(files, "_sync_directory", recording_sync_directory)
    summary = dispatch(due_by=timezone.now())

    assert summary.total("sent") == 2
    assert email_files(betaalreis_home) == written
    assert [path.read_bytes() for path in written] == contents
    assert synced == [str(written[0].parent)]
    assert statuses() == [CommunicationStatus.SENT] * 2
    references = sorted(Communication.objects.values_list("provider_reference", flat=True))
    assert references == sorted(str(path.relative_to(betaalreis_home / "outbox")) for path in written)


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


def test_collector_paused_per_batch(creditor, betaalreis_home, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cyclic garbage collector is off while each batch is claimed and sent, and on again after dispatch."""
    plan_emails(creditor, 3)
    enabled_at_commit: list[bool] = []
    enabled_at_claim: list[bool] = []
    original_commit = files.DurableBatch.commit
    original_claim = dispatch_module._claim_batch

    def recording_commit(batch: files.DurableBatch) -> int:
        enabled_at_commit.append(gc.isenabled())
        return original_commit(batch)

    def recording_claim(**kwargs: object) -> list[Communication]:
        enabled_at_claim.append(gc.isenabled())
        return original_claim(**kwargs)

    monkeypatch.setattr(files.DurableBatch, "commit", recording_commit)
    monkeypatch.setattr(dispatch_module, "_claim_batch", recording_claim)

    summary = dispatch(due_by=timezone.now(), batch_size=2)

    assert summary.total("sent") == 3
    assert enabled_at_commit == [False, False]
    assert enabled_at_claim == [False, False, False]
    assert gc.isenabled()
