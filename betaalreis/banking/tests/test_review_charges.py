"""The review page's booking plan for charged invoices: what confirming books to principal, costs, interest and credit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from betaalreis.banking.actions import do_confirm_candidate
from betaalreis.banking.candidate_plan import plan_candidate
from betaalreis.banking.models import MatchCandidate, MatchRule
from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning.tests.test_charges import DUE, LATER, LETTER_DAY, render, send_letter
from betaalreis.ledger.actions import unallocated_amount
from betaalreis.ledger.models import Allocation, Payment, PaymentSource, PaymentStatus, TimelineEvent
from betaalreis.ledger.money import format_money
from betaalreis.testing import make_creditor, make_debtor, make_invoice

from .conftest import superuser_client

pytestmark = pytest.mark.django_db


def _review_payment(debtor, invoice, amount: Decimal, on: dt.date) -> MatchCandidate:
    payment = Payment.objects.create(
        creditor=debtor.creditor, source=PaymentSource.BANK, external_id=f"R-{amount}", booking_date=on,
        amount=amount, status=PaymentStatus.REVIEW, remittance_info="Factuur 2026-OO42",
    )
    candidate = MatchCandidate.objects.create(
        creditor=debtor.creditor, payment=payment, debtor=debtor, rule=MatchRule.INVOICE_NUMBER_TYPO, score=30,
        reason="invoice number written with the letter O for a zero, not confirmed by the amount",
    )
    candidate.invoices.add(invoice)
    return candidate


@pytest.fixture
def charged():
    creditor = make_creditor()
    seed_default_policies(creditor)
    debtor = make_debtor(creditor)
    invoice = make_invoice(debtor, "300.00", due=DUE)
    send_letter(debtor, invoice)
    requested = Decimal(render(debtor, invoice, "fourteen_day_letter", "letter", LETTER_DAY).metadata["amount_due"])
    return debtor, invoice, requested


# Each case: days after the letter that the payment is booked, and the
# payment as the letter's amount plus this much.
CASES = [
    ("letter amount a week later", 7, Decimal("0.00")),
    ("letter amount plus credit", 7, Decimal("25.00")),
    ("principal only", 7, None),
    ("letter amount after the term", (LATER - LETTER_DAY).days, Decimal("0.00")),
]


@pytest.mark.parametrize("label,days,extra", CASES, ids=[case[0] for case in CASES])
def test_plan_equals_booking(charged, label, days, extra):
    debtor, invoice, requested = charged
    amount = Decimal("300.00") if extra is None else requested + extra
    candidate = _review_payment(debtor, invoice, amount, LETTER_DAY + dt.timedelta(days=days))

    plan = plan_candidate(candidate)
    do_confirm_candidate(candidate, user=None)

    (share,) = plan.shares
    (line,) = share.invoices
    booked = dict(Allocation.objects.filter(payment=candidate.payment).values_list("part", "amount"))
    assert line.amount == booked["principal"]
    assert line.costs == booked.get("costs", Decimal("0.00"))
    assert line.interest == booked.get("interest", Decimal("0.00"))
    assert plan.credit == unallocated_amount(Payment.objects.get(pk=candidate.payment.pk))
    waived = TimelineEvent.objects.filter(invoice=invoice, data__reason="charges_waived")
    if line.waived_costs or line.waived_interest:
        (event,) = waived
        assert Decimal(event.data["costs"]) == line.waived_costs
        assert Decimal(event.data["interest"]) == line.waived_interest
    else:
        assert not waived.exists()


def test_review_page_shows_interest_not_credit(client, charged):
    debtor, invoice, requested = charged
    candidate = _review_payment(debtor, invoice, requested, LETTER_DAY + dt.timedelta(days=7))
    line = plan_candidate(candidate).shares[0].invoices[0]
    assert line.interest == requested - Decimal("300.00")
    assert line.waived_interest > 0

    page = superuser_client(client).get(reverse("admin:banking_reviewpayment_change", args=[candidate.payment.pk]))

    content = page.content.decode()
    assert f"{invoice.number} {format_money(Decimal('300.00'), 'EUR')} + rente {format_money(line.interest, 'EUR')}" in content
    assert f"(samen {format_money(requested, 'EUR')})" in content
    assert f"Kwijtgescholden op {invoice.number}: rente {format_money(line.waived_interest, 'EUR')}" in content
    assert "Tegoed" not in content
