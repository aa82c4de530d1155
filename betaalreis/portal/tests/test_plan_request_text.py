"""The text before a plan request states the plan for exactly the chosen invoices, and the request makes that plan."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from betaalreis.errors import InvalidInput
from betaalreis.ledger.models import InvoiceStatus
from betaalreis.payments import plans
from betaalreis.payments.models import PaymentPlan
from betaalreis.portal import services
from betaalreis.portal.links import make_portal_token
from betaalreis.portal.models import DisputeReason
from betaalreis.portal.tests.factories import make_creditor, make_debtor, make_invoice, plan_form_data

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return response.content.decode().replace("\xa0", " ")


def _shown(page: str) -> str:
    return re.search(r'name="shown" value="([^"]*)"', page).group(1)


@pytest.fixture
def debtor(client):
    debtor = make_debtor(make_creditor())
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))
    return debtor


@pytest.fixture
def two_open(debtor):
    return make_invoice(debtor, "F-001", "300.00"), make_invoice(debtor, "F-002", "150.00")


def _url(debtor) -> str:
    return reverse("portal:plan", kwargs={"debtor_id": debtor.pk})


def test_first_page_states_plan_for_all(client, debtor, two_open):
    page = _text(client.get(_url(debtor)))

    assert "Voor de facturen F-001, F-002." in page
    assert "€ 450,00 in 3 termijnen" in page
    assert page.count("€ 150,00</td>") == 3


def test_preview_states_plan_for_chosen(client, debtor, two_open):
    first, second = two_open

    page = _text(client.post(_url(debtor), {"terms": 2, "invoices": [second.pk], "preview": "1"}))

    assert "Voor factuur F-002." in page
    assert "€ 150,00 in 2 termijnen" in page
    assert page.count("€ 75,00</td>") == 2
    assert "€ 450,00" not in page
    assert not PaymentPlan.objects.exists()


def test_request_makes_previewed_plan(client, debtor, two_open):
    first, second = two_open
    preview = _text(client.post(_url(debtor), {"terms": 2, "invoices": [second.pk], "preview": "1"}))

    response = client.post(_url(debtor), {"terms": 2, "invoices": [second.pk], "shown": _shown(preview)})

    assert response.status_code == 302
    plan = PaymentPlan.objects.get()
    assert [invoice.number for invoice in plan.invoices.all()] == ["F-002"]
    assert plan.total == Decimal("150.00")
    assert list(plan.instalments.values_list("amount", flat=True)) == [Decimal("75.00")] * 2
    first.refresh_from_db()
    assert first.status == InvoiceStatus.OPEN


def test_changed_choice_shows_text_first(client, debtor, two_open):
    first, second = two_open
    page_for_both = _text(client.get(_url(debtor)))

    response = client.post(_url(debtor), {"terms": 3, "invoices": [first.pk], "shown": _shown(page_for_both)})

    page = _text(response)
    assert response.status_code == 200
    assert not PaymentPlan.objects.exists()
    assert "De regeling hieronder is berekend voor de facturen en termijnen die u nu koos." in page
    assert "€ 300,00 in 3 termijnen" in page


def test_changed_terms_show_text_first(client, debtor, two_open):
    page_for_three = _text(client.get(_url(debtor)))

    client.post(_url(debtor), {"terms": 4, "invoices": [inv.pk for inv in two_open], "shown": _shown(page_for_three)})

    assert not PaymentPlan.objects.exists()


def test_changed_amount_shows_text_first(client, debtor, two_open):
    first, second = two_open
    page = _text(client.get(_url(debtor)))
    first.open_amount = Decimal("250.00")
    first.save(update_fields=["open_amount"])

    client.post(_url(debtor), {"terms": 3, "invoices": [first.pk, second.pk], "shown": _shown(page)})

    assert not PaymentPlan.objects.exists()


def test_request_rejects_stale_fingerprint(debtor, two_open):
    first, second = two_open
    shown = plans.propose_plan(debtor, [first], 3, today=timezone.localdate()).fingerprint

    with pytest.raises(InvalidInput) as raised:
        plans.do_request_plan(debtor, [first, second], 3, today=timezone.localdate(), expected=shown)

    assert raised.value.code == "plan_changed"
    assert not PaymentPlan.objects.exists()


def _other_debtors_invoice(debtor):
    other = make_debtor(debtor.creditor, "K002", name="Ander")
    return make_invoice(other, "X-900", "80.00"), None


def _paid(debtor):
    return make_invoice(debtor, "F-010", "0.00", status=InvoiceStatus.PAID, total=Decimal("80.00")), (
        "Factuur F-010 is al betaald."
    )


def _disputed(debtor):
    invoice = make_invoice(debtor, "F-011", "80.00")
    services.do_open_dispute(debtor, invoice, reason=DisputeReason.QUESTION, message="Wat is dit?")
    return invoice, "Over factuur F-011 loopt een vraag of geschil."


def _handed_over(debtor):
    invoice = make_invoice(debtor, "F-012", "80.00", days_overdue=90, status=InvoiceStatus.HANDED_OVER)
    return invoice, "Factuur F-012 is uit handen gegeven aan een incassobureau."


@pytest.mark.parametrize("make_wrong", [_other_debtors_invoice, _paid, _disputed, _handed_over],
                         ids=["other_debtor", "paid", "disputed", "handed_over"])
@pytest.mark.parametrize("preview", [False, True], ids=["request", "preview"])
def test_crafted_post_rejected(client, debtor, two_open, make_wrong, preview):
    first, second = two_open
    wrong, sentence = make_wrong(debtor)
    data = plan_form_data(debtor, [first, wrong], 3)
    if preview:
        data["preview"] = "1"

    response = client.post(_url(debtor), data)

    page = _text(response)
    assert response.status_code == 400
    assert not PaymentPlan.objects.exists()
    assert "Er is geen regeling aangevraagd. Kies alleen uit de openstaande facturen hieronder." in page
    if sentence is None:
        assert "Een gekozen factuur hoort niet bij dit klantnummer." in page
        assert "X-900" not in page
    else:
        assert sentence in page
    first.refresh_from_db()
    assert first.status == InvoiceStatus.OPEN


def test_crafted_post_rejected_in_english(client, debtor, two_open):
    first, second = two_open
    wrong, _sentence = _handed_over(debtor)
    client.cookies["django_language"] = "en"

    response = client.post(_url(debtor), plan_form_data(debtor, [first, wrong], 3), HTTP_ACCEPT_LANGUAGE="en")

    page = _text(response)
    assert response.status_code == 400
    assert "Invoice F-012 has been handed over to a collection agency." in page
    assert "No payment plan was requested. Choose only from the open invoices below." in page


def test_crafted_post_with_bad_ids(client, debtor, two_open):
    first, second = two_open

    response = client.post(_url(debtor), {"terms": 3, "invoices": [first.pk, "99999999999999999999999", "abc"]})

    assert response.status_code == 400
    assert "Een gekozen factuur hoort niet bij dit klantnummer." in _text(response)
    assert not PaymentPlan.objects.exists()
