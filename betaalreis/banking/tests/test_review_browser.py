"""The review queue in Debian's chromium: a split candidate names its debtors, and a payment is ignored with a reason."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from betaalreis.banking.samples import SampleEntry
from betaalreis.ledger.models import Payment, PaymentStatus, TimelineEvent
from betaalreis.testing import launch_chromium

from .helpers import import_entries, make_creditor, make_debtor, make_invoice

# Playwright's sync API runs an event loop in this thread; the ORM calls in
# these tests are still plain synchronous calls between browser steps.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "review-" + "x" * 12


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def admin_page(browser, live_server):
    get_user_model().objects.create_superuser("beheer", "beheer@example.nl", PASSWORD)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "beheer")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    yield page
    context.close()


@pytest.fixture
def split_payment(tmp_path: Path) -> Payment:
    """€ 459,95 that pays an invoice of each of two debtors; a one-debtor candidate would leave the rest as credit."""
    creditor = make_creditor()
    make_invoice(make_debtor(creditor, "D1", "Jan Jansen"), "2026-1004", "60.00")
    make_invoice(make_debtor(creditor, "D4", "Sophie Visser"), "2026-1005", "399.95")
    import_entries(tmp_path, [SampleEntry(Decimal("459.95"), name="Jan Jansen", remittance="facturen 2026-1004 en 2026-1005")])
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.REVIEW
    return payment


def test_review_page_shows_split_debtors(admin_page, live_server, split_payment):
    admin_page.goto(f"{live_server.url}/admin/banking/reviewpayment/{split_payment.pk}/change/")

    rows = admin_page.locator("#match_candidates-group tbody tr")
    texts = [rows.nth(index).inner_text() for index in range(rows.count())]
    split_rows = [text for text in texts if "Verdeeld over 2 debiteuren" in text]
    assert len(split_rows) == 1
    assert "D1 Jan Jansen: 2026-1004 €\xa060,00" in split_rows[0]
    assert "D4 Sophie Visser: 2026-1005 €\xa0399,95" in split_rows[0]
    single_rows = [text for text in texts if "Verdeeld" not in text and text.strip()]
    assert single_rows
    assert all("Tegoed" in text for text in single_rows)

    split_index = texts.index(split_rows[0])
    rows.nth(split_index).get_by_role("button", name="Bevestig").click()
    admin_page.wait_for_url("**/admin/banking/reviewpayment/")
    message = admin_page.locator(".messagelist").inner_text()
    assert "Betaling verdeeld over 2 debiteuren." in message
    assert "D4 Sophie Visser: hoofdsom €\xa0399,95 op 2026-1005." in message


def test_review_page_ignores_payment(admin_page, live_server, split_payment):
    admin_page.goto(f"{live_server.url}/admin/banking/reviewpayment/{split_payment.pk}/change/")

    assert admin_page.locator("a.deletelink").count() == 0
    admin_page.get_by_role("button", name="Negeer", exact=True).click()
    assert admin_page.url.endswith(f"/reviewpayment/{split_payment.pk}/change/")
    admin_page.get_by_label("Reden").fill("terugstorting leverancier")
    admin_page.get_by_role("button", name="Negeer", exact=True).click()
    admin_page.wait_for_url("**/admin/banking/reviewpayment/")

    assert "genegeerd" in admin_page.locator(".messagelist").inner_text()
    split_payment.refresh_from_db()
    assert split_payment.status == PaymentStatus.IGNORED
    assert TimelineEvent.objects.filter(summary__contains="terugstorting leverancier").count() == 2
