"""Host and key rules for production settings, without starting Django."""

from __future__ import annotations

import pytest

from betaalreis import deployment


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://betalen.acme.example", ["betalen.acme.example"]),
        ("https://Betalen.Acme.Example:8443/betaalreis", ["betalen.acme.example"]),
        ("http://[::1]:8000", ["[::1]"]),
    ],
)
def test_allowed_hosts_from_base_url(base_url, expected):
    assert deployment.allowed_hosts(base_url, "") == expected


def test_allowed_hosts_skips_repeats():
    hosts = deployment.allowed_hosts("https://betalen.acme.example", "betalen.acme.example, ,localhost")

    assert hosts == ["betalen.acme.example", "localhost"]


@pytest.mark.parametrize("base_url", ["betalen.acme.example", "ftp://betalen.acme.example", "https://"])
def test_base_url_without_http_host_rejected(base_url):
    with pytest.raises(ValueError, match="is not an http or https address"):
        deployment.base_url_host(base_url)


@pytest.mark.parametrize("secret_key", ["x", "k" * 60, "abcd" * 20])
def test_weak_secret_keys_rejected(secret_key):
    assert deployment.secret_key_problem(secret_key) is not None


def test_strong_secret_key_accepted():
    assert deployment.secret_key_problem("0123456789abcdefghij" * 3) is None


def test_stripe_needs_key_and_webhook_secret():
    problem = deployment.provider_keys_problem("stripe", {"STRIPE_API_KEY": "sk_live_1"})

    assert problem == (
        "BETAALREIS_PAYMENT_PROVIDER is 'stripe' but STRIPE_WEBHOOK_SECRETS is empty. "
        "Set STRIPE_WEBHOOK_SECRETS from the provider's dashboard."
    )
    assert deployment.provider_keys_problem("stripe", {"STRIPE_API_KEY": "k", "STRIPE_WEBHOOK_SECRETS": "w"}) is None


ANYMAIL_ACCOUNT = {"acme": {"email": {"provider": "anymail", "esp": "postmark"}}}
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def test_anymail_account_needs_webhook_secret():
    problem = deployment.anymail_webhook_secret_problem(ANYMAIL_ACCOUNT, SMTP_BACKEND, "", has_webhook_secret=False)

    assert problem is not None
    assert problem.startswith(
        "BETAALREIS_ANYMAIL_WEBHOOK_SECRET is empty, but BETAALREIS_PROVIDERS['acme']['email'] uses anymail"
    )
    assert "user:password" in problem


def test_anymail_with_webhook_secret_passes():
    assert deployment.anymail_webhook_secret_problem(
        ANYMAIL_ACCOUNT, SMTP_BACKEND, "", has_webhook_secret=True
    ) is None


@pytest.mark.parametrize(
    ("providers", "email_backend", "inbound_domain", "named"),
    [
        ({"*": {"email": {"provider": "anymail", "esp": "mailgun"}}}, SMTP_BACKEND, "",
         "BETAALREIS_PROVIDERS['*']['email']"),
        ({}, "anymail.backends.postmark.EmailBackend", "", "BETAALREIS_EMAIL_BACKEND"),
        ({}, SMTP_BACKEND, "antwoord.acme.nl", "BETAALREIS_INBOUND_EMAIL_DOMAIN"),
    ],
)
def test_each_anymail_use_named(providers, email_backend, inbound_domain, named):
    problem = deployment.anymail_webhook_secret_problem(
        providers, email_backend, inbound_domain, has_webhook_secret=False
    )

    assert problem is not None
    assert named in problem


@pytest.mark.parametrize(
    "providers",
    [
        {},
        {"*": {"email": {"provider": "smtp", "host": "127.0.0.1"}}},
        {"acme": {"sms": {"provider": "twilio"}}},
        {"acme": "not a mapping"},
        ["not", "a", "mapping"],
    ],
)
def test_no_anymail_needs_no_webhook_secret(providers):
    assert deployment.anymail_webhook_secret_problem(
        providers, SMTP_BACKEND, "", has_webhook_secret=False
    ) is None
