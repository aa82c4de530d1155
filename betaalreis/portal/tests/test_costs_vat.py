"""The portal states the VAT in owed collection costs and its reason (BIK art. 2 lid 3)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from betaalreis.dunning.policies import seed_default_policies
from betaalreis.ledger.models import DebtorKind
from betaalreis.portal.links import portal_url
from betaalreis.portal.services import load_accounts
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

REASON = "omdat wij voor de incasso een externe dienst inschakelen die ons btw in rekening brengt"


def business_debtor(vat_deductible: bool):
    creditor = make_creditor(vat_deductible=vat_deductible)
    seed_default_policies(creditor)
    debtor = make_debtor(creditor, kind=DebtorKind.BUSINESS, name="Bakkerij Brood B.V.")
    today = timezone.localdate()
    make_invoice(debtor, "1000.00", due=today - dt.timedelta(days=60), dunning_stage="final_notice",
                 dunning_stage_date=today - dt.timedelta(days=10))
    return debtor


def overview_text(client, settings, debtor) -> str:
    response = client.get(portal_url(debtor).removeprefix(settings.BETAALREIS_BASE_URL), follow=True)
    assert response.status_code == 200
    return response.content.decode().replace("\xa0", " ").replace("&nbsp;", " ")


def test_portal_states_costs_vat(client, settings):
    debtor = business_debtor(vat_deductible=False)

    (account,) = load_accounts([debtor.pk], timezone.localdate())

    assert account.costs == Decimal("181.50")
    assert account.costs_vat == Decimal("31.50")
    text = overview_text(client, settings, debtor)
    assert "In de incassokosten zit € 31,50 btw." in text
    assert REASON in text


def test_portal_no_vat_statement(client, settings):
    debtor = business_debtor(vat_deductible=True)

    (account,) = load_accounts([debtor.pk], timezone.localdate())

    assert account.costs == Decimal("150.00")
    assert account.costs_vat == Decimal("0.00")
    assert REASON not in overview_text(client, settings, debtor)
