"""Inbound SMS: opt-out keywords and replies, through Twilio's webhook."""

from __future__ import annotations

import pytest

from betaalreis.channels.inbound import is_opt_out
from betaalreis.channels.tests.fakes.sms import FakeTwilio
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
    from betaalreis.channels.models import WebhookLog

    response = deliver(client, fake.inbound_webhook(INBOUND_URL, "+31600000000", "Hallo"))

    assert response.status_code == 200
    assert WebhookLog.objects.get().outcome == WebhookLog.Outcome.UNMATCHED
    assert TimelineEvent.objects.filter(debtor=debtor).count() == 0
