"""Email through a real SMTP server and through anymail's Postmark backend."""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading

import pytest

from betaalreis.channels.backends.anymail import api as smtp_api
from betaalreis.channels.base import ChannelError
from betaalreis.channels.models import (
    Delivery,
    DeliveryEvent,
    DeliveryStatus,
    InvalidAddress,
    SubmissionState,
    WebhookLog,
)
from betaalreis.channels.providers import EmailRouter
from betaalreis.channels.tests.fakes.email import FakePostmark, SmtpServer
from betaalreis.channels.tests.providers.conftest import message_for
from betaalreis.channels.webhooks.email import reply_address
from betaalreis.ledger.models import TimelineEvent, TimelineKind
from betaalreis.outbox.models import Communication

WEBHOOK_AUTH = "hook:s3cret-basic"


@pytest.fixture(autouse=True)
def fresh_server_failures(monkeypatch):
    """Forget mail server failures of earlier tests, which this process would otherwise keep."""
    monkeypatch.setattr(smtp_api, "_failed_servers", {})


@pytest.fixture
def smtp(provider_settings, creditor):
    server = SmtpServer().start()
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"email": {
        "provider": "smtp", "host": "127.0.0.1", "port": server.port, "from_email": "debiteuren@acme.nl",
    }}}
    yield server
    server.stop()


@pytest.fixture
def postmark(fake_factory, provider_settings, creditor, monkeypatch):
    server = fake_factory(FakePostmark)
    monkeypatch.setenv("ACME_POSTMARK_TOKEN", server.server_token)
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"email": {
        "provider": "anymail", "esp": "postmark", "from_email": "debiteuren@acme.nl",
        "esp_settings": {"server_token_env": "ACME_POSTMARK_TOKEN", "api_url": server.url + "/"},
    }}}
    provider_settings.ANYMAIL = {"WEBHOOK_SECRET": [WEBHOOK_AUTH]}
    return server


def email_message(communication, **extra):
    return message_for(communication, subject="Herinnering factuur 2026-0001", text="Beste Jan, ...", **extra)


def post_postmark(client, path, payload, auth=WEBHOOK_AUTH):
    credentials = base64.b64encode(auth.encode()).decode()
    return client.post(path, data=json.dumps(payload), content_type="application/json",
                       headers={"Authorization": f"Basic {credentials}"})


def test_smtp_delivers_message(smtp, make_communication):
    communication = make_communication("email")

    result = EmailRouter().send(email_message(communication, html="<p>Beste Jan</p>"))

    assert len(smtp.messages) == 1
    sent = smtp.messages[0]
    assert sent["To"] == "jan@example.nl"
    assert sent["From"] == "debiteuren@acme.nl"
    assert sent["Subject"] == "Herinnering factuur 2026-0001"
    assert sent["Message-ID"].strip("<>") == result.provider_reference
    assert result.provider == "smtp"


def test_smtp_same_key_once(smtp, make_communication):
    communication = make_communication("email")

    EmailRouter().send(email_message(communication))
    EmailRouter().send(email_message(communication))

    assert len(smtp.messages) == 1


def test_smtp_550_marks_address_invalid(smtp, make_communication, debtor):
    smtp.refused.add("jan@example.nl")
    communication = make_communication("email")

    with pytest.raises(ChannelError) as raised:
        EmailRouter().send(email_message(communication))

    assert raised.value.permanent is True
    assert smtp.messages == []
    assert InvalidAddress.objects.filter(debtor=debtor, channel="email", address="jan@example.nl").exists()


def test_smtp_server_down_is_temporary(provider_settings, creditor, make_communication):
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"email": {"provider": "smtp", "host": "127.0.0.1", "port": 1}}}

    with pytest.raises(ChannelError) as raised:
        EmailRouter().send(email_message(make_communication("email")))

    assert raised.value.permanent is False


def test_smtp_login_unsupported_is_retried(smtp, provider_settings, make_communication, monkeypatch):
    monkeypatch.setenv("ACME_SMTP_PASSWORD", "secret")
    account = provider_settings.BETAALREIS_PROVIDERS["acme"]["email"]
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"email": {
        **account, "username": "betaalreis", "password_env": "ACME_SMTP_PASSWORD",
    }}}
    communication = make_communication("email")

    with pytest.raises(ChannelError) as raised:
        EmailRouter().send(email_message(communication))

    assert raised.value.permanent is False
    assert raised.value.code == "smtp_login_failed"
    assert "check the username, password and TLS settings" in str(raised.value)
    assert Delivery.objects.get().state == SubmissionState.RETRYABLE
    assert smtp.messages == []

    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"email": account}}
    EmailRouter().send(email_message(communication))

    assert len(smtp.messages) == 1


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts connections and never replies, like a hung mail server."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        self.listener.close()
        for connection in self.accepted:
            connection.close()


def test_hung_server_tried_once_per_minute(provider_settings, creditor, make_communication, monkeypatch):
    server = SilentServer()
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"email": {
        "provider": "smtp", "host": "127.0.0.1", "port": server.port, "timeout_seconds": 0.3,
        "from_email": "debiteuren@acme.nl",
    }}}
    try:
        errors = []
        for _ in range(3):
            with pytest.raises(ChannelError) as raised:
                EmailRouter().send(email_message(make_communication("email")))
            errors.append(raised.value)
    finally:
        server.close()

    assert len(server.accepted) == 1
    assert [error.permanent for error in errors] == [False, False, False]
    assert [error.code for error in errors] == ["connect_failed"] * 3
    assert "tries the server again after 60 seconds" in str(errors[2])
    assert set(Delivery.objects.values_list("state", flat=True)) == {SubmissionState.RETRYABLE}


def test_postmark_send_records_message_id(postmark, make_communication):
    communication = make_communication("email")

    result = EmailRouter().send(email_message(communication))

    assert result.provider == "anymail"
    assert result.provider_reference == postmark.accepted[0]["reference"]
    assert postmark.accepted[0]["metadata"] == {"betaalreis_key": communication.idempotency_key}


def test_postmark_inactive_recipient_invalid(postmark, make_communication, debtor):
    postmark.inactive.add("jan@example.nl")

    with pytest.raises(ChannelError) as raised:
        EmailRouter().send(email_message(make_communication("email")))

    assert raised.value.permanent is True
    assert InvalidAddress.objects.filter(debtor=debtor, channel="email").exists()


def test_postmark_5xx_then_success(postmark, make_communication):
    postmark.fail_next("500")

    EmailRouter().send(email_message(make_communication("email")))

    assert len(postmark.accepted) == 1


def test_hard_bounce_plans_fallback(postmark, make_communication, debtor, client):
    communication = make_communication("email")
    result = EmailRouter().send(email_message(communication))
    bounce = postmark.bounce_event(result.provider_reference)

    first = post_postmark(client, "/channels/anymail/postmark/tracking/", bounce)
    second = post_postmark(client, "/channels/anymail/postmark/tracking/", bounce)

    assert first.status_code == 200
    assert second.status_code == 200
    delivery = Delivery.objects.get(idempotency_key=communication.idempotency_key)
    assert delivery.status == DeliveryStatus.BOUNCED
    assert InvalidAddress.objects.filter(debtor=debtor, channel="email", address="jan@example.nl").exists()
    fallback = Communication.objects.exclude(pk=communication.pk).get()
    assert fallback.channel == "letter"


def test_tracking_without_credentials_rejected(postmark, make_communication, client):
    communication = make_communication("email")
    result = EmailRouter().send(email_message(communication))

    response = post_postmark(client, "/channels/anymail/postmark/tracking/",
                             postmark.delivery_event(result.provider_reference), auth="hook:wrong")

    assert response.status_code == 400
    assert Delivery.objects.get(idempotency_key=communication.idempotency_key).status == ""


def test_delivery_event_on_timeline(postmark, make_communication, debtor, client):
    communication = make_communication("email")
    result = EmailRouter().send(email_message(communication))

    post_postmark(client, "/channels/anymail/postmark/tracking/", postmark.delivery_event(result.provider_reference))

    row = TimelineEvent.objects.get(debtor=debtor, kind=TimelineKind.COMMUNICATION)
    assert row.data["status"] == "delivered"


def test_inbound_reply_matched_by_address(postmark, debtor, client):
    payload = {
        "FromFull": {"Email": "iemand-anders@example.com", "Name": "Jan"},
        "ToFull": [{"Email": reply_address(debtor, "reply.acme.nl"), "Name": ""}],
        "Subject": "Re: Herinnering", "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b",
        "TextBody": "Ik betaal volgende week.", "Headers": [], "Date": "Fri, 4 Dec 2026 10:00:00 +0100",
    }

    response = post_postmark(client, "/channels/anymail/postmark/inbound/", payload)

    assert response.status_code == 200
    row = TimelineEvent.objects.get(debtor=debtor, kind=TimelineKind.COMMUNICATION)
    assert "Ik betaal volgende week." in row.data["text"]
    assert row.data["channel"] == "email"


def spam_complaint(reference: str, key: str) -> dict:
    """Return a Postmark SpamComplaint event for message `reference` that names our key `key`."""
    return {
        "RecordType": "SpamComplaint", "ID": 424242, "Type": "SpamComplaint", "TypeCode": 512,
        "MessageID": reference, "Email": "jan@example.nl", "BouncedAt": "2026-12-04T10:00:00Z",
        "Metadata": {"betaalreis_key": key}, "MessageStream": "outbound",
    }


def assert_debtor_untouched(debtor, delivery):
    debtor.refresh_from_db()
    assert "email" not in debtor.opted_out_channels
    assert not InvalidAddress.objects.filter(debtor=debtor).exists()
    assert not TimelineEvent.objects.filter(debtor=debtor).exists()
    delivery.refresh_from_db()
    assert delivery.status == ""


@pytest.mark.parametrize("secret", [[], [" "], ""])
def test_tracking_rejected_without_secret(postmark, provider_settings, make_communication, debtor, client,
                                         caplog, secret):
    communication = make_communication("email")
    result = EmailRouter().send(email_message(communication))
    provider_settings.ANYMAIL = {"WEBHOOK_SECRET": secret}

    with caplog.at_level(logging.WARNING, logger="betaalreis.channels.webhooks.anymail_access"):
        response = client.post("/channels/anymail/postmark/tracking/", content_type="application/json",
                               data=json.dumps(postmark.bounce_event(result.provider_reference)))

    assert response.status_code == 403
    assert b"BETAALREIS_ANYMAIL_WEBHOOK_SECRET" in response.content
    assert_debtor_untouched(debtor, Delivery.objects.get(idempotency_key=communication.idempotency_key))
    assert not DeliveryEvent.objects.exists()
    log = WebhookLog.objects.get()
    assert log.provider == "anymail:Postmark"
    assert log.outcome == WebhookLog.Outcome.REJECTED
    assert log.verified is False
    assert [record.message for record in caplog.records] == ["anymail webhook rejected because no webhook secret is configured"]
    assert caplog.records[0].webhook_id == log.pk
    assert caplog.records[0].esp == "Postmark"


def test_inbound_rejected_without_secret(postmark, provider_settings, debtor, client):
    provider_settings.ANYMAIL = {"WEBHOOK_SECRET": []}
    payload = {
        "FromFull": {"Email": "jan@example.nl", "Name": "Jan"}, "ToFull": [{"Email": "debiteuren@acme.nl"}],
        "Subject": "Re: Herinnering", "MessageID": "inbound-1", "TextBody": "STOP", "Headers": [],
    }

    response = client.post("/channels/anymail/postmark/inbound/", data=json.dumps(payload),
                           content_type="application/json")

    assert response.status_code == 403
    assert not TimelineEvent.objects.filter(debtor=debtor).exists()
    assert WebhookLog.objects.get().outcome == WebhookLog.Outcome.REJECTED


def test_head_rejected_without_secret(provider_settings, client, db):
    provider_settings.ANYMAIL = {"WEBHOOK_SECRET": []}

    assert client.head("/channels/anymail/postmark/tracking/").status_code == 403


def test_smtp_delivery_ignores_anymail_events(smtp, provider_settings, make_communication, debtor, client):
    provider_settings.ANYMAIL = {"WEBHOOK_SECRET": [WEBHOOK_AUTH]}
    communication = make_communication("email")
    EmailRouter().send(email_message(communication))
    delivery = Delivery.objects.get(idempotency_key=communication.idempotency_key)
    assert delivery.provider == "smtp"

    complaint = post_postmark(client, "/channels/anymail/postmark/tracking/",
                              spam_complaint("00000000-forged", communication.idempotency_key))
    # The SMTP delivery's own Message-ID as the ESP's message id matches nothing either.
    bounce = post_postmark(client, "/channels/anymail/postmark/tracking/",
                           {**spam_complaint(delivery.provider_reference, communication.idempotency_key),
                            "RecordType": "Bounce", "Type": "HardBounce", "TypeCode": 1, "ID": 1})

    assert complaint.status_code == 200
    assert bounce.status_code == 200
    assert_debtor_untouched(debtor, delivery)
    assert set(WebhookLog.objects.values_list("outcome", flat=True)) == {WebhookLog.Outcome.UNMATCHED}


def test_key_with_other_message_id_unmatched(postmark, make_communication, debtor, client):
    communication = make_communication("email")
    EmailRouter().send(email_message(communication))

    response = post_postmark(client, "/channels/anymail/postmark/tracking/",
                             spam_complaint("00000000-forged", communication.idempotency_key))

    assert response.status_code == 200
    assert_debtor_untouched(debtor, Delivery.objects.get(idempotency_key=communication.idempotency_key))
    assert WebhookLog.objects.get().outcome == WebhookLog.Outcome.UNMATCHED


def test_key_matches_before_message_id_stored(postmark, make_communication, debtor, client):
    communication = make_communication("email")
    result = EmailRouter().send(email_message(communication))
    # As after a hand-over that timed out: the ESP has the message, we lack its id.
    Delivery.objects.filter(idempotency_key=communication.idempotency_key).update(
        provider_reference="", state=SubmissionState.UNCERTAIN
    )

    response = post_postmark(client, "/channels/anymail/postmark/tracking/",
                             postmark.delivery_event(result.provider_reference))

    assert response.status_code == 200
    delivery = Delivery.objects.get(idempotency_key=communication.idempotency_key)
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.state == SubmissionState.ACCEPTED
    assert delivery.provider_reference == result.provider_reference


def test_spam_complaint_opts_out(postmark, make_communication, debtor, client):
    communication = make_communication("email")
    result = EmailRouter().send(email_message(communication))

    response = post_postmark(client, "/channels/anymail/postmark/tracking/",
                             spam_complaint(result.provider_reference, communication.idempotency_key))

    assert response.status_code == 200
    debtor.refresh_from_db()
    assert "email" in debtor.opted_out_channels


def test_event_of_other_esp_unmatched(postmark, make_communication, debtor, client):
    communication = make_communication("email")
    result = EmailRouter().send(email_message(communication))

    response = post_postmark(client, "/channels/anymail/mailjet/tracking/",
                             mailjet_complaint(result.provider_reference, communication.idempotency_key))

    assert response.status_code == 200
    assert_debtor_untouched(debtor, Delivery.objects.get(idempotency_key=communication.idempotency_key))
    assert WebhookLog.objects.get().outcome == WebhookLog.Outcome.UNMATCHED


def switch_esp(provider_settings, esp):
    """Move creditor acme's anymail email account to the ESP `esp` ("mailgun")."""
    account = provider_settings.BETAALREIS_PROVIDERS["acme"]["email"]
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"email": {**account, "esp": esp}}}


def mailjet_complaint(reference: str, key: str) -> list[dict]:
    """Return a Mailjet spam event for message `reference` that names our key `key`."""
    return [{
        "event": "spam", "time": 1796378400, "MessageID": reference, "email": "jan@example.nl",
        "Payload": json.dumps({"betaalreis_key": key}),
    }]


def test_send_stores_esp_on_delivery(postmark, make_communication):
    communication = make_communication("email")

    EmailRouter().send(email_message(communication))

    delivery = Delivery.objects.get(idempotency_key=communication.idempotency_key)
    assert delivery.provider == "anymail"
    assert delivery.esp == "Postmark"


def test_smtp_delivery_stores_no_esp(smtp, make_communication):
    communication = make_communication("email")

    EmailRouter().send(email_message(communication))

    assert Delivery.objects.get(idempotency_key=communication.idempotency_key).esp == ""


def test_bounce_after_esp_change_matches(postmark, provider_settings, make_communication, debtor, client):
    communication = make_communication("email")
    result = EmailRouter().send(email_message(communication))
    switch_esp(provider_settings, "mailgun")

    response = post_postmark(client, "/channels/anymail/postmark/tracking/",
                             postmark.bounce_event(result.provider_reference))

    assert response.status_code == 200
    assert WebhookLog.objects.get().outcome == WebhookLog.Outcome.PROCESSED
    delivery = Delivery.objects.get(idempotency_key=communication.idempotency_key)
    assert delivery.status == DeliveryStatus.BOUNCED
    assert InvalidAddress.objects.filter(debtor=debtor, channel="email", address="jan@example.nl").exists()
    fallback = Communication.objects.exclude(pk=communication.pk).get()
    assert fallback.channel == "letter"


def test_complaint_after_esp_change_opts_out(postmark, provider_settings, make_communication, debtor, client):
    communication = make_communication("email")
    result = EmailRouter().send(email_message(communication))
    switch_esp(provider_settings, "mailgun")

    response = post_postmark(client, "/channels/anymail/postmark/tracking/",
                             spam_complaint(result.provider_reference, communication.idempotency_key))

    assert response.status_code == 200
    assert WebhookLog.objects.get().outcome == WebhookLog.Outcome.PROCESSED
    debtor.refresh_from_db()
    assert "email" in debtor.opted_out_channels
    delivery = Delivery.objects.get(idempotency_key=communication.idempotency_key)
    assert DeliveryEvent.objects.get().delivery == delivery


def test_event_of_new_esp_unmatched(postmark, provider_settings, make_communication, debtor, client):
    communication = make_communication("email")
    result = EmailRouter().send(email_message(communication))
    # The creditor now uses Mailjet, but the message went out through Postmark.
    switch_esp(provider_settings, "mailjet")

    response = post_postmark(client, "/channels/anymail/mailjet/tracking/",
                             mailjet_complaint(result.provider_reference, communication.idempotency_key))

    assert response.status_code == 200
    assert_debtor_untouched(debtor, Delivery.objects.get(idempotency_key=communication.idempotency_key))
    assert WebhookLog.objects.get().outcome == WebhookLog.Outcome.UNMATCHED


def test_empty_esp_uses_account_esp(postmark, make_communication, debtor, client):
    communication = make_communication("email")
    result = EmailRouter().send(email_message(communication))
    # As a delivery made before the ESP was stored.
    Delivery.objects.filter(idempotency_key=communication.idempotency_key).update(esp="")

    response = post_postmark(client, "/channels/anymail/postmark/tracking/",
                             spam_complaint(result.provider_reference, communication.idempotency_key))

    assert response.status_code == 200
    assert WebhookLog.objects.get().outcome == WebhookLog.Outcome.PROCESSED
    debtor.refresh_from_db()
    assert "email" in debtor.opted_out_channels


def test_empty_esp_after_change_unmatched(postmark, provider_settings, make_communication, debtor, client):
    communication = make_communication("email")
    result = EmailRouter().send(email_message(communication))
    Delivery.objects.filter(idempotency_key=communication.idempotency_key).update(esp="")
    switch_esp(provider_settings, "mailgun")

    response = post_postmark(client, "/channels/anymail/postmark/tracking/",
                             spam_complaint(result.provider_reference, communication.idempotency_key))

    assert response.status_code == 200
    assert_debtor_untouched(debtor, Delivery.objects.get(idempotency_key=communication.idempotency_key))
    assert WebhookLog.objects.get().outcome == WebhookLog.Outcome.UNMATCHED


def test_empty_esp_matches_new_esp(postmark, provider_settings, make_communication, debtor, client):
    communication = make_communication("email")
    result = EmailRouter().send(email_message(communication))
    Delivery.objects.filter(idempotency_key=communication.idempotency_key).update(esp="")
    switch_esp(provider_settings, "mailjet")

    response = post_postmark(client, "/channels/anymail/mailjet/tracking/",
                             mailjet_complaint(result.provider_reference, communication.idempotency_key))

    assert response.status_code == 200
    assert WebhookLog.objects.get().outcome == WebhookLog.Outcome.PROCESSED
    debtor.refresh_from_db()
    assert "email" in debtor.opted_out_channels
