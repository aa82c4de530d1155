"""The statement PDF states what can be paid now, by the portal's rule, apart from plan, handed-over and disputed amounts."""

from __future__ import annotations

import re
from decimal import Decimal

import pypdfium2
import pytest
from django.urls import reverse
from django.utils import timezone

from betaalreis.ledger.models import InvoiceStatus
from betaalreis.ledger.money import format_money
from betaalreis.payments import plans
from betaalreis.payments.models import CheckoutPayment, CheckoutStatus
from betaalreis.portal import services
from betaalreis.portal.links import make_portal_token
from betaalreis.portal.models import DisputeReason
from betaalreis.portal.tests.factories import give_claim_stage, make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db


def _statement_text(client, debtor, language: str = "nl") -> str:
    client.cookies["django_language"] = language
    response = client.get(
        reverse("portal:statement_pdf", kwargs={"debtor_id": debtor.pk}), HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 200
    document = pypdfium2.PdfDocument(response.content)
    text = "".join(document[index].get_textpage().get_text_range() for index in range(len(document)))
    return " ".join(text.replace("\xa0", " ").split())


def _money(amount: Decimal, language: str = "nl") -> str:
    return format_money(amount, "EUR", language).replace("\xa0", " ")


@pytest.fixture
def mixed(client):
    """A business debtor with an open invoice, one in a plan, one handed over and one disputed."""
    debtor = make_debtor(make_creditor(), kind="business")
    make_invoice(debtor, "F-001", "100.00")
    in_plan = make_invoice(debtor, "F-002", "200.00")
    plans.do_request_plan(debtor, [in_plan], 2, today=timezone.localdate())
    make_invoice(debtor, "F-003", "500.00", days_overdue=90, status=InvoiceStatus.HANDED_OVER)
    contested = make_invoice(debtor, "F-004", "40.00")
    services.do_open_dispute(debtor, contested, reason=DisputeReason.QUALITY, message="Kapot geleverd.")
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))
    (account,) = services.load_accounts([debtor.pk], timezone.localdate())
    return debtor, account


def test_statement_pay_now_matches_portal(client, mixed):
    debtor, account = mixed

    text = _statement_text(client, debtor)

    page = client.get(reverse("portal:overview")).content.decode().replace("\xa0", " ")
    assert account.online_total.total == Decimal("100.00")
    assert f"Totaal te betalen: <strong>{_money(account.online_total.total)}</strong>" in page
    assert f"Nu te betalen {_money(Decimal('100.00'))}" in text
    assert f"In uw betalingsregeling: u betaalt dit met de termijnen {_money(Decimal('200.00'))}" in text
    # Only the handed-over invoice carries costs, so its line carries all of them.
    handed_over = account.handed_over_lines[0].amount_due
    assert account.costs > 0
    assert account.handed_over_costs == account.costs
    assert f"Uit handen gegeven: u betaalt dit aan het incassobureau {_money(handed_over)}" in text
    assert f"Betwist: niet in het bedrag nu te betalen {_money(Decimal('40.00'))}" in text
    assert f"Totale vordering {_money(account.total_due)}" in text
    assert "F-002 (in betalingsregeling)" in text
    assert "F-003 (uit handen gegeven)" in text
    assert "F-004 (betwist)" in text
    assert "Totaal te betalen" not in text
    assert "net als het totaal in het betaalportaal" in text


def test_statement_pay_now_in_english(client, mixed):
    debtor, account = mixed

    text = _statement_text(client, debtor, "en")

    assert f"To pay now {_money(Decimal('100.00'), 'en')}" in text
    assert f"In your payment plan: you pay this with the instalments {_money(Decimal('200.00'), 'en')}" in text
    assert "Handed over: you pay this to the collection agency" in text
    assert f"Disputed: not in the amount to pay now {_money(Decimal('40.00'), 'en')}" in text
    assert f"Total claim {_money(account.total_due, 'en')}" in text
    assert "F-003 (handed over)" in text
    assert "Nu te betalen" not in text


def test_statement_without_other_parts(client):
    debtor = make_debtor(make_creditor())
    make_invoice(debtor, "F-001", "120.00")
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))

    text = _statement_text(client, debtor)

    assert f"Nu te betalen {_money(Decimal('120.00'))}" in text
    assert "In uw betalingsregeling" not in text
    assert "Uit handen gegeven" not in text
    assert "Betwist" not in text
    assert "net als het totaal in het betaalportaal" not in text


@pytest.fixture
def claim(client):
    """A business debtor with two overdue invoices that carry interest and collection costs together."""
    debtor = make_debtor(make_creditor(), kind="business")
    first = give_claim_stage(make_invoice(debtor, "F-001", "100.00", days_overdue=60))
    second = give_claim_stage(make_invoice(debtor, "F-002", "200.00", days_overdue=60))
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))
    return debtor, first, second


def _start_payment(debtor, invoices, provider: str) -> None:
    checkout = CheckoutPayment.objects.create(
        creditor=debtor.creditor, debtor=debtor, provider=provider, status=CheckoutStatus.PENDING,
        amount=sum((invoice.open_amount for invoice in invoices), Decimal("0.00")), description="Facturen",
        checkout_url=f"https://{provider}.example/pay",
    )
    checkout.invoices.set(invoices)


def _summary_amounts(text: str, labels: list[str]) -> dict[str, Decimal]:
    """Return the amount after each label of the statement's summary, parsed from the Dutch text."""
    amounts = {}
    for label in labels:
        found = re.search(re.escape(label) + r" € ([\d.]+,\d\d)", text)
        assert found, f"{label!r} not in statement: {text}"
        amounts[label] = Decimal(found.group(1).replace(".", "").replace(",", "."))
    return amounts


@pytest.mark.parametrize("provider", ["mollie", "stripe"])
def test_statement_costs_with_part_in_progress(client, claim, provider):
    debtor, first, _second = claim
    _start_payment(debtor, [first], provider)
    (account,) = services.load_accounts([debtor.pk], timezone.localdate())

    text = _statement_text(client, debtor)

    assert account.costs > 0
    assert account.online_total.costs == account.open_lines[1].costs > 0
    assert account.costs_in_progress == account.open_lines[0].costs > 0
    assert f"Incassokosten {_money(account.costs)}" in text
    amounts = _summary_amounts(text, ["Nu te betalen", "Betaling loopt al"])
    assert amounts["Betaling loopt al"] == account.open_lines[0].amount_due
    assert amounts["Nu te betalen"] == account.open_lines[1].amount_due
    assert sum(amounts.values()) == account.total_due
    assert "niet in het bedrag nu te betalen" not in text


def test_statement_costs_with_whole_claim_in_progress(client, claim):
    debtor, first, second = claim
    _start_payment(debtor, [first, second], "mollie")
    (account,) = services.load_accounts([debtor.pk], timezone.localdate())

    text = _statement_text(client, debtor)

    assert account.costs_in_progress == account.costs
    amounts = _summary_amounts(text, ["Nu te betalen", "Betaling loopt al"])
    assert amounts["Nu te betalen"] == 0
    assert amounts["Betaling loopt al"] == account.total_due
    assert "niet in het bedrag nu te betalen" not in text


def test_statement_costs_with_disputed_claim_invoice(client, claim):
    debtor, _first, second = claim
    services.do_open_dispute(debtor, second, reason=DisputeReason.QUALITY, message="Kapot geleverd.")
    (account,) = services.load_accounts([debtor.pk], timezone.localdate())

    text = _statement_text(client, debtor)

    labels = ["Nu te betalen", "Betwist: niet in het bedrag nu te betalen"]
    amounts = _summary_amounts(text, labels)
    assert amounts["Betwist: niet in het bedrag nu te betalen"] == account.disputed_lines[0].amount_due
    assert account.disputed_costs > 0
    assert sum(amounts.values()) == account.total_due


def test_statement_costs_in_progress_in_english(client, claim):
    debtor, first, _second = claim
    _start_payment(debtor, [first], "stripe")
    (account,) = services.load_accounts([debtor.pk], timezone.localdate())

    text = _statement_text(client, debtor, "en")

    assert f"Collection costs {_money(account.costs, 'en')}" in text
    assert "not in the amount to pay now" not in text
    assert "Incassokosten" not in text

@pytest.mark.parametrize(
    ("language", "open_heading", "no_open", "paid_heading", "no_paid", "number"),
    [
        ("nl", "Openstaande facturen", "Geen openstaande facturen.", "Betaalde facturen", "Geen betaalde facturen.",
         "Factuurnummer"),
        ("en", "Open invoices", "No open invoices.", "Paid invoices", "No paid invoices.", "Invoice number"),
    ],
)
def test_statement_says_none_for_empty_tables(
    client, language: str, open_heading: str, no_open: str, paid_heading: str, no_paid: str, number: str
) -> None:
    debtor = make_debtor(make_creditor())
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))

    text = _statement_text(client, debtor, language)

    assert f"{open_heading} {no_open}" in text
    assert f"{paid_heading} {no_paid}" in text
    assert number not in text


def test_statement_paid_only_says_no_open(client) -> None:
    debtor = make_debtor(make_creditor())
    make_invoice(debtor, "F-010", "100.00", status=InvoiceStatus.PAID, open_amount=Decimal("0.00"))
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))

    text = _statement_text(client, debtor)

    assert "Openstaande facturen Geen openstaande facturen." in text
    assert "Betaalde facturen Factuurnummer" in text
    assert "F-010" in text
    assert "Geen betaalde facturen." not in text
