"""A verified contact links debtors of several creditors, while both records still carry it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from betaalreis.portal.codes import LINK_VERIFIED_DAYS
from betaalreis.portal.links import make_portal_token
from betaalreis.portal.models import VerifiedContact
from betaalreis.portal.tests.factories import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

SHARED_MOBILE = "+31611215279"


@pytest.fixture
def two_creditors_one_mobile():
    """Debtors of two creditors whose records carry the same mobile number, each with an open invoice."""
    energy = make_debtor(make_creditor("energie"), "K100001", name="Y. Kamp", email="y.kamp@example.nl", mobile=SHARED_MOBILE)
    wholesale = make_debtor(make_creditor("groothandel"), "D100001", name="Tata", email="crediteuren@tata.example", mobile=SHARED_MOBILE)
    make_invoice(energy, "EN-001", "84.10")
    make_invoice(wholesale, "VD-2498", "2948.93")
    return energy, wholesale


def sign_in_with_sms_code(client, settings, debtor, captured_messages) -> None:
    """Sign in from scratch with an expired link and a code sent by SMS, as a debtor without a fresh link does."""
    client.cookies.clear()
    settings.BETAALREIS_PORTAL_LINK_MAX_AGE_DAYS = 0
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))
    client.post(reverse("portal:code_request"), {"kind": "phone"})
    code = re.search(r"\b(\d{6})\b", captured_messages[-1].text).group(1)
    response = client.post(reverse("portal:code_verify"), {"code": code})
    assert response.status_code == 302


def overview(client) -> str:
    return client.get(reverse("portal:overview")).content.decode()


def test_both_verified_shows_both_creditors(client, settings, two_creditors_one_mobile, captured_messages):
    energy, wholesale = two_creditors_one_mobile
    sign_in_with_sms_code(client, settings, wholesale, captured_messages)

    sign_in_with_sms_code(client, settings, energy, captured_messages)

    page = overview(client)
    assert "EN-001" in page
    assert "VD-2498" in page


def test_changed_number_unlinks(client, settings, two_creditors_one_mobile, captured_messages):
    energy, wholesale = two_creditors_one_mobile
    sign_in_with_sms_code(client, settings, wholesale, captured_messages)
    # The wholesaler corrects the number it had copied wrongly.
    wholesale.mobile = "+31612000000"
    wholesale.save(update_fields=["mobile"])

    sign_in_with_sms_code(client, settings, energy, captured_messages)

    page = overview(client)
    assert "EN-001" in page
    assert "VD-2498" not in page


def test_old_verification_does_not_link(client, settings, two_creditors_one_mobile, captured_messages):
    energy, wholesale = two_creditors_one_mobile
    sign_in_with_sms_code(client, settings, wholesale, captured_messages)
    long_ago = timezone.now() - dt.timedelta(days=LINK_VERIFIED_DAYS + 1)
    VerifiedContact.objects.filter(debtor=wholesale).update(verified_at=long_ago)

    sign_in_with_sms_code(client, settings, energy, captured_messages)

    assert "VD-2498" not in overview(client)


def test_new_code_renews_verification(client, settings, two_creditors_one_mobile, captured_messages):
    energy, wholesale = two_creditors_one_mobile
    sign_in_with_sms_code(client, settings, wholesale, captured_messages)
    long_ago = timezone.now() - dt.timedelta(days=LINK_VERIFIED_DAYS + 1)
    VerifiedContact.objects.filter(debtor=wholesale).update(verified_at=long_ago)

    sign_in_with_sms_code(client, settings, wholesale, captured_messages)
    sign_in_with_sms_code(client, settings, energy, captured_messages)

    assert VerifiedContact.objects.get(debtor=wholesale).verified_at > long_ago
    assert "VD-2498" in overview(client)


def test_signed_link_alone_links_nothing(client, settings, two_creditors_one_mobile, captured_messages):
    energy, wholesale = two_creditors_one_mobile
    sign_in_with_sms_code(client, settings, wholesale, captured_messages)

    # The other debtor opens a fresh link from a message, without verifying the number.
    client.cookies.clear()
    settings.BETAALREIS_PORTAL_LINK_MAX_AGE_DAYS = 30
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(energy)}))

    page = overview(client)
    assert "EN-001" in page
    assert "VD-2498" not in page
