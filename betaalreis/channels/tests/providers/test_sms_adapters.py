"""One suite that every SMS adapter must pass, each against its fake provider.

After every injected failure the fake must contain each message at most
once. Every message must end accepted, or with an error whose `permanent`
flag tells dispatch whether a retry can help. So none is sent twice and
none is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from betaalreis.channels.base import ChannelError
from betaalreis.channels.models import (
    Delivery,
    DeliveryEvent,
    DeliveryStatus,
    InvalidAddress,
    SubmissionState,
    WebhookLog,
)
from betaalreis.channels.providers import SmsRouter
from betaalreis.channels.tests.fakes.server import WebhookCall
from betaalreis.channels.tests.fakes.sms import FakeCm, FakeMessageBird, FakeTwilio
from betaalreis.channels.tests.providers.conftest import deliver, message_for
from betaalreis.ledger.models import TimelineEvent, TimelineKind
from betaalreis.outbox.models import Communication


@dataclass(frozen=True)
class Vendor:
    """How the suite drives one provider's fake."""

    name: str
    fake_class: type
    secret_option: str
    delivered: Callable[[Any, str], WebhookCall]
    sent: Callable[[Any, str], WebhookCall]
    failed_invalid_number: Callable[[Any, str], WebhookCall]
    signed_with: Callable[[Any, str, str], WebhookCall]
    # Whether the provider's API can find a sent message before it is sent again.
    has_lookup: bool


VENDORS = [
    Vendor(
        name="twilio",
        fake_class=FakeTwilio,
        secret_option="auth_token",
        delivered=lambda fake, ref: fake.status_webhook(ref, "delivered"),
        sent=lambda fake, ref: fake.status_webhook(ref, "sent"),
        failed_invalid_number=lambda fake, ref: fake.status_webhook(ref, "undelivered", error_code="30005"),
        signed_with=lambda fake, ref, secret: fake.status_webhook(ref, "delivered", token=secret),
        has_lookup=True,
    ),
    Vendor(
        name="messagebird",
        fake_class=FakeMessageBird,
        secret_option="signing_key",
        delivered=lambda fake, ref: fake.status_webhook(ref, "delivered"),
        sent=lambda fake, ref: fake.status_webhook(ref, "sent"),
        failed_invalid_number=lambda fake, ref: fake.status_webhook(
            ref, "delivery_failed", reason="unknown subscriber", error_code="1"
        ),
        signed_with=lambda fake, ref, secret: fake.status_webhook(ref, "delivered", key=secret),
        has_lookup=True,
    ),
    Vendor(
        name="cmcom",
        fake_class=FakeCm,
        secret_option="webhook_token",
        delivered=lambda fake, ref: fake.status_webhook(ref, "2"),
        sent=lambda fake, ref: fake.status_webhook(ref, "0"),
        failed_invalid_number=lambda fake, ref: fake.status_webhook(
            ref, "3", error_code="5", description="Unknown subscriber"
        ),
        signed_with=lambda fake, ref, secret: fake.status_webhook(ref, "2", token=secret),
        has_lookup=False,
    ),
]


@pytest.fixture(params=VENDORS, ids=[vendor.name for vendor in VENDORS])
def vendor(request) -> Vendor:
    return request.param


@pytest.fixture
def fake(vendor: Vendor, fake_factory, provider_settings, creditor) -> Any:
    server = fake_factory(vendor.fake_class)
    provider_settings.BETAALREIS_PROVIDERS = {
        "acme": {"sms": {**server.account_options(), "timeout_seconds": 0.5}},
    }
    return server


@pytest.fixture
def backend() -> SmsRouter:
    return SmsRouter()


def provider_reference(fake: Any) -> str:
    return fake.accepted[-1]["reference"]


def test_send_gsm7_text(fake, backend, make_communication, vendor):
    communication = make_communication()

    result = backend.send(message_for(communication))

    assert len(fake.accepted) == 1
    assert fake.accepted[0]["to"].replace("00", "+", 1) == "+31612345678"
    assert fake.accepted[0]["sender"] == "Acme"
    assert fake.accepted[0]["text"].startswith("Herinnering: factuur 2026-0042")
    assert result.provider == vendor.name
    assert result.provider_reference == provider_reference(fake)
    assert result.segments == 1
    delivery = Delivery.objects.get(idempotency_key=communication.idempotency_key)
    assert delivery.state == SubmissionState.ACCEPTED
    assert delivery.encoding == "GSM-7"
    assert result.cost == Decimal(fake.account_options()["price_per_segment"])


def test_send_ucs2_text_counts_segments(fake, backend, make_communication):
    communication = make_communication()
    text = "Uw financiële situatie bespreken? Bel ons. " * 3

    result = backend.send(message_for(communication, text=text))

    delivery = Delivery.objects.get(idempotency_key=communication.idempotency_key)
    assert delivery.encoding == "UCS-2"
    assert result.segments == 2
    assert fake.accepted[0]["text"] == text
    assert result.cost == 2 * Decimal(fake.account_options()["price_per_segment"])


def test_same_key_sends_once(fake, backend, make_communication):
    communication = make_communication()

    first = backend.send(message_for(communication))
    second = backend.send(message_for(communication))

    assert len(fake.accepted) == 1
    assert second.provider_reference == first.provider_reference


def test_429_then_success_sends_once(fake, backend, make_communication):
    communication = make_communication()
    fake.fail_next("429")

    result = backend.send(message_for(communication))

    assert len(fake.accepted) == 1
    assert result.provider_reference == provider_reference(fake)


def test_500_until_retries_run_out(fake, backend, make_communication):
    communication = make_communication()
    fake.fail_next("500", "500", "500")

    with pytest.raises(ChannelError) as raised:
        backend.send(message_for(communication))

    assert raised.value.permanent is False
    assert fake.accepted == []
    assert Delivery.objects.get(idempotency_key=communication.idempotency_key).state == SubmissionState.RETRYABLE

    backend.send(message_for(communication))

    assert len(fake.accepted) == 1


def test_timeout_is_not_resent_before_report(fake, backend, make_communication, vendor, client):
    communication = make_communication()
    fake.fail_next("timeout")

    with pytest.raises(ChannelError) as raised:
        backend.send(message_for(communication))
    assert raised.value.code == "outcome_uncertain"
    assert raised.value.permanent is False

    with pytest.raises(ChannelError) as again:
        backend.send(message_for(communication))
    assert again.value.code == "outcome_uncertain"
    assert len(fake.accepted) == 1

    response = deliver(client, vendor.sent(fake, provider_reference(fake)))
    assert response.status_code == 200

    result = backend.send(message_for(communication))
    assert len(fake.accepted) == 1
    assert result.provider_reference == provider_reference(fake)


def test_timeout_after_wait_looks_up(fake, backend, make_communication, provider_settings, vendor):
    provider_settings.BETAALREIS_PROVIDER_UNCERTAIN_SECONDS = 0
    communication = make_communication()
    fake.fail_next("timeout")

    with pytest.raises(ChannelError):
        backend.send(message_for(communication))
    first_reference = provider_reference(fake)
    result = backend.send(message_for(communication))

    delivery = Delivery.objects.get(idempotency_key=communication.idempotency_key)
    assert delivery.state == SubmissionState.ACCEPTED
    if vendor.has_lookup:
        # The provider's list shows the message, so it is not sent again.
        assert len(fake.accepted) == 1
        assert result.provider_reference == first_reference
        assert delivery.provider_reference == first_reference
    else:
        # Without a status report or a lookup the adapter cannot know the
        # outcome, so after the wait it hands the message over again. This
        # is the one case that can send a message twice.
        assert len(fake.accepted) == 2


def test_timeout_lost_message_resent(fake, backend, make_communication, provider_settings):
    provider_settings.BETAALREIS_PROVIDER_UNCERTAIN_SECONDS = 0
    communication = make_communication()
    fake.fail_next("timeout")
    with pytest.raises(ChannelError):
        backend.send(message_for(communication))
    # The provider lost the message after all, so the lookup finds nothing.
    fake.accepted.clear()

    result = backend.send(message_for(communication))

    assert len(fake.accepted) == 1
    assert result.provider_reference == provider_reference(fake)


def test_lookup_failure_resends(fake, backend, make_communication, provider_settings, vendor):
    provider_settings.BETAALREIS_PROVIDER_UNCERTAIN_SECONDS = 0
    communication = make_communication()
    fake.fail_next("timeout")
    with pytest.raises(ChannelError):
        backend.send(message_for(communication))
    if vendor.has_lookup:
        # The lookup gets a 500, so the adapter submits the message again.
        fake.fail_next("500")

    backend.send(message_for(communication))

    assert len(fake.accepted) == 2


def test_invalid_number_is_permanent(fake, backend, make_communication, debtor):
    communication = make_communication()
    fake.invalid_numbers.add("+31612345678")

    with pytest.raises(ChannelError) as raised:
        backend.send(message_for(communication))

    assert raised.value.permanent is True
    assert fake.accepted == []
    assert InvalidAddress.objects.filter(debtor=debtor, channel="sms", address="+31612345678").exists()
    with pytest.raises(ChannelError) as again:
        backend.send(message_for(communication))
    assert again.value.permanent is True
    assert fake.accepted == []


def test_delivered_report_updates_delivery(fake, backend, make_communication, vendor, client, debtor):
    communication = make_communication()
    backend.send(message_for(communication))

    response = deliver(client, vendor.delivered(fake, provider_reference(fake)))

    assert response.status_code == 200
    delivery = Delivery.objects.get(idempotency_key=communication.idempotency_key)
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.communication_id == communication.pk
    rows = TimelineEvent.objects.filter(debtor=debtor, kind=TimelineKind.COMMUNICATION)
    assert [row.data["status"] for row in rows] == ["delivered"]


def test_duplicate_report_applied_once(fake, backend, make_communication, vendor, client, debtor):
    communication = make_communication()
    backend.send(message_for(communication))
    call = vendor.delivered(fake, provider_reference(fake))

    first = deliver(client, call)
    second = deliver(client, call)

    assert first.status_code == 200
    assert second.status_code == 200
    assert DeliveryEvent.objects.filter(provider=vendor.name).count() == 1
    assert TimelineEvent.objects.filter(debtor=debtor, kind=TimelineKind.COMMUNICATION).count() == 1
    assert WebhookLog.objects.filter(outcome=WebhookLog.Outcome.DUPLICATE).count() == 1


def test_late_sent_report_keeps_delivered(fake, backend, make_communication, vendor, client):
    communication = make_communication()
    backend.send(message_for(communication))
    reference = provider_reference(fake)

    deliver(client, vendor.delivered(fake, reference))
    deliver(client, vendor.sent(fake, reference))

    delivery = Delivery.objects.get(idempotency_key=communication.idempotency_key)
    assert delivery.status == DeliveryStatus.DELIVERED


def test_bad_signature_rejected(fake, backend, make_communication, vendor, client):
    communication = make_communication()
    backend.send(message_for(communication))

    response = deliver(client, vendor.signed_with(fake, provider_reference(fake), "not-the-secret"))

    assert response.status_code in (400, 404)
    assert DeliveryEvent.objects.count() == 0
    delivery = Delivery.objects.get(idempotency_key=communication.idempotency_key)
    assert delivery.status == ""
    log = WebhookLog.objects.get()
    assert log.verified is False
    assert log.body or log.path


def test_previous_secret_still_accepted(fake, backend, make_communication, vendor, client, provider_settings):
    communication = make_communication()
    backend.send(message_for(communication))
    options = provider_settings.BETAALREIS_PROVIDERS["acme"]["sms"]
    old_secret = options[vendor.secret_option]
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"sms": {
        **options, vendor.secret_option: "the-new-secret", f"{vendor.secret_option}_previous": old_secret,
    }}}

    response = deliver(client, vendor.signed_with(fake, provider_reference(fake), old_secret))

    assert response.status_code == 200
    assert Delivery.objects.get(idempotency_key=communication.idempotency_key).status == DeliveryStatus.DELIVERED


def test_missing_secret_asks_for_retry(fake, backend, make_communication, vendor, client, provider_settings):
    communication = make_communication()
    backend.send(message_for(communication))
    call = vendor.delivered(fake, provider_reference(fake))
    options = dict(provider_settings.BETAALREIS_PROVIDERS["acme"]["sms"])
    options.pop(vendor.secret_option)
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"sms": options}}

    response = deliver(client, call)

    assert response.status_code == 500
    assert DeliveryEvent.objects.count() == 0


def test_failed_report_plans_fallback(fake, backend, make_communication, vendor, client, debtor):
    communication = make_communication()
    backend.send(message_for(communication))

    response = deliver(client, vendor.failed_invalid_number(fake, provider_reference(fake)))

    assert response.status_code == 200
    delivery = Delivery.objects.get(idempotency_key=communication.idempotency_key)
    assert delivery.status == DeliveryStatus.FAILED
    assert InvalidAddress.objects.filter(debtor=debtor, channel="sms").exists()
    fallback = Communication.objects.exclude(pk=communication.pk).get()
    assert fallback.channel == "email"
    assert fallback.status == "pending"
    assert list(fallback.items.values_list("invoice_id", flat=True)) == list(
        communication.items.values_list("invoice_id", flat=True)
    )

    deliver(client, vendor.failed_invalid_number(fake, provider_reference(fake)))
    assert Communication.objects.count() == 2


def test_report_for_unknown_message_kept(fake, backend, make_communication, vendor, client):
    communication = make_communication()
    backend.send(message_for(communication))
    Delivery.objects.all().delete()

    response = deliver(client, vendor.delivered(fake, provider_reference(fake)))

    assert response.status_code == 200
    assert DeliveryEvent.objects.get().delivery is None
    assert WebhookLog.objects.get().outcome == WebhookLog.Outcome.UNMATCHED


def test_wrong_credentials_not_permanent(fake, backend, make_communication, provider_settings, vendor):
    options = provider_settings.BETAALREIS_PROVIDERS["acme"]["sms"]
    secret_name = {"twilio": "auth_token", "messagebird": "access_key", "cmcom": "producttoken"}[vendor.name]
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"sms": {**options, secret_name: "wrong"}}}
    communication = make_communication()

    with pytest.raises(ChannelError) as raised:
        backend.send(message_for(communication))

    assert raised.value.code == "provider_auth_failed"
    assert raised.value.permanent is False
    assert fake.accepted == []
