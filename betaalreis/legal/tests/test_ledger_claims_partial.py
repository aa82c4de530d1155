"""Claims over invoices that were partly paid before they reached the ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from betaalreis.legal.ledger_claims import claim_for_debtor
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db


def test_imported_open_amount_is_principal():
    debtor = make_debtor(make_creditor())
    make_invoice(debtor, "2500.00", due=dt.date(2026, 10, 1), open_amount=Decimal("1500.00"))

    claim = claim_for_debtor(debtor, dt.date(2026, 10, 31))

    assert claim.principal_outstanding == Decimal("1500.00")
    # 30 days of 4 percent on 1,500.00, not on 2,500.00.
    assert claim.interest_outstanding == Decimal("4.93")


def test_fully_open_invoice_keeps_total():
    debtor = make_debtor(make_creditor())
    make_invoice(debtor, "2500.00", due=dt.date(2026, 10, 1))

    claim = claim_for_debtor(debtor, dt.date(2026, 10, 31))

    assert claim.principal_outstanding == Decimal("2500.00")
