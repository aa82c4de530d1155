"""One rule decides what a debtor can pay online: the total, the checkboxes, the pay form and the checkout service."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from betaalreis.ledger.models import Invoice, InvoiceKind, InvoiceStatus
from betaalreis.ledger.money import format_money
from betaalreis.payments import online, plans
from betaalreis.payments import services as payment_services
from betaalreis.payments.models import CheckoutPayment
from betaalreis.portal import services
from betaalreis.portal.links import make_portal_token
from betaalreis.portal.tests.factories import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db


def _sign_in(client, debtor):
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))


def _text(response) -> str:
    return response.content.decode().replace("\xa0", " ")


@pytest.fixture
def planned(client):
    """A debtor with one open invoice of EUR 100.00 and one of EUR 200.00 in an active payment plan."""
    debtor = make_debtor(make_creditor(legal_name="Acme B.V.", trade_name=""))
    open_invoice = make_invoice(debtor, "F-001", "100.00")
    in_plan = make_invoice(debtor, "F-002", "200.00")
    plan = plans.do_request_plan(debtor, [in_plan], 2, today=timezone.localdate())
    in_plan.refresh_from_db()
    assert in_plan.status == InvoiceStatus.PAYMENT_PLAN
    _sign_in(client, debtor)
    return debtor, open_invoice, in_plan, plan


@pytest.mark.parametrize(
    ("status", "open_amount", "expected"),
    [
        (InvoiceStatus.OPEN, "10.00", ""),
        (InvoiceStatus.DISPUTED, "10.00", ""),
        (InvoiceStatus.PAYMENT_PLAN, "10.00", online.IN_PAYMENT_PLAN),
        (InvoiceStatus.HANDED_OVER, "10.00", online.HANDED_OVER),
        (InvoiceStatus.PAID, "0.00", online.ALREADY_PAID),
        (InvoiceStatus.OPEN, "0.00", online.ALREADY_PAID),
        (InvoiceStatus.CREDITED, "0.00", online.CLOSED),
        (InvoiceStatus.WRITTEN_OFF, "10.00", online.CLOSED),
    ],
)
def test_blocker_per_status(status, open_amount, expected):
    invoice = Invoice(kind=InvoiceKind.INVOICE, status=status, open_amount=Decimal(open_amount))

    assert online.online_payment_blocker(invoice) == expected


def test_blocker_allows_own_plan(planned):
    debtor, open_invoice, in_plan, plan = planned
    other_plan_invoice = make_invoice(debtor, "F-003", "50.00", status=InvoiceStatus.PAYMENT_PLAN)

    assert online.online_payment_blocker(in_plan, plan=plan) == ""
    assert online.online_payment_blocker(other_plan_invoice, plan=plan) == online.IN_PAYMENT_PLAN
    assert online.online_payment_blocker(in_plan) == online.IN_PAYMENT_PLAN


def test_total_leaves_out_plan_invoice(client, planned):
    debtor, open_invoice, in_plan, plan = planned

    page = _text(client.get(reverse("portal:overview")))

    (account,) = services.load_accounts([debtor.pk], timezone.localdate())
    assert account.online_total.total == Decimal("100.00")
    assert account.total_due == Decimal("300.00")
    assert "Totaal te betalen: <strong>€ 100,00</strong>" in page
    assert f'value="{open_invoice.pk}"' in page
    assert f'value="{in_plan.pk}"' not in page
    assert "Facturen in uw betalingsregeling tellen niet mee in dit totaal" in page
    assert "U betaalt deze factuur met de termijnen van uw betalingsregeling" in page


def test_total_leaves_out_handed_over_claim(client):
    debtor = make_debtor(make_creditor(), kind="business")
    make_invoice(debtor, "F-001", "80.00")
    make_invoice(debtor, "F-009", "500.00", days_overdue=90, status=InvoiceStatus.HANDED_OVER)
    _sign_in(client, debtor)

    page = _text(client.get(reverse("portal:overview")))

    (account,) = services.load_accounts([debtor.pk], timezone.localdate())
    assert account.costs > 0
    assert account.handed_over_costs == account.costs
    assert account.online_total.total == Decimal("80.00")
    assert "Totaal te betalen: <strong>€ 80,00</strong>" in page
    assert "u betaalt ze, met de rente en kosten daarover, aan het incassobureau" in page
    assert format_money(account.total_due, "EUR").replace("\xa0", " ") in page
    assert services.amount_to_charge(account, {line.invoice.pk for line in account.open_lines}) == Decimal("80.00")


def test_crafted_post_for_plan_invoice_starts_nothing(client, planned):
    debtor, open_invoice, in_plan, plan = planned

    response = client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [in_plan.pk]})

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:overview")
    assert not CheckoutPayment.objects.exists()
    page = _text(client.get(reverse("portal:overview")))
    assert "Factuur F-002 zit in uw betalingsregeling" in page
    assert "er is geen betaling gestart" in page


def test_crafted_post_mixed_with_open_invoice_starts_nothing(client, planned):
    debtor, open_invoice, in_plan, plan = planned

    client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [open_invoice.pk, in_plan.pk]})

    assert not CheckoutPayment.objects.exists()


def test_crafted_post_for_handed_over_in_english(client):
    debtor = make_debtor(make_creditor(legal_name="Acme B.V.", trade_name=""), language="en")
    handed_over = make_invoice(debtor, "F-009", "500.00", days_overdue=90, status=InvoiceStatus.HANDED_OVER)
    _sign_in(client, debtor)

    client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [handed_over.pk]})

    page = _text(client.get(reverse("portal:overview")))
    assert not CheckoutPayment.objects.exists()
    assert "Invoice F-009 has been handed over to a collection agency." in page
    assert "Questions? Please contact Acme B.V.</" in page
    assert "B.V.." not in page


def test_start_checkout_rejects_plan_invoice_without_plan(planned):
    debtor, open_invoice, in_plan, plan = planned

    def urls_for(checkout):
        return payment_services.CheckoutUrls("https://x.example/r", "https://x.example/c", "https://x.example/w")

    with pytest.raises(online.NotPayableOnline) as raised:
        payment_services.start_checkout(debtor, [in_plan], urls_for=urls_for, language="nl")

    assert raised.value.code == online.IN_PAYMENT_PLAN
    assert raised.value.numbers == ["F-002"]
    assert not CheckoutPayment.objects.exists()
    checkout = payment_services.start_checkout(
        debtor, [in_plan], urls_for=urls_for, language="nl", amount=Decimal("100.00"), plan=plan
    )
    assert checkout.plan == plan


def test_plan_instalment_still_payable(client, planned):
    debtor, open_invoice, in_plan, plan = planned

    response = client.post(reverse("portal:plan_pay", kwargs={"debtor_id": debtor.pk}))

    assert response.status_code == 302
    checkout = CheckoutPayment.objects.get()
    assert checkout.plan == plan
    assert checkout.amount == Decimal("100.00")
    assert list(checkout.invoices.all()) == [in_plan]
