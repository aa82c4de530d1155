"""Back-office pages: payment plan form, debtor inlines, extra email addresses and action counts."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from betaalreis.ledger import timeline
from betaalreis.ledger.models import Creditor, CreditorAccess, Debtor, TimelineKind
from betaalreis.payments.models import PaymentPlan, PlanStatus
from betaalreis.testing import admin_form_data, make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

DUE = dt.date(2026, 11, 1)


@pytest.fixture
def creditor() -> Creditor:
    return make_creditor()


def pending_plan(debtor: Debtor) -> PaymentPlan:
    plan = PaymentPlan.objects.create(
        creditor=debtor.creditor, debtor=debtor, status=PlanStatus.PENDING_APPROVAL, total=Decimal("145.80"),
        terms=3, interest_excluded=Decimal("0.34"), costs_excluded=Decimal("40.00"),
    )
    plan.invoices.add(make_invoice(debtor, "145.80", due=DUE, number=f"PS-{debtor.pk}"))
    return plan


def test_plan_form_lists_own_invoices_only(admin_client: Client, creditor: Creditor) -> None:
    plan = pending_plan(make_debtor(creditor))
    other = make_debtor(creditor)
    for number in range(3):
        make_invoice(other, due=DUE, number=f"OTHER-{number}")

    page = admin_client.get(reverse("admin:payments_paymentplan_change", args=[plan.pk])).content.decode()

    assert 'name="invoices"' not in page
    assert f"PS-{plan.debtor_id}" in page
    assert "OTHER-0" not in page


def test_plan_excluded_amounts_read_only(admin_client: Client, creditor: Creditor) -> None:
    plan = pending_plan(make_debtor(creditor))
    data = {**admin_form_data(plan), "interest_excluded": "0.00", "costs_excluded": "0.00", "invoices": []}
    data.update({"instalments-TOTAL_FORMS": 0, "instalments-INITIAL_FORMS": 0})

    page = admin_client.get(reverse("admin:payments_paymentplan_change", args=[plan.pk])).content.decode()
    admin_client.post(reverse("admin:payments_paymentplan_change", args=[plan.pk]), data)

    plan.refresh_from_db()
    assert 'name="costs_excluded"' not in page
    assert 'name="interest_excluded"' not in page
    assert plan.costs_excluded == Decimal("40.00")
    assert plan.interest_excluded == Decimal("0.34")
    assert list(plan.invoices.values_list("number", flat=True)) == [f"PS-{plan.debtor_id}"]


@pytest.mark.parametrize(("count", "message"), [(1, "1 regeling goedgekeurd."), (2, "2 regelingen goedgekeurd.")])
def test_approve_message_plural_forms(admin_client: Client, creditor: Creditor, count: int, message: str) -> None:
    plans = [pending_plan(make_debtor(creditor)) for _ in range(count)]

    response = admin_client.post(
        reverse("admin:payments_paymentplan_changelist"),
        {"action": "approve", "_selected_action": [plan.pk for plan in plans]},
        follow=True,
    )

    assert [str(item) for item in response.context["messages"]] == [message]


def test_debtor_inline_rows_without_title(admin_client: Client, creditor: Creditor) -> None:
    debtor = make_debtor(creditor)
    make_invoice(debtor, due=DUE, number="UNIQUE-INVOICE-7")
    timeline.record(debtor, TimelineKind.NOTE, "Eenmalige notitie voor de test", source="test")

    page = admin_client.get(reverse("admin:ledger_debtor_change", args=[debtor.pk])).content.decode()
    # Django prints each row's title in this cell; the inlines' style sheet hides it.
    visible = re.sub(r'<td class="original">.*?</td>', "", page, flags=re.DOTALL)

    assert page.count('class="module rows-without-title"') == 3
    assert "ledger/admin_inlines.css" in page
    assert visible.count("Eenmalige notitie voor de test") == 1
    assert visible.count("UNIQUE-INVOICE-7") == 1
    assert reverse("admin:ledger_invoice_change", args=[debtor.invoices.get().pk]) in visible


def test_extra_emails_one_per_line(admin_client: Client, creditor: Creditor) -> None:
    debtor = make_debtor(creditor, extra_emails=["a@example.nl", "b@example.nl"])
    url = reverse("admin:ledger_debtor_change", args=[debtor.pk])

    page = admin_client.get(url).content.decode()
    data = {**admin_form_data(debtor), "extra_emails": "c@example.nl, d@example.nl\ne@example.nl"}
    data.update({key: 0 for prefix in ("invoices", "bank_accounts", "timeline") for key in (
        f"{prefix}-TOTAL_FORMS", f"{prefix}-INITIAL_FORMS")})
    response = admin_client.post(url, data)

    debtor.refresh_from_db()
    assert "a@example.nl\nb@example.nl</textarea>" in page
    assert "[&quot;" not in page
    assert response.status_code == 302
    assert debtor.extra_emails == ["c@example.nl", "d@example.nl", "e@example.nl"]


def test_extra_emails_invalid_rejected(admin_client: Client, creditor: Creditor) -> None:
    debtor = make_debtor(creditor)
    url = reverse("admin:ledger_debtor_change", args=[debtor.pk])
    data = {**admin_form_data(debtor), "extra_emails": "c@example.nl, geen-adres"}

    response = admin_client.post(url, data)

    debtor.refresh_from_db()
    assert response.status_code == 200
    assert "geen-adres is geen geldig e-mailadres." in response.content.decode()
    assert debtor.extra_emails == []


def test_extra_emails_view_only_dash(client: Client, creditor: Creditor) -> None:
    debtor = make_debtor(creditor)
    user = get_user_model().objects.create_user("viewer", password="x", is_staff=True, is_superuser=False)
    user.user_permissions.add(Permission.objects.get(codename="view_debtor"))
    CreditorAccess.objects.create(user=user, creditor=creditor)
    client.force_login(user)

    page = client.get(reverse("admin:ledger_debtor_change", args=[debtor.pk])).content.decode()
    readonly_value = re.search(r"Extra e-mailadressen:</label>\s*<div class=\"readonly\">(.*?)</div>", page)

    assert readonly_value is not None
    assert readonly_value.group(1) == "-"


def test_debtor_agreement_change_dated(admin_client: Client, creditor: Creditor) -> None:
    debtor = make_debtor(creditor)
    url = reverse("admin:ledger_debtor_change", args=[debtor.pk])
    data = {**admin_form_data(debtor), "electronic_agreement": "on"}
    data.update({key: 0 for prefix in ("invoices", "bank_accounts", "timeline") for key in (
        f"{prefix}-TOTAL_FORMS", f"{prefix}-INITIAL_FORMS")})

    response = admin_client.post(url, data)

    debtor.refresh_from_db()
    assert response.status_code == 302
    assert debtor.electronic_agreement is True
    assert debtor.electronic_agreement_at is not None
    assert debtor.electronic_agreement_source.startswith("admin:")
    event = debtor.timeline.get(kind=TimelineKind.PREFERENCE)
    assert event.data["electronic_agreement"] is True
