"""The admin keeps payment plans, promises, disputes and online payments that have a history.

A plan, promise or dispute made through an action is on the debtor's
timeline, and a credit manager reads the record behind that event. Online
payments and webhook calls are what the payment provider reported, so they
are read-only like bank data.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from betaalreis.ledger.models import Debtor, Invoice
from betaalreis.payments import plans
from betaalreis.payments.models import CheckoutPayment, PaymentPlan, WebhookEvent, WebhookOutcome
from betaalreis.portal import services
from betaalreis.portal.models import Dispute, Promise
from betaalreis.portal.tests.factories import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def debtor() -> Debtor:
    return make_debtor(make_creditor())


def post_delete(client: Client, record: object) -> int:
    """Post the admin's delete confirmation for `record` and return the status code."""
    meta = record._meta  # type: ignore[attr-defined]
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[record.pk])  # type: ignore[attr-defined]
    return client.post(url, {"post": "yes"}).status_code


def post_bulk_delete(client: Client, record: object) -> None:
    """Post the changelist's "delete selected" action, confirmed, for `record`."""
    meta = record._meta  # type: ignore[attr-defined]
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    client.post(url, {"action": "delete_selected", "_selected_action": [record.pk], "post": "yes"})  # type: ignore[attr-defined]


def test_plan_with_history_kept(admin_client, debtor):
    invoice = make_invoice(debtor, "F-001", "100.00")
    plan = plans.do_request_plan(debtor, [invoice], 2, today=timezone.localdate())

    status = post_delete(admin_client, plan)
    post_bulk_delete(admin_client, plan)

    assert status == 403
    assert PaymentPlan.objects.filter(pk=plan.pk).exists()
    assert plan.instalments.count() == 2


def test_plan_instalments_not_deletable(admin_client, debtor):
    invoice = make_invoice(debtor, "F-001", "100.00")
    plan = plans.do_request_plan(debtor, [invoice], 2, today=timezone.localdate())

    page = admin_client.get(reverse("admin:payments_paymentplan_change", args=[plan.pk]))

    assert page.status_code == 200
    (inline,) = page.context["inline_admin_formsets"]
    assert inline.formset.can_delete is False
    assert inline.has_add_permission is False


def test_promise_with_history_kept(admin_client, debtor):
    make_invoice(debtor, "F-001", "80.00")
    today = timezone.localdate()
    promise = services.do_make_promise(debtor, today, today=today)

    status = post_delete(admin_client, promise)
    post_bulk_delete(admin_client, promise)

    assert status == 403
    assert Promise.objects.filter(pk=promise.pk).exists()


def test_dispute_with_history_kept(admin_client, debtor):
    invoice = make_invoice(debtor, "F-001", "80.00")
    dispute = services.do_open_dispute(debtor, invoice, reason="question", message="Waarom?")

    status = post_delete(admin_client, dispute)
    post_bulk_delete(admin_client, dispute)

    assert status == 403
    assert Dispute.objects.filter(pk=dispute.pk).exists()


def test_invoice_with_dispute_kept(admin_client, debtor):
    # Deleting the invoice would delete its dispute too.
    invoice = make_invoice(debtor, "F-001", "80.00")
    services.do_open_dispute(debtor, invoice, reason="question", message="Waarom?")

    status = post_delete(admin_client, invoice)

    assert status == 403
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_promise_without_history_deleted(admin_client, debtor):
    promise = Promise.objects.create(
        creditor_id=debtor.creditor_id, debtor=debtor, promised_date=timezone.localdate(), amount=Decimal("80.00")
    )

    status = post_delete(admin_client, promise)

    assert status == 302
    assert not Promise.objects.filter(pk=promise.pk).exists()


@pytest.fixture
def checkout(debtor) -> CheckoutPayment:
    invoice = make_invoice(debtor, "F-001", "80.00")
    checkout = CheckoutPayment.objects.create(
        creditor_id=debtor.creditor_id, debtor=debtor, provider="test", provider_id="tr_1",
        amount=Decimal("80.00"), description="Factuur F-001",
    )
    checkout.invoices.set([invoice])
    return checkout


@pytest.fixture
def webhook(checkout) -> WebhookEvent:
    return WebhookEvent.objects.create(
        provider="test", body='{"id": "tr_1"}', outcome=WebhookOutcome.APPLIED, checkout=checkout
    )


@pytest.mark.parametrize("name", ["checkout", "webhook"])
def test_provider_records_read_only(admin_client, request, name):
    record = request.getfixturevalue(name)
    meta = record._meta
    change_url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record.pk])

    view = admin_client.get(change_url)
    add = admin_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
    delete_status = post_delete(admin_client, record)
    post_bulk_delete(admin_client, record)

    assert view.status_code == 200
    assert view.context["has_change_permission"] is False
    assert view.context["has_delete_permission"] is False
    assert add.status_code == 403
    assert delete_status == 403
    assert type(record).objects.filter(pk=record.pk).exists()


def test_debtor_with_online_payment_kept(admin_client, checkout):
    # Deleting the debtor would delete the online payment with it.
    status = post_delete(admin_client, checkout.debtor)

    assert status == 403
    assert CheckoutPayment.objects.filter(pk=checkout.pk).exists()
