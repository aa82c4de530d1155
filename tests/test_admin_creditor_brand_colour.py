"""The creditor page in the admin accepts only a brand colour that the portal and the letters use."""

from __future__ import annotations

import html

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from betaalreis.ledger.models import Creditor
from betaalreis.portal.branding import brand_css_for
from betaalreis.testing import admin_form_data, make_creditor

pytestmark = pytest.mark.django_db

# The management form of the page's user access inline, with no rows.
NO_USER_ACCESS = {"user_access-TOTAL_FORMS": "0", "user_access-INITIAL_FORMS": "0"}


def post_colour(admin_client, creditor: Creditor, colour: str, language: str = "nl"):
    data = {**admin_form_data(creditor), "brand_color": colour, **NO_USER_ACCESS}
    url = reverse("admin:ledger_creditor_change", args=[creditor.pk])
    return admin_client.post(url, data, HTTP_ACCEPT_LANGUAGE=language)


@pytest.mark.parametrize("colour", ["red", "#fff", "1f4e79a", "#1f4e7g", "#1f 4e7"])
def test_admin_rejects_unusable_colour(admin_client, colour):
    creditor = make_creditor("zon", iban="NL20INGB0001234567", bic="INGBNL2A", brand_color="#8a1c1c")

    response = post_colour(admin_client, creditor, colour)

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert (
        f'"{colour}" is geen geldige huisstijlkleur. '
        "Vul # in met zes hexadecimale cijfers (0-9, a-f), zoals #0b7a3e."
    ) in page
    creditor.refresh_from_db()
    assert creditor.brand_color == "#8a1c1c"


def test_admin_colour_error_in_english(admin_client):
    creditor = make_creditor("zon", iban="NL20INGB0001234567", bic="INGBNL2A")

    response = post_colour(admin_client, creditor, "#fff", language="en")

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert '"#fff" is not a valid brand colour. Enter # followed by six hex digits (0-9, a-f), such as #0b7a3e.' in page


@pytest.mark.parametrize("colour", ["#0b7a3e", "#0B7A3E"])
def test_admin_saves_six_digit_colour(admin_client, colour):
    creditor = make_creditor("zon", iban="NL20INGB0001234567", bic="INGBNL2A")

    response = post_colour(admin_client, creditor, colour)

    assert response.status_code == 302
    creditor.refresh_from_db()
    assert creditor.brand_color == colour
    assert "--brand: #0b7a3e;" in brand_css_for(creditor)


def test_admin_shows_colour_format(admin_client):
    creditor = make_creditor("zon", iban="NL20INGB0001234567", bic="INGBNL2A")
    url = reverse("admin:ledger_creditor_change", args=[creditor.pk])

    response = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="nl")

    assert "Een # met zes hexadecimale cijfers, zoals #0b7a3e." in response.content.decode()


def test_full_clean_rejects_short_colour():
    creditor = make_creditor("zon", iban="NL20INGB0001234567", bic="INGBNL2A")
    creditor.brand_color = "#fff"

    with pytest.raises(ValidationError) as raised:
        creditor.full_clean()

    assert list(raised.value.message_dict) == ["brand_color"]
