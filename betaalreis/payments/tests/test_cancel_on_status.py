"""An open checkout ends when its invoice is handed over, put in a plan or disputed, and late money is still booked.

Mollie and Stripe run against their local fakes, which accept the cancel
only where the real API does.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from betaalreis.ledger.actions import do_set_invoice_status, unallocated_amount
from betaalreis.ledger.models import Allocation, InvoiceStatus, Payment, TimelineEvent
from betaalreis.payments import plans
from betaalreis.payments.models import CheckoutPayment, CheckoutStatus, PaymentPlan
from betaalreis.payments.services import supersede_checkouts_of_invoices
from betaalreis.payments.tests.drivers import cancel_requests
from betaalreis.portal.models import DisputeReason
from betaalreis.portal.services import do_open_dispute

pytestmark = pytest.mark.django_db


def _hand_over(debtor, invoice) -> None:
    do_set_invoice_status(invoice, InvoiceStatus.HANDED_OVER, source="user:cm", reason="handed over by hand")


def _put_in_plan(debtor, invoice) -> None:
    plans.do_request_plan(debtor, [invoice], 2, today=timezone.localdate(), channel="user:cm")


def _dispute(debtor, invoice) -> None:
    do_open_dispute(debtor, invoice, reason=DisputeReason.WRONG_AMOUNT, message="Te hoog bedrag.")


CHANGES = {
    "handed_over": (_hand_over, "uit handen gegeven"),
    "payment_plan": (_put_in_plan, "opgenomen in een betalingsregeling"),
    "disputed": (_dispute, "betwist"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_status_change_cancels_open_checkout(
    change, vendor_driver, debtor_with_invoices, django_capture_on_commit_callbacks
):
    debtor, (first, second) = debtor_with_invoices
    checkout = vendor_driver.start(debtor, [first, second])
    action, words = CHANGES[change]

    with django_capture_on_commit_callbacks(execute=True):
        action(debtor, second)

    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.SUPERSEDED
    assert len(cancel_requests(vendor_driver, checkout)) == 1
    provider_status = vendor_driver.fake.state.payments[checkout.provider_id]["status"]
    assert provider_status == ("canceled" if vendor_driver.name == "mollie" else "expired")
    ended = TimelineEvent.objects.get(debtor=debtor, data__checkout_id=checkout.pk, data__invoice_status=change)
    assert ended.summary.endswith(f"want factuur {second.number} is {words}")
    assert ended.data["invoices"] == [second.number]


def test_checkout_of_other_invoice_stays_open(vendor_driver, debtor_with_invoices,
                                              django_capture_on_commit_callbacks):
    debtor, (first, second) = debtor_with_invoices
    checkout = vendor_driver.start(debtor, [first])

    with django_capture_on_commit_callbacks(execute=True):
        _hand_over(debtor, second)

    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.OPEN
    assert cancel_requests(vendor_driver, checkout) == []


def test_paid_after_handover_booked_and_noted(
    vendor_driver, debtor_with_invoices, django_capture_on_commit_callbacks
):
    debtor, (first, second) = debtor_with_invoices
    checkout = vendor_driver.start(debtor, [second])
    # The provider refuses the cancel because the debtor is paying at that moment.
    if vendor_driver.name == "mollie":
        vendor_driver.fake.state.payments[checkout.provider_id]["isCancelable"] = False
    else:
        vendor_driver.fake.state.payments[checkout.provider_id]["status"] = "complete"
    with django_capture_on_commit_callbacks(execute=True):
        _hand_over(debtor, second)

    response = vendor_driver.report_paid(checkout)

    assert response.status_code == 200
    checkout.refresh_from_db()
    second.refresh_from_db()
    assert checkout.status == CheckoutStatus.PAID
    assert second.status == InvoiceStatus.PAID
    assert second.open_amount == Decimal("0.00")
    payment = checkout.ledger_payment
    assert payment is not None
    assert payment.amount == Decimal("200.68")
    assert unallocated_amount(payment) == Decimal("0.00")
    assert list(Allocation.objects.filter(payment=payment).values_list("invoice__number", flat=True)) == ["F2026-002"]
    note = TimelineEvent.objects.get(debtor=debtor, data__checkout_id=checkout.pk, data__has_key="handed_over")
    assert note.data["handed_over"] == ["F2026-002"]
    assert note.summary.endswith("meld de betaling aan het incassobureau")


def test_paid_after_plan_counts_for_plan(vendor_driver, debtor_with_invoices, django_capture_on_commit_callbacks):
    debtor, (first, second) = debtor_with_invoices
    checkout = vendor_driver.start(debtor, [second])
    with django_capture_on_commit_callbacks(execute=True):
        _put_in_plan(debtor, second)
    plan = PaymentPlan.objects.get(debtor=debtor)

    vendor_driver.report_paid(checkout)

    second.refresh_from_db()
    assert second.open_amount == Decimal("0.00")
    assert plans.paid_so_far(plan) == Decimal("200.68")
    assert Payment.objects.filter(debtor=debtor).count() == 1


def test_instalment_checkout_kept_for_its_plan(debtor_with_invoices, client, settings, fake_mollie):
    settings.BETAALREIS_PAYMENT_PROVIDER = "mollie"
    debtor, (first, second) = debtor_with_invoices
    plan = plans.do_request_plan(debtor, [second], 2, today=timezone.localdate())
    checkout = CheckoutPayment.objects.create(
        creditor_id=debtor.creditor_id, debtor=debtor, provider="mollie", provider_id="tr_plan", amount=Decimal("100.34"),
        currency="EUR", description="termijn 1", plan=plan, status=CheckoutStatus.OPEN, checkout_url="https://pay.example/1",
    )
    checkout.invoices.set([second])

    closed = supersede_checkouts_of_invoices([second.pk], source="test")

    assert closed == []
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.OPEN
