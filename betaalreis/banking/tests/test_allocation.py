"""allocate_in_bulk leaves the same ledger as do_allocate_payment, payment by payment."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from betaalreis.banking.allocation import PlannedAllocation, allocate_in_bulk
from betaalreis.banking.models import MatchRule
from betaalreis.ledger.actions import do_allocate_payment
from betaalreis.ledger.models import Allocation, Invoice, Payment, PaymentSource, TimelineEvent

from .helpers import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

# Each case: invoice amounts (currency EUR unless "USD:" prefix), payment amount, invoice order.
CASES = {
    "exact": (["100.00"], "100.00", [0]),
    "partial": (["100.00"], "40.00", [0]),
    "over": (["100.00"], "130.00", [0]),
    "two invoices": (["60.00", "40.00"], "100.00", [1, 0]),
    "second partly": (["60.00", "40.00"], "80.00", [0, 1]),
    "other currency skipped": (["USD:50.00", "70.00"], "70.00", [0, 1]),
    "paid invoice skipped": (["0.00", "25.00"], "25.00", [0, 1]),
}


def _ledger(slug: str, iban: str, amounts: list[str], payment_amount: str):
    creditor = make_creditor(slug, iban=iban)
    debtor = make_debtor(creditor, "D1", "Jansen")
    invoices = []
    for number, text in enumerate(amounts):
        currency, _, amount = text.rpartition(":")
        invoice = make_invoice(debtor, f"F-{number}", amount, due=dt.date(2026, 11, 1) + dt.timedelta(days=number))
        if currency:
            Invoice.objects.filter(pk=invoice.pk).update(currency=currency)
        invoices.append(invoice)
    payment = Payment.objects.create(
        creditor=creditor, source=PaymentSource.BANK, external_id="X1",
        booking_date=dt.date(2026, 12, 1), amount=Decimal(payment_amount),
    )
    return creditor, invoices, payment


def _plan(payment_id: int, invoice_ids: list[int], reason: str = "why") -> PlannedAllocation:
    return PlannedAllocation(payment_id, invoice_ids, reason, MatchRule.INVOICE_NUMBER, 90)


def _snapshot(creditor) -> dict:
    return {
        "allocations": sorted(
            Allocation.objects.filter(creditor=creditor).values_list("invoice__number", "amount", "part", "reason")
        ),
        "invoices": sorted(Invoice.objects.filter(creditor=creditor).values_list("number", "open_amount", "status")),
        "payment": list(Payment.objects.filter(creditor=creditor).values_list("status", "debtor__customer_number", "match_reason")),
        "timeline": sorted(
            (event.kind, event.summary, event.source, event.invoice.number if event.invoice else "",
             {key: value for key, value in event.data.items() if key != "payment_id"})
            for event in TimelineEvent.objects.filter(creditor=creditor).select_related("invoice")
        ),
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_bulk_equals_single(case: str):
    amounts, payment_amount, order = CASES[case]
    single_creditor, single_invoices, single_payment = _ledger("single", "NL91ABNA0417164300", amounts, payment_amount)
    bulk_creditor, bulk_invoices, bulk_payment = _ledger("bulk", "NL39RABO0300065264", amounts, payment_amount)

    do_allocate_payment(single_payment, [single_invoices[i] for i in order], source="test", reason="why")
    outcomes = allocate_in_bulk(
        bulk_creditor.pk, [_plan(bulk_payment.pk, [bulk_invoices[i].pk for i in order])], source="test"
    )

    assert _snapshot(single_creditor) == _snapshot(bulk_creditor)
    assert outcomes[bulk_payment.pk].allocated == sum(
        Allocation.objects.filter(payment=bulk_payment).values_list("amount", flat=True), Decimal("0")
    )
    bulk_payment.refresh_from_db()
    assert bulk_payment.match_rule == MatchRule.INVOICE_NUMBER
    assert bulk_payment.match_score == 90
    assert bulk_payment.match_decided_at is not None


@pytest.mark.parametrize(
    ("payment_amount", "parts"),
    [
        ("150.00", {"principal"}),
        ("170.00", {"principal", "costs"}),
        ("260.00", {"principal", "costs", "interest"}),
    ],
)
def test_bulk_equals_single_with_charges(payment_amount: str, parts: set[str]):
    from betaalreis.dunning.models import InvoiceStage
    from betaalreis.dunning.policies import seed_default_policies

    ledgers = []
    for slug, iban in (("single", "NL91ABNA0417164300"), ("bulk", "NL39RABO0300065264")):
        creditor, invoices, payment = _ledger(slug, iban, ["100.00", "50.00"], payment_amount)
        seed_default_policies(creditor)
        Invoice.objects.filter(pk__in=[invoice.pk for invoice in invoices]).update(due_date=dt.date(2026, 9, 1))
        invoices[0].debtor.__class__.objects.filter(pk=invoices[0].debtor_id).update(kind="business")
        for invoice in invoices:
            InvoiceStage.objects.create(invoice=invoice, stage="final_notice", stage_date=dt.date(2026, 10, 9))
        ledgers.append((creditor, invoices, payment))
    (single_creditor, single_invoices, single_payment), (bulk_creditor, bulk_invoices, bulk_payment) = ledgers

    do_allocate_payment(single_payment, single_invoices, source="test", reason="why")
    outcomes = allocate_in_bulk(
        bulk_creditor.pk, [_plan(bulk_payment.pk, [invoice.pk for invoice in bulk_invoices])],
        source="test",
    )

    snapshot = _snapshot(bulk_creditor)
    assert _snapshot(single_creditor) == snapshot
    assert {part for _, _, part, _ in snapshot["allocations"]} == parts
    assert outcomes[bulk_payment.pk].allocated == sum(
        Allocation.objects.filter(payment=bulk_payment).values_list("amount", flat=True), Decimal("0")
    )


def test_bulk_skips_payment_not_new():
    creditor, invoices, payment = _ledger("bulk", "NL39RABO0300065264", ["10.00"], "10.00")
    Payment.objects.filter(pk=payment.pk).update(status="review")

    outcomes = allocate_in_bulk(creditor.pk, [_plan(payment.pk, [invoices[0].pk])], source="test")

    assert outcomes == {}
    assert not Allocation.objects.exists()


def test_bulk_ignores_other_creditor_invoice():
    creditor, _, payment = _ledger("bulk", "NL39RABO0300065264", ["10.00"], "10.00")
    _, foreign, _ = _ledger("other", "NL91ABNA0417164300", ["10.00"], "10.00")

    outcomes = allocate_in_bulk(creditor.pk, [_plan(payment.pk, [foreign[0].pk])], source="test")

    assert outcomes[payment.pk].lines == []
    assert not Allocation.objects.exists()


def test_bulk_equals_single_with_quoted_reason():
    # The bulk path writes the event's JSON text itself, so the reason must be escaped as json.dumps does.
    reason = 'ref "F-0" \\ café\nnieuwe regel'
    single_creditor, single_invoices, single_payment = _ledger("single", "NL91ABNA0417164300", ["100.00"], "130.00")
    bulk_creditor, bulk_invoices, bulk_payment = _ledger("bulk", "NL39RABO0300065264", ["100.00"], "130.00")

    do_allocate_payment(single_payment, single_invoices, source="test", reason=reason)
    allocate_in_bulk(bulk_creditor.pk, [_plan(bulk_payment.pk, [bulk_invoices[0].pk], reason)], source="test")

    assert _snapshot(single_creditor) == _snapshot(bulk_creditor)
    event = TimelineEvent.objects.get(creditor=bulk_creditor, invoice__isnull=False)
    assert event.data["payment_id"] == bulk_payment.pk
    assert event.data["reason"] == reason


def test_bulk_equals_single_one_debtor_paying_thrice():
    # Three payments of one debtor on charged invoices and one of another
    # debtor, in one chunk: the bulk path books them in rounds, in order.
    from betaalreis.dunning.models import InvoiceStage
    from betaalreis.dunning.policies import seed_default_policies

    ledgers = []
    for slug, iban in (("single", "NL91ABNA0417164300"), ("bulk", "NL39RABO0300065264")):
        creditor = make_creditor(slug, iban=iban)
        seed_default_policies(creditor)
        debtors = [make_debtor(creditor, "D1", "Jansen"), make_debtor(creditor, "D2", "Pietersen")]
        invoices = [
            make_invoice(debtors[0], "F-0", "100.00", due=dt.date(2026, 9, 1)),
            make_invoice(debtors[0], "F-1", "50.00", due=dt.date(2026, 9, 1)),
            make_invoice(debtors[1], "F-2", "50.00", due=dt.date(2026, 9, 1)),
        ]
        debtors[0].__class__.objects.filter(creditor=creditor).update(kind="business")
        for invoice in invoices:
            InvoiceStage.objects.create(invoice=invoice, stage="final_notice", stage_date=dt.date(2026, 10, 9))
        payments = [
            Payment.objects.create(
                creditor=creditor, source=PaymentSource.BANK, external_id=f"X{index}",
                booking_date=dt.date(2026, 11, 1) + dt.timedelta(days=index * 10), amount=Decimal(amount),
            )
            for index, amount in enumerate(["40.00", "75.00", "60.00", "110.00"])
        ]
        plans = [(payments[0], [invoices[0]]), (payments[1], [invoices[0]]), (payments[2], [invoices[2]]),
                 (payments[3], [invoices[0], invoices[1]])]
        ledgers.append((creditor, plans))
    (single_creditor, single_plans), (bulk_creditor, bulk_plans) = ledgers

    for payment, invoices in single_plans:
        do_allocate_payment(payment, invoices, source="test", reason="why")
    allocate_in_bulk(
        bulk_creditor.pk,
        [_plan(payment.pk, [invoice.pk for invoice in invoices]) for payment, invoices in bulk_plans],
        source="test",
    )

    snapshot = _snapshot(bulk_creditor)
    assert _snapshot(single_creditor) == snapshot
    assert {part for _, _, part, _ in snapshot["allocations"]} == {"principal", "costs", "interest"}
