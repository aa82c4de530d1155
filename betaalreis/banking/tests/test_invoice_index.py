"""The open invoices that InvoiceIndex fetches by key, with the values the rules compare."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from betaalreis.banking.invoice_index import InvoiceIndex

from .helpers import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db


def test_fetch_gives_dates_and_decimals():
    creditor = make_creditor()
    debtor = make_debtor(creditor, "K1", "Jansen")
    early = make_invoice(debtor, "F-1", "12.50", due=dt.date(2026, 10, 1))
    late = make_invoice(debtor, "F-2", "100.00", due=dt.date(2026, 12, 31))
    make_invoice(debtor, "F-3", "7.00", due=dt.date(2026, 10, 1), status="paid")
    index = InvoiceIndex(creditor)

    index.fetch_debtors([debtor.pk])

    assert index.by_debtor[debtor.pk] == [early.pk, late.pk]
    assert index.by_id[early.pk].due_date == dt.date(2026, 10, 1)
    assert type(index.by_id[early.pk].due_date) is dt.date
    assert index.by_id[late.pk].due_date == dt.date(2026, 12, 31)
    assert index.by_id[early.pk].open_amount == Decimal("12.50")
    assert type(index.by_id[late.pk].open_amount) is Decimal
    assert index.same_amount("EUR", Decimal("100.00")) == {late.pk}


def test_fetch_skips_other_creditor():
    creditor = make_creditor()
    other = make_creditor("other", iban="NL20INGB0001234567")
    foreign = make_invoice(make_debtor(other, "K9", "Bakker"), "F-9", "5.00")
    index = InvoiceIndex(creditor)

    index.fetch_debtors([foreign.debtor_id])

    assert index.by_debtor[foreign.debtor_id] == []
    assert foreign.pk not in index.by_id
