"""Fixtures for the provider adapter tests: a creditor with a debtor, a
policy stage with fallback channels, queued communications, and fake
provider servers on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from betaalreis.channels.base import OutgoingMessage
from betaalreis.channels.ratelimit import reset_buckets
from betaalreis.channels.tests.fakes.server import WebhookCall
from betaalreis.dunning.models import Policy, Stage
from betaalreis.ledger.models import Creditor, Debtor, Invoice
from betaalreis.outbox.models import Communication, CommunicationInvoice

# The run day of the messages that `make_communication` makes, a Friday.
RUN_DAY = dt.date(2026, 12, 4)


@pytest.fixture(autouse=True)
def provider_settings(settings) -> Any:
    """Fast, deterministic retries and our public address as the test client sees it."""
    settings.BETAALREIS_BASE_URL = "http://testserver"
    settings.BETAALREIS_PROVIDER_RETRY = {"attempts": 3, "base_seconds": 0.0, "max_seconds": 0.0}
    settings.BETAALREIS_PROVIDERS = {}
    # In-process buckets, so one test's sends do not slow another's; the
    # shared Redis buckets have tests of their own.
    settings.REDIS_URL = ""
    reset_buckets()
    return settings


@pytest.fixture
def run_day_morning(monkeypatch) -> dt.datetime:
    """Fix the real time at 10:00 on the run day of `make_communication`, inside the contact hours.

    Dispatch hands a message to an adapter that reaches the debtor only
    within the contact hours of the real moment, so without this a test
    that dispatches would depend on the hour and the day it runs.
    """
    moment = dt.datetime.combine(RUN_DAY, dt.time(10), tzinfo=ZoneInfo("Europe/Amsterdam"))
    monkeypatch.setattr(timezone, "now", lambda: moment.astimezone(dt.timezone.utc))
    return moment


@pytest.fixture
def creditor(db) -> Creditor:
    return Creditor.objects.create(slug="acme", legal_name="Acme B.V.", iban="NL91ABNA0417164300")


@pytest.fixture
def debtor(creditor: Creditor) -> Debtor:
    return Debtor.objects.create(
        creditor=creditor, customer_number="D-1", name="J. de Vries",
        email="jan@example.nl", mobile="+31612345678",
        street="Dorpsstraat 1", postal_code="1234 AB", city="Utrecht",
    )


@pytest.fixture
def stage(creditor: Creditor) -> Stage:
    policy = Policy.objects.create(creditor=creditor, debtor_kind="consumer", name="Consument")
    return Stage.objects.create(
        policy=policy, code="reminder", order=1, name_nl="Herinnering", name_en="Reminder",
        offset_days=7, channels=["whatsapp", "sms", "email", "letter"],
    )


@pytest.fixture
def make_communication(creditor: Creditor, debtor: Debtor, stage: Stage) -> Callable[..., Communication]:
    counter = iter(range(1, 10_000))

    def make(channel: str = "sms", key: str | None = None) -> Communication:
        number = next(counter)
        invoice = Invoice.objects.create(
            creditor=creditor, debtor=debtor, number=f"2026-{number:04d}",
            issue_date=dt.date(2026, 11, 1), due_date=dt.date(2026, 11, 15),
            total=Decimal("425.00"), open_amount=Decimal("425.00"),
        )
        communication = Communication.objects.create(
            creditor=creditor, debtor=debtor, channel=channel, stage=stage.code, language="nl",
            idempotency_key=key or f"acme:D-1:reminder:{channel}:{number}",
            run_date=RUN_DAY, total_amount=Decimal("425.00"),
        )
        CommunicationInvoice.objects.create(communication=communication, invoice=invoice, open_amount=Decimal("425.00"))
        return communication

    return make


def message_for(communication: Communication, *, text: str = "", recipient: str | None = None, **extra: Any) -> OutgoingMessage:
    debtor = communication.debtor
    default_recipient = debtor.email if communication.channel == "email" else debtor.mobile
    return OutgoingMessage(
        idempotency_key=communication.idempotency_key,
        channel=communication.channel,
        creditor_slug=communication.creditor.slug,
        debtor_id=debtor.pk,
        language=communication.language,
        recipient=recipient or default_recipient,
        text=text or "Herinnering: factuur 2026-0042 (EUR 425,00) staat nog open.",
        **extra,
    )


def deliver(client, call: WebhookCall):
    """Send a fake provider's webhook to our endpoint through the Django test client."""
    return client.generic(call.method, call.path, data=call.body, content_type=call.content_type, headers=call.headers)


@pytest.fixture
def fake_factory() -> Iterator[Callable[[type], Any]]:
    started = []

    def start(cls: type, **kwargs: Any) -> Any:
        fake = cls(**kwargs).start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()
