"""One suite every payment provider adapter must pass, run against its local fake."""

from __future__ import annotations

from decimal import Decimal

import pytest

from betaalreis.ledger.models import InvoiceStatus, Payment, PaymentStatus
from betaalreis.payments.models import CheckoutStatus, WebhookEvent, WebhookOutcome
from betaalreis.portal.tests.factories import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def debtor_with_invoices():
    debtor = make_debtor(make_creditor())
    first = make_invoice(debtor, "F-001", "121.00", days_overdue=-3)
    second = make_invoice(debtor, "F-002", "30.25", days_overdue=-10)
    return debtor, [first, second]


def test_paid_webhook_allocates(driver, debtor_with_invoices):
    debtor, invoices = debtor_with_invoices
    checkout = driver.start(debtor, invoices)

    response = driver.report_paid(checkout)

    assert response.status_code == 200
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.PAID
    for invoice in invoices:
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.PAID
        assert invoice.open_amount == Decimal("0.00")
    payment = checkout.ledger_payment
    assert payment.amount == Decimal("151.25")
    assert payment.status == PaymentStatus.MATCHED


def test_repeated_webhook_books_once(driver, debtor_with_invoices):
    debtor, invoices = debtor_with_invoices
    checkout = driver.start(debtor, invoices)

    driver.report_paid(checkout)
    second = driver.report_paid(checkout) if driver.name != "stripe" else driver._event(
        "checkout.session.completed", driver.fake.state.payments[checkout.provider_id]
    )

    assert second.status_code == 200
    assert Payment.objects.count() == 1
    assert sum(inv.allocations.count() for inv in invoices) == 2


def test_forged_webhook_changes_nothing(driver, debtor_with_invoices):
    debtor, invoices = debtor_with_invoices
    checkout = driver.start(debtor, invoices)

    driver.report_forged_paid(checkout)

    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.OPEN
    assert Payment.objects.count() == 0
    for invoice in invoices:
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.OPEN


def test_full_refund_reopens_invoices(driver, debtor_with_invoices):
    debtor, invoices = debtor_with_invoices
    checkout = driver.start(debtor, invoices)
    driver.report_paid(checkout)
    checkout.refresh_from_db()

    response = driver.report_refund(checkout, Decimal("151.25"))

    assert response.status_code == 200
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.REFUNDED
    assert checkout.amount_refunded == Decimal("151.25")
    for invoice in invoices:
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.OPEN
    assert invoices[0].open_amount == Decimal("121.00")
    original = Payment.objects.get(pk=checkout.ledger_payment_id)
    assert original.status == PaymentStatus.REVERSED
    reversal = Payment.objects.get(reverses=original)
    assert reversal.amount == Decimal("-151.25")


def test_partial_refund_rebooks_rest(driver, debtor_with_invoices):
    debtor, invoices = debtor_with_invoices
    checkout = driver.start(debtor, invoices)
    driver.report_paid(checkout)
    checkout.refresh_from_db()

    driver.report_refund(checkout, Decimal("30.25"))

    first, second = invoices
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == InvoiceStatus.PAID
    assert second.status == InvoiceStatus.OPEN
    assert second.open_amount == Decimal("30.25")
    checkout.refresh_from_db()
    assert checkout.ledger_payment.amount == Decimal("121.00")


def test_webhook_events_are_kept(driver, debtor_with_invoices):
    debtor, invoices = debtor_with_invoices
    checkout = driver.start(debtor, invoices)

    driver.report_forged_paid(checkout)
    driver.report_paid(checkout)

    outcomes = list(WebhookEvent.objects.order_by("pk").values_list("outcome", flat=True))
    assert outcomes[-1] == WebhookOutcome.APPLIED
    if driver.name != "mollie":
        assert outcomes[0] == WebhookOutcome.REJECTED
