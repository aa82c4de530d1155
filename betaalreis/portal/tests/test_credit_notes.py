"""The portal and its account statement list the debtor's credit notes and what they paid."""

from __future__ import annotations

import pypdfium2
import pytest
from django.urls import reverse

from betaalreis.ledger.credit_notes import apply_unlinked_credit_notes
from betaalreis.ledger.models import InvoiceKind
from betaalreis.portal.links import make_portal_token
from betaalreis.portal.tests.factories import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def debtor():
    """A debtor with an invoice of EUR 12,500 and two credit notes: EUR 500 applied, EUR 55 not yet applied."""
    creditor = make_creditor()
    debtor = make_debtor(creditor)
    make_invoice(debtor, "F-003", "12500.00")
    make_invoice(debtor, "C-003", "-500.00", kind=InvoiceKind.CREDIT_NOTE)
    apply_unlinked_credit_notes(creditor)
    make_invoice(debtor, "C-002", "-55.00", kind=InvoiceKind.CREDIT_NOTE, days_overdue=-10)
    return debtor


def test_overview_lists_credit_notes(client, debtor):
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))

    html = " ".join(client.get(reverse("portal:overview")).content.decode().split())

    assert "Creditnota's (2)" in html
    assert "Creditnota C-003" in html
    assert "500,00 verrekend met F-003" in html
    assert "55,00 nog niet verrekend" in html
    assert "12.000,00" in html


def test_statement_lists_credit_notes(client, debtor):
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))

    response = client.get(reverse("portal:statement_pdf", kwargs={"debtor_id": debtor.pk}))

    document = pypdfium2.PdfDocument(response.content)
    text = "\n".join(page.get_textpage().get_text_range() for page in document)
    assert "Creditnota's" in text
    assert "C-003" in text
    assert "F-003" in text
    assert "C-002" in text
