"""Timeline rows written during an English portal request are stored in Dutch and shown in English."""

from __future__ import annotations

import pytest
from django.utils import translation

from betaalreis.ledger.models import TimelineEvent
from betaalreis.ledger.timeline_text import summary_in_language
from betaalreis.portal import services
from betaalreis.portal.tests.factories import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db


def test_english_dispute_stored_in_dutch() -> None:
    debtor = make_debtor(make_creditor("acme"), "K001")
    invoice = make_invoice(debtor, "F-001", "80.00")

    with translation.override("en"):
        services.do_open_dispute(debtor, invoice, reason="wrong_amount", message="Te hoog")

    summaries = list(TimelineEvent.objects.filter(invoice=invoice).order_by("pk").values_list("summary", flat=True))
    assert summaries == ["Factuur F-001: Openstaand → Betwist", "Geschil over factuur F-001: Bedrag klopt niet"]
    assert summary_in_language(summaries[0], language="en") == "Invoice F-001: Open → Disputed"
    assert summary_in_language(summaries[1], language="en") == "Dispute about invoice F-001: Amount is wrong"
