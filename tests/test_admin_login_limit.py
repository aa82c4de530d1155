"""The admin login limits wrong passwords per user name and per client address, and logs each one."""

from __future__ import annotations

import html

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

PASSWORD = "juist-wachtwoord-42"
BLOCKED_NL = "Te veel mislukte aanmeldpogingen voor deze gebruikersnaam of vanaf dit adres."
BLOCKED_EN = "Too many failed sign-ins for this user name or from this address."


@pytest.fixture(autouse=True)
def limits(settings):
    settings.BETAALREIS_ADMIN_FAILURES_PER_USER = 3
    settings.BETAALREIS_ADMIN_FAILURES_PER_ADDRESS = 5
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def bob() -> User:
    return User.objects.create_user("bob", password=PASSWORD, is_staff=True)


def sign_in(username: str, password: str, address: str = "203.0.113.7", language: str = "nl"):
    client = Client(REMOTE_ADDR=address)
    response = client.post(
        reverse("admin:login"), {"username": username, "password": password, "next": "/admin/"},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    return client, response


def test_right_password_signs_in(bob):
    client, response = sign_in("bob", PASSWORD)

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_user_blocked_after_wrong_passwords(bob, caplog):
    with caplog.at_level("WARNING", logger="betaalreis.ledger.admin_login"):
        for attempt in range(3):
            sign_in("bob", f"fout-{attempt}", address=f"198.51.100.{attempt}")

    _client, response = sign_in("bob", PASSWORD, address="198.51.100.99")

    assert response.status_code == 200
    assert BLOCKED_NL in html.unescape(response.content.decode())
    failed = [record for record in caplog.records if record.getMessage() == "admin sign-in failed"]
    assert [record.user_failures for record in failed] == [1, 2, 3]
    assert [record.username for record in failed] == ["bob", "bob", "bob"]
    assert [record.client_address for record in failed] == ["198.51.100.0", "198.51.100.1", "198.51.100.2"]
    throttled = [record for record in caplog.records if record.getMessage() == "admin sign-in throttled"]
    assert len(throttled) == 1
    logged = " ".join(str(record.__dict__) for record in caplog.records)
    assert "fout-" not in logged
    assert PASSWORD not in logged


def test_address_blocked_across_user_names(bob):
    for attempt in range(5):
        sign_in(f"gast{attempt}", "fout")

    _client, blocked = sign_in("bob", PASSWORD)
    _client, elsewhere = sign_in("bob", PASSWORD, address="198.51.100.20")

    assert BLOCKED_NL in html.unescape(blocked.content.decode())
    assert elsewhere.status_code == 302


def test_blocked_message_in_english(bob):
    for attempt in range(3):
        sign_in("bob", "fout", address=f"198.51.100.{attempt}")

    _client, response = sign_in("bob", PASSWORD, language="en")

    assert BLOCKED_EN in html.unescape(response.content.decode())


def test_success_clears_user_count(bob):
    for _attempt in range(2):
        sign_in("bob", "fout", address="198.51.100.1")
    sign_in("bob", PASSWORD, address="198.51.100.1")
    for _attempt in range(2):
        sign_in("bob", "fout", address="198.51.100.2")

    _client, response = sign_in("bob", PASSWORD, address="198.51.100.3")

    assert response.status_code == 302
