"""Two payments of one debtor in one statement book the same costs and interest as in two statements.

The bulk matcher allocates a whole chunk of payments at once. A payment
that closes a charged invoice pays its costs and interest as the claim
states them after the earlier payments, also those of the same chunk.
The costs of a consumer's 14-day letter are over the summed principal of
the invoices it named that were not paid within its term, however and in
whatever order they are paid. Each invoice closes with its share of them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from betaalreis.banking.importers import Camt05xImporter
from betaalreis.banking.samples import SampleEntry, write_camt053
from betaalreis.dunning.models import InvoiceStage, Stage
from betaalreis.dunning.policies import seed_default_policies
from betaalreis.ledger.actions import do_allocate_payment, do_apply_credit_note
from betaalreis.ledger.models import Allocation, Debtor, Invoice, Payment, PaymentSource, TimelineEvent
from betaalreis.legal.ledger_claims import claim_for_debtor
from betaalreis.legal.references import make_betalingskenmerk
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus
from betaalreis.outbox.render import claim_for_message, load_batch_claim_data
from betaalreis.portal.services import amount_to_charge, load_accounts
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DUE = dt.date(2026, 9, 1)
LETTER_DAY = dt.date(2026, 9, 21)
# The letter's term (with receipt days) has ended by then, so costs are owed.
PAY_DAY = dt.date(2026, 11, 20)
TERM_END = dt.date(2026, 10, 9)
PAYER_IBAN = "NL02ABNA0123456789"
IBANS = {"together": "NL91ABNA0417164300", "apart": "NL39RABO0300065264"}


def _ledger(slug: str, amounts: list[str]) -> tuple[Debtor, list[Invoice]]:
    """Return a consumer debtor with an invoice per amount, all named by one sent 14-day letter."""
    creditor = make_creditor(slug, iban=IBANS[slug])
    seed_default_policies(creditor)
    debtor = make_debtor(creditor, name="J. de Vries")
    invoices = [
        make_invoice(
            debtor, amount, due=DUE, number=f"F-{index + 1}", payment_reference=make_betalingskenmerk(2026100 + index)
        )
        for index, amount in enumerate(amounts)
    ]
    letter = Communication.objects.create(
        creditor=creditor, debtor=debtor, channel="letter", stage="fourteen_day_letter", language="nl",
        idempotency_key=f"letter-{slug}", status=CommunicationStatus.SENT, run_date=LETTER_DAY,
        sent_at=dt.datetime.combine(LETTER_DAY, dt.time(10), tzinfo=AMSTERDAM),
        total_amount=sum((invoice.open_amount for invoice in invoices), Decimal("0.00")),
    )
    for invoice in invoices:
        CommunicationInvoice.objects.create(communication=letter, invoice=invoice, open_amount=invoice.open_amount)
        InvoiceStage.objects.create(invoice=invoice, stage="fourteen_day_letter", stage_date=LETTER_DAY)
    return debtor, invoices


def _entry(invoice: Invoice, amount: Decimal, key: str, booked: dt.date = PAY_DAY) -> SampleEntry:
    return SampleEntry(
        amount, name="J. de Vries", iban=PAYER_IBAN, structured_reference=invoice.payment_reference,
        reference=key, end_to_end_id=key, booking_date=booked,
    )


def _import(tmp_path: Path, slug: str, statements: list[list[SampleEntry]]) -> None:
    for number, entries in enumerate(statements, start=1):
        day = max(entry.booking_date for entry in entries)
        path = write_camt053(
            tmp_path / f"{slug}-{number}.xml", IBANS[slug], entries, statement_id=f"{slug}-{number}", day=day
        )
        Camt05xImporter().run(path, None)


def _booked(debtor: Debtor) -> dict:
    """Return the payments' bookings and the ledger state after them, comparable across creditors."""
    return {
        "allocations": sorted(
            (external_id.split(":")[1], *rest)
            for external_id, *rest in Allocation.objects.filter(creditor=debtor.creditor, payment__isnull=False)
            .values_list("payment__external_id", "invoice__number", "part", "amount")
        ),
        "invoices": sorted(Invoice.objects.filter(debtor=debtor).values_list("number", "open_amount", "status")),
        "payments": sorted(
            (external_id.split(":")[1], status)
            for external_id, status in Payment.objects.filter(creditor=debtor.creditor).values_list("external_id", "status")
        ),
        "events": sorted(
            (event.invoice.number if event.invoice else "", event.summary,
             {key: value for key, value in event.data.items() if key != "payment_id"})
            for event in TimelineEvent.objects.filter(debtor=debtor, kind__in=("payment", "invoice_changed"))
            .select_related("invoice")
        ),
    }


def _parts(debtor: Debtor) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for part, amount in Allocation.objects.filter(creditor=debtor.creditor, payment__isnull=False).values_list(
        "part", "amount"
    ):
        totals[part] = totals.get(part, Decimal("0.00")) + amount
    return totals


def _credit(debtor: Debtor) -> Decimal:
    return sum(
        (Decimal(event.data["credit"]) for event in TimelineEvent.objects.filter(debtor=debtor, data__has_key="credit")),
        Decimal("0.00"),
    )


def _waived(debtor: Debtor) -> list[dict]:
    return sorted(
        (event.data for event in TimelineEvent.objects.filter(debtor=debtor, data__reason="charges_waived")),
        key=str,
    )


def test_invoices_paid_with_charges_together(tmp_path):
    ledgers = {slug: _ledger(slug, ["300.00", "200.00"]) for slug in IBANS}
    debtor, (first, second) = ledgers["apart"]
    stated = claim_for_debtor(debtor, LETTER_DAY)
    claim = claim_for_debtor(debtor, PAY_DAY, fourteen_day_term_end=TERM_END)
    interest = {item.invoice_number: item.interest for item in claim.items}
    # The letter charged the costs on the principal of both invoices together.
    assert stated.costs.if_unpaid == claim.costs.total == Decimal("75.00")
    # Each invoice is paid with its interest and its share of the costs: 300 : 200 of EUR 75.
    amounts = [Decimal("345.00") + interest["F-1"], Decimal("230.00") + interest["F-2"]]
    assert sum(amounts) == claim.total_outstanding

    for slug, (_, invoices) in ledgers.items():
        entries = [_entry(invoice, amount, f"P{index}") for index, (invoice, amount) in enumerate(zip(invoices, amounts, strict=True))]
        _import(tmp_path, slug, [entries] if slug == "together" else [[entry] for entry in entries])

    together, apart = ledgers["together"][0], ledgers["apart"][0]
    booked = _parts(apart)
    assert booked["principal"] == Decimal("500.00")
    assert booked["interest"] == claim.interest_outstanding
    assert booked["costs"] == stated.costs.if_unpaid
    assert _credit(apart) == Decimal("0.00")
    assert _waived(apart) == []
    assert _booked(together) == _booked(apart)


def test_principal_only_payments_waive_alike(tmp_path):
    ledgers = {slug: _ledger(slug, ["300.00", "200.00"]) for slug in IBANS}
    for slug, (_, invoices) in ledgers.items():
        entries = [_entry(invoice, invoice.total, f"P{index}") for index, invoice in enumerate(invoices)]
        _import(tmp_path, slug, [entries] if slug == "together" else [[entry] for entry in entries])

    together, apart = ledgers["together"][0], ledgers["apart"][0]
    waived = _waived(apart)
    # Each closing waives what its payment left: the invoice's share of the costs and its interest.
    assert [(item["costs"], item["interest"] != "0.00") for item in waived] == [("30.00", True), ("45.00", True)]
    assert _parts(apart) == {"principal": Decimal("500.00")}
    assert _booked(together) == _booked(apart)


def test_invoice_paid_in_two_parts_together(tmp_path):
    ledgers = {slug: _ledger(slug, ["300.00"]) for slug in IBANS}
    debtor, (invoice,) = ledgers["apart"]
    first_day = PAY_DAY - dt.timedelta(days=10)
    claim = claim_for_debtor(debtor, PAY_DAY, fourteen_day_term_end=TERM_END)
    # The rest of the claim after a first part of 100.00; paid later, so
    # interest ran on less principal than the claim of PAY_DAY assumes.
    rest = claim.total_outstanding - Decimal("100.00")

    for slug, (_, (slug_invoice,)) in ledgers.items():
        entries = [
            _entry(slug_invoice, Decimal("100.00"), "P0", first_day),
            _entry(slug_invoice, rest, "P1"),
        ]
        _import(tmp_path, slug, [entries] if slug == "together" else [[entry] for entry in entries])

    together, apart = ledgers["together"][0], ledgers["apart"][0]
    booked = _parts(apart)
    assert booked["principal"] == Decimal("300.00")
    assert booked["costs"] == claim.costs.total
    # Less interest than on the full principal, and the difference is a credit.
    assert booked["interest"] < claim.interest_outstanding
    assert _credit(apart) == claim.interest_outstanding - booked["interest"]
    assert _waived(apart) == []
    assert _booked(together) == _booked(apart)


def test_costs_closed_apart_match_letter(tmp_path):
    debtor, (first, second) = _ledger("apart", ["300.00", "200.00"])
    stated = claim_for_debtor(debtor, LETTER_DAY)
    claim = claim_for_debtor(debtor, PAY_DAY, fourteen_day_term_end=TERM_END)
    interest = {item.invoice_number: item.interest for item in claim.items}
    # The first payment pays F-1 with its interest and its share of EUR 45, the second the rest of the claim.
    first_amount = Decimal("345.00") + interest["F-1"]
    amounts = [first_amount, claim.total_outstanding - first_amount]

    _import(tmp_path, "apart", [[_entry(invoice, amount, f"P{index}")] for index, (invoice, amount) in enumerate(zip((first, second), amounts, strict=True))])

    booked = _parts(debtor)
    # The shares booked add up to the costs over both principals, as the letter stated them.
    assert booked["costs"] == stated.costs.if_unpaid == Decimal("75.00")
    assert booked["principal"] == Decimal("500.00")
    assert _credit(debtor) == Decimal("0.00")
    assert _waived(debtor) == []


# The letter's term ends on 2026-10-07, so these days are inside and after it.
IN_TERM = dt.date(2026, 10, 1)
AFTER_TERM = PAY_DAY - dt.timedelta(days=5)


def _portal_amount(debtor: Debtor, invoice: Invoice, day: dt.date) -> Decimal:
    """Return what the portal requests on `day` to pay `invoice` alone, with its share of the costs."""
    (account,) = load_accounts([debtor.pk], day)
    return amount_to_charge(account, {invoice.pk})


@pytest.mark.parametrize(
    ("payments", "credited", "costs"),
    [
        # Both paid within the term: no costs.
        pytest.param([(0, None, IN_TERM), (1, None, IN_TERM)], False, "0.00", id="paid-in-term"),
        # F-1 paid within the term: costs over the 200.00 of F-2 only.
        pytest.param([(0, None, IN_TERM), (1, None, PAY_DAY)], False, "40.00", id="one-in-term"),
        # 100.00 of F-1 within the term (less the interest it pays first): costs over the rest.
        pytest.param([(0, "100.00", IN_TERM), (0, None, AFTER_TERM), (1, None, PAY_DAY)], False, "60.15", id="part-in-term"),
        pytest.param([(0, None, AFTER_TERM), (1, None, PAY_DAY)], False, "75.00", id="apart-first-then-second"),
        pytest.param([(1, None, AFTER_TERM), (0, None, PAY_DAY)], False, "75.00", id="apart-second-then-first"),
        pytest.param([(1, None, PAY_DAY), (0, None, PAY_DAY)], False, "75.00", id="apart-same-day"),
        # A credit note takes F-1 out after the term. It was never owed, so only F-2 counts.
        pytest.param([(1, None, PAY_DAY)], True, "40.00", id="one-credited"),
    ],
)
def test_letter_costs_over_payments(tmp_path, payments, credited, costs):
    debtor, invoices = _ledger("apart", ["300.00", "200.00"])
    stated = claim_for_debtor(debtor, LETTER_DAY).costs.if_unpaid
    if credited:
        credit_note = make_invoice(debtor, "-300.00", due=DUE, number="C-1")
        do_apply_credit_note(credit_note, invoices[0], source="test")

    # The costs the portal states after the term plus those booked before, per payment.
    portal_costs = []
    for index, (position, amount, day) in enumerate(payments):
        invoice = Invoice.objects.get(pk=invoices[position].pk)
        if day > TERM_END:
            (account,) = load_accounts([debtor.pk], day)
            portal_costs.append(account.costs + _parts(debtor).get("costs", Decimal("0.00")))
        paid = Decimal(amount) if amount else _portal_amount(debtor, invoice, day)
        _import(tmp_path, "apart", [[_entry(invoice, paid, f"P{index}", day)]])

    booked = _parts(debtor)
    assert booked.get("costs", Decimal("0.00")) == Decimal(costs)
    # The portal stated the same costs after the term, before and between the payments.
    assert portal_costs == [Decimal(costs)] * len(portal_costs)
    # Never more than the letter announced, and paying what the portal requested leaves nothing over or unpaid.
    assert Decimal(costs) <= stated
    assert _credit(debtor) == Decimal("0.00")
    # Only a credit note waives something: the interest of the invoice it closed.
    assert [item["costs"] for item in _waived(debtor)] == (["0.00"] if credited else [])
    assert set(Invoice.objects.filter(debtor=debtor, kind="invoice").values_list("status", flat=True)) <= {"paid", "credited"}


def test_single_and_bulk_paths_book_letter_costs_alike(tmp_path):
    ledgers = {slug: _ledger(slug, ["300.00", "200.00"]) for slug in IBANS}
    for slug, (debtor, invoices) in ledgers.items():
        for index, (invoice, day) in enumerate(zip(invoices, (AFTER_TERM, PAY_DAY), strict=True)):
            amount = _portal_amount(debtor, invoice, day)
            if slug == "apart":
                _import(tmp_path, slug, [[_entry(invoice, amount, f"P{index}", day)]])
                continue
            payment = Payment.objects.create(
                creditor=debtor.creditor, debtor=debtor, source=PaymentSource.BANK,
                external_id=f"single-{index}", booking_date=day, amount=amount,
            )
            do_allocate_payment(payment, [invoice], source="test", reason="invoice number in remittance")

    assert _parts(ledgers["apart"][0]) == _parts(ledgers["together"][0])
    assert _parts(ledgers["apart"][0])["costs"] == Decimal("75.00")


def test_notice_after_first_closed_states_letter_costs(tmp_path):
    debtor, (first, second) = _ledger("apart", ["300.00", "200.00"])
    _import(tmp_path, "apart", [[_entry(first, _portal_amount(debtor, first, AFTER_TERM), "P0", AFTER_TERM)]])

    notice = Communication.objects.create(
        creditor=debtor.creditor, debtor=debtor, channel="email", stage="final_notice", language="nl",
        idempotency_key="notice", status=CommunicationStatus.PENDING, run_date=PAY_DAY, total_amount=Decimal("200.00"),
    )
    item = CommunicationInvoice.objects.create(communication=notice, invoice=second, open_amount=Decimal("200.00"))
    stage = Stage.objects.get(policy__creditor=debtor.creditor, policy__debtor_kind="consumer", code="final_notice")
    alone = claim_for_message(notice, [item], stage, PAY_DAY)
    batch = claim_for_message(
        notice, [item], stage, PAY_DAY, batch_data=load_batch_claim_data([(notice, [item], stage)], PAY_DAY)
    )
    (account,) = load_accounts([debtor.pk], PAY_DAY)

    # The notice for the invoice left states its share of the letter's costs over both principals, as the portal does.
    assert _parts(debtor)["costs"] == Decimal("45.00")
    assert alone.costs == batch.costs == account.costs == Decimal("30.00")
    assert alone.total == batch.total == amount_to_charge(account, {second.pk})
