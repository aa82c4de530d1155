"""WhatsApp Cloud API: the creditor switch, opt-in, verified templates, webhooks."""

from __future__ import annotations

import pytest

from betaalreis.channels.backends.whatsapp import do_verify_template
from betaalreis.channels.accounts import provider_account
from betaalreis.channels.base import ChannelError
from betaalreis.channels.consent import do_enable_whatsapp, do_opt_in
from betaalreis.channels.models import Delivery, DeliveryStatus, WebhookLog, WhatsAppTemplate
from betaalreis.channels.providers import WhatsAppRouter
from betaalreis.channels.tests.fakes.whatsapp import FakeWhatsApp
from betaalreis.channels.tests.providers.conftest import deliver, message_for
from betaalreis.errors import InvalidInput
from betaalreis.ledger.models import Creditor, TimelineEvent


@pytest.fixture
def fake(fake_factory, provider_settings, creditor):
    server = fake_factory(FakeWhatsApp)
    server.templates[("betalingsherinnering_v1", "nl")] = ("APPROVED", "UTILITY")
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"whatsapp": server.account_options()}}
    return server


@pytest.fixture
def template(creditor) -> WhatsAppTemplate:
    return WhatsAppTemplate.objects.create(
        creditor=creditor, stage_code="reminder", language="nl", name="betalingsherinnering_v1",
        body_parameters=["invoice_numbers", "total"],
    )


@pytest.fixture
def ready(fake, creditor, debtor, template):
    """WhatsApp switched on, the debtor opted in and the template verified."""
    do_enable_whatsapp(creditor, source="test")
    do_opt_in(debtor, "whatsapp", source="portal", evidence="Vinkje in het klantportaal")
    do_verify_template(template, provider_account("acme", "whatsapp"))
    return fake


def whatsapp_message(communication):
    return message_for(communication, text="", metadata={"payment_link_suffix": "x7K2"})


def test_agency_cannot_enable(creditor):
    Creditor.objects.filter(pk=creditor.pk).update(is_collection_agency=True)
    creditor.refresh_from_db()

    with pytest.raises(InvalidInput) as raised:
        do_enable_whatsapp(creditor, source="test")

    assert raised.value.code == "whatsapp_not_allowed"


def test_switch_off_by_default(fake, make_communication, debtor, template):
    do_opt_in(debtor, "whatsapp", source="portal", evidence="form")

    with pytest.raises(ChannelError) as raised:
        WhatsAppRouter().send(whatsapp_message(make_communication("whatsapp")))

    assert raised.value.code == "whatsapp_not_allowed"
    assert fake.accepted == []


def test_agency_flag_blocks_enabled_switch(ready, creditor, make_communication):
    Creditor.objects.filter(pk=creditor.pk).update(is_collection_agency=True)

    with pytest.raises(ChannelError) as raised:
        WhatsAppRouter().send(whatsapp_message(make_communication("whatsapp")))

    assert raised.value.code == "whatsapp_not_allowed"
    assert ready.accepted == []


def test_no_opt_in_refused(fake, creditor, make_communication, template):
    do_enable_whatsapp(creditor, source="test")
    do_verify_template(template, provider_account("acme", "whatsapp"))

    with pytest.raises(ChannelError) as raised:
        WhatsAppRouter().send(whatsapp_message(make_communication("whatsapp")))

    assert raised.value.code == "whatsapp_no_opt_in"
    assert raised.value.permanent is True


def test_opt_in_lapses_with_new_number(ready, debtor, make_communication):
    debtor.mobile = "+31687654321"
    debtor.save()

    with pytest.raises(ChannelError) as raised:
        WhatsAppRouter().send(whatsapp_message(make_communication("whatsapp")))

    assert raised.value.code == "whatsapp_no_opt_in"


def test_unverified_template_refused(fake, creditor, debtor, make_communication, template):
    do_enable_whatsapp(creditor, source="test")
    do_opt_in(debtor, "whatsapp", source="portal", evidence="form")

    with pytest.raises(ChannelError) as raised:
        WhatsAppRouter().send(whatsapp_message(make_communication("whatsapp")))

    assert raised.value.code == "whatsapp_template_unverified"


def test_template_check_marks_missing(fake, creditor):
    other = WhatsAppTemplate.objects.create(creditor=creditor, stage_code="final", language="nl", name="bestaat_niet")

    do_verify_template(other, provider_account("acme", "whatsapp"))

    assert other.status == "MISSING"
    assert other.is_usable is False


def test_marketing_template_not_usable(fake, creditor):
    fake.templates[("aanbieding", "nl")] = ("APPROVED", "MARKETING")
    marketing = WhatsAppTemplate.objects.create(creditor=creditor, stage_code="final", language="nl", name="aanbieding")

    do_verify_template(marketing, provider_account("acme", "whatsapp"))

    assert marketing.is_usable is False


def test_send_template_with_button(ready, make_communication):
    communication = make_communication("whatsapp")

    result = WhatsAppRouter().send(whatsapp_message(communication))

    sent = ready.accepted[0]
    assert sent["to"] == "+31612345678"
    assert sent["template"] == ("betalingsherinnering_v1", "nl")
    body, button = sent["components"]
    assert [parameter["text"] for parameter in body["parameters"]] == [
        communication.items.get().invoice.number, "€\xa0425,00",
    ]
    assert button["sub_type"] == "url"
    assert button["parameters"][0]["text"] == "x7K2"
    assert result.provider_reference == sent["reference"]
    assert str(result.cost) == "0.0350"


def test_status_webhook_signed(ready, make_communication, client):
    communication = make_communication("whatsapp")
    result = WhatsAppRouter().send(whatsapp_message(communication))

    response = deliver(client, ready.status_webhook(result.provider_reference, "read"))

    assert response.status_code == 200
    assert Delivery.objects.get(idempotency_key=communication.idempotency_key).status == DeliveryStatus.READ


def test_failed_after_read_keeps_read(ready, make_communication, client):
    communication = make_communication("whatsapp")
    result = WhatsAppRouter().send(whatsapp_message(communication))

    deliver(client, ready.status_webhook(result.provider_reference, "read"))
    deliver(client, ready.status_webhook(result.provider_reference, "failed", error_code=131026))

    assert Delivery.objects.get(idempotency_key=communication.idempotency_key).status == DeliveryStatus.READ


def test_bad_hub_signature_rejected(ready, make_communication, client):
    communication = make_communication("whatsapp")
    result = WhatsAppRouter().send(whatsapp_message(communication))

    response = deliver(client, ready.status_webhook(result.provider_reference, "read", secret="forged"))

    assert response.status_code == 400
    assert Delivery.objects.get(idempotency_key=communication.idempotency_key).status == ""
    assert WebhookLog.objects.get().outcome == WebhookLog.Outcome.REJECTED


def test_subscription_check_echoes_challenge(fake, client):
    ok = client.get("/channels/webhooks/whatsapp/acme/", {
        "hub.mode": "subscribe", "hub.verify_token": "wa-verify-token", "hub.challenge": "1158201444",
    })
    wrong = client.get("/channels/webhooks/whatsapp/acme/", {
        "hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444",
    })

    assert ok.status_code == 200
    assert ok.content == b"1158201444"
    assert wrong.status_code == 403


def test_inbound_reply_on_timeline(ready, debtor, client):
    response = deliver(client, ready.inbound_webhook("+31612345678", "Ik betaal vrijdag"))

    assert response.status_code == 200
    row = TimelineEvent.objects.filter(debtor=debtor, data__inbound=True).get()
    assert row.data["text"] == "Ik betaal vrijdag"
    assert row.data["channel"] == "whatsapp"


def test_inbound_stop_opts_out(ready, debtor, client):
    deliver(client, ready.inbound_webhook("+31612345678", "STOP"))

    debtor.refresh_from_db()
    assert "whatsapp" in debtor.opted_out_channels
