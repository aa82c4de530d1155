"""Promise and plan offers for a debtor whose open invoices are all out of dunning."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from betaalreis.ledger.models import InvoiceStatus
from betaalreis.payments import plans
from betaalreis.portal import services
from betaalreis.portal.links import make_portal_token
from betaalreis.portal.models import Promise
from betaalreis.portal.tests.factories import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

PROMISE_LINK = "Later betalen (betaalbelofte)"
PLAN_LINK = "Betalen in termijnen"


@pytest.fixture
def debtor(client):
    debtor = make_debtor(make_creditor(phone="+31201234567"))
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))
    return debtor


def _overview(client) -> str:
    return client.get(reverse("portal:overview")).content.decode()


def test_handed_over_hides_promise_and_plan(client, debtor):
    make_invoice(debtor, "F-001", "441.70", status=InvoiceStatus.HANDED_OVER)

    page = _overview(client)

    assert PROMISE_LINK not in page
    assert f'href="{reverse("portal:plan", kwargs={"debtor_id": debtor.pk})}"' not in page
    assert "uit handen gegeven voor incasso" in page
    assert "+31201234567" in page


def test_handed_over_promise_page_explains(client, debtor):
    make_invoice(debtor, "F-001", "441.70", status=InvoiceStatus.HANDED_OVER)
    url = reverse("portal:promise", kwargs={"debtor_id": debtor.pk})
    promised = (timezone.localdate() + dt.timedelta(days=5)).isoformat()

    page = client.get(url).content.decode()
    posted = client.post(url, {"promised_date": promised}).content.decode()

    assert "uit handen gegeven voor incasso" in page
    assert "Er staat niets open" not in page
    assert "uit handen gegeven voor incasso" in posted
    assert not Promise.objects.exists()


def test_handed_over_plan_page_explains(client, debtor):
    make_invoice(debtor, "F-001", "441.70", status=InvoiceStatus.HANDED_OVER)

    page = client.get(reverse("portal:plan", kwargs={"debtor_id": debtor.pk})).content.decode()

    assert "uit handen gegeven voor incasso" in page
    assert "geen openstaande facturen" not in page


def test_active_plan_hides_promise(client, debtor):
    invoice = make_invoice(debtor, "F-001", "400.00")
    plans.do_request_plan(debtor, [invoice], 3, today=timezone.localdate())

    page = _overview(client)
    promise_page = client.get(reverse("portal:promise", kwargs={"debtor_id": debtor.pk})).content.decode()

    assert PROMISE_LINK not in page
    assert "U betaalt in termijnen" in page
    assert "U betaalt al in termijnen" in promise_page
    assert "Er staat niets open" not in promise_page


def test_promise_offered_beside_plan_invoice(client, debtor):
    invoice = make_invoice(debtor, "F-001", "400.00")
    plans.do_request_plan(debtor, [invoice], 3, today=timezone.localdate())
    make_invoice(debtor, "F-002", "80.00")

    page = _overview(client)

    assert PROMISE_LINK in page
    assert "arrangement-blocker" not in page


def test_open_invoice_offers_both(client, debtor):
    make_invoice(debtor, "F-001", "80.00")

    page = _overview(client)

    assert PROMISE_LINK in page
    assert PLAN_LINK in page
    assert "arrangement-blocker" not in page


def test_blocker_order():
    cases = [
        ([InvoiceStatus.OPEN, InvoiceStatus.HANDED_OVER], ""),
        ([InvoiceStatus.HANDED_OVER, InvoiceStatus.PAYMENT_PLAN], "handed_over"),
        ([InvoiceStatus.PAYMENT_PLAN, InvoiceStatus.DISPUTED], "payment_plan"),
        ([InvoiceStatus.DISPUTED], "disputed"),
        ([], "nothing_open"),
    ]
    debtor = make_debtor(make_creditor())
    for index, (statuses, expected) in enumerate(cases):
        invoices = [
            make_invoice(debtor, f"B-{index}-{position}", "10.00", status=status)
            for position, status in enumerate(statuses)
        ]
        assert services.arrangement_blocker(invoices) == expected, statuses


def test_make_promise_names_blocker(debtor):
    make_invoice(debtor, "F-001", "80.00", status=InvoiceStatus.HANDED_OVER)
    today = timezone.localdate()

    with pytest.raises(services.InvalidInput) as raised:
        services.do_make_promise(debtor, today + dt.timedelta(days=3), today=today)

    assert raised.value.code == "promise_handed_over"


def test_handed_over_explained_in_english(client, debtor, settings):
    make_invoice(debtor, "F-001", "441.70", status=InvoiceStatus.HANDED_OVER)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    page = client.get(reverse("portal:promise", kwargs={"debtor_id": debtor.pk})).content.decode()

    assert "handed over for collection" in page
