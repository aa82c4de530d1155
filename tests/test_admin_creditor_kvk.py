"""The creditor page in the admin rejects a KvK number, VAT id or IBAN that another creditor has, and a BIC of another bank.

Only a superuser learns which creditor has the IBAN or VAT id, because a
staff user sees only the creditors they work for.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import translation

from betaalreis.ledger.models import Creditor, CreditorAccess
from betaalreis.testing import admin_form_data, make_creditor

pytestmark = pytest.mark.django_db

# The management form of the page's user access inline, with no rows.
NO_USER_ACCESS = {"user_access-TOTAL_FORMS": "0", "user_access-INITIAL_FORMS": "0"}


def test_admin_rejects_taken_kvk(admin_client):
    make_creditor("acme", kvk_number="12345678")
    zon = make_creditor("zon", iban="NL20INGB0001234567", bic="INGBNL2A")
    data = {**admin_form_data(zon), "kvk_number": "12345678", **NO_USER_ACCESS}

    with translation.override("nl"):
        response = admin_client.post(reverse("admin:ledger_creditor_change", args=[zon.pk]), data)

    assert response.status_code == 200
    assert "Een andere crediteur heeft dit KvK-nummer al." in response.content.decode()
    zon.refresh_from_db()
    assert zon.kvk_number != "12345678"


def test_admin_saves_unique_kvk(admin_client):
    make_creditor("acme", kvk_number="12345678")
    zon = make_creditor("zon", iban="NL20INGB0001234567", bic="INGBNL2A")
    data = {**admin_form_data(zon), "kvk_number": "87654321", **NO_USER_ACCESS}

    response = admin_client.post(reverse("admin:ledger_creditor_change", args=[zon.pk]), data)

    assert response.status_code == 302
    assert Creditor.objects.get(slug="zon").kvk_number == "87654321"


def test_admin_rejects_taken_iban(admin_client):
    make_creditor("acme", iban="NL91ABNA0417164300", bic="")
    zon = make_creditor("zon", iban="NL20INGB0001234567", bic="INGBNL2A")
    data = {**admin_form_data(zon), "iban": "NL91 ABNA 0417 1643 00", "bic": "", **NO_USER_ACCESS}

    with translation.override("nl"):
        response = admin_client.post(reverse("admin:ledger_creditor_change", args=[zon.pk]), data)

    assert response.status_code == 200
    assert "Dit IBAN hoort al bij crediteur acme." in response.content.decode()
    zon.refresh_from_db()
    assert zon.iban == "NL20INGB0001234567"


def test_admin_renames_slug_keeping_iban(admin_client):
    zon = make_creditor("zon", iban="NL20INGB0001234567", bic="INGBNL2A")
    data = {**admin_form_data(zon), "slug": "zon-energie", **NO_USER_ACCESS}

    response = admin_client.post(reverse("admin:ledger_creditor_change", args=[zon.pk]), data)

    assert response.status_code == 302
    assert Creditor.objects.get(pk=zon.pk).slug == "zon-energie"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nl", "BIC INGBNL2A hoort niet bij de bank van IBAN NL91 ABNA 0417 1643 00, die BIC ABNANL2A heeft"),
        ("en", "BIC INGBNL2A does not belong to the bank of IBAN NL91 ABNA 0417 1643 00, whose BIC is ABNANL2A"),
    ],
)
def test_admin_bic_mismatch_in_language(admin_client, language, expected):
    zon = make_creditor("zon", iban="NL91ABNA0417164300", bic="ABNANL2A")
    data = {**admin_form_data(zon), "bic": "INGBNL2A", **NO_USER_ACCESS}
    url = reverse("admin:ledger_creditor_change", args=[zon.pk])

    response = admin_client.post(url, data, HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 200
    assert expected in response.content.decode()
    zon.refresh_from_db()
    assert zon.bic == "ABNANL2A"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nl", "Btw-id NL004495445B01 hoort al bij crediteur acme."),
        ("en", "VAT id NL004495445B01 already belongs to creditor acme."),
    ],
)
def test_admin_rejects_taken_vat_id(admin_client, language, expected):
    make_creditor("acme", vat_id="NL004495445B01")
    zon = make_creditor("zon", iban="NL20INGB0001234567", bic="INGBNL2A")
    data = {**admin_form_data(zon), "vat_id": "nl 0044.95.445.b01", **NO_USER_ACCESS}
    url = reverse("admin:ledger_creditor_change", args=[zon.pk])

    response = admin_client.post(url, data, HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 200
    assert expected in response.content.decode()
    zon.refresh_from_db()
    assert zon.vat_id == ""


def test_admin_rejects_invalid_vat_id(admin_client):
    zon = make_creditor("zon", iban="NL20INGB0001234567", bic="INGBNL2A")
    data = {**admin_form_data(zon), "vat_id": "NL123", **NO_USER_ACCESS}
    url = reverse("admin:ledger_creditor_change", args=[zon.pk])

    response = admin_client.post(url, data, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "NL123 is not a valid EU VAT id." in response.content.decode()


def test_admin_stores_compact_vat_id(admin_client):
    make_creditor("acme", vat_id="NL004495445B01")
    zon = make_creditor("zon", iban="NL20INGB0001234567", bic="INGBNL2A")
    data = {**admin_form_data(zon), "vat_id": "NL 1234.56.782.B01", **NO_USER_ACCESS}

    response = admin_client.post(reverse("admin:ledger_creditor_change", args=[zon.pk]), data)

    assert response.status_code == 302
    assert Creditor.objects.get(slug="zon").vat_id == "NL123456782B01"


def test_admin_keeps_own_vat_id(admin_client):
    zon = make_creditor("zon", iban="NL20INGB0001234567", bic="INGBNL2A", vat_id="NL004495445B01")
    data = {**admin_form_data(zon), "legal_name": "Zon Energie B.V.", **NO_USER_ACCESS}

    response = admin_client.post(reverse("admin:ledger_creditor_change", args=[zon.pk]), data)

    assert response.status_code == 302
    assert Creditor.objects.get(slug="zon").legal_name == "Zon Energie B.V."


@pytest.mark.filterwarnings("error::DeprecationWarning")
def test_admin_website_gets_https(admin_client):
    zon = make_creditor("zon", kvk_number="12345678")
    data = {**admin_form_data(zon), "website": "zon.example", **NO_USER_ACCESS}

    response = admin_client.post(reverse("admin:ledger_creditor_change", args=[zon.pk]), data)

    assert response.status_code == 302
    zon.refresh_from_db()
    assert zon.website == "https://zon.example"


@pytest.fixture
def zon_staff_client(client):
    """A client signed in as a staff user with every permission who works for creditor zon only."""
    zon = make_creditor("zon", iban="NL20INGB0001234567", bic="INGBNL2A")
    user = User.objects.create(username="anna", is_staff=True)
    user.user_permissions.set(Permission.objects.all())
    CreditorAccess.objects.create(user=user, creditor=zon)
    client.force_login(user)
    return client, zon


@pytest.mark.parametrize(
    ("taken", "language", "expected"),
    [
        ({"iban": "NL44RABO0123456789", "bic": ""}, "nl", "Een andere crediteur heeft dit IBAN al."),
        ({"iban": "NL44RABO0123456789", "bic": ""}, "en", "Another creditor has this IBAN already."),
        ({"vat_id": "NL004495445B01"}, "nl", "Een andere crediteur heeft btw-id NL004495445B01 al."),
        ({"vat_id": "NL004495445B01"}, "en", "Another creditor has VAT id NL004495445B01 already."),
    ],
    ids=["iban-nl", "iban-en", "vat_id-nl", "vat_id-en"],
)
def test_staff_error_hides_other_creditor(zon_staff_client, taken, language, expected):
    client, zon = zon_staff_client
    make_creditor("polderstroom", iban="NL44RABO0123456789", bic="", vat_id="NL004495445B01")
    before = admin_form_data(zon)
    data = {**before, **taken, **NO_USER_ACCESS}

    response = client.post(
        reverse("admin:ledger_creditor_change", args=[zon.pk]), data, HTTP_ACCEPT_LANGUAGE=language
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert expected in page
    assert "polderstroom" not in page
    zon.refresh_from_db()
    assert zon.iban == "NL20INGB0001234567"
    assert zon.vat_id == ""
