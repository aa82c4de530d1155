"""Dispatch through the SMS router to a fake Twilio, then its status reports."""

from __future__ import annotations

import pytest

from betaalreis.channels.models import Delivery, DeliveryStatus
from betaalreis.channels.tests.fakes.sms import FakeTwilio
from betaalreis.channels.tests.providers.conftest import deliver
from betaalreis.outbox.dispatch import dispatch
from betaalreis.outbox.models import Communication, CommunicationStatus

# Dispatch checks the contact hours of the real moment, so the tests fix it on a weekday morning.
pytestmark = pytest.mark.usefixtures("run_day_morning")


@pytest.fixture
def fake(fake_factory, provider_settings, creditor):
    server = fake_factory(FakeTwilio)
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"sms": server.account_options()}}
    provider_settings.BETAALREIS_CHANNEL_BACKENDS = {
        **provider_settings.BETAALREIS_CHANNEL_BACKENDS,
        "sms": "betaalreis.channels.providers.SmsRouter",
    }
    return server


def test_dispatch_sends_through_provider(fake, make_communication, client):
    communication = make_communication("sms")

    dispatch()
    dispatch()

    communication.refresh_from_db()
    assert communication.status == CommunicationStatus.SENT
    assert len(fake.accepted) == 1
    assert communication.provider == "twilio"
    assert communication.provider_reference == fake.accepted[0]["reference"]
    assert communication.cost is not None

    response = deliver(client, fake.status_webhook(communication.provider_reference, "delivered"))

    assert response.status_code == 200
    assert Delivery.objects.get(communication=communication).status == DeliveryStatus.DELIVERED


def test_undelivered_report_queues_email(fake, make_communication, client):
    communication = make_communication("sms")
    dispatch()
    communication.refresh_from_db()

    deliver(client, fake.status_webhook(communication.provider_reference, "undelivered", error_code="30006"))

    fallback = Communication.objects.get(channel="email")
    assert fallback.status == CommunicationStatus.PENDING
    assert fallback.stage == communication.stage
