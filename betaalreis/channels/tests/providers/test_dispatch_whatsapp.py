"""Dispatch of WhatsApp communications through the router to a fake Cloud API."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import resolve

from betaalreis.channels.accounts import provider_account
from betaalreis.channels.backends.whatsapp import do_verify_template
from betaalreis.channels.consent import do_enable_whatsapp, do_opt_in
from betaalreis.channels.models import Delivery, DeliveryStatus, WhatsAppTemplate
from betaalreis.channels.tests.fakes.whatsapp import FakeWhatsApp
from betaalreis.channels.tests.providers.conftest import deliver
from betaalreis.ledger.models import TimelineEvent
from betaalreis.outbox.dispatch import dispatch
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.portal.links import read_portal_token

# Dispatch checks the contact hours of the real moment, so the tests fix it on a weekday morning.
pytestmark = pytest.mark.usefixtures("run_day_morning")

BODY_PARAMETERS = ["debtor_name", "invoice_numbers", "total", "due_date"]
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# A Monday morning inside contact hours, so a fallback may go out in the same
# dispatch run whatever the time at which the tests run.
MONDAY_MORNING = dt.datetime(2026, 12, 7, 10, 0, tzinfo=AMSTERDAM)


@pytest.fixture
def fake(fake_factory, provider_settings, creditor):
    server = fake_factory(FakeWhatsApp)
    server.templates[("betalingsherinnering_v2", "nl")] = ("APPROVED", "UTILITY")
    server.templates[("payment_reminder_v2", "en")] = ("APPROVED", "UTILITY")
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"whatsapp": server.account_options()}}
    provider_settings.BETAALREIS_CHANNEL_BACKENDS = {
        **provider_settings.BETAALREIS_CHANNEL_BACKENDS,
        "whatsapp": "betaalreis.channels.providers.WhatsAppRouter",
    }
    return server


@pytest.fixture
def templates(fake, creditor) -> list[WhatsAppTemplate]:
    """Verified reminder templates in Dutch and English, each with a payment button."""
    account = provider_account("acme", "whatsapp")
    verified = []
    for language, name in (("nl", "betalingsherinnering_v2"), ("en", "payment_reminder_v2")):
        template = WhatsAppTemplate.objects.create(
            creditor=creditor, stage_code="reminder", language=language, name=name,
            body_parameters=BODY_PARAMETERS,
        )
        verified.append(do_verify_template(template, account))
    return verified


@pytest.fixture
def switched_on(creditor):
    do_enable_whatsapp(creditor, source="test")
    return creditor


@pytest.fixture
def opted_in(switched_on, debtor):
    do_opt_in(debtor, "whatsapp", source="portal", evidence="Vinkje in het klantportaal")
    return debtor


def test_dispatch_sends_dutch_template(fake, templates, opted_in, make_communication, client):
    communication = make_communication("whatsapp")
    invoice_number = communication.items.get().invoice.number

    dispatch()
    dispatch()

    communication.refresh_from_db()
    assert communication.status == CommunicationStatus.SENT, communication.last_error
    assert len(fake.accepted) == 1
    sent = fake.accepted[0]
    assert sent["to"] == "+31612345678"
    assert sent["template"] == ("betalingsherinnering_v2", "nl")
    body, button = sent["components"]
    assert [parameter["text"] for parameter in body["parameters"]] == [
        "J. de Vries", invoice_number, "€\xa0425,00", "15-11-2026",
    ]
    assert button["sub_type"] == "url"
    assert communication.provider == "whatsapp_cloud"
    assert communication.provider_reference == sent["reference"]
    assert str(communication.cost) == "0.0350"


def test_button_opens_debtor_portal(fake, templates, opted_in, make_communication):
    make_communication("whatsapp")

    dispatch()

    suffix = fake.accepted[0]["components"][1]["parameters"][0]["text"]
    match = resolve(f"/p/{suffix}")
    assert match.view_name == "portal:account"
    assert read_portal_token(match.kwargs["token"]) == opted_in.pk


def test_dispatch_sends_english_template(fake, templates, opted_in, make_communication):
    communication = make_communication("whatsapp")
    Communication.objects.filter(pk=communication.pk).update(language="en")

    dispatch()

    communication.refresh_from_db()
    assert communication.status == CommunicationStatus.SENT, communication.last_error
    sent = fake.accepted[0]
    assert sent["template"] == ("payment_reminder_v2", "en")
    values = [parameter["text"] for parameter in sent["components"][0]["parameters"]]
    assert values[2:] == ["€425.00", "15 Nov 2026"]


def test_sent_message_on_timeline(fake, templates, opted_in, make_communication):
    communication = make_communication("whatsapp")

    dispatch()

    row = TimelineEvent.objects.get(
        data__communication_id=communication.pk, data__channel="whatsapp"
    )
    assert row.summary.startswith("WhatsApp verzonden (Herinnering)")


def test_status_report_after_dispatch(fake, templates, opted_in, make_communication, client):
    communication = make_communication("whatsapp")
    dispatch()
    communication.refresh_from_db()

    response = deliver(client, fake.status_webhook(communication.provider_reference, "read"))

    assert response.status_code == 200
    assert Delivery.objects.get(communication=communication).status == DeliveryStatus.READ


def test_no_opt_in_fails_and_falls_back(fake, templates, switched_on, make_communication):
    communication = make_communication("whatsapp")

    dispatch(due_by=MONDAY_MORNING, clock=MONDAY_MORNING)

    communication.refresh_from_db()
    assert communication.status == CommunicationStatus.FAILED
    assert communication.last_error.startswith("whatsapp_no_opt_in:")
    assert fake.accepted == []
    # The same dispatch run takes the SMS fallback it planned and sends it.
    fallback = Communication.objects.get(channel="sms")
    assert fallback.status == CommunicationStatus.SENT
    assert fallback.stage == communication.stage


def test_no_mobile_fails_before_send(fake, templates, opted_in, make_communication):
    communication = make_communication("whatsapp")
    opted_in.mobile = ""
    opted_in.save(update_fields=["mobile"])

    dispatch()

    communication.refresh_from_db()
    assert communication.status == CommunicationStatus.FAILED
    assert communication.last_error.startswith("missing_recipient:")
    assert "D-1" in communication.last_error
    assert fake.accepted == []


def test_missing_template_falls_back(fake, opted_in, make_communication):
    communication = make_communication("whatsapp")

    dispatch(due_by=MONDAY_MORNING, clock=MONDAY_MORNING)

    communication.refresh_from_db()
    assert communication.status == CommunicationStatus.FAILED
    assert communication.last_error.startswith("whatsapp_template_missing:")
    assert fake.accepted == []
    fallback = Communication.objects.get(channel="sms")
    assert fallback.status == CommunicationStatus.SENT


def test_fallback_waits_for_contact_hours(fake, opted_in, make_communication):
    communication = make_communication("whatsapp")
    evening = dt.datetime(2026, 12, 7, 21, 30, tzinfo=AMSTERDAM)

    dispatch(due_by=evening, clock=evening)

    communication.refresh_from_db()
    assert communication.status == CommunicationStatus.FAILED
    fallback = Communication.objects.get(channel="sms")
    assert fallback.status == CommunicationStatus.PENDING
    assert fallback.not_before == dt.datetime(2026, 12, 8, 7, 0, tzinfo=AMSTERDAM)
