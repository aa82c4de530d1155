"""A superseded checkout is canceled at the provider, and a refusal keeps today's booking as credit.

Mollie and Stripe run against their local fakes, which accept the cancel
only where the real API does: Mollie while the payment's isCancelable is
true, Stripe while the Checkout Session is open.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import pytest

from betaalreis.ledger.actions import unallocated_amount
from betaalreis.ledger.models import TimelineEvent
from betaalreis.payments.models import CheckoutPayment, CheckoutStatus
from betaalreis.payments.services import OPEN_CHECKOUT_BLOCKS_FOR
from betaalreis.payments.tests.drivers import MollieDriver, cancel_requests

pytestmark = pytest.mark.django_db


def _supersede_old(driver, debtor, first, second, capture) -> CheckoutPayment:
    """Start a checkout for `first`, then pay a newer one for both invoices, which supersedes the first."""
    old = driver.start(debtor, [first])
    CheckoutPayment.objects.filter(pk=old.pk).update(
        created_at=old.created_at - OPEN_CHECKOUT_BLOCKS_FOR - dt.timedelta(minutes=1)
    )
    new = driver.start(debtor, [first, second])
    with capture(execute=True):
        driver.report_paid(new)
    old.refresh_from_db()
    return old


def test_superseded_checkout_canceled_at_provider(
    vendor_driver, debtor_with_invoices, django_capture_on_commit_callbacks
):
    debtor, (first, second) = debtor_with_invoices

    old = _supersede_old(vendor_driver, debtor, first, second, django_capture_on_commit_callbacks)

    assert old.status == CheckoutStatus.SUPERSEDED
    assert len(cancel_requests(vendor_driver, old)) == 1
    provider_status = vendor_driver.fake.state.payments[old.provider_id]["status"]
    assert provider_status == ("canceled" if vendor_driver.name == "mollie" else "expired")
    event = TimelineEvent.objects.get(debtor=debtor, data__checkout_id=old.pk, data__has_key="canceled")
    assert event.data["canceled"] is True
    assert event.summary.startswith("Vervallen online betaling van")


def test_canceled_checkout_reported_by_webhook(debtor_with_invoices, client, settings, fake_mollie,
                                               django_capture_on_commit_callbacks):
    settings.BETAALREIS_PAYMENT_PROVIDER = "mollie"
    driver = MollieDriver(client, fake_mollie)
    debtor, (first, second) = debtor_with_invoices
    old = _supersede_old(driver, debtor, first, second, django_capture_on_commit_callbacks)

    response = driver.webhook(f"id={old.provider_id}".encode(), {}, "application/x-www-form-urlencoded")

    assert response.status_code == 200
    old.refresh_from_db()
    assert old.status == CheckoutStatus.CANCELED
    assert old.ledger_payment is None


def test_refused_cancel_still_books_credit(
    vendor_driver, debtor_with_invoices, django_capture_on_commit_callbacks, caplog
):
    debtor, (first, second) = debtor_with_invoices
    old = vendor_driver.start(debtor, [first])
    # Mollie rejects the cancel for a method that cannot be canceled, and Stripe for a session no longer open.
    if vendor_driver.name == "mollie":
        vendor_driver.fake.state.payments[old.provider_id]["isCancelable"] = False
    else:
        vendor_driver.fake.state.payments[old.provider_id]["status"] = "complete"
    CheckoutPayment.objects.filter(pk=old.pk).update(
        created_at=old.created_at - OPEN_CHECKOUT_BLOCKS_FOR - dt.timedelta(minutes=1)
    )
    new = vendor_driver.start(debtor, [first, second])

    with caplog.at_level(logging.WARNING, logger="betaalreis.payments.services"):
        with django_capture_on_commit_callbacks(execute=True):
            vendor_driver.report_paid(new)
    vendor_driver.report_paid(old)

    old.refresh_from_db()
    assert old.status == CheckoutStatus.PAID
    assert unallocated_amount(old.ledger_payment) == Decimal("150.58")
    refusal = TimelineEvent.objects.get(debtor=debtor, data__checkout_id=old.pk, data__has_key="canceled")
    assert refusal.data["canceled"] is False
    assert "wordt het tegoed" in refusal.summary
    assert any(record.message == "provider did not cancel superseded checkout" for record in caplog.records)
    if vendor_driver.name == "mollie":
        assert cancel_requests(vendor_driver, old) == []
    else:
        assert "not open" in refusal.data["error"]


def test_unconfigured_provider_counts_as_refusal(
    debtor_with_invoices, client, settings, fake_mollie, django_capture_on_commit_callbacks
):
    settings.BETAALREIS_PAYMENT_PROVIDER = "mollie"
    driver = MollieDriver(client, fake_mollie)
    debtor, (first, second) = debtor_with_invoices
    old = driver.start(debtor, [first])
    CheckoutPayment.objects.filter(pk=old.pk).update(
        created_at=old.created_at - OPEN_CHECKOUT_BLOCKS_FOR - dt.timedelta(minutes=1)
    )
    new = driver.start(debtor, [first, second])
    # A checkout of a provider that was since taken out of BETAALREIS_PAYMENT_PROVIDERS.
    CheckoutPayment.objects.filter(pk=old.pk).update(provider="retired")

    with django_capture_on_commit_callbacks(execute=True):
        response = driver.report_paid(new)

    assert response.status_code == 200
    refusal = TimelineEvent.objects.get(debtor=debtor, data__checkout_id=old.pk, data__has_key="canceled")
    assert refusal.data["canceled"] is False
    assert "Unknown payment provider 'retired'" in refusal.data["error"]
