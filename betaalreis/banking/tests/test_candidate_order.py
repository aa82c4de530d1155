"""Review candidates come in debtor id order, whatever order the rules found the debtors in."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

from betaalreis.banking.invoice_index import OpenInvoice
from betaalreis.banking.rules import Matcher


def _invoice(pk: int, debtor_id: int, amount: str) -> OpenInvoice:
    return OpenInvoice(pk, f"F-{pk}", debtor_id, Decimal(amount), "EUR", dt.date(2026, 11, 1))


def test_candidates_sorted_by_debtor():
    # No payer IBAN or name, so no lookup in the index is needed.
    matcher = Matcher(SimpleNamespace(debtors_by_iban={}))
    payment = SimpleNamespace(amount=Decimal("10.00"), payer_iban="", payer_name="")
    groups = {30: [_invoice(3, 30, "10.00")], 10: [_invoice(1, 10, "10.00")], 20: [_invoice(2, 20, "10.00")]}

    decision = matcher._choose("invoice_number", 90, payment, groups, "invoice number")

    assert [candidate[0] for candidate in decision.candidates] == [10, 20, 30]
    assert decision.invoices == []
