"""Inbound SMS: opt-out keywords and replies, through the Twilio, MessageBird and CM.com webhooks."""

from __future__ import annotations

import pytest

from betaalreis.channels.inbound import is_opt_out
from betaalreis.channels.models import WebhookLog
from betaalreis.channels.tests.fakes.sms import FakeCm, FakeMessageBird, FakeTwilio
from betaalreis.channels.tests.providers.conftest import deliver
from betaalreis.ledger.models import TimelineEvent, TimelineKind

INBOUND_URL = "http://testserver/channels/webhooks/twilio/acme/inbound/"


@pytest.fixture
def fake(fake_factory, provider_settings, creditor):
    server = fake_factory(FakeTwilio)
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"sms": server.account_options()}}
    return server


@pytest.mark.parametrize("text", ["STOP", "stop", "Stoppen", "uitschrijven graag", "AFMELDEN.", "Stop!"])
def test_opt_out_keywords(text):
    assert is_opt_out(text) is True


@pytest.mark.parametrize("text", ["Ik stop met betalen niet", "", "Waarom deze stop?", "123"])
def test_not_opt_out(text):
    assert is_opt_out(text) is False


def test_stop_opts_debtor_out(fake, debtor, client):
    response = deliver(client, fake.inbound_webhook(INBOUND_URL, "+31612345678", "STOPPEN"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml"
    debtor.refresh_from_db()
    assert debtor.opted_out_channels == ["sms"]
    row = TimelineEvent.objects.get(debtor=debtor, kind=TimelineKind.PREFERENCE)
    assert row.data["channel"] == "sms"
    assert row.data["opted_out"] is True


def test_stop_twice_one_row(fake, debtor, client):
    deliver(client, fake.inbound_webhook(INBOUND_URL, "+31612345678", "STOP"))
    deliver(client, fake.inbound_webhook(INBOUND_URL, "+31612345678", "stop"))

    assert TimelineEvent.objects.filter(debtor=debtor, kind=TimelineKind.PREFERENCE).count() == 1


def test_reply_goes_on_timeline(fake, debtor, client):
    deliver(client, fake.inbound_webhook(INBOUND_URL, "+31612345678", "Ik heb gisteren betaald"))

    debtor.refresh_from_db()
    assert debtor.opted_out_channels == []
    row = TimelineEvent.objects.get(debtor=debtor, kind=TimelineKind.COMMUNICATION)
    assert row.data["text"] == "Ik heb gisteren betaald"


def test_same_inbound_twice_one_row(fake, debtor, client):
    call = fake.inbound_webhook(INBOUND_URL, "+31612345678", "Bel mij terug", message_sid="SM" + "a" * 32)

    deliver(client, call)
    deliver(client, call)

    assert TimelineEvent.objects.filter(debtor=debtor, kind=TimelineKind.COMMUNICATION).count() == 1


def test_unknown_sender_kept_unmatched(fake, debtor, client):
    response = deliver(client, fake.inbound_webhook(INBOUND_URL, "+31600000000", "Hallo"))

    assert response.status_code == 200
    assert WebhookLog.objects.get().outcome == WebhookLog.Outcome.UNMATCHED
    assert TimelineEvent.objects.filter(debtor=debtor).count() == 0


# MessageBird forwards an SMS to the virtual mobile number as a signed GET.

MESSAGEBIRD_INBOUND = "/channels/webhooks/messagebird/acme/inbound/"


@pytest.fixture
def messagebird(fake_factory, provider_settings, creditor):
    server = fake_factory(FakeMessageBird)
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"sms": server.account_options()}}
    return server


def test_messagebird_stop_opts_out(messagebird, debtor, client):
    response = deliver(client, messagebird.inbound_webhook(MESSAGEBIRD_INBOUND, "+31612345678", "STOP"))

    assert response.status_code == 200
    debtor.refresh_from_db()
    assert debtor.opted_out_channels == ["sms"]
    row = TimelineEvent.objects.get(debtor=debtor, kind=TimelineKind.PREFERENCE)
    assert row.data["opted_out"] is True


def test_messagebird_reply_on_timeline(messagebird, debtor, client):
    call = messagebird.inbound_webhook(MESSAGEBIRD_INBOUND, "+31612345678", "Betaal volgende week", message_id="mb1")

    deliver(client, call)
    deliver(client, call)

    debtor.refresh_from_db()
    assert debtor.opted_out_channels == []
    row = TimelineEvent.objects.get(debtor=debtor, kind=TimelineKind.COMMUNICATION)
    assert row.data["text"] == "Betaal volgende week"
    assert row.data["provider"] == "messagebird"
    assert row.data["provider_reference"] == "mb1"


def test_messagebird_inbound_bad_signature(messagebird, debtor, client):
    call = messagebird.inbound_webhook(MESSAGEBIRD_INBOUND, "+31612345678", "STOP", key="wrong-key")

    response = deliver(client, call)

    assert response.status_code == 400
    debtor.refresh_from_db()
    assert debtor.opted_out_channels == []
    assert WebhookLog.objects.get().outcome == WebhookLog.Outcome.REJECTED



# CM.com posts inbound messages as JSON to an address that contains our token.


@pytest.fixture
def cm(fake_factory, provider_settings, creditor):
    server = fake_factory(FakeCm)
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"sms": server.account_options()}}
    return server


def test_cm_stop_opts_out(cm, debtor, client):
    response = deliver(client, cm.inbound_webhook("+31612345678", "Stoppen"))

    assert response.status_code == 200
    debtor.refresh_from_db()
    assert debtor.opted_out_channels == ["sms"]


def test_cm_whatsapp_stop_opts_out_whatsapp(cm, debtor, client):
    deliver(client, cm.inbound_webhook("+31612345678", "STOP", channel="WhatsApp"))

    debtor.refresh_from_db()
    assert debtor.opted_out_channels == ["whatsapp"]


def test_cm_reply_on_timeline_once(cm, debtor, client):
    call = cm.inbound_webhook("+31612345678", "Ik bel morgen", reference="cm-ref-1")

    deliver(client, call)
    deliver(client, call)

    row = TimelineEvent.objects.get(debtor=debtor, kind=TimelineKind.COMMUNICATION)
    assert row.data["text"] == "Ik bel morgen"
    assert row.data["provider"] == "cmcom"


def test_cm_two_replies_same_reference(cm, debtor, client):
    # CM's reference names the outgoing message replied to, not the reply.
    deliver(client, cm.inbound_webhook("+31612345678", "Ik bel morgen", reference="cm-ref-1"))
    deliver(client, cm.inbound_webhook("+31612345678", "Of overmorgen", reference="cm-ref-1",
                                       time_utc="2026-12-04T10:05:00"))

    rows = TimelineEvent.objects.filter(debtor=debtor, kind=TimelineKind.COMMUNICATION).order_by("pk")
    assert [row.data["text"] for row in rows] == ["Ik bel morgen", "Of overmorgen"]


def test_cm_gateway_format_reply(cm, debtor, client):
    response = deliver(client, cm.inbound_webhook("+31612345678", "Stoppen", gateway_format=True))

    assert response.status_code == 200
    debtor.refresh_from_db()
    assert debtor.opted_out_channels == ["sms"]


def test_cm_reply_without_reference_once(cm, debtor, client):
    call = cm.inbound_webhook("+31612345678", "Ik bel morgen", reference="")

    deliver(client, call)
    deliver(client, call)

    assert TimelineEvent.objects.filter(debtor=debtor, kind=TimelineKind.COMMUNICATION).count() == 1


def test_cm_inbound_wrong_token(cm, debtor, client):
    response = deliver(client, cm.inbound_webhook("+31612345678", "STOP", token="guessed"))

    assert response.status_code == 400
    debtor.refresh_from_db()
    assert debtor.opted_out_channels == []


def test_cm_inbound_malformed_body(cm, debtor, client):
    response = client.post(
        "/channels/webhooks/cmcom/acme/cm-hook-current/inbound/", data=b"{}", content_type="application/json"
    )

    assert response.status_code == 400
    assert WebhookLog.objects.get().outcome == WebhookLog.Outcome.REJECTED


def test_cm_other_channel_ignored(cm, debtor, client):
    response = deliver(client, cm.inbound_webhook("+31612345678", "STOP", channel="Viber"))

    assert response.status_code == 200
    debtor.refresh_from_db()
    assert debtor.opted_out_channels == []
    assert WebhookLog.objects.get().outcome == WebhookLog.Outcome.IGNORED
