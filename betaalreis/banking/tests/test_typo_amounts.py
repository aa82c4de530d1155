"""Typo and O-for-zero numbers confirmed by the amount of a set, or by the total a sent message requested."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from betaalreis.banking.credit import apply_credit
from betaalreis.banking.reason_text import reason_in_dutch
from betaalreis.banking.samples import SampleEntry
from betaalreis.ledger.actions import unallocated_amount
from betaalreis.ledger.credit import debtor_credit
from betaalreis.ledger.models import Invoice, Payment, PaymentStatus, TimelineEvent
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus

from .helpers import import_entries, make_invoice
from .test_matching import ledger  # noqa: F401 - ledger is a fixture
from .test_reason_text import ENGLISH

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english_reports")]


def _sent_message(invoices: list[Invoice], total: str, *, status: str = CommunicationStatus.SENT) -> Communication:
    """Store a message that requested `total` for `invoices`, as dispatch records a sent one."""
    first = invoices[0]
    communication = Communication.objects.create(
        creditor=first.creditor, debtor=first.debtor, channel="email", stage="veertiendagenbrief", language="nl",
        idempotency_key=f"test-{total}-{'-'.join(invoice.number for invoice in invoices)}",
        status=status, run_date=dt.date(2026, 11, 5), total_amount=Decimal(total),
    )
    for invoice in invoices:
        CommunicationInvoice.objects.create(communication=communication, invoice=invoice, open_amount=invoice.open_amount)
    return communication


def _open(invoice: Invoice) -> Decimal:
    invoice.refresh_from_db()
    return invoice.open_amount


# Each case: the messages sent before (invoice keys, total), the payment, and
# the open amounts of A (121.00) and B (50.00) after matching, with the
# payment's status and rule.
CASES = [
    ("typo beside whole number, open amounts", [], SampleEntry(Decimal("171.00"), remittance="factuur 2026-10082 en 2026-10043"),
     ("0.00", "0.00"), PaymentStatus.MATCHED, "invoice_number_typo"),
    ("typo beside whole number, letter total", [(["A", "B"], "174.35")],
     SampleEntry(Decimal("174.35"), remittance="factuur 2026-10082 en 2026-10043"),
     ("0.00", "0.00"), PaymentStatus.MATCHED, "invoice_number_typo"),
    ("typo beside whole number, amount confirms nothing", [],
     SampleEntry(Decimal("150.00"), remittance="factuur 2026-10082 en 2026-10043"),
     ("121.00", "0.00"), PaymentStatus.MATCHED, "invoice_number"),
    ("typo beside whole number, letter of another set", [(["A"], "130.00")],
     SampleEntry(Decimal("130.00"), remittance="factuur 2026-10082 en 2026-10043"),
     ("121.00", "0.00"), PaymentStatus.MATCHED, "invoice_number"),
    ("letter O, letter total", [(["A"], "123.45")], SampleEntry(Decimal("123.45"), remittance="Factuur 2O26-1OO42"),
     ("0.00", "50.00"), PaymentStatus.MATCHED, "invoice_number_typo"),
    ("letter O, total of both", [(["A", "B"], "174.35")],
     SampleEntry(Decimal("174.35"), remittance="2O26-1OO42 en 2O26-1OO43"),
     ("0.00", "0.00"), PaymentStatus.MATCHED, "invoice_number_typo"),
    ("letter O, letter named more invoices", [(["A", "B"], "174.35")],
     SampleEntry(Decimal("174.35"), remittance="Factuur 2O26-1OO42"),
     ("121.00", "50.00"), PaymentStatus.REVIEW, "invoice_number_typo"),
    ("letter O, message not sent", [(["A"], "123.45", CommunicationStatus.FAILED)],
     SampleEntry(Decimal("123.45"), remittance="Factuur 2O26-1OO42"),
     ("121.00", "50.00"), PaymentStatus.REVIEW, "invoice_number_typo"),
    ("lone typo, letter total", [(["A"], "123.45")], SampleEntry(Decimal("123.45"), remittance="factuur 2026-10092"),
     ("0.00", "50.00"), PaymentStatus.MATCHED, "invoice_number_typo"),
    ("lone typo, letter named more invoices", [(["A", "B"], "123.45")],
     SampleEntry(Decimal("123.45"), remittance="factuur 2026-10092"),
     ("121.00", "50.00"), PaymentStatus.REVIEW, "none"),
    ("lone typo, message not sent", [(["A"], "123.45", CommunicationStatus.FAILED)],
     SampleEntry(Decimal("123.45"), remittance="factuur 2026-10092"),
     ("121.00", "50.00"), PaymentStatus.REVIEW, "none"),
    ("lone typo, letter total of another invoice", [(["B"], "123.45")],
     SampleEntry(Decimal("123.45"), remittance="factuur 2026-10092"),
     ("121.00", "50.00"), PaymentStatus.REVIEW, "none"),
    ("lone typo, two digits off", [(["A"], "123.45")], SampleEntry(Decimal("123.45"), remittance="factuur 2026-10099"),
     ("121.00", "50.00"), PaymentStatus.REVIEW, "none"),
]


@pytest.mark.parametrize("label,messages,entry,open_after,status,rule", CASES, ids=[case[0] for case in CASES])
def test_amount_confirms_typo(tmp_path: Path, ledger, label, messages, entry, open_after, status, rule):
    _, _, _, invoices = ledger
    for keys, total, *message_status in messages:
        _sent_message([invoices[key] for key in keys], total, status=message_status[0] if message_status else CommunicationStatus.SENT)

    import_entries(tmp_path, [entry])

    payment = Payment.objects.get()
    assert payment.status == status
    assert payment.match_rule == rule
    assert _open(invoices["A"]) == Decimal(open_after[0])
    assert _open(invoices["B"]) == Decimal(open_after[1])


def test_typo_beside_number_reason(tmp_path: Path, ledger):
    _, _, _, invoices = ledger

    import_entries(tmp_path, [SampleEntry(Decimal("171.00"), remittance="factuur 2026-10082 en 2026-10043")])

    payment = Payment.objects.get()
    assert payment.match_reason == (
        "invoice number 2026-10043 in the description, and 2026-10042 written as 202610082 with one wrong digit, "
        "amount equals their open amount"
    )
    assert unallocated_amount(payment) == Decimal("0.00")



def test_lone_typo_letter_total_reason(tmp_path: Path, ledger):
    _, _, _, invoices = ledger
    _sent_message([invoices["A"]], "123.45")

    import_entries(tmp_path, [SampleEntry(Decimal("123.45"), remittance="factuur 2026-10092")])

    payment = Payment.objects.get()
    assert payment.match_reason == (
        "invoice number with one wrong digit, amount equal to the total a sent message requested for 2026-10042"
    )
    assert _open(invoices["A"]) == Decimal("0.00")


def test_lone_typo_letter_total_doubt(tmp_path: Path, ledger):
    """A letter total confirms a typo like an open amount does, so another invoice one digit away still sends it to review."""
    creditor, jansen, _, invoices = ledger
    other = make_invoice(jansen, "2026-10093", "70.00")
    _sent_message([invoices["A"]], "123.45")

    import_entries(tmp_path, [SampleEntry(Decimal("123.45"), remittance="factuur 2026-10092")])

    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.REVIEW
    assert "also one digit away from 2026-10093" in payment.match_reason
    assert _open(invoices["A"]) == Decimal("121.00")
    assert _open(other) == Decimal("70.00")


def test_new_reasons_in_dutch():
    reasons = [
        "invoice number with one wrong digit, amount equal to the total a sent message requested for 2026-10042",
        "invoice number 2026-10043 in the description, and 2026-10042 written as 202610082 with one wrong digit, "
        "amount equals their open amount",
        "invoice number 2026-10043 in the description, and 2026-10042 written as 202610082 with one wrong digit, "
        "amount equals the total a sent message requested for them",
        "invoice number 2026-10042 written with the letter O for a zero, "
        "amount equals the total a sent message requested for 2026-10042",
    ]
    for reason in reasons:
        dutch = reason_in_dutch(reason)
        assert not ENGLISH.search(dutch), dutch



@pytest.mark.parametrize("same_file", [False, True], ids=["next file", "same file"])
def test_spaced_number_names_paid_invoice(tmp_path: Path, ledger, same_file):
    """A number with a space for its dash names the invoice also once it is paid, so review names the debtor.

    In the same file, the first payment's allocation is not yet written when the second is decided.
    """
    _, jansen, _, invoices = ledger
    first_entry = SampleEntry(Decimal("121.00"), remittance="betaling 2O26-1OO42", end_to_end_id="E1")
    second_entry = SampleEntry(Decimal("121.00"), remittance="2026 10042", end_to_end_id="E2")

    if same_file:
        import_entries(tmp_path, [first_entry, second_entry])
    else:
        import_entries(tmp_path, [first_entry])
        import_entries(tmp_path, [second_entry], name="next.xml")

    first, second = Payment.objects.order_by("id")
    assert first.status == PaymentStatus.MATCHED
    assert _open(invoices["A"]) == Decimal("0.00")
    assert second.status == PaymentStatus.REVIEW
    assert "2026-10042 (paid)" in second.match_reason
    assert list(second.match_candidates.values_list("debtor_id", flat=True)) == [jansen.pk]


# A payment of 123.45 on invoice A (121.00 open), by each rule that pays A alone.
OVERPAYMENTS = [
    ("lone typo, letter total", True, "factuur 2026-10092", "invoice_number_typo"),
    ("whole number, letter total", True, "factuur 2026-10042", "invoice_number"),
    ("whole number, no letter", False, "factuur 2026-10042", "invoice_number"),
]


@pytest.mark.parametrize("label,letter,remittance,rule", OVERPAYMENTS, ids=[case[0] for case in OVERPAYMENTS])
def test_overpayment_becomes_credit(tmp_path: Path, ledger, label, letter, remittance, rule):
    """The rest above the open amount is the debtor's credit, whichever rule matched, and pays a later invoice."""
    creditor, jansen, _, invoices = ledger
    if letter:
        _sent_message([invoices["A"]], "123.45")

    import_entries(tmp_path, [SampleEntry(Decimal("123.45"), remittance=remittance)])

    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.MATCHED
    assert payment.match_rule == rule
    assert payment.match_reason
    assert _open(invoices["A"]) == Decimal("0.00")
    assert unallocated_amount(payment) == Decimal("2.45")
    assert debtor_credit([jansen.pk])[jansen.pk]["EUR"].quantize(Decimal("0.01")) == Decimal("2.45")
    (event,) = TimelineEvent.objects.filter(debtor=jansen, data__credit__isnull=False)
    assert event.data == {"payment_id": payment.pk, "credit": "2.45"}
    assert event.summary.replace("\xa0", " ") == "Teveel betaald: € 2,45 staat als tegoed open"

    applied = apply_credit(creditor)

    assert applied.amounts == {"EUR": Decimal("2.45")}
    assert _open(invoices["B"]) == Decimal("47.55")
    assert unallocated_amount(payment) == Decimal("0.00")
