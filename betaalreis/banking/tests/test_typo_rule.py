"""The one-wrong-digit rule: the amount confirms an invoice only when nothing points elsewhere, else review."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from betaalreis.banking.models import MatchCandidate
from betaalreis.banking.reason_text import reason_in_dutch
from betaalreis.banking.samples import SampleEntry
from betaalreis.banking.typo_numbers import one_digit_variants
from betaalreis.ledger.models import DebtorBankAccount, Invoice, InvoiceStatus, Payment, PaymentStatus

from .helpers import PAYER_IBAN, import_entries, make_invoice
from .test_matching import ledger  # noqa: F401 - ledger is a fixture
from .test_reason_text import ENGLISH

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english_reports")]

# The ledger fixture has Jansen's A 2026-10042 (121.00) and B 2026-10043
# (50.00), and Pietersen's C F-77310 (80.00) and D F-77311 (19.95). "77810" is
# one digit away from C only, "77319" from C and D.


@dataclass(frozen=True)
class Case:
    """One payment, what exists before it, and how it must end.

    `iban_of` links the payer IBAN to that debtor ("jansen" or "pietersen").
    `candidates` are the review candidates as (invoice numbers, score), and
    `open_after` the open amounts of the invoices that the case checks. An
    amount that confirms no invoice leaves the typo rule out, so `rule` is
    "none" then.
    """

    entry: SampleEntry
    status: str
    candidates: list[tuple[tuple[str, ...], int]] = field(default_factory=list)
    open_after: dict[str, str] = field(default_factory=dict)
    iban_of: str = ""
    c_open: str = ""
    extra_invoices: tuple[tuple[str, str, str], ...] = ()
    rule: str = "invoice_number_typo"


CASES = {
    "amount confirms the only near invoice": Case(
        SampleEntry(Decimal("80.00"), remittance="factuur 77810"), PaymentStatus.MATCHED, open_after={"C": "0.00"},
    ),
    "partial payment": Case(
        SampleEntry(Decimal("40.00"), remittance="factuur 77810"), PaymentStatus.REVIEW, [], {"C": "80.00"}, rule="none",
    ),
    "overpayment": Case(
        SampleEntry(Decimal("100.00"), remittance="factuur 77810"), PaymentStatus.REVIEW, [], {"C": "80.00"}, rule="none",
    ),
    "rest of a partly paid invoice": Case(
        SampleEntry(Decimal("30.00"), remittance="factuur 77810"), PaymentStatus.MATCHED, open_after={"C": "0.00"},
        c_open="30.00",
    ),
    "invoice total after a part was paid": Case(
        SampleEntry(Decimal("80.00"), remittance="factuur 77810"), PaymentStatus.REVIEW,
        [], {"C": "30.00"}, c_open="30.00", rule="none",
    ),
    "two near invoices, amount fits one": Case(
        SampleEntry(Decimal("80.00"), remittance="factuur 77319"), PaymentStatus.REVIEW,
        [(("F-77310",), 70), (("F-77311",), 30)], {"C": "80.00", "D": "19.95"},
    ),
    "two near invoices of the same amount": Case(
        SampleEntry(Decimal("80.00"), remittance="factuur 77319"), PaymentStatus.REVIEW,
        [(("F-77310",), 70), (("F-77312",), 70), (("F-77311",), 30)], {"C": "80.00"},
        extra_invoices=(("pietersen", "F-77312", "80.00"),),
    ),
    "two near invoices, amount fits none": Case(
        SampleEntry(Decimal("99.95"), remittance="factuur 77319"), PaymentStatus.REVIEW,
        [], {"C": "80.00", "D": "19.95"}, rule="none",
    ),
    "payer IBAN of another debtor": Case(
        SampleEntry(Decimal("80.00"), iban=PAYER_IBAN, remittance="factuur 77810"), PaymentStatus.REVIEW,
        [(("F-77310",), 70), ((), 40)], {"C": "80.00"}, iban_of="jansen",
    ),
    "payer IBAN of another debtor, amount fits its invoice": Case(
        SampleEntry(Decimal("50.00"), iban=PAYER_IBAN, remittance="factuur 77810"), PaymentStatus.REVIEW,
        [(("F-77310",), 70), (("2026-10043",), 60)], {"B": "50.00", "C": "50.00"}, iban_of="jansen", c_open="50.00",
    ),
    "payer IBAN of the same debtor": Case(
        SampleEntry(Decimal("80.00"), iban=PAYER_IBAN, remittance="factuur 77810"), PaymentStatus.MATCHED,
        open_after={"C": "0.00"}, iban_of="pietersen",
    ),
    "payer IBAN of the same debtor, two near invoices": Case(
        SampleEntry(Decimal("80.00"), iban=PAYER_IBAN, remittance="factuur 77319"), PaymentStatus.REVIEW,
        [(("F-77310",), 70), (("F-77311",), 30)], {"C": "80.00"}, iban_of="pietersen",
    ),
    "payer IBAN not linked": Case(
        SampleEntry(Decimal("80.00"), iban=PAYER_IBAN, remittance="factuur 77810"), PaymentStatus.MATCHED,
        open_after={"C": "0.00"},
    ),
    "number of a paid invoice": Case(
        SampleEntry(Decimal("80.00"), remittance="factuur 77810"), PaymentStatus.REVIEW,
        [(("F-77310",), 70)], {"C": "80.00"}, extra_invoices=(("pietersen", "F-77810", "paid"),),
    ),
}


def _set_up(ledger_rows, case: Case) -> dict[str, Invoice]:
    creditor, jansen, pietersen, invoices = ledger_rows
    debtors = {"jansen": jansen, "pietersen": pietersen}
    if case.iban_of:
        DebtorBankAccount.objects.create(creditor=creditor, debtor=debtors[case.iban_of], iban=PAYER_IBAN)
    if case.c_open:
        Invoice.objects.filter(pk=invoices["C"].pk).update(open_amount=Decimal(case.c_open))
    for debtor_key, number, amount in case.extra_invoices:
        if amount == "paid":
            invoice = make_invoice(debtors[debtor_key], number, "80.00", status=InvoiceStatus.PAID)
            Invoice.objects.filter(pk=invoice.pk).update(open_amount=Decimal("0.00"))
        else:
            make_invoice(debtors[debtor_key], number, amount)
    return invoices


def _candidates(payment: Payment) -> list[tuple[tuple[str, ...], int]]:
    found = [
        (tuple(sorted(candidate.invoices.values_list("number", flat=True))), candidate.score)
        for candidate in MatchCandidate.objects.filter(payment=payment)
    ]
    return sorted(found, key=lambda item: (-item[1], item[0]))


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_typo_rule(tmp_path: Path, ledger, case: Case):
    invoices = _set_up(ledger, case)

    import_entries(tmp_path, [case.entry])

    payment = Payment.objects.get()
    assert payment.status == case.status
    assert payment.match_rule == case.rule
    assert _candidates(payment) == sorted(case.candidates, key=lambda item: (-item[1], item[0]))
    for key, amount in case.open_after.items():
        invoices[key].refresh_from_db()
        assert invoices[key].open_amount == Decimal(amount), key


def test_typo_review_reasons(tmp_path: Path, ledger):
    _set_up(ledger, CASES["payer IBAN of another debtor"])
    make_invoice(ledger[2], "F-77810", "1.00", status=InvoiceStatus.PAID)

    import_entries(tmp_path, [SampleEntry(Decimal("80.00"), iban=PAYER_IBAN, remittance="factuur 77319 en 77810")])

    reason = Payment.objects.get().match_reason
    assert reason.startswith("invoice number with one wrong digit, amount equal to F-77310; ")
    assert "; also one digit away from F-77311" in reason
    assert "; the description names invoice F-77810, which is not open" in reason
    assert reason.endswith("; the payer IBAN is linked to another debtor")


def test_typo_reasons_in_dutch():
    reasons = [
        "invoice number with one wrong digit, amount equal to F-77310, F-77312; "
        "more than one invoice of this amount is one digit away; also one digit away from F-77311; "
        "the description names invoice F-77810, which is not open; the payer IBAN is linked to another debtor",
    ]
    for reason in reasons:
        dutch = reason_in_dutch(reason)
        assert not ENGLISH.search(dutch), dutch


def test_one_digit_variants():
    variants = one_digit_variants("120")

    assert len(variants) == 27
    assert len(set(variants)) == 27
    assert "020" in variants
    assert "129" in variants
    assert "120" not in variants
