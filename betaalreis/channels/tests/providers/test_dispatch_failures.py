"""Dispatch against a real SMTP server on 127.0.0.1 that fails in set ways.

Each email goes out once. A hand-over whose outcome is unknown waits
instead of counting as a failure. An outage of our own mail set-up waits
for days instead of falling back to a letter. A second dispatcher never
sends what the first still holds.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import errno
import os
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from betaalreis.channels.backends import email as email_backend
from betaalreis.channels.backends.anymail import api as anymail_api
from betaalreis.channels.backends.email import DjangoEmailBackend
from betaalreis.channels.backends.smtp_replies import SmtpFailureKind, reply_kind
from betaalreis.channels.base import ChannelError, OutgoingMessage, SendResult
from betaalreis.channels.files import outbox_path
from betaalreis.channels.models import InvalidAddress
from betaalreis.channels.tests.fakes.email import FaultSmtpServer, free_port
from betaalreis.channels.tests.providers.conftest import message_for
from betaalreis.dunning.run import RunSummary
from betaalreis.outbox.dispatch import DispatchSummary, dispatch
from betaalreis.outbox.models import Communication, CommunicationStatus

DJANGO_BACKEND = "betaalreis.channels.backends.email.DjangoEmailBackend"
ROUTER = "betaalreis.channels.providers.EmailRouter"
# Far below the server's delay in the tests of a reply that comes too late.
CLIENT_TIMEOUT_SECONDS = 0.5

# Dispatch hands messages to these adapters only within the contact hours of the real moment.
pytestmark = pytest.mark.usefixtures("run_day_morning")


@pytest.fixture
def fault_smtp():
    server = FaultSmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def no_paused_servers():
    """Forget the mail servers that an earlier test left paused in this process."""
    anymail_api._failed_servers.clear()
    yield
    anymail_api._failed_servers.clear()


def use_django_backend(settings, port: int, timeout: float = CLIENT_TIMEOUT_SECONDS) -> None:
    settings.BETAALREIS_CHANNEL_BACKENDS = {**settings.BETAALREIS_CHANNEL_BACKENDS, "email": DJANGO_BACKEND}
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = timeout
    settings.DEFAULT_FROM_EMAIL = "debiteuren@acme.nl"


def use_router(settings, port: int) -> None:
    settings.BETAALREIS_CHANNEL_BACKENDS = {**settings.BETAALREIS_CHANNEL_BACKENDS, "email": ROUTER}
    settings.BETAALREIS_PROVIDERS = {"acme": {"email": {
        "provider": "smtp", "host": "127.0.0.1", "port": port, "from_email": "debiteuren@acme.nl",
        "timeout_seconds": CLIENT_TIMEOUT_SECONDS,
    }}}


def dispatch_runs(count: int) -> list[DispatchSummary]:
    """Dispatch `count` times, each time with every waiting message due again, as runs a while apart would."""
    summaries = []
    for _ in range(count):
        Communication.objects.filter(status=CommunicationStatus.PENDING).update(not_before=None)
        summaries.append(dispatch())
    return summaries


def email_message(communication: Communication) -> OutgoingMessage:
    return message_for(communication, subject="Herinnering", sender_address="debiteuren@acme.nl")


# A reply lost after the end of DATA.

@pytest.mark.parametrize("use_backend", [use_django_backend, use_router], ids=["django", "router"])
def test_late_reply_waits_without_fallback(provider_settings, fault_smtp, make_communication, use_backend):
    use_backend(provider_settings, fault_smtp.port)
    fault_smtp.handler.reply_delay_seconds = 3 * CLIENT_TIMEOUT_SECONDS
    communication = make_communication("email")

    dispatch_runs(1)
    fault_smtp.handler.reply_delay_seconds = 0
    summaries = dispatch_runs(6)

    communication.refresh_from_db()
    assert communication.status == CommunicationStatus.PENDING
    assert communication.last_error.startswith("outcome_uncertain: ")
    assert communication.failing_since is None
    assert Communication.objects.filter(channel="letter").count() == 0
    assert sum(summary.total("failed") for summary in summaries) == 0
    assert len(fault_smtp.received) == 1


@pytest.mark.parametrize("use_backend", [use_django_backend, use_router], ids=["django", "router"])
def test_uncertain_email_sent_again_after_wait(provider_settings, fault_smtp, make_communication, use_backend):
    use_backend(provider_settings, fault_smtp.port)
    fault_smtp.handler.reply_delay_seconds = 3 * CLIENT_TIMEOUT_SECONDS
    communication = make_communication("email")
    dispatch_runs(1)
    fault_smtp.handler.reply_delay_seconds = 0
    provider_settings.BETAALREIS_PROVIDER_UNCERTAIN_SECONDS = 0
    # The clock is fixed on the run day, so date the claim file before it, as the file system would have.
    claimed_before = (timezone.now() - dt.timedelta(minutes=1)).timestamp()
    for claim in Path(provider_settings.OUTBOX_DIR).rglob("*.claim"):
        os.utime(claim, (claimed_before, claimed_before))

    summary = dispatch_runs(1)[0]

    communication.refresh_from_db()
    assert summary.total("sent") == 1
    assert communication.status == CommunicationStatus.SENT
    # The one case of a second copy, and it carries the same Message-ID.
    assert len(fault_smtp.received) == 2
    assert len(set(fault_smtp.message_ids())) == 1


def test_disconnect_after_data_is_uncertain(provider_settings, fault_smtp, make_communication):
    use_django_backend(provider_settings, fault_smtp.port)
    fault_smtp.handler.disconnect_after_data = True
    message = email_message(make_communication("email"))

    with pytest.raises(ChannelError) as first:
        DjangoEmailBackend().send(message)
    fault_smtp.handler.disconnect_after_data = False
    with pytest.raises(ChannelError) as second:
        DjangoEmailBackend().send(message)

    assert first.value.uncertain is True
    assert first.value.permanent is False
    assert second.value.uncertain is True
    assert len(fault_smtp.received) == 1


def test_deferred_recipient_retried_at_once(provider_settings, fault_smtp, make_communication):
    use_django_backend(provider_settings, fault_smtp.port)
    fault_smtp.handler.rcpt_reply = "450 4.2.1 Mailbox busy, try again later"
    message = email_message(make_communication("email"))

    with pytest.raises(ChannelError) as deferred:
        DjangoEmailBackend().send(message)
    fault_smtp.handler.rcpt_reply = ""
    DjangoEmailBackend().send(message)

    assert deferred.value.uncertain is False
    assert deferred.value.outage is False
    assert deferred.value.permanent is False
    assert len(fault_smtp.received) == 1


# An outage of our own mail set-up.

@pytest.mark.parametrize("use_backend", [use_django_backend, use_router], ids=["django", "router"])
def test_refused_connection_waits_for_days(provider_settings, make_communication, use_backend):
    use_backend(provider_settings, free_port())
    communication = make_communication("email")

    summaries = dispatch_runs(6)

    communication.refresh_from_db()
    assert communication.status == CommunicationStatus.PENDING
    assert communication.attempts == 6
    assert communication.failing_since is not None
    assert Communication.objects.filter(channel="letter").count() == 0
    assert all(summary.outages for summary in summaries)
    assert "waits in the outbox" not in communication.last_error


def test_outage_fails_after_give_up_days(provider_settings, make_communication):
    use_django_backend(provider_settings, free_port())
    communication = make_communication("email")
    dispatch_runs(1)
    since = timezone.now() - dt.timedelta(days=provider_settings.BETAALREIS_DISPATCH_GIVE_UP_DAYS, minutes=1)
    Communication.objects.filter(pk=communication.pk).update(failing_since=since)

    summary = dispatch_runs(1)[0]

    communication.refresh_from_db()
    assert communication.status == CommunicationStatus.FAILED
    assert "Given up after 5 days of temporary errors." in communication.last_error
    assert summary.total("fallback") == 1
    assert Communication.objects.filter(channel="letter").count() == 1


def test_outage_skips_rest_of_creditor(provider_settings, fault_smtp, make_communication):
    use_django_backend(provider_settings, fault_smtp.port)
    fault_smtp.handler.rcpt_reply = "550 5.7.1 Relaying denied"
    first, second = make_communication("email"), make_communication("email")

    summary = dispatch_runs(1)[0]

    first.refresh_from_db()
    second.refresh_from_db()
    assert len(fault_smtp.handler.rcpt_calls) == 1
    assert first.status == CommunicationStatus.PENDING
    assert second.status == CommunicationStatus.PENDING
    assert second.last_error == first.last_error
    assert summary.outage_waiting[("email", first.creditor_id)] == 2


# Which refusals mark the debtor's address invalid.

@pytest.mark.parametrize("use_backend", [use_django_backend, use_router], ids=["django", "router"])
def test_relay_denial_keeps_address_valid(provider_settings, fault_smtp, make_communication, use_backend):
    use_backend(provider_settings, fault_smtp.port)
    fault_smtp.handler.rcpt_reply = "550 5.7.1 Relaying denied"
    communication = make_communication("email")

    summary = dispatch_runs(1)[0]

    communication.refresh_from_db()
    assert communication.status == CommunicationStatus.PENDING
    assert "5.7.1 Relaying denied" in communication.last_error
    assert not InvalidAddress.objects.exists()
    assert Communication.objects.filter(channel="letter").count() == 0
    assert list(summary.outages) == [("email", communication.creditor_id)]


def test_bad_mailbox_marks_address_invalid(provider_settings, fault_smtp, make_communication):
    use_router(provider_settings, fault_smtp.port)
    fault_smtp.handler.rcpt_reply = "550 5.1.1 No such user"
    communication = make_communication("email")

    dispatch_runs(1)

    communication.refresh_from_db()
    assert communication.status == CommunicationStatus.FAILED
    assert InvalidAddress.objects.filter(debtor=communication.debtor, channel="email").exists()
    assert Communication.objects.filter(channel="letter").count() == 1


@pytest.mark.parametrize(("code", "reply", "kind"), [
    (550, "5.1.1 No such user", SmtpFailureKind.RECIPIENT_INVALID),
    (553, "5.1.3 Bad recipient address syntax", SmtpFailureKind.RECIPIENT_INVALID),
    (550, "5.2.1 Mailbox disabled", SmtpFailureKind.RECIPIENT_INVALID),
    (550, "5.1.8 Bad sender's system address", SmtpFailureKind.OUTAGE),
    (550, "5.7.1 Relaying denied", SmtpFailureKind.OUTAGE),
    (554, "5.7.1 Message rejected by policy", SmtpFailureKind.OUTAGE),
    (530, "Authentication required", SmtpFailureKind.OUTAGE),
    (421, "4.3.2 Service shutting down", SmtpFailureKind.OUTAGE),
    (451, "4.7.1 Try again later", SmtpFailureKind.OUTAGE),
    (451, "4.3.0 Local error", SmtpFailureKind.TEMPORARY),
    (452, "4.2.2 Mailbox full", SmtpFailureKind.TEMPORARY),
    (552, "5.2.2 Mailbox full", SmtpFailureKind.REJECTED),
    (552, "5.3.4 Message too big", SmtpFailureKind.REJECTED),
    (550, "Mailbox unavailable", SmtpFailureKind.REJECTED),
])
def test_reply_kind_by_enhanced_code(code, reply, kind):
    assert reply_kind(code, reply) == kind


# The receipt folder of DjangoEmailBackend.

def test_unwritable_receipt_folder_sends_nothing(provider_settings, fault_smtp, make_communication, betaalreis_home):
    use_django_backend(provider_settings, fault_smtp.port)
    receipts = betaalreis_home / "outbox" / "email-sent"
    receipts.mkdir(parents=True)
    # A file where the creditor's folder should be, as a read-only or full disk would refuse it.
    (receipts / "acme").write_text("")
    communication = make_communication("email")

    summaries = dispatch_runs(3)

    communication.refresh_from_db()
    assert fault_smtp.received == []
    assert communication.status == CommunicationStatus.PENDING
    assert communication.last_error.startswith("outbox_unwritable: ")
    assert str(receipts / "acme") in communication.last_error
    assert all(("email", communication.creditor_id) in summary.outages for summary in summaries)


def test_failed_receipt_write_still_sent_once(provider_settings, fault_smtp, make_communication, monkeypatch, caplog):
    use_django_backend(provider_settings, fault_smtp.port)
    communication = make_communication("email")

    def disk_full(path, data, *, immediately=False):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(email_backend, "write_once", disk_full)
    first = dispatch_runs(1)[0]
    monkeypatch.undo()
    second = dispatch_runs(1)[0]

    communication.refresh_from_db()
    assert first.total("sent") == 1
    assert second.total("sent") == 0
    assert communication.status == CommunicationStatus.SENT
    assert communication.provider_reference == fault_smtp.message_ids()[0]
    assert len(fault_smtp.received) == 1
    logged = [record for record in caplog.records if record.levelname == "ERROR"]
    assert [record.getMessage() for record in logged] == ["email receipt not written after the mail server accepted the email"]
    assert "email-sent/acme/" in logged[0].path


def test_run_exits_non_zero_on_outage(provider_settings, make_communication, monkeypatch):
    use_django_backend(provider_settings, free_port())
    make_communication("email")
    moment = timezone.now()

    def dispatch_only(day, creditor, **options):
        return RunSummary(day=day, moment=moment, dispatched=dispatch())

    monkeypatch.setattr("betaalreis.dunning.management.commands.run.run_cycle", dispatch_only)
    output = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("run", "--creditor", "acme", "--lang", "en", stdout=output)

    assert "could send nothing" in str(raised.value)
    assert "Email for acme could send nothing: " in output.getvalue()
    assert "connecting to the mail server failed: the connection was refused" in output.getvalue()


# Two dispatchers.

def test_fresh_claim_file_blocks_second_sender(provider_settings, fault_smtp, make_communication):
    use_django_backend(provider_settings, fault_smtp.port)
    message = email_message(make_communication("email"))
    claim = outbox_path(message, "claim", folder="email-sent")
    claim.parent.mkdir(parents=True)
    claim.write_text("held by another dispatcher")

    with pytest.raises(ChannelError) as raised:
        DjangoEmailBackend().send(message)

    assert raised.value.uncertain is True
    assert fault_smtp.received == []
    assert claim.read_text() == "held by another dispatcher"


class SecondDispatcherBackend(DjangoEmailBackend):
    """Runs a whole second dispatch just before the third hand-over of the first, as a second cron job would."""

    calls = 0
    second: DispatchSummary | None = None

    def send(self, message: OutgoingMessage) -> SendResult:
        type(self).calls += 1
        if type(self).calls == 3:
            # A fresh context: the second dispatcher has no outbox batch of the first.
            type(self).second = contextvars.Context().run(dispatch)
        return super().send(message)


def test_lease_renewed_while_batch_sends(provider_settings, fault_smtp, make_communication):
    use_django_backend(provider_settings, fault_smtp.port, timeout=5)
    provider_settings.BETAALREIS_CHANNEL_BACKENDS = {
        **provider_settings.BETAALREIS_CHANNEL_BACKENDS, "email": f"{__name__}.SecondDispatcherBackend",
    }
    provider_settings.BETAALREIS_DISPATCH_LEASE_SECONDS = 1
    # Two messages take longer than the lease, so the second dispatcher starts after it.
    fault_smtp.handler.reply_delay_seconds = 0.6
    SecondDispatcherBackend.calls, SecondDispatcherBackend.second = 0, None
    for _ in range(4):
        make_communication("email")

    first = dispatch()

    second = SecondDispatcherBackend.second
    assert second is not None
    assert second.taken_over == 0
    assert first.total("sent") + second.total("sent") == 4
    assert first.total("sent") == 4
    assert len(fault_smtp.received) == 4
    assert set(Communication.objects.values_list("status", flat=True)) == {CommunicationStatus.SENT}


class TakenOverBackend(DjangoEmailBackend):
    """After its first hand-over, lets another dispatcher claim every message of the batch."""

    calls = 0

    def send(self, message: OutgoingMessage) -> SendResult:
        result = super().send(message)
        type(self).calls += 1
        if type(self).calls == 1:
            later = timezone.now() + dt.timedelta(seconds=1)
            Communication.objects.filter(status=CommunicationStatus.SENDING).update(claimed_at=later)
        return result


def test_taken_over_rows_neither_sent_nor_counted(provider_settings, fault_smtp, make_communication):
    use_django_backend(provider_settings, fault_smtp.port, timeout=5)
    provider_settings.BETAALREIS_CHANNEL_BACKENDS = {
        **provider_settings.BETAALREIS_CHANNEL_BACKENDS, "email": f"{__name__}.TakenOverBackend",
    }
    provider_settings.BETAALREIS_DISPATCH_LEASE_SECONDS = 1
    fault_smtp.handler.reply_delay_seconds = 0.5
    TakenOverBackend.calls = 0
    for _ in range(3):
        make_communication("email")

    summary = dispatch()

    assert len(fault_smtp.received) == 1
    assert summary.total("sent") == 0
    assert summary.lost_to_other_dispatcher == 3
    assert set(Communication.objects.values_list("status", flat=True)) == {CommunicationStatus.SENDING}


def test_claim_kept_beside_receipt(provider_settings, fault_smtp, make_communication):
    use_django_backend(provider_settings, fault_smtp.port)
    message = email_message(make_communication("email"))

    result = DjangoEmailBackend().send(message)

    claim = outbox_path(message, "claim", folder="email-sent")
    receipt = outbox_path(message, "json", folder="email-sent")
    assert claim.parent == receipt.parent
    assert claim.exists()
    assert result.provider_reference == fault_smtp.message_ids()[0]
    assert Path(receipt).exists()
