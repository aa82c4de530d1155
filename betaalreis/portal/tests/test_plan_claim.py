"""A consumer's collection costs left out of a payment plan stay visible: plan page, overview, timeline and admin claim."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from betaalreis.dunning.policies import seed_default_policies
from betaalreis.ledger.models import InvoiceStatus, TimelineEvent
from betaalreis.ledger.timeline_text import summary_in_language
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus
from betaalreis.payments import plans
from betaalreis.payments.models import PaymentPlan, PlanStatus
from betaalreis.portal import services
from betaalreis.portal.links import make_portal_token
from betaalreis.portal.tests.factories import make_creditor, make_debtor, make_invoice, plan_form_data

pytestmark = pytest.mark.django_db


def _text(content: bytes | str) -> str:
    text = content.decode() if isinstance(content, bytes) else content
    return text.replace("\xa0", " ")


@pytest.fixture
def consumer(client):
    """A consumer whose 14-day letter over F-001 (EUR 500.00) passed unpaid, so EUR 75.00 costs are due.

    F-002 is not due yet, so it carries no costs and is no part of the claim.
    """
    creditor = make_creditor()
    seed_default_policies(creditor)
    debtor = make_debtor(creditor)
    overdue = make_invoice(debtor, "F-001", "500.00", days_overdue=60)
    make_invoice(debtor, "F-002", "90.00", days_overdue=-10)
    sent = timezone.now() - dt.timedelta(days=40)
    letter = Communication.objects.create(
        creditor=creditor, debtor=debtor, channel="letter", stage="fourteen_day_letter", language="nl",
        idempotency_key="letter-1", status=CommunicationStatus.SENT, run_date=sent.date(), sent_at=sent,
        total_amount=Decimal("500.00"),
    )
    CommunicationInvoice.objects.create(communication=letter, invoice=overdue, open_amount=Decimal("500.00"))
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))
    return debtor, overdue


def test_plan_over_whole_claim_keeps_costs(client, consumer):
    debtor, overdue = consumer
    (before,) = services.load_accounts([debtor.pk], timezone.localdate())
    assert before.costs == Decimal("75.00")
    url = reverse("portal:plan", kwargs={"debtor_id": debtor.pk})

    client.post(url, plan_form_data(debtor, [overdue], 3))

    plan = PaymentPlan.objects.get()
    assert plan.status == PlanStatus.ACTIVE
    assert plan.total == Decimal("500.00")
    assert plan.costs_excluded == Decimal("75.00")
    request_line = TimelineEvent.objects.get(debtor=debtor, data__plan_id=plan.pk, data__channel="portal")
    assert request_line.data["costs_excluded"] == "75.00"
    assert "incassokosten € 75,00" in _text(request_line.summary)
    assert _text(request_line.summary).endswith(
        "Buiten de regeling: rente € 3,29 en incassokosten € 75,00, die vervallen als de regeling wordt nagekomen"
    )
    assert _text(summary_in_language(request_line.summary, request_line.data, "en")).endswith(
        "Left out of the plan: interest €3.29 and collection costs €75.00, waived if the plan is kept"
    )
    assert "€ 0,00" not in _text(request_line.summary)
    assert "de incassokosten van € 75,00" in _text(client.get(url).content)
    assert "de incassokosten van € 75,00" in _text(client.get(reverse("portal:overview")).content)


def test_admin_claim_names_plan_costs(client, consumer):
    debtor, overdue = consumer
    plans.do_request_plan(debtor, [overdue], 3, today=timezone.localdate())
    admin_client = Client()
    admin_client.force_login(User.objects.create(username="cm", is_staff=True, is_superuser=True))

    page = _text(admin_client.get(reverse("admin:ledger_debtor_change", args=[debtor.pk])).content)

    assert "betalingsregeling (actief): € 500,00 in 3 termijnen, nog open € 500,00" in page
    assert "rente € 3,29 en incassokosten € 75,00, die vervallen als de regeling wordt nagekomen" in page


def test_admin_claim_one_excluded_part_singular(client, consumer):
    debtor, overdue = consumer
    plan = plans.do_request_plan(debtor, [overdue], 3, today=timezone.localdate())
    PaymentPlan.objects.filter(pk=plan.pk).update(interest_excluded=Decimal("0.00"))
    admin_client = Client()
    admin_client.force_login(User.objects.create(username="cm", is_staff=True, is_superuser=True))

    page = _text(admin_client.get(reverse("admin:ledger_debtor_change", args=[debtor.pk])).content)

    assert "buiten de regeling incassokosten € 75,00, die vervalt als de regeling wordt nagekomen" in page


def test_admin_claim_names_plan_in_english(client, consumer):
    debtor, overdue = consumer
    plans.do_request_plan(debtor, [overdue], 3, today=timezone.localdate())
    admin_client = Client()
    admin_client.force_login(User.objects.create(username="cm", is_staff=True, is_superuser=True))

    with translation.override("en"):
        url = reverse("admin:ledger_debtor_change", args=[debtor.pk])
    page = _text(admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content)

    assert "payment plan (active): €500.00 in 3 instalments, €500.00 still open" in page
    assert "and collection costs €75.00, waived if the plan is kept" in page
    assert "betalingsregeling" not in page


def test_plan_takes_share_of_costs(client, consumer):
    debtor, overdue = consumer
    other = make_invoice(debtor, "F-003", "40.00", days_overdue=60)
    CommunicationInvoice.objects.create(
        communication=Communication.objects.get(), invoice=other, open_amount=Decimal("40.00")
    )

    plan = plans.do_request_plan(debtor, [overdue], 3, today=timezone.localdate())

    # The letter named EUR 540.00, so it fixed costs of EUR 81.00: 75.00 for
    # F-001 in the plan and 6.00 for F-003, which the plan leaves out.
    assert plan.costs_excluded == Decimal("75.00")
    (account,) = services.load_accounts([debtor.pk], timezone.localdate())
    assert account.costs == Decimal("6.00")
    line = TimelineEvent.objects.get(debtor=debtor, data__plan_id=plan.pk, data__has_key="costs_excluded")
    assert "incassokosten" in line.summary


def test_broken_plan_claims_costs_again(consumer):
    debtor, overdue = consumer
    today = timezone.localdate()
    plan = plans.do_request_plan(debtor, [overdue], 3, today=today)
    (during,) = services.load_accounts([debtor.pk], today)
    assert during.costs == Decimal("0.00")

    plans.check_plans(debtor.creditor_id, today + dt.timedelta(days=120))

    plan.refresh_from_db()
    overdue.refresh_from_db()
    assert plan.status == PlanStatus.BROKEN
    assert overdue.status == InvoiceStatus.OPEN
    (after,) = services.load_accounts([debtor.pk], today)
    assert after.costs == plan.costs_excluded


def test_excluded_sentence_verb_agrees():
    single_part = plans.excluded_sentence(Decimal("1.10"), Decimal("0.00"), Decimal("0.00"), "EUR")
    two_parts = plans.excluded_sentence(Decimal("1.10"), Decimal("40.00"), Decimal("0.00"), "EUR")

    assert _text(single_part) == "Buiten de regeling: rente € 1,10, die vervalt als de regeling wordt nagekomen"
    assert _text(two_parts) == (
        "Buiten de regeling: rente € 1,10 en incassokosten € 40,00, die vervallen als de regeling wordt nagekomen"
    )


@pytest.mark.parametrize("status", ["direct goedgekeurd", "ter beoordeling, want 9 termijnen is meer dan het maximum van 6"])
def test_singular_excluded_summary_in_english(status: str):
    excluded = plans.excluded_sentence(Decimal("1.10"), Decimal("0.00"), Decimal("0.00"), "EUR")
    summary = f"Betalingsregeling aangevraagd: €\xa0100,00 in 9 termijnen; {status}. {excluded}"

    english = _text(summary_in_language(summary, {}, "en"))

    assert english.startswith("Payment plan requested: €100.00 in 9 instalments; ")
    assert english.endswith("Left out of the plan: interest €1.10, waived if the plan is kept")
    assert "termijnen" not in english


def test_excluded_text_names_nonzero_parts():
    assert _text(plans.excluded_text(Decimal("2.48"), Decimal("0.00"), Decimal("0.00"), "EUR")) == "rente € 2,48"
    assert _text(plans.excluded_text(Decimal("0.00"), Decimal("75.00"), Decimal("10.00"), "EUR")) == (
        "incassokosten € 75,00 en hoofdsom € 10,00 door eerdere betalingen op rente of kosten (art. 6:44 BW)"
    )


def test_plan_request_line_in_english(consumer):
    debtor, overdue = consumer
    plan = plans.do_request_plan(debtor, [overdue], 3, today=timezone.localdate())
    line = TimelineEvent.objects.get(debtor=debtor, data__plan_id=plan.pk, data__has_key="costs_excluded")

    english = _text(summary_in_language(line.summary, line.data, "en"))

    assert english.startswith("Payment plan requested: €500.00 in 3 instalments; approved at once. Left out of the plan:")
    assert "collection costs €75.00" in english
    assert "waived if the plan is kept" in english
