"""Linking a payer IBAN to a debtor after a payment names the debtor by reference or invoice number."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from betaalreis.banking.iban_learning import ACCOUNT_SOURCE
from betaalreis.banking.models import MatchCandidate
from betaalreis.banking.review import debtor_ids_with_payment_in_review
from betaalreis.banking.samples import SampleEntry
from betaalreis.ledger.models import DebtorBankAccount, Invoice, Payment, PaymentStatus, TimelineEvent
from betaalreis.legal.references import make_betalingskenmerk

from .helpers import OTHER_PAYER_IBAN, PAYER_IBAN, import_entries, make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

KENMERK = make_betalingskenmerk(20260104)
INVALID_IBAN = "NL00ABNA0123456789"


@pytest.fixture
def fatma():
    creditor = make_creditor()
    debtor = make_debtor(creditor, "D104", "Fatma Yilmaz")
    invoice = make_invoice(debtor, "F2026-0104", "300.00", reference=KENMERK)
    other = make_debtor(creditor, "D200", "Boekhoudkantoor Smit")
    make_invoice(other, "F2026-0200", "75.00")
    return creditor, debtor, invoice, other


def _payment(reference: str) -> Payment:
    return Payment.objects.get(bank_transaction__bank_reference=reference)


def _learned(debtor) -> list[str]:
    return list(DebtorBankAccount.objects.filter(debtor=debtor, source=ACCOUNT_SOURCE).values_list("iban", flat=True))


def _link_events(debtor) -> list[TimelineEvent]:
    return [event for event in TimelineEvent.objects.filter(debtor=debtor) if event.data.get("iban_linked")]


def _open(invoice: Invoice) -> Decimal:
    invoice.refresh_from_db()
    return invoice.open_amount


def test_partial_payment_links_payer_iban(tmp_path: Path, fatma):
    creditor, debtor, invoice, _ = fatma

    import_entries(tmp_path, [SampleEntry(Decimal("100.00"), iban=PAYER_IBAN, structured_reference=KENMERK, reference="P1")])

    assert _payment("P1").status == PaymentStatus.PARTLY_MATCHED
    assert _learned(debtor) == [PAYER_IBAN]
    events = _link_events(debtor)
    assert len(events) == 1
    assert events[0].summary.startswith("Rekening NL02 ABNA 0123 4567 89 onthouden")
    assert events[0].data["payment_id"] == _payment("P1").pk


def test_garbled_number_matches_by_learned_iban(tmp_path: Path, fatma):
    _, debtor, invoice, _ = fatma
    import_entries(tmp_path, [SampleEntry(Decimal("100.00"), iban=PAYER_IBAN, structured_reference=KENMERK, reference="P1")], name="first.xml")

    # Q for 0 names no invoice. The letter O for 0 would, through the invoice number rule.
    import_entries(tmp_path, [SampleEntry(Decimal("200.00"), iban=PAYER_IBAN, remittance="F2026-Q104", reference="P2")], name="second.xml")

    second = _payment("P2")
    assert second.status == PaymentStatus.MATCHED
    assert Payment.objects.get(pk=second.pk).match_rule == "payer_iban"
    assert _open(invoice) == Decimal("0.00")
    assert len(_link_events(debtor)) == 1


def test_garbled_number_lists_debtor_as_candidate(tmp_path: Path, fatma):
    creditor, debtor, _, _ = fatma
    import_entries(tmp_path, [SampleEntry(Decimal("100.00"), iban=PAYER_IBAN, structured_reference=KENMERK, reference="P1")], name="first.xml")

    # 150.00 is not the 200.00 still open, so a person decides, with Fatma as candidate.
    import_entries(tmp_path, [SampleEntry(Decimal("150.00"), iban=PAYER_IBAN, remittance="F2026-O104", reference="P2")], name="second.xml")

    second = _payment("P2")
    assert second.status == PaymentStatus.REVIEW
    candidates = list(MatchCandidate.objects.filter(payment=second).values_list("debtor_id", "rule"))
    assert candidates == [(debtor.pk, "payer_iban")]
    # A candidate's reminders wait for the review.
    assert debtor.pk in debtor_ids_with_payment_in_review(creditor.pk)


def test_same_file_second_payment_matches(tmp_path: Path, fatma):
    _, debtor, invoice, _ = fatma

    import_entries(tmp_path, [
        SampleEntry(Decimal("100.00"), iban=PAYER_IBAN, structured_reference=KENMERK, reference="P1"),
        SampleEntry(Decimal("200.00"), iban=PAYER_IBAN, remittance="F2026-Q104", reference="P2"),
    ])

    assert _payment("P1").status == PaymentStatus.PARTLY_MATCHED
    second = _payment("P2")
    assert second.status == PaymentStatus.MATCHED
    assert Payment.objects.get(pk=second.pk).match_rule == "payer_iban"
    assert second.debtor_id == debtor.pk
    assert _open(invoice) == Decimal("0.00")


def test_invoice_number_links_payer_iban(tmp_path: Path, fatma):
    _, debtor, _, _ = fatma

    import_entries(tmp_path, [SampleEntry(Decimal("300.00"), iban=PAYER_IBAN, remittance="factuur F2026-0104", reference="P1")])

    assert Payment.objects.get(pk=_payment("P1").pk).match_rule == "invoice_number"
    assert _learned(debtor) == [PAYER_IBAN]


# Payments that weaker rules match: each must leave the payer IBAN unlinked.
WEAK_CASES = [
    ("typo", SampleEntry(Decimal("300.00"), iban=OTHER_PAYER_IBAN, remittance="factuur F2026-0109"), "invoice_number_typo"),
    ("payer name", SampleEntry(Decimal("300.00"), iban=OTHER_PAYER_IBAN, name="FATMA YILMAZ", remittance="betaling"), "payer_name"),
]


@pytest.mark.parametrize("label,entry,rule", WEAK_CASES, ids=[case[0] for case in WEAK_CASES])
def test_weak_rule_links_nothing(tmp_path: Path, fatma, label, entry, rule):
    _, debtor, invoice, _ = fatma

    import_entries(tmp_path, [entry])

    payment = Payment.objects.get()
    assert Payment.objects.get(pk=payment.pk).match_rule == rule
    assert _open(invoice) == Decimal("0.00")
    assert _learned(debtor) == []
    assert _link_events(debtor) == []


def test_known_iban_teaches_nothing_new(tmp_path: Path, fatma):
    creditor, debtor, _, _ = fatma
    DebtorBankAccount.objects.create(creditor=creditor, debtor=debtor, iban=PAYER_IBAN)

    import_entries(tmp_path, [SampleEntry(Decimal("100.00"), iban=PAYER_IBAN, structured_reference=KENMERK, reference="P1")])

    assert DebtorBankAccount.objects.filter(debtor=debtor).count() == 1
    assert _learned(debtor) == []
    assert _link_events(debtor) == []


def test_iban_of_other_debtor_not_linked(tmp_path: Path, fatma):
    creditor, debtor, invoice, other = fatma
    DebtorBankAccount.objects.create(creditor=creditor, debtor=other, iban=PAYER_IBAN)

    import_entries(tmp_path, [SampleEntry(Decimal("100.00"), iban=PAYER_IBAN, structured_reference=KENMERK, reference="P1")])

    assert _open(invoice) == Decimal("200.00")
    assert _learned(debtor) == []
    assert list(DebtorBankAccount.objects.filter(iban=PAYER_IBAN).values_list("debtor_id", flat=True)) == [other.pk]
    assert _link_events(debtor) == []


def test_iban_paying_two_debtors_not_linked(tmp_path: Path, fatma):
    _, debtor, _, other = fatma

    import_entries(tmp_path, [
        SampleEntry(Decimal("100.00"), iban=PAYER_IBAN, structured_reference=KENMERK, reference="P1"),
        SampleEntry(Decimal("75.00"), iban=PAYER_IBAN, remittance="F2026-0200", reference="P2"),
    ])

    assert _payment("P1").status == PaymentStatus.PARTLY_MATCHED
    assert _payment("P2").status == PaymentStatus.MATCHED
    assert not DebtorBankAccount.objects.filter(iban=PAYER_IBAN).exists()
    assert _link_events(debtor) == []
    assert _link_events(other) == []


def test_invalid_iban_not_linked(tmp_path: Path, fatma):
    _, debtor, invoice, _ = fatma

    import_entries(tmp_path, [SampleEntry(Decimal("100.00"), iban=INVALID_IBAN, structured_reference=KENMERK, reference="P1")])

    assert _open(invoice) == Decimal("200.00")
    assert _learned(debtor) == []
