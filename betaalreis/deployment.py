"""Checks on deployment settings, shared by settings.py and `betaalreis check --deploy`.

Plain functions without Django, because settings.py calls them before
Django is set up. Each problem is one line that names the setting and what
to set instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from urllib.parse import urlsplit

# Django's own deploy check (security.W009) requires the same length and variety.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5

# The environment variables each payment provider needs to take payments.
PROVIDER_KEYS: dict[str, tuple[str, ...]] = {
    "mollie": ("MOLLIE_API_KEY",),
    "stripe": ("STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRETS"),
}

NEW_SECRET_KEY_COMMAND = "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"


def base_url_host(base_url: str) -> str:
    """Return the host name of BETAALREIS_BASE_URL, or raise ValueError with a one-line reason."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"BETAALREIS_BASE_URL {base_url!r} is not an http or https address; "
            "set it to the public address of the portal, for example https://betalen.example.nl"
        )
    return parts.hostname


def allowed_hosts(base_url: str, extra_hosts: str) -> list[str]:
    """Return the host of `base_url` followed by the comma-separated `extra_hosts`, without repeats."""
    host = base_url_host(base_url)
    # Django compares an IPv6 Host header with its brackets.
    hosts = [f"[{host}]" if ":" in host else host]
    for host in extra_hosts.split(","):
        host = host.strip()
        if host and host not in hosts:
            hosts.append(host)
    return hosts


def secret_key_problem(secret_key: str) -> str | None:
    """Return why `secret_key` is too weak for production, or None when it is long and varied enough."""
    if len(secret_key) < SECRET_KEY_MIN_LENGTH or len(set(secret_key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        return (
            f"BETAALREIS_SECRET_KEY is too weak: it needs at least {SECRET_KEY_MIN_LENGTH} characters "
            f"of which {SECRET_KEY_MIN_UNIQUE_CHARACTERS} differ. Set it to a long random string, "
            f"for example the output of: {NEW_SECRET_KEY_COMMAND}"
        )
    return None


def missing_provider_keys(provider: str, environment: Mapping[str, str]) -> list[str]:
    """Return the variables that payment provider `provider` needs but `environment` leaves empty."""
    return [name for name in PROVIDER_KEYS.get(provider, ()) if not environment.get(name, "").strip()]


def provider_keys_problem(provider: str, environment: Mapping[str, str]) -> str | None:
    """Return a one-line error when `provider` lacks its keys in `environment`, else None."""
    missing = missing_provider_keys(provider, environment)
    if not missing:
        return None
    names = " and ".join(missing)
    return (
        f"BETAALREIS_PAYMENT_PROVIDER is '{provider}' but {names} {'is' if len(missing) == 1 else 'are'} "
        f"empty. Set {names} from the provider's dashboard."
    )


def anymail_email_users(providers: object, email_backend: str, inbound_email_domain: str) -> list[str]:
    """Return the settings that receive email events or replies through anymail's webhooks.

    These are the email accounts in BETAALREIS_PROVIDERS whose provider is
    anymail, BETAALREIS_EMAIL_BACKEND when it is an anymail backend, and
    BETAALREIS_INBOUND_EMAIL_DOMAIN, whose replies an ESP posts to anymail.
    """
    users: list[str] = []
    if isinstance(providers, Mapping):
        for slug, channels in providers.items():
            account = channels.get("email") if isinstance(channels, Mapping) else None
            if isinstance(account, Mapping) and account.get("provider") == "anymail":
                users.append(f"BETAALREIS_PROVIDERS[{slug!r}]['email']")
    if email_backend.startswith("anymail."):
        users.append(f"BETAALREIS_EMAIL_BACKEND {email_backend!r}")
    if inbound_email_domain:
        users.append("BETAALREIS_INBOUND_EMAIL_DOMAIN")
    return users


def anymail_webhook_secret_problem(
    providers: object, email_backend: str, inbound_email_domain: str, *, has_webhook_secret: bool
) -> str | None:
    """Return a one-line error when anymail is in use without a webhook secret, else None."""
    users = anymail_email_users(providers, email_backend, inbound_email_domain)
    if not users or has_webhook_secret:
        return None
    return (
        f"BETAALREIS_ANYMAIL_WEBHOOK_SECRET is empty, but {', '.join(users)} "
        f"{'uses' if len(users) == 1 else 'use'} anymail, whose tracking and inbound webhooks "
        "reject every request without it. Set it to a random user:password and give the ESP "
        "the webhook addresses with those credentials, "
        "for example https://user:password@betalen.example.nl/channels/anymail/postmark/tracking/"
    )


# Django cache backends whose entries each server process keeps for itself.
LOCAL_MEMORY_CACHE = "django.core.cache.backends.locmem.LocMemCache"
PER_PROCESS_CACHE_BACKENDS = frozenset({LOCAL_MEMORY_CACHE, "django.core.cache.backends.dummy.DummyCache"})
# Table of the database cache, made by `betaalreis createcachetable`.
DATABASE_CACHE_TABLE = "betaalreis_cache"
_REDIS_SCHEMES = ("redis", "rediss", "unix")


def cache_settings(cache_url: str) -> dict[str, dict[str, str]]:
    """Return Django's CACHES for BETAALREIS_CACHE_URL, or raise ValueError with a one-line reason.

    Empty gives the local-memory cache, `database` the database cache, and a
    redis://, rediss:// or unix:// address the Redis cache.
    """
    url = cache_url.strip()
    if not url:
        return {"default": {"BACKEND": LOCAL_MEMORY_CACHE}}
    if url == "database":
        return {"default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": DATABASE_CACHE_TABLE,
        }}
    scheme = urlsplit(url).scheme
    if scheme in _REDIS_SCHEMES:
        return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    # The address may contain a password, so the message names only its scheme.
    raise ValueError(
        f"BETAALREIS_CACHE_URL has scheme {scheme or 'none'!r}, not redis, rediss or unix, and is not "
        "'database'. Set it to a Redis address such as redis://127.0.0.1:6379/1, to database, or leave it empty."
    )


def per_process_cache_problem(caches: Mapping[str, Mapping[str, object]]) -> str | None:
    """Return why the default cache cannot hold the sign-in limits of the portal and the admin across processes, or None."""
    backend = str(caches.get("default", {}).get("BACKEND", ""))
    if backend not in PER_PROCESS_CACHE_BACKENDS:
        return None
    return (
        f"The default cache ({backend.rsplit('.', 1)[-1]}) is kept per server process, so each process "
        "counts the failed sign-ins of the portal and of the admin login on its own, and a restart clears "
        "the counts. "
        "Set BETAALREIS_CACHE_URL to a Redis address or to database."
    )


# The adapter that writes emails to the file outbox. Every other email adapter hands them to a mail server.
FILE_EMAIL_CHANNEL = "betaalreis.channels.backends.email.FileEmailBackend"


def default_from_address_problem(email_channel: str, from_email: str) -> str | None:
    """Return why email would go out from a local From address, or None when it would not.

    BETAALREIS_FROM_EMAIL defaults to betaalreis@localhost, which works for
    the file outbox only: mail servers reject or mark as spam a sender on a
    domain that does not exist, and the Message-ID of each email takes that
    domain too.
    """
    if email_channel == FILE_EMAIL_CHANNEL:
        return None
    domain = from_email.rpartition("@")[2].strip().rstrip(">").lower()
    if domain != "localhost" and not domain.endswith(".localhost") and "." in domain:
        return None
    return (
        f"BETAALREIS_FROM_EMAIL is {from_email!r}, a local address, while BETAALREIS_EMAIL_CHANNEL sends email "
        "to a mail server, which rejects such a sender or marks it as spam. Set BETAALREIS_FROM_EMAIL to an "
        "address on your own mail domain, such as debiteuren@example.nl."
    )


def daily_run_time(value: str) -> dt.time:
    """Parse BETAALREIS_DAILY_RUN_TIME as HH:MM, or raise ValueError with a one-line reason."""
    try:
        hour_text, minute_text = value.strip().split(":")
        return dt.time(int(hour_text), int(minute_text))
    except ValueError:
        raise ValueError(
            f"BETAALREIS_DAILY_RUN_TIME {value!r} is not a time of day as HH:MM; set it to a time such as 07:00"
        ) from None
