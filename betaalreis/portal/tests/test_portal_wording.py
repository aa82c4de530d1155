"""Portal texts in plain Dutch, with English beside it where the page cannot know the reader's language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.test import Client
from django.urls import reverse

from betaalreis.ledger.models import InvoiceStatus
from betaalreis.portal import codes
from betaalreis.portal.links import make_portal_token
from betaalreis.portal.tests.factories import make_creditor, make_debtor, make_invoice, plan_form_data

pytestmark = pytest.mark.django_db

PORTAL_CATALOG = Path(__file__).resolve().parents[1] / "locale" / "en" / "LC_MESSAGES" / "django.po"


def _signed_in(client: Client, **fields: object):
    debtor = make_debtor(make_creditor(), **fields)
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))
    return debtor


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nl", r"Uw code voor de betaalpagina van .+ is \d{6}\. De code is 15 minuten geldig\."),
        ("en", r"Your code for the payment page of .+ is \d{6}\. It is valid for 15 minutes\."),
    ],
)
@pytest.mark.parametrize("kind", ["email", "sms"])
def test_sign_in_code_text(captured_messages, settings, language: str, expected: str, kind: str):
    settings.BETAALREIS_PORTAL_CODE_MINUTES = 15
    debtor = make_debtor(make_creditor(), language=language)

    codes.send_sign_in_code(debtor, kind)

    (message,) = captured_messages
    assert re.fullmatch(expected, message.text)
    assert "Hij is" not in message.text


@pytest.mark.parametrize(
    ("status", "expected", "stiff"),
    [
        (InvoiceStatus.HANDED_OVER, "U betaalt deze factuur aan het incassobureau", "U betaalt haar"),
        (InvoiceStatus.DISPUTED, "Wilt u deze factuur toch betalen? Vink het dan aan.", "vink haar"),
    ],
)
def test_overview_names_the_invoice(client, status: str, expected: str, stiff: str):
    debtor = _signed_in(client)
    make_invoice(debtor, "F-001", "80.00")
    make_invoice(debtor, "F-002", "50.00", status=status)

    page = client.get(reverse("portal:overview")).content.decode()

    assert expected in page
    assert stiff not in page


def test_changed_plan_names_button(client):
    debtor = _signed_in(client)
    first = make_invoice(debtor, "F-001", "300.00")
    second = make_invoice(debtor, "F-002", "120.00")
    form = {**plan_form_data(debtor, [first], 3), "invoices": [first.pk, second.pk]}

    page = client.post(reverse("portal:plan", kwargs={"debtor_id": debtor.pk}), form).content.decode()

    assert "Controleer de regeling en klik dan op Regeling aanvragen." in page
    assert "Regeling aanvragen</button>" in page
    assert "Controleer haar" not in page


def test_portal_texts_avoid_haar_and_hem():
    # The portal writes to the debtor as "u", so "haar" or "hem" would stand for
    # an invoice, a plan or a payment, which a Dutch letter names instead.
    with PORTAL_CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    dutch = [message.id if isinstance(message.id, str) else message.id[0] for message in catalog if message.id]

    assert [text for text in dutch if re.search(r"\b(haar|hem)\b", text)] == []


@pytest.mark.parametrize("accept_language", ["nl", "en"])
def test_throttled_page_is_bilingual(client, settings, accept_language: str):
    settings.BETAALREIS_PORTAL_FAILURES_PER_ADDRESS = 2
    for attempt in range(2):
        client.get(reverse("portal:short", kwargs={"code": f"GUESS{attempt}"}))

    response = client.get(reverse("portal:short", kwargs={"code": "GUESS9"}), HTTP_ACCEPT_LANGUAGE=accept_language)

    assert response.status_code == 429
    page = response.content.decode()
    assert "Te veel pogingen</h1>" in page
    assert "Probeer het over een kwartier opnieuw." in page
    assert "Too many attempts</h2>" in page
    assert "Please try again in fifteen minutes." in page
    assert '<section class="error-page" lang="en"' in page
    assert page.index("Te veel pogingen</h1>") < page.index("Too many attempts</h2>")
    assert "language-switch" not in page

