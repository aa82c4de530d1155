"""Accounts and redaction, backoff, rate limits, signatures and fallback order."""

from __future__ import annotations

import random

import pytest

from betaalreis.channels.accounts import provider_account, redact
from betaalreis.channels.consent import do_enable_whatsapp, do_opt_in, do_opt_out
from betaalreis.channels.delivery import do_plan_fallback, fallback_channel_for
from betaalreis.channels.ratelimit import TokenBucket
from betaalreis.channels.retry import RetryPolicy, backoff_seconds
from betaalreis.channels.webhooks.messagebird import messagebird_signature
from betaalreis.channels.webhooks.twilio import twilio_signature
from betaalreis.errors import ConfigurationError
from betaalreis.outbox.models import Communication


def test_redact_keeps_last_four():
    assert redact("sk_live_1234567890abcd") == "****abcd"
    assert redact("short") == "****"
    assert redact("") == ""


def test_describe_redacts_secrets(provider_settings, monkeypatch):
    monkeypatch.setenv("ACME_TWILIO_TOKEN", "0123456789abcdef0123")
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"sms": {
        "provider": "twilio", "account_sid": "AC42", "auth_token_env": "ACME_TWILIO_TOKEN",
    }}}

    shown = provider_account("acme", "sms").describe()

    assert shown["auth_token"] == "****0123"
    assert "0123456789abcdef0123" not in str(shown)
    assert shown["account_sid"] == "AC42"


def test_wildcard_account_used(provider_settings):
    provider_settings.BETAALREIS_PROVIDERS = {"*": {"sms": {"provider": "cmcom"}}}

    assert provider_account("other", "sms").provider == "cmcom"


def test_missing_account_names_setting(provider_settings):
    with pytest.raises(ConfigurationError) as raised:
        provider_account("acme", "sms")

    assert "BETAALREIS_PROVIDERS['acme']['sms']" in str(raised.value)


def test_missing_secret_names_variable(provider_settings, monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"sms": {"provider": "twilio", "auth_token_env": "NOT_SET_ANYWHERE"}}}

    with pytest.raises(ConfigurationError) as raised:
        provider_account("acme", "sms").secret("auth_token")

    assert raised.value.code == "provider_secret_missing"
    assert "auth_token_env" in str(raised.value)


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5])
def test_backoff_within_bounds(attempt):
    policy = RetryPolicy(attempts=5, base_seconds=0.5, max_seconds=4.0)
    rng = random.Random(attempt)

    waits = [backoff_seconds(attempt, policy, rng=rng) for _ in range(200)]

    assert min(waits) >= 0
    assert max(waits) <= min(0.5 * 2 ** (attempt - 1), 4.0)
    assert len(set(waits)) > 1


def test_backoff_honours_retry_after():
    policy = RetryPolicy(attempts=3, base_seconds=0.1, max_seconds=30.0)

    assert backoff_seconds(1, policy, retry_after=12.0, rng=random.Random(1)) == 12.0
    assert backoff_seconds(1, policy, retry_after=120.0, rng=random.Random(1)) == 30.0


def test_token_bucket_limits_rate():
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    bucket = TokenBucket(5.0, burst=5.0, clock=lambda: clock[0], sleep=sleep)
    for _ in range(25):
        bucket.acquire()

    # 5 from the initial burst, then 20 at 5 per second.
    assert clock[0] == pytest.approx(4.0)


def test_twilio_signature_known_shape():
    params = [("To", "+31612345678"), ("Body", "a"), ("Body", "b")]

    signature = twilio_signature("token", "https://example.nl/hook?key=1", params)

    # Same parameters in another order sign the same.
    assert signature == twilio_signature("token", "https://example.nl/hook?key=1", list(reversed(params)))
    assert signature != twilio_signature("token", "https://example.nl/hook?key=2", params)


def test_messagebird_signature_vector():
    """The example from MessageBird's REST API libraries."""
    query = {
        "recipient": "31612345678", "reference": "FOO", "statusDatetime": "2019-01-11T09:17:11+00:00",
        "id": "eef0ab57a9e049be946f3821568c2b2e", "status": "delivered", "mccmnc": "20408", "ported": "1",
    }

    signature = messagebird_signature("PlLrKaqvZNRR5zAjm42ZT6q1SQxgbbGd", "1547198231", query, b"")

    assert signature == "KVBdcVdz2lYMwcBLZCRITgxUfA/WkwSi+T3Wxl2HL6w="


def test_fallback_follows_stage_order(make_communication, creditor, debtor):
    communication = make_communication("sms")

    assert fallback_channel_for(communication) == "email"


def test_fallback_skips_opted_out(make_communication, debtor):
    do_opt_out(debtor, "email", source="test")
    communication = make_communication("sms")

    assert fallback_channel_for(communication) == "letter"


def test_fallback_never_returns_to_tried_channel(make_communication, creditor, debtor):
    do_enable_whatsapp(creditor, source="test")
    do_opt_in(debtor, "whatsapp", source="test", evidence="form")
    whatsapp = make_communication("whatsapp")

    sms = do_plan_fallback(whatsapp, reason="undeliverable", source="test")
    email = do_plan_fallback(sms, reason="unknown number", source="test")
    letter = do_plan_fallback(email, reason="hard bounce", source="test")
    after_letter = do_plan_fallback(letter, reason="returned", source="test")

    assert [sms.channel, email.channel, letter.channel] == ["sms", "email", "letter"]
    assert after_letter is None
    assert Communication.objects.count() == 4


def test_plan_fallback_twice_one_message(make_communication):
    communication = make_communication("sms")

    first = do_plan_fallback(communication, reason="failed", source="test")
    second = do_plan_fallback(communication, reason="failed", source="test")

    assert first.pk == second.pk
    assert Communication.objects.count() == 2


def test_whatsapp_skipped_without_switch(make_communication, debtor, stage):
    stage.channels = ["email", "whatsapp", "sms"]
    stage.save()
    do_opt_in(debtor, "whatsapp", source="test", evidence="form")
    communication = make_communication("email")

    assert fallback_channel_for(communication) == "sms"
