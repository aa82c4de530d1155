"""Short sign-in links for SMS: short, reusable, expiring, and never another debtor's."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from betaalreis.portal.links import SHORT_CODE_LENGTH, read_short_code, short_portal_url
from betaalreis.portal.models import ShortLink
from betaalreis.testing import make_creditor, make_debtor

pytestmark = pytest.mark.django_db


def test_short_link_is_short_and_reused(settings):
    settings.BETAALREIS_BASE_URL = "https://pay.example.nl"
    debtor = make_debtor(make_creditor())

    first = short_portal_url(debtor)
    second = short_portal_url(debtor)

    assert first == second
    assert len(first) == len("https://pay.example.nl/b//") + SHORT_CODE_LENGTH
    assert ShortLink.objects.count() == 1


def test_short_link_signs_debtor_in():
    debtor = make_debtor(make_creditor())
    path = short_portal_url(debtor).removeprefix("http://127.0.0.1:8000")
    client = Client()

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].endswith("/portal/")
    assert client.session["portal_debtor_ids"] == [debtor.pk]


def test_unknown_and_expired_codes_answer_404():
    debtor = make_debtor(make_creditor())
    ShortLink.objects.create(code="expired123", debtor=debtor, expires_at=timezone.now() - dt.timedelta(days=1))
    client = Client()

    assert client.get("/b/nonexistent/").status_code == 404
    assert client.get("/b/expired123/").status_code == 404
    assert read_short_code("expired123") is None


def test_nearly_expired_link_replaced():
    debtor = make_debtor(make_creditor())
    ShortLink.objects.create(code="oldcode123", debtor=debtor, expires_at=timezone.now() + dt.timedelta(days=2))

    url = short_portal_url(debtor)

    assert "oldcode123" not in url
    assert ShortLink.objects.filter(debtor=debtor).count() == 2
