"""Granting and revoking creditor access: warnings about the user, and the audit records shown to superusers."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from betaalreis.ledger.models import AccessChange, CreditorAccess, CreditorAccessEvent
from betaalreis.testing import admin_form_data, make_creditor

pytestmark = pytest.mark.django_db


def make_user(username: str, **flags: bool) -> User:
    return User.objects.create(username=username, email=f"{username}@example.nl", **flags)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def creditor_command(*args: str) -> tuple[str, str]:
    output, errors = io.StringIO(), io.StringIO()
    call_command("creditor", *args, stdout=output, stderr=errors)
    return output.getvalue(), errors.getvalue()


def test_grant_to_staff_user_silent():
    make_creditor("acme")
    make_user("anna", is_staff=True)

    output, errors = creditor_command("grant", "acme", "anna", "--lang", "en")

    assert "anna has access to acme." in output
    assert errors == ""


def test_grant_without_staff_warns():
    make_creditor("acme")
    make_user("anna")

    output, errors = creditor_command("grant", "acme", "anna", "--lang", "en")

    assert "anna has access to acme." in output
    assert "Note: anna has no staff status, so they cannot log in to the admin." in errors
    assert "Turn on Staff status" in errors
    assert CreditorAccess.objects.filter(user__username="anna", creditor__slug="acme").exists()


def test_grant_without_staff_warns_in_dutch():
    make_creditor("acme")
    make_user("anna")

    _, errors = creditor_command("grant", "acme", "anna", "--lang", "nl")

    assert "Let op: anna heeft geen stafstatus en kan dus niet inloggen in het beheer." in errors


def test_grant_to_superuser_warns():
    make_creditor("acme")
    make_user("baas", is_staff=True, is_superuser=True)

    _, errors = creditor_command("grant", "acme", "baas", "--lang", "en")

    assert "Note: baas is a superuser and sees every creditor" in errors
    assert "staff status" not in errors


def test_grant_and_revoke_recorded():
    make_creditor("acme")
    anna = make_user("anna", is_staff=True)

    creditor_command("grant", "acme", "anna")
    creditor_command("grant", "acme", "anna")
    creditor_command("revoke", "acme", "anna")
    creditor_command("revoke", "acme", "anna")

    events = list(CreditorAccessEvent.objects.order_by("at", "id"))
    assert [event.change for event in events] == [AccessChange.GRANTED, AccessChange.REVOKED]
    assert {(event.user_id, event.username, event.creditor_slug) for event in events} == {(anna.pk, "anna", "acme")}
    assert all(event.by.startswith("command:") for event in events)


def test_record_outlives_deleted_user():
    make_creditor("acme")
    anna = make_user("anna", is_staff=True)
    creditor_command("grant", "acme", "anna")

    anna.delete()

    event = CreditorAccessEvent.objects.get()
    assert event.user is None
    assert event.username == "anna"


def test_admin_inline_grant_and_revoke_recorded():
    acme = make_creditor("acme")
    anna = make_user("anna", is_staff=True)
    boss = make_user("baas", is_staff=True, is_superuser=True)
    url = reverse("admin:ledger_creditor_change", args=[acme.pk])
    granting = {
        **admin_form_data(acme),
        "user_access-TOTAL_FORMS": "1", "user_access-INITIAL_FORMS": "0",
        "user_access-0-creditor": acme.pk, "user_access-0-user": anna.pk,
    }

    granted = client_for(boss).post(url, granting)
    access = CreditorAccess.objects.get(user=anna, creditor=acme)
    revoking = {
        **admin_form_data(acme),
        "user_access-TOTAL_FORMS": "1", "user_access-INITIAL_FORMS": "1",
        "user_access-0-id": access.pk, "user_access-0-creditor": acme.pk, "user_access-0-user": anna.pk,
        "user_access-0-DELETE": "on",
    }
    revoked = client_for(boss).post(url, revoking)

    assert granted.status_code == 302
    assert revoked.status_code == 302
    assert not CreditorAccess.objects.filter(user=anna).exists()
    events = list(CreditorAccessEvent.objects.order_by("at", "id").values_list("change", "username", "by"))
    assert events == [
        (AccessChange.GRANTED, "anna", "admin:baas"),
        (AccessChange.REVOKED, "anna", "admin:baas"),
    ]


def test_admin_inline_change_moves_access():
    acme = make_creditor("acme")
    anna = make_user("anna", is_staff=True)
    piet = make_user("piet", is_staff=True)
    boss = make_user("baas", is_staff=True, is_superuser=True)
    creditor_command("grant", "acme", "anna")
    access = CreditorAccess.objects.get()
    data = {
        **admin_form_data(acme),
        "user_access-TOTAL_FORMS": "1", "user_access-INITIAL_FORMS": "1",
        "user_access-0-id": access.pk, "user_access-0-creditor": acme.pk, "user_access-0-user": piet.pk,
    }

    response = client_for(boss).post(reverse("admin:ledger_creditor_change", args=[acme.pk]), data)

    assert response.status_code == 302
    assert list(CreditorAccess.objects.values_list("user__username", flat=True)) == ["piet"]
    changes = list(CreditorAccessEvent.objects.order_by("at", "id").values_list("change", "username"))
    assert changes == [
        (AccessChange.GRANTED, "anna"), (AccessChange.REVOKED, "anna"), (AccessChange.GRANTED, "piet"),
    ]


def test_audit_screen_for_superuser_only():
    make_creditor("acme")
    anna = make_user("anna", is_staff=True)
    anna.user_permissions.set(Permission.objects.all())
    boss = make_user("baas", is_staff=True, is_superuser=True)
    creditor_command("grant", "acme", "anna")
    url = reverse("admin:ledger_creditoraccessevent_changelist")

    boss_page = client_for(boss).get(url, HTTP_ACCEPT_LANGUAGE="en")
    anna_page = client_for(User.objects.get(pk=anna.pk)).get(url)

    assert boss_page.status_code == 200
    assert "access granted" in boss_page.content.decode()
    assert "command:" in boss_page.content.decode()
    assert anna_page.status_code == 403


def test_audit_screen_read_only():
    make_creditor("acme")
    make_user("anna", is_staff=True)
    boss = make_user("baas", is_staff=True, is_superuser=True)
    creditor_command("grant", "acme", "anna")
    event = CreditorAccessEvent.objects.get()

    add = client_for(boss).get(reverse("admin:ledger_creditoraccessevent_add"))
    delete = client_for(boss).post(reverse("admin:ledger_creditoraccessevent_delete", args=[event.pk]), {"post": "yes"})

    assert add.status_code == 403
    assert delete.status_code == 403
    assert CreditorAccessEvent.objects.count() == 1


def test_admin_grant_without_staff_warns():
    acme = make_creditor("acme")
    anna = make_user("anna")
    boss = make_user("baas", is_staff=True, is_superuser=True)
    data = {
        **admin_form_data(acme),
        "user_access-TOTAL_FORMS": "1", "user_access-INITIAL_FORMS": "0",
        "user_access-0-creditor": acme.pk, "user_access-0-user": anna.pk,
    }

    response = client_for(boss).post(
        reverse("admin:ledger_creditor_change", args=[acme.pk]), data, follow=True, HTTP_ACCEPT_LANGUAGE="en",
    )

    assert "Note: anna has no staff status, so they cannot log in to the admin." in response.content.decode()
    assert CreditorAccess.objects.filter(user=anna, creditor=acme).exists()
