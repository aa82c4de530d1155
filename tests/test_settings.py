"""Production start-up rejects unsafe settings, and the deploy settings follow the base address."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# Variables that a developer's shell may set and that these tests set themselves. The browser
# tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process, and the deploy check reports it.
_CLEARED = (
    "DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_URL", "BETAALREIS_SECRET_KEY", "BETAALREIS_PRODUCTION", "BETAALREIS_DEBUG", "BETAALREIS_BASE_URL",
    "BETAALREIS_ALLOWED_HOSTS", "BETAALREIS_PAYMENT_PROVIDER", "MOLLIE_API_KEY", "BETAALREIS_PROXY_COUNT",
    "BETAALREIS_HSTS_SECONDS", "BETAALREIS_SSL_REDIRECT", "BETAALREIS_PROVIDERS", "BETAALREIS_EMAIL_BACKEND",
    "BETAALREIS_ANYMAIL_WEBHOOK_SECRET", "BETAALREIS_INBOUND_EMAIL_DOMAIN", "BETAALREIS_CACHE_URL",
    "BETAALREIS_EMAIL_CHANNEL", "BETAALREIS_FROM_EMAIL",
)
STRONG_KEY = "0123456789abcdefghij" * 3
# Production as the README describes it.
PRODUCTION = {
    "BETAALREIS_PRODUCTION": "1",
    "BETAALREIS_SECRET_KEY": STRONG_KEY,
    "BETAALREIS_BASE_URL": "https://betalen.acme.example",
    "BETAALREIS_PAYMENT_PROVIDER": "mollie",
    "MOLLIE_API_KEY": "test_abcdefghijklmnopqrstuvwxyz0123",
    "BETAALREIS_CACHE_URL": "redis://127.0.0.1:6379/1",
}
SHOW_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps({"
    "'hosts': s.ALLOWED_HOSTS, 'session_secure': s.SESSION_COOKIE_SECURE, 'csrf_secure': s.CSRF_COOKIE_SECURE,"
    "'hsts': s.SECURE_HSTS_SECONDS, 'origins': s.CSRF_TRUSTED_ORIGINS,"
    "'proxy_header': getattr(s, 'SECURE_PROXY_SSL_HEADER', None)}))"
)


def run(arguments: list[str], **environment: str) -> subprocess.CompletedProcess[str]:
    inherited = {key: value for key, value in os.environ.items() if key not in _CLEARED}
    return subprocess.run(
        [sys.executable, *arguments],
        env={**inherited, "DJANGO_SETTINGS_MODULE": "betaalreis.settings", **environment},
        capture_output=True, text=True, timeout=120,
    )


def start(**environment: str) -> subprocess.CompletedProcess[str]:
    return run(["-c", "import django; django.setup()"], **environment)


def show_settings(**environment: str) -> dict:
    result = run(["-c", SHOW_SETTINGS], **environment)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def production(tmp_path, **changes: str) -> dict[str, str]:
    return {**PRODUCTION, "BETAALREIS_HOME": str(tmp_path), **changes}


def test_production_without_secret_key_fails(tmp_path):
    environment = production(tmp_path)
    del environment["BETAALREIS_SECRET_KEY"]

    result = start(**environment)

    assert result.returncode != 0
    assert "BETAALREIS_SECRET_KEY is missing" in result.stderr


def test_production_with_test_payments_fails(tmp_path):
    result = start(**production(tmp_path, BETAALREIS_PAYMENT_PROVIDER="test"))

    assert result.returncode != 0
    assert "BETAALREIS_PAYMENT_PROVIDER is 'test' in production" in result.stderr


def test_production_with_real_settings_starts(tmp_path):
    result = start(**production(tmp_path))

    assert result.returncode == 0, result.stderr


def test_production_allows_base_url_host(tmp_path):
    hosts = show_settings(**production(tmp_path))["hosts"]

    assert hosts[0] == "betalen.acme.example"


def test_allowed_hosts_adds_to_base_url_host(tmp_path):
    hosts = show_settings(**production(tmp_path, BETAALREIS_ALLOWED_HOSTS="pay.acme.example, localhost"))["hosts"]

    assert hosts == ["betalen.acme.example", "pay.acme.example", "localhost"]


def test_https_base_url_secures_cookies(tmp_path):
    deploy_settings = show_settings(**production(tmp_path))

    assert deploy_settings["session_secure"] is True
    assert deploy_settings["csrf_secure"] is True
    assert deploy_settings["hsts"] == 31_536_000
    assert deploy_settings["origins"] == ["https://betalen.acme.example"]


def test_http_base_url_keeps_plain_cookies(tmp_path):
    deploy_settings = show_settings(BETAALREIS_HOME=str(tmp_path), BETAALREIS_BASE_URL="http://127.0.0.1:8000")

    assert deploy_settings["session_secure"] is False
    assert deploy_settings["csrf_secure"] is False
    assert deploy_settings["hsts"] == 0


def test_proxy_header_trusted_only_with_proxy_count(tmp_path):
    assert show_settings(**production(tmp_path))["proxy_header"] is None
    with_proxy = show_settings(**production(tmp_path, BETAALREIS_PROXY_COUNT="1"))
    assert with_proxy["proxy_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def betaalreis(*arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    return run(["-m", "betaalreis", *arguments], **environment)


def assert_one_line_error(result: subprocess.CompletedProcess[str], start_of_message: str) -> None:
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"betaalreis: invalid configuration: {start_of_message}"), result.stderr
    assert "Traceback" not in result.stderr


def test_production_refuses_debug(tmp_path):
    result = betaalreis("check", **production(tmp_path, BETAALREIS_DEBUG="1"))

    assert_one_line_error(result, "BETAALREIS_DEBUG is on in production")
    assert "Set BETAALREIS_DEBUG=0" in result.stderr


def test_production_refuses_short_secret_key(tmp_path):
    result = betaalreis("check", **production(tmp_path, BETAALREIS_SECRET_KEY="x"))

    assert_one_line_error(result, "BETAALREIS_SECRET_KEY is too weak")
    assert "secrets.token_urlsafe(50)" in result.stderr


def test_production_refuses_mollie_without_key(tmp_path):
    result = betaalreis("check", **production(tmp_path, MOLLIE_API_KEY=""))

    assert_one_line_error(result, "BETAALREIS_PAYMENT_PROVIDER is 'mollie' but MOLLIE_API_KEY is empty")


def test_production_refuses_missing_base_url(tmp_path):
    environment = production(tmp_path)
    del environment["BETAALREIS_BASE_URL"]

    result = betaalreis("check", **environment)

    assert_one_line_error(result, "BETAALREIS_BASE_URL is missing")


def test_invalid_base_url_is_one_line(tmp_path):
    result = betaalreis("check", BETAALREIS_HOME=str(tmp_path), BETAALREIS_BASE_URL="betalen.acme.example")

    assert_one_line_error(result, "BETAALREIS_BASE_URL 'betalen.acme.example' is not an http or https address")


def test_deploy_check_flags_unsafe_settings(tmp_path):
    environment = {**production(tmp_path), "BETAALREIS_DEBUG": "1", "BETAALREIS_SECRET_KEY": "x", "MOLLIE_API_KEY": ""}
    del environment["BETAALREIS_PRODUCTION"]

    result = betaalreis("check", "--deploy", **environment)

    assert result.returncode == 1
    assert "security.W018" in result.stderr
    assert "security.W009" in result.stderr
    assert "betaalreis.E002" in result.stderr
    assert "MOLLIE_API_KEY is empty" in result.stderr


def test_deploy_check_passes_readme_settings(tmp_path):
    result = betaalreis("check", "--deploy", **production(tmp_path))

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


ANYMAIL_PROVIDERS = json.dumps({"acme": {"email": {"provider": "anymail", "esp": "postmark"}}})


def test_production_refuses_anymail_without_webhook_secret(tmp_path):
    result = betaalreis("check", **production(tmp_path, BETAALREIS_PROVIDERS=ANYMAIL_PROVIDERS))

    assert_one_line_error(
        result,
        "BETAALREIS_ANYMAIL_WEBHOOK_SECRET is empty, but BETAALREIS_PROVIDERS['acme']['email'] uses anymail",
    )


def test_production_starts_anymail_with_webhook_secret(tmp_path):
    result = start(**production(
        tmp_path, BETAALREIS_PROVIDERS=ANYMAIL_PROVIDERS, BETAALREIS_ANYMAIL_WEBHOOK_SECRET="hook:s3cret-basic"
    ))

    assert result.returncode == 0, result.stderr


def test_deploy_check_flags_anymail_without_webhook_secret(tmp_path):
    environment = {**production(tmp_path), "BETAALREIS_PROVIDERS": ANYMAIL_PROVIDERS}
    del environment["BETAALREIS_PRODUCTION"]

    result = betaalreis("check", "--deploy", **environment)

    assert result.returncode == 1
    assert "betaalreis.E005" in result.stderr
    assert "BETAALREIS_ANYMAIL_WEBHOOK_SECRET is empty" in result.stderr


def test_deploy_check_warns_about_per_process_cache(tmp_path):
    environment = production(tmp_path)
    del environment["BETAALREIS_PRODUCTION"]
    del environment["BETAALREIS_CACHE_URL"]

    result = betaalreis("check", "--deploy", **environment)

    assert result.returncode == 0, result.stderr
    assert "betaalreis.W001" in result.stderr
    assert "The default cache (LocMemCache) is kept per server process" in result.stderr
    assert "failed sign-ins of the portal and of the admin login" in result.stderr


DJANGO_EMAIL_CHANNEL = "betaalreis.channels.backends.email.DjangoEmailBackend"


def test_deploy_check_warns_about_local_from_address(tmp_path):
    environment = production(tmp_path, BETAALREIS_EMAIL_CHANNEL=DJANGO_EMAIL_CHANNEL)

    result = betaalreis("check", "--deploy", **environment)

    assert result.returncode == 0, result.stderr
    assert "betaalreis.W002" in result.stderr
    assert "BETAALREIS_FROM_EMAIL is 'betaalreis@localhost', a local address" in result.stderr


def test_deploy_check_accepts_own_from_address(tmp_path):
    environment = production(
        tmp_path, BETAALREIS_EMAIL_CHANNEL=DJANGO_EMAIL_CHANNEL, BETAALREIS_FROM_EMAIL="debiteuren@acme.example"
    )

    result = betaalreis("check", "--deploy", **environment)

    assert result.returncode == 0, result.stderr
    assert "betaalreis.W002" not in result.stderr


def test_invalid_cache_url_is_one_line(tmp_path):
    result = betaalreis("check", BETAALREIS_HOME=str(tmp_path), BETAALREIS_CACHE_URL="memcached://u:geheim@cache:11211")

    assert_one_line_error(result, "BETAALREIS_CACHE_URL has scheme 'memcached'")
    assert "geheim" not in result.stderr


def test_production_start_warns_about_per_process_cache(tmp_path):
    result = run(["-c", "import betaalreis.wsgi"], **production(tmp_path, BETAALREIS_CACHE_URL=""))

    assert result.returncode == 0, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "WARNING betaalreis.wsgi portal sign-in limit counts per server process" in result.stderr
    assert "cache_backend='django.core.cache.backends.locmem.LocMemCache'" in result.stderr


def test_production_start_with_shared_cache_is_quiet(tmp_path):
    result = run(["-c", "import betaalreis.wsgi"], **production(tmp_path))

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_invalid_database_url_is_one_line(tmp_path):
    result = betaalreis("run", BETAALREIS_HOME=str(tmp_path), DATABASE_URL="garbage://user:geheim@host/db")

    assert_one_line_error(result, "DATABASE_URL is not a database address")
    assert "geheim" not in result.stderr


def test_home_that_is_a_file_is_one_line(tmp_path):
    home = tmp_path / "home-file"
    home.write_text("")

    result = betaalreis("run", BETAALREIS_HOME=str(home))

    assert_one_line_error(result, f"BETAALREIS_HOME {home} cannot be used as a folder: it is a file.")


def test_home_below_a_file_is_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    home = tmp_path / "file" / "home"

    result = betaalreis("run", BETAALREIS_HOME=str(home))

    assert_one_line_error(result, f"BETAALREIS_HOME {home} cannot be used as a folder: Not a directory.")


def test_non_numeric_proxy_count_is_one_line(tmp_path):
    result = betaalreis("check", BETAALREIS_HOME=str(tmp_path), BETAALREIS_PROXY_COUNT="one")

    assert_one_line_error(result, "BETAALREIS_PROXY_COUNT is 'one', not a whole number")


REQUEST_OTHER_HOST = (
    "import django; django.setup(); from django.test import Client;"
    "response = Client().get('/', HTTP_HOST='other.acme.example');"
    "print(response.status_code); print(response.content.decode())"
)


def test_disallowed_host_logs_one_line(tmp_path):
    result = run(["-c", REQUEST_OTHER_HOST], **production(tmp_path))

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "400"
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "ERROR django.security.DisallowedHost" in result.stderr
    assert "host='other.acme.example'" in result.stderr
    assert "BETAALREIS_ALLOWED_HOSTS" in result.stderr


def test_disallowed_host_page_blames_server(tmp_path):
    result = run(["-c", REQUEST_OTHER_HOST], **production(tmp_path))

    assert "Website niet bereikbaar" in result.stdout
    assert "een nieuwe link helpt niet" in result.stdout
    assert "vraag dan de organisatie die u het bericht stuurde om een nieuwe link" not in result.stdout
