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


def test_new_codes_use_crockford_alphabet():
    debtor = make_debtor(make_creditor())

    code = short_portal_url(debtor).rstrip("/").rsplit("/", 1)[-1]

    assert len(code) == SHORT_CODE_LENGTH
    assert set(code) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def test_code_ignores_case_and_look_alikes():
    debtor = make_debtor(make_creditor())
    ShortLink.objects.create(code="K0D1T3ST7AB1", debtor=debtor, expires_at=timezone.now() + dt.timedelta(days=30))

    for typed in ["k0d1t3st7ab1", "KOD1T3ST7AB1", "K0DIT3ST7ABl", "K0D1-T3ST-7AB1"]:
        assert read_short_code(typed) == debtor.pk, typed


def test_old_mixed_case_code_still_resolves():
    debtor = make_debtor(make_creditor())
    ShortLink.objects.create(code="Ikdk7UbUfR", debtor=debtor, expires_at=timezone.now() + dt.timedelta(days=30))

    assert read_short_code("Ikdk7UbUfR") == debtor.pk
    assert read_short_code("ikdk7ubufr") == debtor.pk
    assert read_short_code("lkdk7UbUfR") == debtor.pk
    assert Client().get("/b/ikdk7ubufr/").status_code == 302


def test_ambiguous_old_codes_need_exact_case():
    creditor = make_creditor()
    first = make_debtor(creditor)
    second = make_debtor(creditor)
    expires_at = timezone.now() + dt.timedelta(days=30)
    ShortLink.objects.create(code="abcDEF2345", debtor=first, expires_at=expires_at)
    ShortLink.objects.create(code="ABCdef2345", debtor=second, expires_at=expires_at)

    assert read_short_code("abcDEF2345") == first.pk
    assert read_short_code("ABCdef2345") == second.pk
    assert read_short_code("abcdef2345") is None
