"""One figure per part of the claim after a partial payment that went to interest first (BW 6:44).

The ledger books a partial payment to the principal, while the claim, which
the portal and the letters state, applies it to costs and interest first.
These tests check that every screen labels the claim's principal as such
and states what went to interest, and that a plan waives only unpaid
interest.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pypdfium2 as pdfium
import pytest
from django.urls import reverse
from django.utils import timezone

from betaalreis.channels.render import ClaimBreakdown, render_message
from betaalreis.ledger.actions import do_allocate_payment
from betaalreis.ledger.models import Payment, PaymentSource
from betaalreis.legal.ledger_claims import claim_for_debtor
from betaalreis.payments import plans
from betaalreis.portal import services
from betaalreis.portal.links import make_portal_token
from betaalreis.portal.pdf import render_statement_pdf
from betaalreis.portal.tests.factories import give_claim_stage, make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db


def _text(content: bytes | str) -> str:
    text = content.decode() if isinstance(content, bytes) else content
    return text.replace("\xa0", " ").replace("&nbsp;", " ")


def _euro(amount: Decimal) -> str:
    return "€ " + f"{amount:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")


@pytest.fixture
def partly_paid(client):
    """K7 owes EUR 1000.00 since 120 days and paid EUR 600.00 60 days ago."""
    debtor = make_debtor(make_creditor(), "K7")
    invoice = give_claim_stage(make_invoice(debtor, "F-007", "1000.00", days_overdue=120))
    payment = Payment.objects.create(
        creditor_id=debtor.creditor_id, debtor=debtor, source=PaymentSource.BANK, external_id="s2-1",
        booking_date=timezone.localdate() - dt.timedelta(days=60), amount=Decimal("600.00"),
    )
    do_allocate_payment(payment, [invoice], source="bank", reason="reference F-007")
    invoice.refresh_from_db()
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))
    (account,) = services.load_accounts([debtor.pk], timezone.localdate())
    return debtor, invoice, account


def test_ledger_and_claim_differ_by_paid_interest(partly_paid):
    _, invoice, account = partly_paid
    (line,) = account.open_lines

    assert invoice.open_amount == Decimal("400.00")
    assert line.interest_paid > Decimal("0.00")
    assert line.open_amount == invoice.open_amount + line.interest_paid


def test_overview_labels_principal_and_paid_interest(client, partly_paid):
    _, _, account = partly_paid
    (line,) = account.open_lines

    page = _text(client.get(reverse("portal:overview")).content)

    assert f"<dt>Hoofdsom</dt><dd>{_euro(line.open_amount)}</dd>" in page
    assert f"Van uw betalingen ging {_euro(line.interest_paid)} naar rente" in page
    assert "art. 6:44 BW" in page


def test_plan_page_waives_only_unpaid_interest(client, partly_paid):
    debtor, _, account = partly_paid
    (line,) = account.open_lines
    accrued = line.interest + line.interest_paid

    page = _text(client.get(reverse("portal:plan", kwargs={"debtor_id": debtor.pk})).content)

    assert f"De nog onbetaalde rente van {_euro(line.interest)}" in page
    assert f"rente van {_euro(accrued)}" not in page
    assert f"Van uw eerdere betalingen ging {_euro(line.interest_paid)} naar rente en kosten" in page


def test_plan_stores_split_of_excluded_claim(partly_paid):
    debtor, invoice, account = partly_paid
    (line,) = account.open_lines

    plan = plans.do_request_plan(debtor, [invoice], 3, today=timezone.localdate())

    assert plan.total == Decimal("400.00")
    assert plan.interest_excluded == line.interest
    assert plan.principal_excluded == line.interest_paid


def test_statement_names_principal(client, partly_paid):
    import pypdfium2

    debtor, _, account = partly_paid
    (line,) = account.open_lines

    statement = client.get(reverse("portal:statement_pdf", kwargs={"debtor_id": debtor.pk}))

    text = _text(pypdfium2.PdfDocument(statement.content)[0].get_textpage().get_text_range())
    assert "Hoofdsom" in text
    assert _euro(line.open_amount) in text


def test_admin_shows_claim_beside_ledger(admin_client, partly_paid):
    debtor, _, account = partly_paid
    (line,) = account.open_lines

    page = _text(admin_client.get(reverse("admin:ledger_debtor_change", args=[debtor.pk])).content)

    assert f"hoofdsom {_euro(line.open_amount)} (openstaand in de administratie € 400,00;" in page
    assert f"{_euro(line.interest_paid)} van betalingen ging eerst naar rente en kosten" in page


def _english_euro(amount: Decimal) -> str:
    return f"€{amount:,.2f}"


def test_admin_claim_line_in_english(admin_client, partly_paid):
    debtor, _, account = partly_paid
    (line,) = account.open_lines
    url = reverse("admin:ledger_debtor_change", args=[debtor.pk])

    page = _text(admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content)

    assert f"principal {_english_euro(line.open_amount)} (open in the books €400.00, because" in page
    assert f"{_english_euro(line.interest_paid)} of payments went to interest and costs first" in page
    assert f"interest {_english_euro(line.interest)}" in page
    assert f"total {_english_euro(account.total_due)}" in page
    assert "hoofdsom" not in page
    assert "openstaand in de administratie" not in page


def test_message_claim_counts_paid_interest(partly_paid):
    debtor, _, account = partly_paid
    (line,) = account.open_lines

    claim = ClaimBreakdown.from_legal(claim_for_debtor(debtor, timezone.localdate()))

    assert claim.paid == Decimal("600.00")
    assert claim.paid_to_interest == line.interest_paid
    assert claim.principal == line.open_amount


def test_statement_states_paid_interest(partly_paid):
    _, _, account = partly_paid
    (line,) = account.open_lines

    pdf = render_statement_pdf(account, "nl", timezone.localdate())

    document = pdfium.PdfDocument(pdf)
    words = " ".join(_text(document[0].get_textpage().get_text_range()).split())
    assert f"Van uw betalingen ging {_euro(line.interest_paid)} naar rente" in words
    assert "art. 6:44 BW" in words
