"""WhatsApp templates per stage and language: lookup, the stage check and the verify command."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from betaalreis.channels.accounts import provider_account
from betaalreis.channels.backends.whatsapp import do_verify_template
from betaalreis.channels.base import ChannelError
from betaalreis.channels.consent import do_enable_whatsapp, do_opt_in
from betaalreis.channels.delivery import channel_reachable, fallback_channel_for
from betaalreis.channels.models import WhatsAppTemplate
from betaalreis.channels.providers import WhatsAppRouter
from betaalreis.channels.tests.fakes.whatsapp import FakeWhatsApp
from betaalreis.channels.tests.providers.conftest import message_for
from betaalreis.channels.whatsapp_templates import find_template, ready_stage_languages
from betaalreis.dunning.models import Stage
from betaalreis.ledger.models import Debtor
from betaalreis.outbox.models import Communication


@pytest.fixture
def fake(fake_factory, provider_settings, creditor):
    server = fake_factory(FakeWhatsApp)
    server.templates[("betalingsherinnering_v1", "nl")] = ("APPROVED", "UTILITY")
    server.templates[("payment_reminder_v1", "en")] = ("APPROVED", "UTILITY")
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"whatsapp": server.account_options()}}
    return server


@pytest.fixture
def opted_in(creditor, debtor):
    """WhatsApp switched on and the debtor opted in, so only the template decides."""
    do_enable_whatsapp(creditor, source="test")
    do_opt_in(debtor, "whatsapp", source="portal", evidence="Vinkje in het klantportaal")
    return debtor


@pytest.fixture
def email_first(stage: Stage) -> Stage:
    stage.channels = ["email", "whatsapp", "sms"]
    stage.save(update_fields=["channels"])
    return stage


def make_template(creditor, name="betalingsherinnering_v1", language="nl", stage_code="reminder"):
    return WhatsAppTemplate.objects.create(
        creditor=creditor, stage_code=stage_code, language=language, name=name,
        body_parameters=["invoice_numbers", "total"],
    )


def verify(template):
    return do_verify_template(template, provider_account("acme", "whatsapp"))


def run_verify(slug="acme"):
    out = io.StringIO()
    call_command("whatsapp_templates", "verify", "--creditor", slug, stdout=out)
    return out.getvalue()


# Fallback: the stage's next channel after email is WhatsApp, then SMS.


def test_fallback_skips_whatsapp_without_template(fake, opted_in, email_first, make_communication):
    communication = make_communication("email")

    assert fallback_channel_for(communication) == "sms"


def test_fallback_skips_unverified_template(fake, creditor, opted_in, email_first, make_communication):
    make_template(creditor)
    communication = make_communication("email")

    assert fallback_channel_for(communication) == "sms"


def test_fallback_skips_template_missing_at_meta(fake, creditor, opted_in, email_first, make_communication):
    verify(make_template(creditor, name="bestaat_niet"))
    communication = make_communication("email")

    assert fallback_channel_for(communication) == "sms"


def test_fallback_uses_verified_template(fake, creditor, opted_in, email_first, make_communication):
    verify(make_template(creditor))
    communication = make_communication("email")

    assert fallback_channel_for(communication) == "whatsapp"


def test_fallback_needs_message_language(fake, creditor, opted_in, email_first, make_communication):
    verify(make_template(creditor))
    communication = make_communication("email")
    Communication.objects.filter(pk=communication.pk).update(language="en")
    communication.refresh_from_db()

    assert fallback_channel_for(communication) == "sms"


def test_fallback_needs_template_of_stage(fake, creditor, opted_in, email_first, make_communication):
    verify(make_template(creditor, stage_code="final"))
    communication = make_communication("email")

    assert fallback_channel_for(communication) == "sms"


def test_reachable_with_stage_checks_template(fake, creditor, opted_in):
    assert channel_reachable(opted_in, "whatsapp") is True
    assert channel_reachable(opted_in, "whatsapp", stage_code="reminder") is False

    verify(make_template(creditor))

    assert channel_reachable(opted_in, "whatsapp", stage_code="reminder") is True
    assert channel_reachable(opted_in, "whatsapp", stage_code="reminder", language="en") is False


# Choosing a template for a debtor language.


def test_exact_language_beats_regional(fake, creditor):
    regional = make_template(creditor, name="payment_reminder_us", language="en_US")
    exact = make_template(creditor, name="payment_reminder_v1", language="en")

    assert find_template(creditor.pk, "reminder", "en") == exact
    assert find_template(creditor.pk, "reminder", "en_US") == regional


def test_regional_template_serves_base_language(fake, creditor):
    make_template(creditor, name="payment_reminder_us", language="en_US")
    british = make_template(creditor, name="payment_reminder_gb", language="en_GB")

    assert find_template(creditor.pk, "reminder", "en") == british
    assert find_template(creditor.pk, "reminder", "e") is None
    assert find_template(creditor.pk, "reminder", "") is None


def test_send_uses_exact_language_template(fake, creditor, opted_in, make_communication):
    make_template(creditor, name="payment_reminder_us", language="en_US")
    verify(make_template(creditor, name="payment_reminder_v1", language="en"))
    communication = make_communication("whatsapp")
    Communication.objects.filter(pk=communication.pk).update(language="en")
    communication.refresh_from_db()

    WhatsAppRouter().send(message_for(communication, metadata={"payment_link_suffix": "x7K2"}))

    assert fake.accepted[0]["template"] == ("payment_reminder_v1", "en")


def test_ready_stage_languages(fake, creditor):
    fake.templates[("payment_reminder_v1", "en_US")] = ("APPROVED", "UTILITY")
    verify(make_template(creditor))
    verify(make_template(creditor, name="payment_reminder_v1", language="en_US", stage_code="final"))
    # An unverified exact "en" template shadows the verified "en_US" one for "en".
    make_template(creditor, name="payment_reminder_v1", language="en", stage_code="final")

    ready = ready_stage_languages(creditor.pk)

    assert ready == frozenset({("reminder", "nl"), ("final", "en_US")})


# The verify command.


def test_command_verifies_all_templates(fake, creditor, stage):
    templates = [
        make_template(creditor),
        make_template(creditor, name="payment_reminder_v1", language="en"),
        make_template(creditor, name="laatste_herinnering", stage_code="final"),
    ]

    output = run_verify()

    for template in templates:
        template.refresh_from_db()
    assert [template.status for template in templates] == ["APPROVED", "APPROVED", "MISSING"]
    assert templates[0].verified_at is not None
    assert templates[2].verified_at is None
    assert "3 template(s) checked" in output
    assert "Consument / reminder / nl: betalingsherinnering_v1: ok" in output


def test_command_lists_missing_language(fake, creditor, debtor, stage):
    make_template(creditor)
    Debtor.objects.create(
        creditor=creditor, customer_number="D-2", name="J. Smith", language="en", mobile="+31611111111",
    )
    out = io.StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("whatsapp_templates", "verify", "--creditor", "acme", stdout=out)

    assert "Consument / reminder / en: -: MISSING: no template" in out.getvalue()
    assert "Consument / reminder / nl: betalingsherinnering_v1: ok" in out.getvalue()
    assert "1 stage language(s) without a usable WhatsApp template" in str(raised.value)


def test_command_lists_unapproved_template(fake, creditor, stage):
    fake.templates[("betalingsherinnering_v1", "nl")] = ("PENDING", "UTILITY")
    make_template(creditor)
    out = io.StringIO()

    with pytest.raises(CommandError):
        call_command("whatsapp_templates", "verify", "--creditor", "acme", stdout=out)

    assert "reminder / nl: betalingsherinnering_v1: MISSING: not usable (status PENDING" in out.getvalue()


def test_command_reports_failed_lookup(fake, provider_settings, creditor, stage):
    template = make_template(creditor)
    options = {**fake.account_options(), "access_token": "expired-token"}
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"whatsapp": options}}
    out = io.StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("whatsapp_templates", "verify", "--creditor", "acme", stdout=out)

    assert "lookup failed: betalingsherinnering_v1 (nl)" in out.getvalue()
    assert "1 failed lookup(s)" in str(raised.value)
    template.refresh_from_db()
    assert template.verified_at is None


def test_command_unknown_creditor(fake):
    with pytest.raises(CommandError) as raised:
        run_verify("onbekend")

    assert "'onbekend' not found" in str(raised.value)


def test_command_without_whatsapp_account(provider_settings, creditor, stage):
    provider_settings.BETAALREIS_PROVIDERS = {}

    with pytest.raises(CommandError) as raised:
        run_verify()

    assert "No whatsapp provider configured" in str(raised.value)


def test_verify_timeout_raises_channel_error(fake, provider_settings, creditor):
    template = make_template(creditor)
    options = {**fake.account_options(), "timeout_seconds": 0.3}
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"whatsapp": options}}
    fake.fail_next("timeout")

    with pytest.raises(ChannelError) as raised:
        verify(template)

    assert raised.value.code == "outcome_uncertain"
    assert raised.value.permanent is False
