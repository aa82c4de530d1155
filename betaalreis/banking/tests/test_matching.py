"""Matching cases: each rule, partial, over, batch, reversal, duplicates, ambiguity, nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from betaalreis.banking.matching import match_payments
from betaalreis.banking.models import MatchCandidate
from betaalreis.banking.samples import SampleEntry, write_camt053
from betaalreis.imports.registry import ImportReport
from betaalreis.ledger.actions import unallocated_amount
from betaalreis.ledger.models import DebtorBankAccount, Invoice, InvoiceStatus, Payment, PaymentSource, PaymentStatus
from betaalreis.legal.references import make_betalingskenmerk, make_rf_reference
from betaalreis.payments.models import PaymentPlan, PlanStatus
from betaalreis.payments.plans import paid_so_far

from .helpers import OTHER_PAYER_IBAN, PAYER_IBAN, import_entries, make_creditor, make_debtor, make_invoice

# These tests check the English wording of reports and errors.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english_reports")]

KENMERK = make_betalingskenmerk(20260042)
RF = make_rf_reference("20260042")


@pytest.fixture
def ledger():
    creditor = make_creditor()
    jansen = make_debtor(creditor, "D1", "Jansen Installatietechniek B.V.")
    pietersen = make_debtor(creditor, "D2", "Bakkerij Pietersen")
    invoices = {
        "A": make_invoice(jansen, "2026-10042", "121.00", reference=KENMERK),
        "B": make_invoice(jansen, "2026-10043", "50.00", reference=RF),
        "C": make_invoice(pietersen, "F-77310", "80.00"),
        "D": make_invoice(pietersen, "F-77311", "19.95"),
    }
    return creditor, jansen, pietersen, invoices


def _payment() -> Payment:
    return Payment.objects.get()


def _open(invoice: Invoice) -> Decimal:
    invoice.refresh_from_db()
    return invoice.open_amount


def _assert_paid_only(invoices: dict[str, Invoice], paid: list[str]) -> None:
    """Assert that the invoices keyed in `paid` are paid in full or in part, and the others untouched."""
    for key, invoice in invoices.items():
        if key in paid:
            assert _open(invoice) < invoice.total, key
        else:
            assert _open(invoice) == invoice.total, key


# Each case: one incoming payment, the invoices it must pay in full, and the rule.
CASES = [
    ("kenmerk", SampleEntry(Decimal("121.00"), structured_reference=KENMERK), ["A"], "structured_reference"),
    ("kenmerk spaced in text", SampleEntry(Decimal("121.00"), remittance=f"betaling {KENMERK[:4]} {KENMERK[4:8]} {KENMERK[8:12]} {KENMERK[12:]}"), ["A"], "structured_reference"),
    ("rf in text", SampleEntry(Decimal("50.00"), remittance=f"ref {RF.lower()}"), ["B"], "structured_reference"),
    ("number with prefix", SampleEntry(Decimal("80.00"), remittance="Factuur nr. F 77310"), ["C"], "invoice_number"),
    ("number with spaces", SampleEntry(Decimal("121.00"), remittance="fact 2026 10042"), ["A"], "invoice_number"),
    ("prefixed number with spaces", SampleEntry(Decimal("121.00"), remittance="Factuur nr. F2026 10042"), ["A"], "invoice_number"),
    ("two numbers", SampleEntry(Decimal("99.95"), remittance="F-77310 en F-77311"), ["C", "D"], "invoice_number"),
    ("number at the end of an order number", SampleEntry(Decimal("121.00"), remittance="ordernr 1501-2026-10042"), ["A"], "invoice_number"),
    ("one wrong digit, amount confirms", SampleEntry(Decimal("80.00"), remittance="factuur 77810"), ["C"], "invoice_number_typo"),
    ("letter O for a zero, amount confirms", SampleEntry(Decimal("121.00"), remittance="factuur 2O26-1OO42"), ["A"], "invoice_number_typo"),
    ("letter O for a zero, no separators", SampleEntry(Decimal("50.00"), remittance="fact 2O261OO43 okt"), ["B"], "invoice_number_typo"),
    ("letter O for a zero in two numbers", SampleEntry(Decimal("171.00"), remittance="2O26-1OO42 en 2O26-1OO43"), ["A", "B"], "invoice_number_typo"),
    ("iban and one invoice", SampleEntry(Decimal("19.95"), iban=PAYER_IBAN, remittance="bedankt"), ["D"], "payer_iban"),
    ("iban and a set", SampleEntry(Decimal("171.00"), iban=OTHER_PAYER_IBAN, remittance="zie facturen"), ["A", "B"], "payer_iban"),
    ("name and amount", SampleEntry(Decimal("50.00"), name="JANSEN INSTALLATIETECHNIEK BV", remittance="okt"), ["B"], "payer_name"),
]


@pytest.mark.parametrize("label,entry,paid,rule", CASES, ids=[case[0] for case in CASES])
def test_rule_matches(tmp_path: Path, ledger, label, entry, paid, rule):
    creditor, jansen, pietersen, invoices = ledger
    DebtorBankAccount.objects.create(creditor=creditor, debtor=pietersen, iban=PAYER_IBAN)
    DebtorBankAccount.objects.create(creditor=creditor, debtor=jansen, iban=OTHER_PAYER_IBAN)

    report = import_entries(tmp_path, [entry])

    payment = _payment()
    assert report.counts["matched automatically"] == 1
    assert payment.status == PaymentStatus.MATCHED
    assert payment.match_rule == rule
    assert payment.match_reason
    for key, invoice in invoices.items():
        expected = Decimal("0.00") if key in paid else invoice.total
        assert _open(invoice) == expected, key
    assert unallocated_amount(payment) == Decimal("0.00")


def test_invalid_check_digit_not_structured(tmp_path: Path, ledger):
    wrong = KENMERK[:-1] + str((int(KENMERK[-1]) + 1) % 10)
    import_entries(tmp_path, [SampleEntry(Decimal("121.00"), structured_reference=wrong)])

    assert _payment().status == PaymentStatus.REVIEW


def test_typo_without_amount_goes_to_review(tmp_path: Path, ledger):
    _, _, _, invoices = ledger
    import_entries(tmp_path, [SampleEntry(Decimal("75.00"), remittance="factuur 77319")])

    assert _payment().status == PaymentStatus.REVIEW
    assert _open(invoices["C"]) == Decimal("80.00")


def test_letter_o_without_amount_goes_to_review(tmp_path: Path, ledger):
    _, jansen, _, invoices = ledger
    import_entries(tmp_path, [SampleEntry(Decimal("30.00"), remittance="INV 2O26-1OO43")])

    payment = _payment()
    assert payment.status == PaymentStatus.REVIEW
    assert _open(invoices["B"]) == Decimal("50.00")
    (candidate,) = MatchCandidate.objects.filter(payment=payment)
    assert candidate.debtor == jansen
    assert candidate.rule == "invoice_number_typo"
    assert list(candidate.invoices.values_list("number", flat=True)) == ["2026-10043"]
    assert "2026-10043 written with the letter O for a zero, not confirmed by the amount" in payment.match_reason


def test_partial_payment(tmp_path: Path, ledger):
    _, _, _, invoices = ledger
    report = import_entries(tmp_path, [SampleEntry(Decimal("21.00"), structured_reference=KENMERK)])

    assert report.counts["matched partly"] == 1
    assert report.amounts["matched partly (EUR)"] == "21.00"
    assert _payment().status == PaymentStatus.PARTLY_MATCHED
    assert _open(invoices["A"]) == Decimal("100.00")
    assert invoices["A"].status == InvoiceStatus.OPEN


def test_overpayment_stays_credit(tmp_path: Path, ledger):
    _, _, _, invoices = ledger
    report = import_entries(tmp_path, [SampleEntry(Decimal("130.00"), structured_reference=KENMERK)])

    payment = _payment()
    assert payment.status == PaymentStatus.MATCHED
    assert _open(invoices["A"]) == Decimal("0.00")
    assert unallocated_amount(payment) == Decimal("9.00")
    assert report.amounts["credit left on payments (EUR)"] == "9.00"


def test_payment_plan_counts_payment(tmp_path: Path, ledger):
    creditor, jansen, _, _ = ledger
    invoice = make_invoice(jansen, "2026-20001", "300.00", status=InvoiceStatus.PAYMENT_PLAN)
    plan = PaymentPlan.objects.create(
        creditor=creditor, debtor=jansen, status=PlanStatus.ACTIVE, total=Decimal("300.00"), terms=3,
    )
    plan.invoices.add(invoice)

    import_entries(tmp_path, [SampleEntry(Decimal("100.00"), remittance="termijn 2026-20001")])

    assert _open(invoice) == Decimal("200.00")
    assert paid_so_far(plan) == Decimal("100.00")


def test_batch_entry_split(tmp_path: Path, ledger):
    _, _, _, invoices = ledger
    path = tmp_path / "batch.xml"
    path.write_text(
        '<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        "<Stmt><Id>B1</Id><Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id></Acct>"
        '<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-01</Dt></Dt></Bal>'
        '<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">201.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-01</Dt></Dt></Bal>'
        '<Ntry><Amt Ccy="EUR">201.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-12-01</Dt></BookgDt>'
        "<AcctSvcrRef>BATCH-1</AcctSvcrRef><NtryDtls><Btch><NbOfTxs>2</NbOfTxs></Btch>"
        '<TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">121.00</Amt></TxAmt></AmtDtls>'
        f"<RmtInf><Strd><CdtrRefInf><Ref>{KENMERK}</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>"
        '<TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">80.00</Amt></TxAmt></AmtDtls><RmtInf><Ustrd>F-77310</Ustrd></RmtInf></TxDtls>'
        "</NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>"
    )
    from betaalreis.banking.importers import Camt05xImporter

    report = Camt05xImporter().run(path, None)

    assert report.counts["new payments"] == 2
    assert report.counts["matched automatically"] == 2
    assert _open(invoices["A"]) == Decimal("0.00")
    assert _open(invoices["C"]) == Decimal("0.00")


def test_reversal_reopens_invoice(tmp_path: Path, ledger):
    _, _, _, invoices = ledger
    import_entries(tmp_path, [SampleEntry(Decimal("121.00"), iban=PAYER_IBAN, structured_reference=KENMERK, reference="IN-1", end_to_end_id="E2E-1")], name="day1.xml")
    assert _open(invoices["A"]) == Decimal("0.00")

    report = import_entries(
        tmp_path,
        [SampleEntry(Decimal("-121.00"), iban=PAYER_IBAN, reversal=True, return_reason="MD06", reference="RV-1", end_to_end_id="E2E-1")],
        name="day2.xml",
    )

    original = Payment.objects.get(external_id__contains="IN-1")
    reversal = Payment.objects.get(external_id__contains="RV-1")
    assert report.counts["reversed"] == 1
    assert original.status == PaymentStatus.REVERSED
    assert reversal.reverses_id == original.pk
    assert _open(invoices["A"]) == Decimal("121.00")
    assert Invoice.objects.get(pk=invoices["A"].pk).status == InvoiceStatus.OPEN


def test_unknown_reversal_goes_to_review(tmp_path: Path, ledger):
    report = import_entries(tmp_path, [SampleEntry(Decimal("-10.00"), iban=PAYER_IBAN, reversal=True, reference="RV-9")])

    assert report.counts["reversals sent to review"] == 1
    assert report.counts["sent to review"] == 0
    assert _payment().status == PaymentStatus.REVIEW


def test_review_total_leaves_reversals_out(tmp_path: Path, ledger):
    report = import_entries(tmp_path, [
        SampleEntry(Decimal("45.00"), name="Onbekend", remittance="factuur F-88001", reference="IN-1"),
        SampleEntry(Decimal("-10.00"), iban=PAYER_IBAN, reversal=True, reference="RV-9"),
    ])

    assert report.counts["sent to review"] == 1
    assert report.amounts["sent to review (EUR)"] == "45.00"
    assert report.counts["reversals sent to review"] == 1
    assert report.amounts["reversals sent to review (EUR)"] == "-10.00"


def test_debit_ignored(tmp_path: Path, ledger):
    report = import_entries(tmp_path, [SampleEntry(Decimal("-10.00"), name="Office supplies", reference="D-1")])

    assert report.counts["ignored"] == 1
    assert report.amounts["ignored (EUR)"] == "-10.00"
    assert not Payment.objects.exists()


def test_duplicate_import_changes_nothing(tmp_path: Path, ledger):
    _, _, _, invoices = ledger
    entries = [SampleEntry(Decimal("21.00"), structured_reference=KENMERK)]
    import_entries(tmp_path, entries)
    again = import_entries(tmp_path, entries)

    assert again.counts["already imported"] == 1
    assert again.counts["new payments"] == 0
    assert Payment.objects.count() == 1
    assert _open(invoices["A"]) == Decimal("100.00")


def test_overlapping_statements(tmp_path: Path, ledger):
    first = SampleEntry(Decimal("121.00"), structured_reference=KENMERK, reference="R-1")
    second = SampleEntry(Decimal("80.00"), remittance="F-77310", reference="R-2")
    import_entries(tmp_path, [first], name="a.xml", statement_id="S1")
    report = import_entries(tmp_path, [first, second], name="b.xml", statement_id="S2")

    assert report.counts["already imported"] == 1
    assert report.counts["new payments"] == 1
    assert Payment.objects.count() == 2


def test_overlap_without_bank_reference(tmp_path: Path, ledger):
    same = SampleEntry(Decimal("5.00"), iban=PAYER_IBAN, remittance="koffie")
    import_entries(tmp_path, [same, same], name="a.xml", statement_id="S1")
    report = import_entries(tmp_path, [same, same], name="b.xml", statement_id="S2", opening=Decimal("1010.00"))

    assert Payment.objects.count() == 2
    assert report.counts["already imported"] == 2


def test_ambiguous_goes_to_review(tmp_path: Path, ledger):
    creditor, jansen, pietersen, _ = ledger
    make_invoice(jansen, "2026-10099", "80.00")
    DebtorBankAccount.objects.create(creditor=creditor, debtor=jansen, iban=PAYER_IBAN)
    DebtorBankAccount.objects.create(creditor=creditor, debtor=pietersen, iban=PAYER_IBAN)

    report = import_entries(tmp_path, [SampleEntry(Decimal("80.00"), iban=PAYER_IBAN, remittance="betaling")])

    payment = _payment()
    candidates = list(MatchCandidate.objects.filter(payment=payment))
    assert report.counts["sent to review"] == 1
    assert payment.status == PaymentStatus.REVIEW
    assert {candidate.debtor_id for candidate in candidates} == {jansen.pk, pietersen.pk}
    assert {candidate.score for candidate in candidates} == {60}


def test_nothing_matches(tmp_path: Path, ledger):
    report = import_entries(tmp_path, [SampleEntry(Decimal("12.34"), name="Onbekend", remittance="gift")])

    payment = _payment()
    assert report.counts["sent to review"] == 1
    assert report.amounts["sent to review (EUR)"] == "12.34"
    assert payment.status == PaymentStatus.REVIEW
    assert Payment.objects.get(pk=payment.pk).match_rule == "none"
    assert not MatchCandidate.objects.exists()


def test_match_payments_cheap_when_nothing_new(ledger, django_assert_num_queries):
    creditor, _, _, _ = ledger

    with django_assert_num_queries(1):
        report = match_payments(creditor)

    assert report.payments == 0


def test_other_creditor_invoices_never_matched(tmp_path: Path, ledger):
    other = make_creditor("other", iban="NL39RABO0300065264")
    stranger = make_debtor(other, "X1", "Vreemde")
    make_invoice(stranger, "X-55555", "40.00")

    import_entries(tmp_path, [SampleEntry(Decimal("40.00"), remittance="X-55555")])

    assert _payment().status == PaymentStatus.REVIEW


def test_reversal_in_same_file(tmp_path: Path, ledger):
    _, _, _, invoices = ledger
    report = import_entries(tmp_path, [
        SampleEntry(Decimal("121.00"), iban=PAYER_IBAN, structured_reference=KENMERK, reference="IN-1", end_to_end_id="E2E-1"),
        SampleEntry(Decimal("-121.00"), iban=PAYER_IBAN, reversal=True, reference="RV-1", end_to_end_id="E2E-1"),
    ])

    assert report.counts["matched automatically"] == 1
    assert report.counts["reversed"] == 1
    assert Payment.objects.get(external_id__contains="IN-1").status == PaymentStatus.REVERSED
    assert _open(invoices["A"]) == Decimal("121.00")


def test_pending_entry_ignored(tmp_path: Path, ledger):
    report = import_entries(tmp_path, [
        SampleEntry(Decimal("10.00"), remittance="a", reference="B-1"),
        SampleEntry(Decimal("5.00"), remittance="b", reference="P-1", status="PDNG"),
    ], closing=Decimal("1010.00"))

    assert report.counts["ignored"] == 1
    assert report.counts["new payments"] == 1

    booked = import_entries(tmp_path, [SampleEntry(Decimal("5.00"), remittance="b", reference="P-1")], name="next.xml", opening=Decimal("1010.00"))
    assert booked.counts["new payments"] == 1


def test_message_reference_pays_debtor_invoices(tmp_path: Path, ledger):
    from betaalreis.channels.render.context import debtor_payment_reference

    _, _, pietersen, invoices = ledger
    reference = debtor_payment_reference(pietersen)

    import_entries(tmp_path, [SampleEntry(Decimal("99.95"), structured_reference=reference)])

    payment = _payment()
    assert payment.status == PaymentStatus.MATCHED
    assert payment.match_rule == "structured_reference"
    assert _open(invoices["C"]) == Decimal("0.00")
    assert _open(invoices["D"]) == Decimal("0.00")
    assert _open(invoices["A"]) == invoices["A"].total


def test_message_reference_in_text_pays_oldest_first(tmp_path: Path, ledger):
    from betaalreis.channels.render.context import debtor_payment_reference

    _, _, pietersen, invoices = ledger
    spaced = " ".join(debtor_payment_reference(pietersen)[i:i + 4] for i in range(0, 12, 4))

    import_entries(tmp_path, [SampleEntry(Decimal("80.00"), remittance=f"betaling {spaced}")])

    assert _payment().status == PaymentStatus.MATCHED
    assert _open(invoices["C"]) + _open(invoices["D"]) == Decimal("19.95")


def test_other_creditor_message_reference_not_matched(tmp_path: Path, ledger):
    from betaalreis.channels.render.context import debtor_payment_reference

    import_entries(tmp_path, [SampleEntry(Decimal("99.95"), structured_reference=debtor_payment_reference(999999))])

    assert _payment().status == PaymentStatus.REVIEW
    assert not MatchCandidate.objects.exists()


def test_reference_of_settled_debtor_reviewed(tmp_path: Path, ledger):
    from betaalreis.channels.render.context import debtor_payment_reference

    _, _, pietersen, invoices = ledger
    Invoice.objects.filter(debtor=pietersen).update(open_amount=Decimal("0.00"), status=InvoiceStatus.PAID)

    import_entries(tmp_path, [SampleEntry(Decimal("99.95"), structured_reference=debtor_payment_reference(pietersen))])

    payment = _payment()
    assert payment.status == PaymentStatus.REVIEW
    assert "names a debtor without open invoices" in payment.match_reason
    assert MatchCandidate.objects.get(payment=payment).debtor == pietersen


@pytest.fixture
def short_numbers():
    """Invoices whose numbers also occur in descriptions as years, dates or member numbers."""
    creditor = make_creditor()
    debtors = {
        "veel": make_debtor(creditor, "D80", "Veel Nummers"),
        "jaar": make_debtor(creditor, "D83", "Jaar Factuur"),
        "elf": make_debtor(creditor, "D82", "Korte Elf"),
        "keulen": make_debtor(creditor, "D84", "Keulen Klant"),
        "ander": make_debtor(creditor, "D85", "Andere Klant"),
    }
    invoices = {
        "1090": make_invoice(debtors["veel"], "2026-1090", "50.00"),
        "2026": make_invoice(debtors["jaar"], "2026", "99.00"),
        "11": make_invoice(debtors["elf"], "11", "25.00"),
        "4711": make_invoice(debtors["keulen"], "4711", "99.00"),
        "4712": make_invoice(debtors["ander"], "4712", "40.00"),
        "2000": make_invoice(debtors["ander"], "2026-2000", "70.00"),
    }
    return creditor, debtors, invoices


# Each case: description, amount, payer name, the payment status, and the
# invoices it pays (in full or in part); no invoices means review.
SHORT_NUMBER_CASES = [
    ("number inside a longer reference", "factuur 2026-1091", "45.00", "Iemand Anders", "review", []),
    ("reference among other numbers", "ordernr 2026-1099 factuur 2026-1090 tel 0612345678", "50.00", "V. Nummers", "matched", ["1090"]),
    ("year and member number, no amount", "Contributie 2026 lid 11", "20.00", "Vereniging X", "review", []),
    ("member number confirmed by amount", "Contributie 2026 lid 11", "25.00", "Vereniging X", "matched", ["11"]),
    ("year of a date ignored", "Betaling 4711 van 15-10-2026", "99.00", "Keulen Klant", "matched", ["4711"]),
    ("day of a date ignored", "betaling 11-11-2026 klant 99", "25.00", "Onbekend", "review", []),
    ("short number confirmed by name", "betaling 4711", "60.00", "Keulen Klant", "partly_matched", ["4711"]),
    ("short number unconfirmed", "klant 4711", "60.00", "Onbekend", "review", []),
    ("payer name breaks a tie", "2026-1090 2026-2000", "30.00", "Andere Klant", "partly_matched", ["2000"]),
    ("year not confirmed by amount", "betaling december 2026", "99.00", "Onbekend", "review", []),
    ("year confirmed by payer name", "betaling december 2026", "99.00", "Jaar Factuur", "matched", ["2026"]),
    ("prefixed year in a list", "factuur INV2026/0042", "99.00", "Onbekend", "review", []),
]


@pytest.mark.parametrize(
    "label,remittance,amount,name,status,paid", SHORT_NUMBER_CASES, ids=[case[0] for case in SHORT_NUMBER_CASES]
)
def test_short_numbers(tmp_path: Path, short_numbers, label, remittance, amount, name, status, paid):
    _, _, invoices = short_numbers

    import_entries(tmp_path, [SampleEntry(Decimal(amount), name=name, remittance=remittance)])

    payment = _payment()
    assert payment.status == status, payment.match_reason
    _assert_paid_only(invoices, paid)


@pytest.fixture
def order_numbers():
    """Invoices that descriptions quote after an order or customer number."""
    creditor = make_creditor()
    alfa = make_debtor(creditor, "D90", "Alfa Handel")
    bravo = make_debtor(creditor, "D91", "Bravo Winkel")
    invoices = {
        "0301": make_invoice(alfa, "2026-0301", "150.00"),
        "0302": make_invoice(alfa, "2026-0302", "50.00"),
        "1501": make_invoice(bravo, "1501", "75.00"),
    }
    return creditor, {"alfa": alfa, "bravo": bravo}, invoices


# Each case: description, amount, the payment status, and the invoices it
# pays (in full or in part); no invoices means review.
ORDER_NUMBER_CASES = [
    ("tail after order number", "ordernr 1501-2026-0301", "150.00", "matched", ["0301"]),
    ("tail, amount below", "ordernr 1501-2026-0301", "40.00", "partly_matched", ["0301"]),
    ("order number confirmed by amount", "ordernr 1501-2026-0301", "75.00", "matched", ["1501"]),
    ("prefix of several words", "fact.nr.2026/0301", "150.00", "matched", ["0301"]),
    ("two numbers with a plus", "F2026-0301 + 2026-0302", "200.00", "matched", ["0301", "0302"]),
    ("digits without dash", "inv 20260301", "150.00", "matched", ["0301"]),
]


@pytest.mark.parametrize(
    "label,remittance,amount,status,paid", ORDER_NUMBER_CASES, ids=[case[0] for case in ORDER_NUMBER_CASES]
)
def test_order_numbers(tmp_path: Path, order_numbers, label, remittance, amount, status, paid):
    _, _, invoices = order_numbers

    import_entries(tmp_path, [SampleEntry(Decimal(amount), name="Onbekend", remittance=remittance)])

    payment = _payment()
    assert payment.status == status, payment.match_reason
    _assert_paid_only(invoices, paid)


def test_tail_match_scored_below_whole_number(tmp_path: Path, order_numbers):
    import_entries(tmp_path, [SampleEntry(Decimal("150.00"), name="Onbekend", remittance="ordernr 1501-2026-0301")])

    payment = _payment()
    assert payment.match_rule == "invoice_number"
    assert payment.match_score == 80
    assert "at the end of a longer number" in payment.match_reason


def test_whole_number_wins_over_tail(tmp_path: Path, order_numbers):
    _, debtors, invoices = order_numbers
    whole = make_invoice(debtors["bravo"], "1501-2026-0301", "60.00")

    import_entries(tmp_path, [SampleEntry(Decimal("60.00"), name="Onbekend", remittance="ordernr 1501-2026-0301")])

    assert _open(whole) == Decimal("0.00")
    assert _open(invoices["0301"]) == invoices["0301"].total


@pytest.mark.parametrize("amount,paid", [("60.00", None), ("99.00", "other")])
def test_ambiguous_tail_needs_amount(tmp_path: Path, order_numbers, amount, paid):
    creditor, _, invoices = order_numbers
    other = make_invoice(make_debtor(creditor, "D92", "Charlie Groothandel"), "F2026-0301", "99.00")

    import_entries(tmp_path, [SampleEntry(Decimal(amount), name="Onbekend", remittance="ordernr 1501-2026-0301")])

    assert _open(invoices["0301"]) == invoices["0301"].total
    assert (_open(other) == Decimal("0.00")) is (paid == "other")
    if paid is None:
        assert _payment().status == PaymentStatus.REVIEW


def test_numbers_listed_with_slash_found(tmp_path: Path, short_numbers):
    _, _, invoices = short_numbers

    import_entries(tmp_path, [SampleEntry(Decimal("120.00"), name="Onbekend", remittance="2026-1090/2026-2000")])

    listed = {invoice.pk for candidate in MatchCandidate.objects.filter(payment=_payment()) for invoice in candidate.invoices.all()}
    assert invoices["1090"].pk in listed
    assert invoices["2000"].pk in listed


def test_unconfirmed_short_number_lists_candidate(tmp_path: Path, short_numbers):
    _, debtors, invoices = short_numbers

    import_entries(tmp_path, [SampleEntry(Decimal("60.00"), name="Onbekend", remittance="klant 4711")])

    candidate = MatchCandidate.objects.get(payment=_payment())
    assert candidate.debtor == debtors["keulen"]
    assert list(candidate.invoices.all()) == [invoices["4711"]]


def test_large_overpayment_goes_to_review(tmp_path: Path, ledger):
    _, _, _, invoices = ledger
    report = import_entries(tmp_path, [SampleEntry(Decimal("5000.00"), remittance="2026-10043")])

    payment = _payment()
    candidate = MatchCandidate.objects.get(payment=payment)
    assert report.counts["sent to review"] == 1
    assert payment.status == PaymentStatus.REVIEW
    assert "large overpayment" in payment.match_reason
    assert list(candidate.invoices.all()) == [invoices["B"]]
    assert _open(invoices["B"]) == Decimal("50.00")


def test_small_surplus_on_small_invoice_matched(tmp_path: Path, ledger):
    _, _, _, invoices = ledger
    # EUR 60 over an EUR 50 invoice: more than the open amount, but below the absolute minimum.
    import_entries(tmp_path, [SampleEntry(Decimal("110.00"), remittance="2026-10043")])

    assert _payment().status == PaymentStatus.MATCHED
    assert _open(invoices["B"]) == Decimal("0.00")


def _usd_statement(tmp_path: Path, name: str, entry: SampleEntry) -> Path:
    """Write an EUR account statement whose one entry is in USD."""
    from betaalreis.banking.samples import write_camt053

    from .helpers import CREDITOR_IBAN

    path = write_camt053(tmp_path / name, CREDITOR_IBAN, [entry])
    amount = f"{entry.amount:.2f}"
    path.write_text(path.read_text().replace(f'Ccy="EUR">{amount}<', f'Ccy="USD">{amount}<'))
    return path


@pytest.mark.parametrize("amount", ["80.00", "500.00"])
def test_usd_payment_names_currency_mismatch(tmp_path: Path, ledger, amount: str):
    from betaalreis.banking.importers import Camt05xImporter

    entry = SampleEntry(Decimal(amount), remittance="F-77310")
    Camt05xImporter().run(_usd_statement(tmp_path, "usd.xml", entry), None)

    payment = _payment()
    assert payment.currency == "USD"
    assert payment.status == PaymentStatus.REVIEW
    assert "in USD and its invoices in EUR" in payment.match_reason
    assert "no longer open" not in payment.match_reason
    assert "overpayment" not in payment.match_reason


def test_confirm_usd_payment_on_eur_invoice_rejected(tmp_path: Path, ledger):
    from betaalreis.banking.actions import do_confirm_match
    from betaalreis.banking.importers import Camt05xImporter
    from betaalreis.errors import InvalidInput

    _, _, pietersen, invoices = ledger
    Camt05xImporter().run(_usd_statement(tmp_path, "usd.xml", SampleEntry(Decimal("80.00"), remittance="F-77310")), None)

    with pytest.raises(InvalidInput, match="is in USD, factuur F-77310 in EUR"):
        do_confirm_match(_payment(), pietersen, [invoices["C"]], user=None)

    assert _payment().status == PaymentStatus.REVIEW
    assert _open(invoices["C"]) == Decimal("80.00")


def test_same_entry_in_usd_not_duplicate(tmp_path: Path, ledger):
    from betaalreis.banking.importers import Camt05xImporter

    entry = SampleEntry(Decimal("80.00"), iban=PAYER_IBAN, remittance="F-77310")
    import_entries(tmp_path, [entry], name="eur.xml")
    report = Camt05xImporter().run(_usd_statement(tmp_path, "usd.xml", entry), None)

    assert report.counts["already imported"] == 0
    assert report.counts["new payments"] == 1
    assert sorted(Payment.objects.values_list("currency", flat=True)) == ["EUR", "USD"]


def test_report_names_statement_and_review(tmp_path: Path, ledger):
    report = import_entries(tmp_path, [
        SampleEntry(Decimal("121.00"), structured_reference=KENMERK, reference="R-1"),
        SampleEntry(Decimal("12.34"), name="Onbekend", remittance="gift", reference="R-2", booking_date=dt.date(2026, 12, 3)),
    ], statement_id="S-7")

    assert report.header == ["statement S-7: creditor acme, account NL91ABNA0417164300, period 2026-12-01..2026-12-03"]
    assert len(report.details) == 1
    assert report.details[0].startswith("review: 2026-12-03, €12.34, Onbekend: no rule matched")
    assert report.amounts["matched automatically (EUR)"] == "121.00"


def test_report_review_lines_capped(tmp_path: Path, ledger):
    from betaalreis.banking.report import MAX_REVIEW_LINES

    entries = [SampleEntry(Decimal("1.00") + number, remittance="gift", reference=f"G-{number}") for number in range(MAX_REVIEW_LINES + 2)]
    report = import_entries(tmp_path, entries)

    assert len(report.details) == MAX_REVIEW_LINES + 1
    assert report.details[-1].startswith("… and 2 more payments in review")


def test_report_amounts_per_currency(tmp_path: Path, ledger):
    from betaalreis.banking.importers import Camt05xImporter

    path = _usd_statement(tmp_path, "mixed.xml", SampleEntry(Decimal("7.00"), remittance="gift", reference="U-1"))
    text = path.read_text().replace("</Stmt>", "", 1)
    # Add an EUR entry that pays invoice C after the USD one, and balance the statement again.
    eur = write_camt053(tmp_path / "eur.xml", "NL91ABNA0417164300", [SampleEntry(Decimal("80.00"), remittance="F-77310", reference="E-1")])
    eur_entry = eur.read_text().split("<Ntry>", 1)[1].split("</Ntry>", 1)[0]
    text = text.replace("</BkToCstmrStmt>", f"<Ntry>{eur_entry}</Ntry></Stmt></BkToCstmrStmt>")
    path.write_text(text.replace('Ccy="EUR">1007.00<', 'Ccy="EUR">1087.00<'))

    report = Camt05xImporter().run(path, None)

    assert report.amounts["matched automatically (EUR)"] == "80.00"
    assert report.amounts["sent to review (USD)"] == "7.00"
    assert "sent to review (EUR)" not in report.amounts


def _pay_twice_from_one_iban(tmp_path: Path, ledger, names: tuple[str, str]) -> tuple[Invoice, Invoice]:
    """Pay two invoices of 60.00 with two payments from PAYER_IBAN, under the payer names `names`."""
    creditor, jansen, pietersen, _ = ledger
    first = make_invoice(jansen, "2026-0600", "60.00")
    second = make_invoice(pietersen, "2026-0601", "60.00")
    import_entries(tmp_path, [
        SampleEntry(Decimal("60.00"), name=names[0], iban=PAYER_IBAN, remittance="2026-0600", reference="IN-60"),
        SampleEntry(Decimal("60.00"), name=names[1], iban=PAYER_IBAN, remittance="2026-0601", reference="IN-61"),
    ], name="day1.xml")
    assert _open(first) == Decimal("0.00")
    assert _open(second) == Decimal("0.00")
    return first, second


def _import_reversal(tmp_path: Path, payer_name: str) -> tuple[ImportReport, Payment]:
    """Import a reversal of 60.00 to PAYER_IBAN under `payer_name`; return the report and the reversal."""
    report = import_entries(
        tmp_path,
        [SampleEntry(Decimal("-60.00"), name=payer_name, iban=PAYER_IBAN, reversal=True, remittance="storno", reference="RV-60")],
        name="day2.xml",
    )
    return report, Payment.objects.get(external_id__contains="RV-60")


def test_ambiguous_reversal_goes_to_review(tmp_path: Path, ledger):
    first, second = _pay_twice_from_one_iban(tmp_path, ledger, ("E Evers", "E Evers"))

    report, reversal = _import_reversal(tmp_path, "E Evers")

    originals = {Payment.objects.get(external_id__contains=reference).pk for reference in ("IN-60", "IN-61")}
    listed = set(MatchCandidate.objects.filter(payment=reversal).values_list("original_payment_id", flat=True))
    assert report.counts["reversed"] == 0
    assert report.counts["reversals sent to review"] == 1
    assert reversal.status == PaymentStatus.REVIEW
    assert "2 earlier payments" in reversal.match_reason
    assert listed == originals
    assert not Payment.objects.filter(status=PaymentStatus.REVERSED).exists()
    assert _open(first) == Decimal("0.00")
    assert _open(second) == Decimal("0.00")


def test_reversal_payer_name_picks_original(tmp_path: Path, ledger):
    first, second = _pay_twice_from_one_iban(tmp_path, ledger, ("Onbekend Persoon", "E Evers"))

    report, reversal = _import_reversal(tmp_path, "Onbekend Persoon")

    assert report.counts["reversed"] == 1
    assert report.counts["sent to review"] == 0
    assert reversal.reverses == Payment.objects.get(external_id__contains="IN-60")
    assert Payment.objects.get(external_id__contains="IN-61").status == PaymentStatus.MATCHED
    assert _open(first) == Decimal("60.00")
    assert _open(second) == Decimal("0.00")


def test_review_payment_matched_after_invoice_import(tmp_path: Path, ledger):
    from betaalreis.dunning.run import apply_payments

    creditor, _, pietersen, _ = ledger
    import_entries(tmp_path, [SampleEntry(Decimal("45.00"), name="Onbekend", remittance="factuur F-88001")])
    assert _payment().status == PaymentStatus.REVIEW
    Payment.objects.update(match_decided_at=dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC))

    late = make_invoice(pietersen, "F-88001", "45.00")
    applied = apply_payments(creditor)

    assert applied.matched == 1
    assert _payment().status == PaymentStatus.MATCHED
    assert _open(late) == Decimal("0.00")


def test_review_payment_kept_without_new_invoice(tmp_path: Path, ledger):
    from betaalreis.dunning.run import apply_payments

    creditor, _, _, _ = ledger
    import_entries(tmp_path, [SampleEntry(Decimal("45.00"), name="Onbekend", remittance="factuur F-88001")])
    decided_at = _payment().match_decided_at

    applied = apply_payments(creditor)

    assert applied.to_review == 0
    assert _payment().status == PaymentStatus.REVIEW
    assert _payment().match_decided_at == decided_at


def test_review_payment_kept_by_earlier_run(tmp_path: Path, ledger):
    from betaalreis.dunning.run import apply_payments

    creditor, _, pietersen, _ = ledger
    import_entries(tmp_path, [SampleEntry(Decimal("45.00"), name="Onbekend", remittance="factuur F-88001")])
    payment = _payment()
    Payment.objects.update(match_decided_at=dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC))
    make_invoice(pietersen, "F-88002", "12.00")

    applied = apply_payments(creditor, payment.booking_date - dt.timedelta(days=30))

    assert applied.to_review == 0
    assert _payment().status == PaymentStatus.REVIEW


@pytest.mark.parametrize("status, word", [(InvoiceStatus.PAID, "paid"), (InvoiceStatus.CREDITED, "credited")])
def test_settled_invoice_named_in_review(tmp_path: Path, ledger, status: str, word: str):
    creditor, _, pietersen, _ = ledger
    settled = make_invoice(pietersen, "F-77400", "60.00", status=status)
    Invoice.objects.filter(pk=settled.pk).update(open_amount=Decimal("0.00"))

    import_entries(tmp_path, [SampleEntry(Decimal("60.00"), remittance="factuur F-77400")])

    payment = _payment()
    assert payment.status == PaymentStatus.REVIEW
    assert f"F-77400 ({word})" in payment.match_reason
    assert "no rule matched" not in payment.match_reason
    candidate = MatchCandidate.objects.get(payment=payment)
    assert candidate.debtor_id == pietersen.pk
    assert list(candidate.invoices.all()) == []


def test_settled_invoices_of_two_debtors_not_named(tmp_path: Path, ledger):
    _, jansen, pietersen, _ = ledger
    for debtor, number in ((jansen, "F-77500"), (pietersen, "F-77501")):
        settled = make_invoice(debtor, number, "10.00", status=InvoiceStatus.PAID)
        Invoice.objects.filter(pk=settled.pk).update(open_amount=Decimal("0.00"))

    import_entries(tmp_path, [SampleEntry(Decimal("20.00"), remittance="F-77500 F-77501")])

    assert _payment().match_reason.startswith("no rule matched")
    assert not MatchCandidate.objects.exists()


def test_other_currency_invoice_debtor_is_candidate(tmp_path: Path, ledger):
    creditor, _, pietersen, _ = ledger
    Invoice.objects.create(
        creditor=creditor, debtor=pietersen, number="77003", issue_date=dt.date(2026, 10, 1),
        due_date=dt.date(2026, 10, 31), total=Decimal("250.00"), open_amount=Decimal("250.00"), currency="GBP",
    )

    import_entries(tmp_path, [SampleEntry(Decimal("250.00"), remittance="77003")])

    payment = _payment()
    assert payment.status == PaymentStatus.REVIEW
    assert "in EUR and its invoices in GBP" in payment.match_reason
    candidate = MatchCandidate.objects.get(payment=payment)
    assert candidate.debtor_id == pietersen.pk
    assert list(candidate.invoices.all()) == []


def _end_of_day(day: dt.date) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=ZoneInfo("Europe/Amsterdam")) - dt.timedelta(
        microseconds=1
    )


def test_reversal_and_learned_iban_dated_on_booking_day(tmp_path: Path, ledger):
    from betaalreis.ledger.models import TimelineEvent

    paid_on = dt.date(2026, 10, 20)
    reversed_on = dt.date(2026, 10, 23)
    import_entries(tmp_path, [SampleEntry(
        Decimal("121.00"), iban=PAYER_IBAN, structured_reference=KENMERK, reference="IN-1", end_to_end_id="E2E-1",
        booking_date=paid_on,
    )], name="day1.xml")
    import_entries(tmp_path, [SampleEntry(
        Decimal("-121.00"), iban=PAYER_IBAN, reversal=True, return_reason="MD06", reference="RV-1",
        end_to_end_id="E2E-1", booking_date=reversed_on,
    )], name="day2.xml")

    reversed_event = TimelineEvent.objects.get(summary__startswith="Betaling teruggeboekt")
    learned = TimelineEvent.objects.get(summary__startswith="Rekening ")
    assert "onthouden" in learned.summary
    assert reversed_event.at == _end_of_day(reversed_on)
    assert learned.at == _end_of_day(paid_on)



def _new_payment(creditor, external_id: str, amount: str, *, reference: str = "", remittance: str = "", confirmed_by=None) -> Payment:
    """Store a new bank payment without matching it. With `confirmed_by`, it carries the confirmation of an earlier decision."""
    return Payment.objects.create(
        creditor=creditor, source=PaymentSource.BANK, external_id=external_id, booking_date=dt.date(2026, 11, 2),
        amount=Decimal(amount), structured_reference=reference, remittance_info=remittance,
        match_confirmed_by=confirmed_by, match_confirmed_at=timezone.now() if confirmed_by else None,
    )


def _user():
    return get_user_model().objects.create_user("beheer", "beheer@example.nl", "x" * 12)


def test_match_clears_confirmation(ledger):
    creditor, *_ = ledger
    confirmed = _new_payment(creditor, "P1", "121.00", reference=KENMERK, confirmed_by=_user())
    other = _new_payment(creditor, "P2", "80.00", remittance="Factuur nr. F 77310")

    match_payments(creditor, booked_by=dt.date(2026, 11, 30))

    confirmed.refresh_from_db()
    assert confirmed.status == PaymentStatus.MATCHED
    assert confirmed.match_rule == "structured_reference"
    assert confirmed.match_confirmed_by is None
    assert confirmed.match_confirmed_at is None
    other.refresh_from_db()
    assert other.status == PaymentStatus.MATCHED
    assert other.match_rule == "invoice_number"
    assert other.match_decided_at is not None


def test_review_clears_confirmation(ledger):
    creditor, *_ = ledger
    confirmed = _new_payment(creditor, "P1", "12.34", remittance="gift", confirmed_by=_user())
    other = _new_payment(creditor, "P2", "56.78", remittance="gift")

    match_payments(creditor, booked_by=dt.date(2026, 11, 30))

    confirmed.refresh_from_db()
    assert confirmed.status == PaymentStatus.REVIEW
    assert confirmed.match_confirmed_by is None
    assert confirmed.match_confirmed_at is None
    assert confirmed.match_decided_at is not None
    other.refresh_from_db()
    assert other.status == PaymentStatus.REVIEW
    assert other.match_rule == "none"
    assert other.match_decided_at is not None


def test_partial_payment_keeps_invoice_status(ledger):
    creditor, _, _, invoices = ledger
    _new_payment(creditor, "P1", "21.00", reference=KENMERK)
    _new_payment(creditor, "P2", "80.00", remittance="Factuur nr. F 77310")

    match_payments(creditor, booked_by=dt.date(2026, 11, 30))

    partly = Invoice.objects.get(pk=invoices["A"].pk)
    assert partly.open_amount == Decimal("100.00")
    assert partly.status == InvoiceStatus.OPEN
    assert partly.updated_at > invoices["A"].updated_at
    paid = Invoice.objects.get(pk=invoices["C"].pk)
    assert paid.open_amount == Decimal("0.00")
    assert paid.status == InvoiceStatus.PAID
