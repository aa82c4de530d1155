"""Portal sentences: one full stop after a name that ends in one, and dates per language."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import translation

from betaalreis.ledger.models import InvoiceStatus
from betaalreis.portal.forms import PromiseForm
from betaalreis.portal.links import make_portal_token
from betaalreis.portal.sentences import with_full_stop
from betaalreis.portal.tests.factories import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Acme B.V.", "Acme B.V."), ("Acme", "Acme."), ("Acme B.V. ", "Acme B.V."), ("Hallo!", "Hallo!")],
)
def test_with_full_stop(name, expected):
    assert with_full_stop(name) == expected


def test_handed_over_blocker_single_full_stop(client):
    debtor = make_debtor(make_creditor(legal_name="Acme B.V.", trade_name="", email=""))
    make_invoice(debtor, "F-001", "80.00", days_overdue=90, status=InvoiceStatus.HANDED_OVER)
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))

    page = client.get(reverse("portal:promise", kwargs={"debtor_id": debtor.pk})).content.decode()

    assert "Neem daarvoor contact op met Acme B.V." in page
    assert "B.V.." not in page


@pytest.mark.parametrize("language", ["nl", "en"])
def test_promise_date_input_is_iso(language):
    with translation.override(language):
        html = str(PromiseForm(initial={"promised_date": dt.date(2026, 12, 24)})["promised_date"])

    assert 'value="2026-12-24"' in html
    assert not re.search(r"\d{2}-\d{2}-\d{4}", html)
