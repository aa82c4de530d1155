"""Error pages of the portal: in its layout, Dutch first with English beside it, and what to do next."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template.loader import render_to_string
from django.test import Client

pytestmark = pytest.mark.django_db

NEW_LINK_NL = "Vraag dan de organisatie die u het bericht stuurde om een nieuwe link."
NEW_LINK_EN = "ask the organisation that sent you the message for a new link"


@pytest.mark.parametrize("path", ["/p/not-a-real-token/", "/b/XXXXXXXX/", "/portal/no-such-page/"])
def test_unknown_link_shows_portal_404(client: Client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    page = response.content.decode()
    assert "Pagina niet gevonden" in page
    assert NEW_LINK_NL in page
    assert "Page not found" in page
    assert NEW_LINK_EN in page
    assert '<section class="error-page" lang="en"' in page
    assert "portal/portal.css" in page
    assert page.index("Pagina niet gevonden</h1>") < page.index("Page not found</h2>")


def test_404_page_same_in_english(client: Client) -> None:
    client.cookies["django_language"] = "en"

    page = client.get("/p/not-a-real-token/").content.decode()

    assert "Pagina niet gevonden" in page
    assert "Page not found" in page


@pytest.mark.parametrize(
    ("template", "dutch", "english", "next_step"),
    [
        ("400.html", "Ongeldig verzoek", "Bad request", "om een nieuwe link"),
        ("403.html", "Geen toegang", "Access denied", "om een nieuwe link"),
        ("403_csrf.html", "Formulier verlopen", "Form expired", "laad de pagina opnieuw"),
        ("500.html", "Er ging iets mis", "Something went wrong", "neem dan contact op"),
    ],
)
def test_error_page_renders_without_request(template: str, dutch: str, english: str, next_step: str) -> None:
    page = render_to_string(template)

    assert f"{dutch}</h1>" in page
    assert f"{english}</h2>" in page
    assert "portal/portal.css" in page
    assert "language-switch" not in page
    assert next_step in page


def test_csrf_failure_uses_portal_page() -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post("/portal/code/", {"kind": "email"})

    assert response.status_code == 403
    assert "Formulier verlopen" in response.content.decode()


@pytest.mark.parametrize(
    ("language", "heading", "next_step"),
    [
        ("nl", "Geen toegang", "Vraag een beheerder die gebruikers beheert om dat recht"),
        ("en", "Access denied", "Ask an administrator who manages users to grant it"),
    ],
)
def test_admin_403_is_back_office_page(client: Client, language: str, heading: str, next_step: str) -> None:
    from django.contrib.auth.models import Permission, User

    from betaalreis.ledger.tenancy import do_grant_creditor_access
    from betaalreis.testing import make_creditor, make_debtor, make_invoice

    creditor = make_creditor()
    invoice = make_invoice(make_debtor(creditor), "100.00", due=dt.date(2026, 11, 1))
    anna = User.objects.create_user("anna", password="x" * 12, is_staff=True)
    anna.user_permissions.add(*Permission.objects.filter(codename__in=["view_invoice", "change_invoice"]))
    do_grant_creditor_access(creditor, anna, by="test")
    client.force_login(anna)

    response = client.get(f"/admin/ledger/invoice/{invoice.pk}/delete/", HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 403
    page = response.content.decode()
    assert f"<h1>{heading}</h1>" in page
    assert next_step in page
    assert 'href="/admin/"' in page
    assert "Open de link uit uw laatste e-mail" not in page
    assert "Open the link in your latest email" not in page
    assert "portal/portal.css" not in page
