"""A message that fails for good moves its invoices back to the stage they last got."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from betaalreis.channels.base import ChannelBackend, ChannelError, OutgoingMessage, SendResult
from betaalreis.channels.render.context import INSTALMENT_REMINDER_STAGE
from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning.run import run_cycle
from betaalreis.ledger.models import DebtorKind, InvoiceStatus, TimelineEvent, TimelineKind
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 20)


class RejectingBackend(ChannelBackend):
    """Rejects every email for good, as a provider does for a blocked address."""

    channel = "email"
    provider = "rejecting"
    # It sends nothing, so a run for an earlier day does not wait for the
    # contact hours of the moment the test runs.
    reaches_debtor = False

    def send(self, message: OutgoingMessage) -> SendResult:
        raise ChannelError("address blocked by the provider", permanent=True, code="rejected")


@pytest.fixture
def creditor():
    creditor = make_creditor()
    seed_default_policies(creditor)
    return creditor


@pytest.fixture
def rejecting_email(settings):
    backends = settings.BETAALREIS_CHANNEL_BACKENDS
    settings.BETAALREIS_CHANNEL_BACKENDS = {**backends, "email": f"{__name__}.RejectingBackend"}
    return backends


def email_only_business(creditor):
    return make_debtor(creditor, kind=DebtorKind.BUSINESS, mobile="", street="", postal_code="", city="")


def test_failed_final_notice_reverts_stage(creditor, rejecting_email, betaalreis_home):
    invoice = make_invoice(email_only_business(creditor), due=DAY - dt.timedelta(days=40))

    run_cycle(DAY, creditor)

    invoice.refresh_from_db()
    communication = Communication.objects.get()
    assert communication.stage == "final_notice"
    assert communication.status == CommunicationStatus.FAILED
    assert invoice.dunning_stage == ""
    assert invoice.dunning_stage_date is None
    event = TimelineEvent.objects.get(invoice=invoice, kind=TimelineKind.STAGE, data__to_stage="")
    assert "Fase Laatste aanmaning van factuur" in event.summary
    assert "final_notice" not in event.summary
    assert "address blocked" in event.summary


def _sent(creditor, debtor, invoice, stage: str, day: dt.date) -> Communication:
    communication = Communication.objects.create(
        creditor=creditor, debtor=debtor, channel="email", stage=stage, language="nl",
        idempotency_key=f"{stage}-{day}", status=CommunicationStatus.SENT, run_date=day,
        sent_at=dt.datetime.combine(day, dt.time(10), tzinfo=ZoneInfo("Europe/Amsterdam")),
        total_amount=invoice.open_amount,
    )
    CommunicationInvoice.objects.create(communication=communication, invoice=invoice, open_amount=invoice.open_amount)
    return communication


def test_revert_skips_instalment_reminder(creditor, rejecting_email, betaalreis_home):
    # After a broken payment plan the last message sent was an instalment reminder, which is no dunning stage.
    debtor = email_only_business(creditor)
    reminder_day = DAY - dt.timedelta(days=14)
    invoice = make_invoice(
        debtor, due=DAY - dt.timedelta(days=40), dunning_stage="second_reminder", dunning_stage_date=reminder_day,
    )
    _sent(creditor, debtor, invoice, "second_reminder", reminder_day)
    _sent(creditor, debtor, invoice, INSTALMENT_REMINDER_STAGE, DAY - dt.timedelta(days=5))

    run_cycle(DAY, creditor)

    invoice.refresh_from_db()
    assert Communication.objects.get(stage="final_notice").status == CommunicationStatus.FAILED
    assert invoice.dunning_stage == "second_reminder"
    assert invoice.dunning_stage_date == reminder_day
    event = TimelineEvent.objects.get(invoice=invoice, kind=TimelineKind.STAGE, data__to_stage="second_reminder")
    assert "Fase Laatste aanmaning van factuur" in event.summary
    assert "teruggezet naar Tweede herinnering" in event.summary


def test_final_notice_planned_again_after_revert(creditor, rejecting_email, settings, betaalreis_home):
    invoice = make_invoice(email_only_business(creditor), due=DAY - dt.timedelta(days=40))
    run_cycle(DAY, creditor)
    settings.BETAALREIS_CHANNEL_BACKENDS = rejecting_email

    run_cycle(DAY + dt.timedelta(days=3), creditor)

    invoice.refresh_from_db()
    sent = Communication.objects.get(status=CommunicationStatus.SENT)
    assert sent.stage == "final_notice"
    assert invoice.dunning_stage == "final_notice"


def test_failed_handover_reopens_invoice(creditor, rejecting_email, settings, betaalreis_home):
    settings.BETAALREIS_CHANNEL_BACKENDS = rejecting_email
    invoice = make_invoice(email_only_business(creditor), due=DAY - dt.timedelta(days=40))
    run_cycle(DAY, creditor)
    settings.BETAALREIS_CHANNEL_BACKENDS = {**rejecting_email, "email": f"{__name__}.RejectingBackend"}

    later = DAY + dt.timedelta(days=32)
    run_cycle(later, creditor)

    invoice.refresh_from_db()
    handover = Communication.objects.get(stage="handover")
    assert handover.status == CommunicationStatus.FAILED
    assert invoice.status == InvoiceStatus.OPEN
    assert invoice.dunning_stage == "final_notice"
    assert invoice.dunning_stage_date == DAY


def test_sent_sibling_keeps_stage(creditor, settings, betaalreis_home):
    # A consumer's 14-day letter goes by email and by post; the letter is sent,
    # so a failed email does not undo the stage.
    settings.BETAALREIS_CHANNEL_BACKENDS = {
        **settings.BETAALREIS_CHANNEL_BACKENDS, "email": f"{__name__}.RejectingBackend"
    }
    invoice = make_invoice(make_debtor(creditor, mobile=""), due=DAY - dt.timedelta(days=20))

    run_cycle(DAY, creditor)

    invoice.refresh_from_db()
    statuses = dict(Communication.objects.values_list("channel", "status"))
    assert statuses.get("letter") == CommunicationStatus.SENT
    assert invoice.dunning_stage == Communication.objects.get(channel="letter").stage
