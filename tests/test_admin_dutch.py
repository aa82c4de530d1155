"""The back office speaks Dutch: model and field labels, Django's own admin texts and stage names."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import translation

from betaalreis.dunning.models import Policy, Stage
from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning.run import run_cycle
from betaalreis.ledger.models import DebtorBankAccount, DebtorKind, Invoice
from betaalreis.outbox.models import Communication
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 20)


@pytest.fixture
def admin_client(client):
    admin = get_user_model().objects.create_superuser("beheer", "beheer@example.nl", "x" * 12)
    client.force_login(admin)
    return client


@pytest.fixture
def reminded_debtor():
    creditor = make_creditor()
    seed_default_policies(creditor)
    debtor = make_debtor(creditor, kind=DebtorKind.BUSINESS)
    DebtorBankAccount.objects.create(creditor=creditor, debtor=debtor, iban="NL91ABNA0417164300")
    make_invoice(debtor, "100.00", due=DAY - dt.timedelta(days=10))
    run_cycle(DAY, creditor, dispatch_messages=False)
    return debtor


def page_text(client, url: str) -> str:
    html = client.get(url).content.decode()
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_index_dutch(admin_client):
    text = page_text(admin_client, reverse("admin:index"))

    assert "Aanmaningsbeleid" in text
    assert "Modelnaam" in text
    for english in ("Debtor bank accounts", "Model name", "Add link", "Communication invoices"):
        assert english not in text, english


def test_debtor_page_labels_dutch(admin_client, reminded_debtor):
    text = page_text(admin_client, reverse("admin:ledger_debtor_change", args=[reminded_debtor.pk]))

    assert "Bankrekeningen van debiteuren" in text
    assert "Debtor bank accounts" not in text
    assert "Aangemaakt op" in text
    assert "Created at" not in text
    assert "Herinnering" in text


def test_stage_names_in_lists(admin_client, reminded_debtor):
    outbox = page_text(admin_client, reverse("admin:outbox_communication_changelist"))
    invoices = page_text(admin_client, reverse("admin:ledger_invoice_changelist"))

    assert Communication.objects.get().stage == "reminder"
    assert "Herinnering" in outbox
    assert " reminder " not in outbox
    assert "Herinnering" in invoices
    assert " reminder " not in invoices


def test_stage_inline_labels_dutch(admin_client, reminded_debtor):
    policy = Policy.objects.get(creditor=reminded_debtor.creditor, debtor_kind=DebtorKind.BUSINESS)

    text = page_text(admin_client, reverse("admin:dunning_policy_change", args=[policy.pk]))

    assert "Dagen na vervaldatum" in text
    assert "Offset days" not in text
    assert "Min days after previous" not in text


def test_labels_english_in_en_locale():
    with translation.override("en"):
        assert str(DebtorBankAccount._meta.verbose_name_plural) == "debtor bank accounts"
        assert str(Invoice._meta.get_field("created_at").verbose_name) == "created at"
        assert str(Stage._meta.get_field("offset_days").verbose_name) == "days after due date"
    with translation.override("nl"):
        assert str(Stage._meta.verbose_name_plural) == "aanmaningsfasen"


def permission_options(client, url: str, **headers: str) -> list[str]:
    html = client.get(url, **headers).content.decode()
    return re.findall(r"<option[^>]*>([^<]*)</option>", html)


@pytest.mark.parametrize("url_name", ["admin:auth_group_add", "admin:auth_user_change"])
def test_permission_names_dutch(admin_client, url_name):
    user = get_user_model().objects.get(username="beheer")
    url = reverse(url_name) if url_name.endswith("_add") else reverse(url_name, args=[user.pk])

    options = permission_options(admin_client, url)

    assert "Debiteurenadministratie | factuur | Kan factuur toevoegen" in options
    assert "Debiteurenadministratie | factuur | Kan factuur bekijken" in options
    assert [option for option in options if "Can " in option] == []


def test_permission_names_english(admin_client):
    options = permission_options(admin_client, reverse("admin:auth_group_add"), HTTP_ACCEPT_LANGUAGE="en")

    assert "Ledger | invoice | Can add invoice" in options
    assert [option for option in options if "Kan " in option] == []


def test_admin_title_names_betaalreis(admin_client):
    from django.utils import translation

    with translation.override("nl"):
        dutch = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    english = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Betaalreis-beheer" in dutch
    assert "Django-beheer" not in dutch
    assert "Betaalreis admin" in english
    assert "Django administration" not in english
