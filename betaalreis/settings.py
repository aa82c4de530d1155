"""Settings for Betaalreis, read from the environment.

Every value has a safe default for the embedded demo: SQLite and the file
outbox under `BETAALREIS_HOME` (default `./var`). Production sets
`BETAALREIS_PRODUCTION=1`, `DATABASE_URL`, `BETAALREIS_SECRET_KEY` and
`BETAALREIS_BASE_URL`; see the README's production section.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from betaalreis import deployment


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} is {value!r}, not a whole number; set it to a number such as {default}.")


# With BETAALREIS_PRODUCTION=1 start-up raises ImproperlyConfigured on the
# demo's unsafe defaults; `betaalreis check --deploy` reports the same problems.
PRODUCTION = _env_bool("BETAALREIS_PRODUCTION", False)
# `run --simulate` moves dunning stages on for days that have not come yet,
# so it runs only for the demo creditors unless this setting declares that the database
# contains no real data. It is never allowed with PRODUCTION.
ALLOW_SIMULATE = _env_bool("BETAALREIS_ALLOW_SIMULATE", False)

BASE_DIR = Path(__file__).resolve().parent
BETAALREIS_HOME = Path(os.environ.get("BETAALREIS_HOME", "var")).resolve()
OUTBOX_DIR = BETAALREIS_HOME / "outbox"

DEBUG = _env_bool("BETAALREIS_DEBUG", False)
if DEBUG and PRODUCTION:
    raise ImproperlyConfigured(
        "BETAALREIS_DEBUG is on in production, which shows settings and code to anyone who causes an error. "
        "Set BETAALREIS_DEBUG=0 or remove it."
    )

# The demo and the tests run without a configured key. With
# BETAALREIS_PRODUCTION=1 a missing or weak key fails at start-up.
_DEMO_SECRET = "betaalreis-insecure-demo-key-change-me"
SECRET_KEY = os.environ.get("BETAALREIS_SECRET_KEY", _DEMO_SECRET)
if SECRET_KEY == _DEMO_SECRET and PRODUCTION:
    raise ImproperlyConfigured(
        "BETAALREIS_SECRET_KEY is missing. Set it to a long random string in production, for example "
        f"the output of: {deployment.NEW_SECRET_KEY_COMMAND}"
    )
if PRODUCTION and (_secret_key_problem := deployment.secret_key_problem(SECRET_KEY)):
    raise ImproperlyConfigured(_secret_key_problem)

# Public base address used in links inside messages (pay button, SMS link).
if PRODUCTION and not os.environ.get("BETAALREIS_BASE_URL", "").strip():
    raise ImproperlyConfigured(
        "BETAALREIS_BASE_URL is missing, so links in messages would point to this machine. "
        "Set it to the public address of the portal, for example https://betalen.example.nl"
    )
BETAALREIS_BASE_URL = (os.environ.get("BETAALREIS_BASE_URL", "").strip() or "http://127.0.0.1:8000").rstrip("/")
_BASE_URL_IS_HTTPS = BETAALREIS_BASE_URL.startswith("https://")

# Requests must name the host of BETAALREIS_BASE_URL or one of the
# comma-separated BETAALREIS_ALLOWED_HOSTS; any other gets a 400 page and
# one log line from the django.security.DisallowedHost logger.
try:
    ALLOWED_HOSTS = deployment.allowed_hosts(
        BETAALREIS_BASE_URL, os.environ.get("BETAALREIS_ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")
    )
except ValueError as error:
    raise ImproperlyConfigured(str(error)) from error
# The portal's forms post from the address in the links, which may be an
# https address that a reverse proxy forwards as http.
CSRF_TRUSTED_ORIGINS = [urlunsplit(urlsplit(BETAALREIS_BASE_URL)[:2] + ("", "", ""))]

# Number of reverse proxies in front of Betaalreis that each append the
# address they received from to X-Forwarded-For. With 0 (the default) that
# header is ignored and the client address is REMOTE_ADDR. With 1 or more,
# the portal's rate limits use the entry this many places from the right,
# and a request counts as https when the proxy sets X-Forwarded-Proto: https.
# Set it only when every request passes through those proxies, because a
# client can put any address in the header.
BETAALREIS_PROXY_COUNT = _env_int("BETAALREIS_PROXY_COUNT", 0)
if BETAALREIS_PROXY_COUNT > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# With an https base address, cookies travel over https only, and https
# responses carry HSTS for BETAALREIS_HSTS_SECONDS.
SESSION_COOKIE_SECURE = _BASE_URL_IS_HTTPS
CSRF_COOKIE_SECURE = _BASE_URL_IS_HTTPS
SECURE_HSTS_SECONDS = _env_int("BETAALREIS_HSTS_SECONDS", 31_536_000 if _BASE_URL_IS_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
# The reverse proxy that terminates TLS usually redirects http to https.
# BETAALREIS_SSL_REDIRECT=1 makes Django redirect instead. Behind a proxy,
# Django detects https only through a trusted X-Forwarded-Proto (from
# BETAALREIS_PROXY_COUNT, or gunicorn's forwarded_allow_ips, which trusts
# 127.0.0.1 by default). Without it, every request is redirected again.
SECURE_SSL_REDIRECT = _env_bool("BETAALREIS_SSL_REDIRECT", False)
SILENCED_SYSTEM_CHECKS = [
    # HSTS preload is a choice for the whole parent domain, not for the portal's host.
    "security.W021",
]
if _BASE_URL_IS_HTTPS and not SECURE_SSL_REDIRECT:
    # The proxy redirects, as the comment on SECURE_SSL_REDIRECT explains.
    SILENCED_SYSTEM_CHECKS.append("security.W008")

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
    try:
        BETAALREIS_HOME.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        _reason = "it is a file" if BETAALREIS_HOME.is_file() else error.strerror
        raise ImproperlyConfigured(
            f"BETAALREIS_HOME {BETAALREIS_HOME} cannot be used as a folder: {_reason}. "
            "Set BETAALREIS_HOME to a folder this user can write to, or set DATABASE_URL."
        ) from error
try:
    DATABASES = {
        "default": dj_database_url.parse(
            os.environ.get("DATABASE_URL", _default_sqlite), conn_max_age=60
        )
    }
except ValueError as error:
    # The message of dj_database_url would repeat the address, password included.
    raise ImproperlyConfigured(
        "DATABASE_URL is not a database address that Betaalreis can use. Set it to "
        "postgres://USER:PASSWORD@HOST:5432/NAME, or remove it to use SQLite in BETAALREIS_HOME."
    ) from None
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
# Language of the reports that `betaalreis import`, `run` and `demo` print when
# their --lang option is left out.
BETAALREIS_LANGUAGE = os.environ.get("BETAALREIS_LANGUAGE", "").strip().lower() or LANGUAGE_CODE
if BETAALREIS_LANGUAGE not in dict(LANGUAGES):
    raise ImproperlyConfigured(
        f"BETAALREIS_LANGUAGE is {BETAALREIS_LANGUAGE!r}; set it to nl or en, or leave it unset for nl."
    )
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
# Django writes the Date header of every email outside a replayed run. With
# this it uses local time, which Django 5.2 sets to TIME_ZONE on Unix, so the
# header reads +0100 or +0200 like a replayed run's, not "-0000" (UTC).
EMAIL_USE_LOCALTIME = True
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
# Days of temporary errors (no connection, failed sign-in, a relay refusal)
# after which dispatch fails a message and plans the stage's next channel.
# Five days cover a long weekend plus the time to fix a mail setting.
BETAALREIS_DISPATCH_GIVE_UP_DAYS = float(os.environ.get("BETAALREIS_DISPATCH_GIVE_UP_DAYS", "5"))

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
if BETAALREIS_PAYMENT_PROVIDER == "test" and PRODUCTION:
    # The test provider's pay page marks a payment paid for anyone who opens it.
    raise ImproperlyConfigured(
        "BETAALREIS_PAYMENT_PROVIDER is 'test' in production. Set it to mollie or stripe."
    )
if PRODUCTION and (_provider_keys_problem := deployment.provider_keys_problem(BETAALREIS_PAYMENT_PROVIDER, os.environ)):
    raise ImproperlyConfigured(_provider_keys_problem)
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
# Wrong short codes and one-time codes allowed per client address per 15 minutes.
# Further wrong codes get HTTP 429 until the window ends, but valid codes and links still sign in.
BETAALREIS_PORTAL_FAILURES_PER_ADDRESS = int(os.environ.get("BETAALREIS_PORTAL_FAILURES_PER_ADDRESS", "20"))
# Wrong admin passwords allowed per user name and per client address per 15 minutes.
# After that the admin login rejects that name or address, right password or not, until the window ends.
BETAALREIS_ADMIN_FAILURES_PER_USER = int(os.environ.get("BETAALREIS_ADMIN_FAILURES_PER_USER", "10"))
BETAALREIS_ADMIN_FAILURES_PER_ADDRESS = int(os.environ.get("BETAALREIS_ADMIN_FAILURES_PER_ADDRESS", "20"))

# With REDIS_URL set, provider send rate limits are shared by every worker
# through Redis, under keys that start with BETAALREIS_RATE_LIMIT_PREFIX.
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
BETAALREIS_RATE_LIMIT_PREFIX = os.environ.get("BETAALREIS_RATE_LIMIT_PREFIX", "betaalreis:")

# Django's default cache, which keeps the counts of failed sign-ins of the
# portal and the admin login. Empty keeps a local-memory cache in each server
# process. `database` uses a table that `betaalreis createcachetable` makes,
# and a redis:// address uses Redis. `check --deploy` and production
# start-up of the web server warn about a per-process cache.
try:
    CACHES = deployment.cache_settings(os.environ.get("BETAALREIS_CACHE_URL", ""))
except ValueError as error:
    raise ImproperlyConfigured(str(error)) from error

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
# Worker and beat log through LOGGING below. A root handler of Celery's own
# would write every betaalreis line a second time, without its fields.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Celery beat starts the dispatch every BETAALREIS_DISPATCH_EVERY_SECONDS,
# so that messages held until 07:00 or a Monday go out then, and the daily
# run at BETAALREIS_DAILY_RUN_TIME (HH:MM, Europe/Amsterdam).
BETAALREIS_DISPATCH_EVERY_SECONDS = _env_int("BETAALREIS_DISPATCH_EVERY_SECONDS", 300)
if BETAALREIS_DISPATCH_EVERY_SECONDS < 1:
    raise ImproperlyConfigured(
        f"BETAALREIS_DISPATCH_EVERY_SECONDS is {BETAALREIS_DISPATCH_EVERY_SECONDS}; set it to 1 or more, such as 300."
    )
try:
    BETAALREIS_DAILY_RUN_TIME = deployment.daily_run_time(os.environ.get("BETAALREIS_DAILY_RUN_TIME", "07:00"))
except ValueError as error:
    raise ImproperlyConfigured(str(error)) from error
CELERY_BEAT_SCHEDULE = {
    "dispatch-outbox": {
        "task": "betaalreis.outbox.dispatch",
        "schedule": float(BETAALREIS_DISPATCH_EVERY_SECONDS),
    },
    "daily-run": {
        "task": "betaalreis.dunning.run_daily",
        "schedule": crontab(hour=BETAALREIS_DAILY_RUN_TIME.hour, minute=BETAALREIS_DAILY_RUN_TIME.minute),
    },
}

# The level names of Python's logging module, which it accepts in upper case only.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
BETAALREIS_LOG_LEVEL = os.environ.get("BETAALREIS_LOG_LEVEL", "").strip().upper() or "WARNING"
if BETAALREIS_LOG_LEVEL not in LOG_LEVELS:
    raise ImproperlyConfigured(
        f"BETAALREIS_LOG_LEVEL is {os.environ['BETAALREIS_LOG_LEVEL']!r}; set it to one of "
        f"{', '.join(LOG_LEVELS)}, or leave it unset for WARNING."
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "betaalreis.logformat.FieldsFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        # Celery's lines carry a `data` field that repeats the message and the traceback.
        "without_fields": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "filters": {
        "disallowed_host": {"()": "betaalreis.logformat.DisallowedHostFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "console_without_fields": {"class": "logging.StreamHandler", "formatter": "without_fields"},
        "disallowed_host": {
            "class": "logging.StreamHandler", "formatter": "plain", "filters": ["disallowed_host"]
        },
        # With DEBUG on, Django's own console handler prints these already.
        "console_without_debug": {
            "class": "logging.StreamHandler", "formatter": "plain", "filters": ["require_debug_false"]
        },
    },
    "loggers": {
        "betaalreis": {
            "handlers": ["console"],
            "level": BETAALREIS_LOG_LEVEL,
        },
        # The mt-940 library logs each tag it cannot parse with its whole
        # regular expression. Our reader reports that tag as a rejected row
        # itself, so the library's own log lines are dropped.
        "mt940": {"level": "CRITICAL", "propagate": False},
        # The worker's and beat's own lines: tasks received, done or failed with their traceback.
        "celery": {"handlers": ["console_without_fields"], "level": "INFO", "propagate": False},
        # A server error (HTTP 500) with its traceback. Django's default sends
        # it only by mail to ADMINS when DEBUG is off, so without ADMINS the
        # error would be logged nowhere.
        "django.request": {"handlers": ["console_without_debug"], "level": "ERROR"},
        # A request for a host outside ALLOWED_HOSTS; Django logs it nowhere when DEBUG is off.
        "django.security.DisallowedHost": {
            "handlers": ["disallowed_host"],
            "level": "ERROR",
            "propagate": False,
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
# Without a webhook secret the anymail webhooks reject every request, so in
# production any use of anymail needs one.
if PRODUCTION and (_anymail_problem := deployment.anymail_webhook_secret_problem(
    BETAALREIS_PROVIDERS, EMAIL_BACKEND, BETAALREIS_INBOUND_EMAIL_DOMAIN,
    has_webhook_secret=bool(ANYMAIL["WEBHOOK_SECRET"]),
)):
    raise ImproperlyConfigured(_anymail_problem)
# Email over SMTP: bounces go to bounces+<delivery id>-<tag>@BETAALREIS_BOUNCE_DOMAIN
# (empty: to the From address), and `betaalreis read_bounces` reads them from
# the Maildir BETAALREIS_BOUNCE_MAILDIR. A provider account may set its own
# `bounce_domain` and `bounce_maildir`.
BETAALREIS_BOUNCE_DOMAIN = os.environ.get("BETAALREIS_BOUNCE_DOMAIN", "").strip()
BETAALREIS_BOUNCE_MAILDIR = os.environ.get("BETAALREIS_BOUNCE_MAILDIR", "").strip()
