"""Settings for Betaalreis, read from the environment.

Every value has a safe default for the embedded demo: SQLite and the file
outbox under `BETAALREIS_HOME` (default `./var`). Production sets
`DATABASE_URL`, `BETAALREIS_SECRET_KEY` and `BETAALREIS_DEBUG=0`.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


BASE_DIR = Path(__file__).resolve().parent
BETAALREIS_HOME = Path(os.environ.get("BETAALREIS_HOME", "var")).resolve()
OUTBOX_DIR = BETAALREIS_HOME / "outbox"

DEBUG = _env_bool("BETAALREIS_DEBUG", False)

# The demo and the tests run without a configured key. With
# BETAALREIS_PRODUCTION=1 a missing key fails at start-up.
_DEMO_SECRET = "betaalreis-insecure-demo-key-change-me"
SECRET_KEY = os.environ.get("BETAALREIS_SECRET_KEY", _DEMO_SECRET)
if SECRET_KEY == _DEMO_SECRET and _env_bool("BETAALREIS_PRODUCTION", False):
    raise ImproperlyConfigured(
        "BETAALREIS_SECRET_KEY is missing. Set it to a long random string in production, for example "
        "the output of: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )

ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("BETAALREIS_ALLOWED_HOSTS", "localhost,127.0.0.1,testserver").split(",")
    if host.strip()
]

# Public base address used in links inside messages (pay button, SMS link).
BETAALREIS_BASE_URL = os.environ.get("BETAALREIS_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles, so `runserver` serves /static/ through WhiteNoise
    # as the production server does, with any BETAALREIS_DEBUG.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "anymail",
    "betaalreis.ledger",
    "betaalreis.legal",
    "betaalreis.imports",
    "betaalreis.banking",
    "betaalreis.dunning",
    "betaalreis.outbox",
    "betaalreis.channels",
    "betaalreis.portal",
    "betaalreis.payments",
    "betaalreis.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "betaalreis.portal.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "betaalreis.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "betaalreis.wsgi.application"

_default_sqlite = f"sqlite:///{BETAALREIS_HOME / 'betaalreis.sqlite3'}"
if "DATABASE_URL" not in os.environ:
    # SQLite creates the file but not its folder.
    BETAALREIS_HOME.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", _default_sqlite), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the portal read while a run writes; a busy timeout instead of
    # an immediate "database is locked" when two commands overlap.
    # cache_size=-65536 lets each connection cache up to 64 MiB of pages
    # (SQLite's default is 2 MiB), which speeds up bank matching's random
    # updates in a table of a million invoices. Pages are allocated as used.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", "Nederlands"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Amsterdam"
USE_I18N = True
USE_TZ = True

# WhiteNoise serves /static/ in every web server (`betaalreis runserver`,
# gunicorn) straight from the installed apps, so no `collectstatic` step is
# needed. `betaalreis collectstatic` copies the files to STATIC_ROOT for a
# reverse proxy or CDN that serves them itself.
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("BETAALREIS_STATIC_ROOT", BETAALREIS_HOME / "static")).resolve()
WHITENOISE_USE_FINDERS = True
# WhiteNoise warns at start-up when STATIC_ROOT does not exist, which is
# the normal case here because the finders serve the files.
warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)
MEDIA_ROOT = BETAALREIS_HOME / "media"
MEDIA_URL = "media/"

# Email: the email channel writes .eml files to the outbox unless
# BETAALREIS_EMAIL_CHANNEL names betaalreis.channels.backends.email.DjangoEmailBackend,
# which delivers through Django's EMAIL_BACKEND (SMTP by default, or anymail).
EMAIL_BACKEND = os.environ.get(
    "BETAALREIS_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = os.environ.get("BETAALREIS_EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("BETAALREIS_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("BETAALREIS_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("BETAALREIS_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("BETAALREIS_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = os.environ.get("BETAALREIS_FROM_EMAIL", "betaalreis@localhost")

# Channel adapters, one per channel, chosen by dotted path.
BETAALREIS_CHANNEL_BACKENDS = {
    "email": os.environ.get(
        "BETAALREIS_EMAIL_CHANNEL", "betaalreis.channels.backends.email.FileEmailBackend"
    ),
    "sms": os.environ.get(
        "BETAALREIS_SMS_CHANNEL", "betaalreis.channels.backends.sms.FileSmsBackend"
    ),
    "letter": os.environ.get(
        "BETAALREIS_LETTER_CHANNEL", "betaalreis.channels.backends.letter.FileLetterBackend"
    ),
    "phone": os.environ.get(
        "BETAALREIS_PHONE_CHANNEL", "betaalreis.channels.backends.phone.FileCallTaskBackend"
    ),
    # Sends only for creditors that switched WhatsApp on and configured an
    # account in BETAALREIS_PROVIDERS; for the others it fails permanently.
    "whatsapp": os.environ.get(
        "BETAALREIS_WHATSAPP_CHANNEL", "betaalreis.channels.providers.WhatsAppRouter"
    ),
}

# Importers tried in order by `betaalreis import`; the first whose detect()
# accepts a file imports it.
BETAALREIS_IMPORTERS = [
    "betaalreis.banking.importers.Camt05xImporter",
    "betaalreis.banking.importers.Mt940Importer",
    "betaalreis.banking.importers.IngCsvImporter",
    "betaalreis.imports.ubl.UblImporter",
    "betaalreis.imports.tabular.TabularInvoiceImporter",
]

# A message claimed by a dispatcher that crashed is retried after this lease.
BETAALREIS_DISPATCH_LEASE_SECONDS = int(os.environ.get("BETAALREIS_DISPATCH_LEASE_SECONDS", "300"))

# Links in messages that sign a debtor in stay valid this long.
BETAALREIS_PORTAL_LINK_MAX_AGE_DAYS = int(os.environ.get("BETAALREIS_PORTAL_LINK_MAX_AGE_DAYS", "60"))
# Letters: where the recipient address goes for the window envelope in use
# (millimetres from the top left of A4, and the maximum number of lines),
# and an optional TrueType font that replaces the built-in one.
BETAALREIS_LETTER_ADDRESS_WINDOW = {
    "left": float(os.environ.get("BETAALREIS_LETTER_WINDOW_LEFT_MM", "20")),
    "top": float(os.environ.get("BETAALREIS_LETTER_WINDOW_TOP_MM", "50")),
    "width": float(os.environ.get("BETAALREIS_LETTER_WINDOW_WIDTH_MM", "85")),
    "height": float(os.environ.get("BETAALREIS_LETTER_WINDOW_HEIGHT_MM", "35")),
    "max_lines": int(os.environ.get("BETAALREIS_LETTER_WINDOW_MAX_LINES", "6")),
}
BETAALREIS_LETTER_FONT = os.environ.get("BETAALREIS_LETTER_FONT", "")
BETAALREIS_LETTER_FONT_BOLD = os.environ.get("BETAALREIS_LETTER_FONT_BOLD", "")

# Payment providers for the debtor portal, by name; the default one is used
# unless a creditor's portal settings name another.
BETAALREIS_PAYMENT_PROVIDERS = {
    "test": "betaalreis.payments.providers.test.provider.TestProvider",
    "mollie": "betaalreis.payments.providers.mollie.provider.MollieProvider",
    "stripe": "betaalreis.payments.providers.stripe.provider.StripeProvider",
}
BETAALREIS_PAYMENT_PROVIDER = os.environ.get("BETAALREIS_PAYMENT_PROVIDER", "test")
if BETAALREIS_PAYMENT_PROVIDER == "test" and _env_bool("BETAALREIS_PRODUCTION", False):
    # The test provider's pay page marks a payment paid for anyone who opens it.
    raise ImproperlyConfigured(
        "BETAALREIS_PAYMENT_PROVIDER is 'test' in production. Set it to mollie or stripe."
    )
MOLLIE_API_URL = os.environ.get("MOLLIE_API_URL", "https://api.mollie.com").rstrip("/")
MOLLIE_API_KEY = os.environ.get("MOLLIE_API_KEY", "")
STRIPE_API_URL = os.environ.get("STRIPE_API_URL", "https://api.stripe.com").rstrip("/")
STRIPE_API_KEY = os.environ.get("STRIPE_API_KEY", "")
# Comma-separated, so a new endpoint secret can be added before the old one goes.
STRIPE_WEBHOOK_SECRETS = [
    secret.strip() for secret in os.environ.get("STRIPE_WEBHOOK_SECRETS", "").split(",") if secret.strip()
]
STRIPE_WEBHOOK_TOLERANCE_SECONDS = int(os.environ.get("STRIPE_WEBHOOK_TOLERANCE_SECONDS", "300"))
# Checkout pages of the providers, which portal forms may redirect to.
BETAALREIS_PAYMENT_CHECKOUT_ORIGINS = os.environ.get(
    "BETAALREIS_PAYMENT_CHECKOUT_ORIGINS", "https://www.mollie.com https://checkout.stripe.com"
).split()
# Seconds a provider call may take before it counts as failed.
BETAALREIS_PAYMENT_HTTP_TIMEOUT = float(os.environ.get("BETAALREIS_PAYMENT_HTTP_TIMEOUT", "10"))

# One-time sign-in codes for the portal: validity in minutes, wrong guesses
# allowed per code, and codes that may be sent to one debtor per hour.
BETAALREIS_PORTAL_CODE_MINUTES = int(os.environ.get("BETAALREIS_PORTAL_CODE_MINUTES", "15"))
BETAALREIS_PORTAL_CODE_MAX_ATTEMPTS = int(os.environ.get("BETAALREIS_PORTAL_CODE_MAX_ATTEMPTS", "5"))
BETAALREIS_PORTAL_CODES_PER_HOUR = int(os.environ.get("BETAALREIS_PORTAL_CODES_PER_HOUR", "5"))
# Failed sign-in attempts (bad links, wrong codes) allowed per client address per 15 minutes.
BETAALREIS_PORTAL_FAILURES_PER_ADDRESS = int(os.environ.get("BETAALREIS_PORTAL_FAILURES_PER_ADDRESS", "20"))

# With REDIS_URL set, provider send rate limits are shared by every worker
# through Redis, under keys that start with BETAALREIS_RATE_LIMIT_PREFIX.
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
BETAALREIS_RATE_LIMIT_PREFIX = os.environ.get("BETAALREIS_RATE_LIMIT_PREFIX", "betaalreis:")

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "betaalreis.logformat.FieldsFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "loggers": {
        "betaalreis": {
            "handlers": ["console"],
            "level": os.environ.get("BETAALREIS_LOG_LEVEL", "WARNING"),
        },
    },
}

# Messaging provider accounts per creditor slug, with "*" for every creditor
# without its own; see betaalreis.channels.accounts for the format. Given
# as JSON; secrets are named by environment variable (`*_env`), never inline.
BETAALREIS_PROVIDERS = json.loads(os.environ.get("BETAALREIS_PROVIDERS", "{}"))
# Seconds to wait for a status report after a hand-over whose outcome is
# unknown (a timeout after sending) before the message is handed over again.
BETAALREIS_PROVIDER_UNCERTAIN_SECONDS = int(os.environ.get("BETAALREIS_PROVIDER_UNCERTAIN_SECONDS", "3600"))
# Quick retries inside one send: attempts, first backoff and cap in seconds.
BETAALREIS_PROVIDER_RETRY = {
    "attempts": int(os.environ.get("BETAALREIS_PROVIDER_RETRY_ATTEMPTS", "3")),
    "base_seconds": float(os.environ.get("BETAALREIS_PROVIDER_RETRY_BASE_SECONDS", "0.5")),
    "max_seconds": float(os.environ.get("BETAALREIS_PROVIDER_RETRY_MAX_SECONDS", "8")),
}
# Basic-auth credentials ("user:password") that ESPs put in the tracking and
# inbound webhook addresses; comma-separated so a new one can be added first.
ANYMAIL = {
    "WEBHOOK_SECRET": [
        secret.strip()
        for secret in os.environ.get("BETAALREIS_ANYMAIL_WEBHOOK_SECRET", "").split(",")
        if secret.strip()
    ],
}
# Domain whose mail the ESP's inbound route delivers to us. When set, each
# email's Reply-To is a signed address on it that identifies the debtor, so
# a reply lands on their timeline; when empty, replies go to the creditor.
BETAALREIS_INBOUND_EMAIL_DOMAIN = os.environ.get("BETAALREIS_INBOUND_EMAIL_DOMAIN", "").strip()
# Email over SMTP: bounces go to bounces+<delivery id>-<tag>@BETAALREIS_BOUNCE_DOMAIN
# (empty: to the From address), and `betaalreis read_bounces` reads them from
# the Maildir BETAALREIS_BOUNCE_MAILDIR. A provider account may set its own
# `bounce_domain` and `bounce_maildir`.
BETAALREIS_BOUNCE_DOMAIN = os.environ.get("BETAALREIS_BOUNCE_DOMAIN", "").strip()
BETAALREIS_BOUNCE_MAILDIR = os.environ.get("BETAALREIS_BOUNCE_MAILDIR", "").strip()
