"""What the channel webhooks store of a request, and how they respond to a provider the creditor does not use."""

from __future__ import annotations

import logging

import pytest

from betaalreis.channels.models import WebhookLog
from betaalreis.channels.tests.fakes.sms import FakeMessageBird, FakeTwilio
from betaalreis.channels.tests.providers.conftest import deliver

TWILIO_INBOUND = "http://testserver/channels/webhooks/twilio/acme/inbound/"
BIG_BODY = b"a" * 2_000_000


@pytest.fixture
def twilio(fake_factory, provider_settings, creditor):
    server = fake_factory(FakeTwilio)
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"sms": server.account_options()}}
    return server


def post_unsigned(client, body: bytes = BIG_BODY):
    return client.post(TWILIO_INBOUND, data=body, content_type="application/json")


def webhook_warnings(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_unsigned_call_keeps_start_of_body(twilio, client):
    response = post_unsigned(client)

    assert response.status_code == 400
    log = WebhookLog.objects.get()
    assert log.verified is False
    assert log.outcome == WebhookLog.Outcome.REJECTED
    assert log.body == "a" * 2_000
    assert log.detail.startswith("X-Twilio-Signature header is missing.")
    assert log.detail.endswith("Only the first 2,000 of 2,000,000 characters are kept.")


def test_short_unsigned_call_kept_whole(twilio, client):
    response = post_unsigned(client, b'{"hello": "world"}')

    assert response.status_code == 400
    log = WebhookLog.objects.get()
    assert log.body == '{"hello": "world"}'
    assert log.detail == "X-Twilio-Signature header is missing."


def test_verified_call_keeps_whole_body(twilio, debtor, client):
    text = "Ik betaal volgende week. " * 200
    call = twilio.inbound_webhook(TWILIO_INBOUND, "+31612345678", text)

    response = deliver(client, call)

    assert response.status_code == 200
    log = WebhookLog.objects.get()
    assert log.verified is True
    assert log.outcome == WebhookLog.Outcome.PROCESSED
    assert len(call.body) > 2_000
    assert log.body == call.body.decode()
    assert log.detail == ""


def test_creditor_without_sms_account_gets_404(creditor, provider_settings, client, caplog):
    provider_settings.BETAALREIS_PROVIDERS = {}

    with caplog.at_level(logging.WARNING):
        response = post_unsigned(client)

    assert response.status_code == 404
    assert response.content == b"provider not configured\n"
    log = WebhookLog.objects.get()
    assert log.creditor == creditor
    assert log.outcome == WebhookLog.Outcome.REJECTED
    assert log.body == "a" * 2_000
    assert "No sms provider configured for creditor 'acme'." in log.detail
    assert log.detail.endswith("Only the first 2,000 of 2,000,000 characters are kept.")
    [warning] = webhook_warnings(caplog)
    assert warning.getMessage() == "webhook for unconfigured provider"
    assert (warning.provider, warning.creditor_id, warning.webhook_id) == ("twilio", creditor.pk, log.pk)


def test_call_for_other_provider_gets_404(fake_factory, creditor, provider_settings, client, caplog):
    messagebird = fake_factory(FakeMessageBird)
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"sms": messagebird.account_options()}}
    # Signed as Twilio would sign it, so only the provider choice can reject it.
    twilio = FakeTwilio()
    call = twilio.inbound_webhook(TWILIO_INBOUND, "+31612345678", "STOP")

    with caplog.at_level(logging.WARNING):
        response = deliver(client, call)

    assert response.status_code == 404
    log = WebhookLog.objects.get()
    assert log.outcome == WebhookLog.Outcome.REJECTED
    assert log.verified is False
    assert log.detail == "Creditor 'acme' sends sms through messagebird, not twilio."
    assert [record.getMessage() for record in webhook_warnings(caplog)] == ["webhook for unconfigured provider"]


def test_missing_secret_still_asks_for_retry(twilio, provider_settings, client):
    options = dict(provider_settings.BETAALREIS_PROVIDERS["acme"]["sms"])
    options.pop("auth_token")
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"sms": options}}
    call = twilio.inbound_webhook(TWILIO_INBOUND, "+31612345678", "STOP")

    response = deliver(client, call)

    assert response.status_code == 500
    log = WebhookLog.objects.get()
    assert log.outcome == WebhookLog.Outcome.ERROR
    assert log.detail == "The Twilio auth token is not configured."
