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


def test_empty_cache_url_is_local_memory():
    assert deployment.cache_settings(" ") == {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    }


def test_database_cache_url():
    assert deployment.cache_settings("database") == {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "betaalreis_cache"}
    }


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/1", "rediss://:geheim@cache.example:6380/0", "unix:///run/redis.sock?db=1"]
)
def test_redis_cache_url(url):
    assert deployment.cache_settings(url) == {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }


@pytest.mark.parametrize(("url", "scheme"), [("memcached://user:geheim@cache:11211", "memcached"), ("db", "none")])
def test_unknown_cache_url_rejected_without_password(url, scheme):
    with pytest.raises(ValueError, match=f"BETAALREIS_CACHE_URL has scheme '{scheme}'") as raised:
        deployment.cache_settings(url)

    assert "geheim" not in str(raised.value)
    assert "redis://127.0.0.1:6379/1" in str(raised.value)


@pytest.mark.parametrize(
    "backend", ["django.core.cache.backends.locmem.LocMemCache", "django.core.cache.backends.dummy.DummyCache"]
)
def test_per_process_cache_reported(backend):
    problem = deployment.per_process_cache_problem({"default": {"BACKEND": backend}})

    assert problem is not None
    assert "Set BETAALREIS_CACHE_URL" in problem


@pytest.mark.parametrize("url", ["database", "redis://127.0.0.1:6379/1"])
def test_shared_cache_not_reported(url):
    assert deployment.per_process_cache_problem(deployment.cache_settings(url)) is None
