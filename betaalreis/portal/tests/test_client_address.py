"""The client address that the portal's rate limits count, with and without reverse proxies."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse

from betaalreis.portal.tests.factories import make_creditor, make_debtor
from betaalreis.portal.views import client_address

PROXY = "10.0.0.5"


def request_from(remote_address: str, forwarded_for: str | None = None):
    headers = {"REMOTE_ADDR": remote_address}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return RequestFactory().get("/", **headers)


def test_forwarded_for_ignored_by_default(settings):
    settings.BETAALREIS_PROXY_COUNT = 0

    assert client_address(request_from(PROXY, "203.0.113.7")) == PROXY


def test_one_proxy_uses_last_entry(settings):
    settings.BETAALREIS_PROXY_COUNT = 1

    # A client may send its own X-Forwarded-For, and the proxy appends the real address.
    assert client_address(request_from(PROXY, "198.51.100.1, 203.0.113.7")) == "203.0.113.7"


def test_two_proxies_use_second_last_entry(settings):
    settings.BETAALREIS_PROXY_COUNT = 2

    assert client_address(request_from(PROXY, "198.51.100.1, 203.0.113.7, 10.0.0.9")) == "203.0.113.7"


@pytest.mark.parametrize("forwarded_for", [None, "", " , "])
def test_missing_forwarded_for_uses_remote_address(settings, forwarded_for):
    settings.BETAALREIS_PROXY_COUNT = 1

    assert client_address(request_from(PROXY, forwarded_for)) == PROXY


def test_short_forwarded_for_uses_remote_address(settings):
    settings.BETAALREIS_PROXY_COUNT = 2

    assert client_address(request_from(PROXY, "203.0.113.7")) == PROXY


@pytest.mark.django_db
def test_proxy_count_separates_clients_behind_proxy(client, settings):
    settings.BETAALREIS_PROXY_COUNT = 1
    settings.BETAALREIS_PORTAL_FAILURES_PER_ADDRESS = 3
    make_debtor(make_creditor())

    for attempt in range(3):
        client.get(
            reverse("portal:short", kwargs={"code": f"GUESS{attempt}"}),
            REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.7",
        )
    guesser = client.get(reverse("portal:short", kwargs={"code": "GUESS7"}), REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.7")
    other = client.get(reverse("portal:short", kwargs={"code": "GUESS7"}), REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.1")

    assert guesser.status_code == 429
    assert other.status_code == 404
