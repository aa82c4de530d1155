"""Tests of the demo ledger and its camt.053 bank statements."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from pathlib import Path

import phonenumbers
import pytest
from django.core.management import call_command
from django.db import transaction
from stdnum.nl import btw

from betaalreis.banking.camt import read_camt
from betaalreis.demo.camt import Statement, StatementEntry, write_statement
from betaalreis.demo.generator import DEMO_SLUGS, DemoConfig, build_ledger
from betaalreis.legal.references import is_valid_betalingskenmerk, is_valid_rf_reference
from betaalreis.ledger.models import Creditor, Debtor, Invoice, InvoiceStatus, Language, MatchRule, Payment

START = dt.date(2026, 3, 2)


def _run_demo(*arguments: str) -> str:
    output = StringIO()
    call_command("demo", *arguments, stdout=output)
    return output.getvalue()


@pytest.mark.django_db
def test_ledger_creditors_are_valid() -> None:
    build_ledger(DemoConfig(seed=3, debtors=40, invoices=200, start=START, days=10))

    creditors = list(Creditor.objects.filter(slug__in=DEMO_SLUGS))
    assert len(creditors) == 2
    for creditor in creditors:
        creditor.full_clean()
        assert btw.is_valid(creditor.vat_id), creditor.vat_id
        assert len(creditor.kvk_number) == 8


@pytest.mark.django_db
def test_ledger_debtors_are_valid_and_varied() -> None:
    build_ledger(DemoConfig(seed=3, debtors=200, invoices=600, start=START, days=10))

    debtors = list(Debtor.objects.filter(creditor__slug__in=DEMO_SLUGS))
    assert len(debtors) == 200
    for debtor in debtors:
        debtor.full_clean()
        if debtor.mobile:
            parsed = phonenumbers.parse(debtor.mobile)
            assert phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE
        if debtor.email:
            assert debtor.email.endswith((".example.com", "@example.com", "@example.org"))

    has_address = [bool(debtor.street) for debtor in debtors]
    email_only = [d for d, address in zip(debtors, has_address) if d.email and not d.mobile and not address]
    phone_only = [d for d, address in zip(debtors, has_address) if d.mobile and not d.email and not address]
    post_only = [d for d, address in zip(debtors, has_address) if address and not d.email and not d.mobile]
    several = [d for d, address in zip(debtors, has_address) if d.email and address]
    assert email_only
    assert phone_only
    assert post_only
    assert len(several) > len(debtors) / 2
    assert {debtor.language for debtor in debtors} == {Language.DUTCH, Language.ENGLISH}
    assert {debtor.kind for debtor in debtors} == {"consumer", "business"}


@pytest.mark.django_db
def test_ledger_invoice_references_are_valid() -> None:
    build_ledger(DemoConfig(seed=3, debtors=40, invoices=200, start=START, days=10))

    invoices = list(Invoice.objects.filter(creditor__slug__in=DEMO_SLUGS))
    assert invoices
    for invoice in invoices:
        if invoice.payment_reference.startswith("RF"):
            assert is_valid_rf_reference(invoice.payment_reference), invoice.payment_reference
        else:
            assert is_valid_betalingskenmerk(invoice.payment_reference), invoice.payment_reference
        assert invoice.due_date > invoice.issue_date
        assert invoice.total > 0


@pytest.mark.django_db
def test_ledger_history_is_allocated() -> None:
    build_ledger(DemoConfig(seed=3, debtors=40, invoices=200, start=START, days=10))

    paid = Invoice.objects.filter(creditor__slug__in=DEMO_SLUGS, status=InvoiceStatus.PAID)
    assert paid.exists()
    for invoice in paid:
        allocated = sum(allocation.amount for allocation in invoice.allocations.all())
        assert allocated == invoice.total
        assert invoice.open_amount == Decimal("0.00")


@pytest.mark.django_db
def test_ledger_history_payments_record_rule() -> None:
    build_ledger(DemoConfig(seed=3, debtors=40, invoices=200, start=START, days=10))

    payments = Payment.objects.filter(creditor__slug__in=DEMO_SLUGS).prefetch_related("allocations__invoice")
    assert payments.exists()
    for payment in payments:
        (allocation,) = payment.allocations.all()
        assert payment.structured_reference == allocation.invoice.payment_reference
        assert payment.match_rule == MatchRule.STRUCTURED_REFERENCE
        assert payment.match_score == 100
        assert payment.match_reason == f"structured reference {payment.structured_reference}"
        assert allocation.reason == payment.match_reason
        assert payment.match_decided_at is not None
        assert payment.match_decided_at.date() == payment.booking_date


@pytest.mark.django_db
def test_ledger_issues_invoices_until_last_day() -> None:
    config = DemoConfig(seed=3, debtors=40, invoices=400, start=START, days=30)

    ledger = build_ledger(config)

    last_fortnight = [
        invoice for invoice in ledger.future_invoices if invoice.issue_date > config.end - dt.timedelta(days=14)
    ]
    assert last_fortnight
    assert max(invoice.issue_date for invoice in ledger.future_invoices) <= config.end


@pytest.mark.django_db
def test_ledger_same_seed_same_debtors() -> None:
    config = DemoConfig(seed=11, debtors=20, invoices=60, start=START, days=5)
    with transaction.atomic():
        build_ledger(config)
        first = list(Debtor.objects.order_by("customer_number").values_list("name", "email", "mobile"))
        transaction.set_rollback(True)

    build_ledger(config)
    second = list(Debtor.objects.order_by("customer_number").values_list("name", "email", "mobile"))

    assert first == second


def test_camt_statement_reads_back(tmp_path: Path) -> None:
    entries = (
        StatementEntry(
            amount=Decimal("123.45"),
            booking_date=START,
            account_servicer_reference="DEMO0012026030200000001",
            end_to_end_id="NOTPROVIDED",
            payer_name="J. de Vries",
            payer_iban="NL91ABNA0417164300",
            payer_bic="ABNANL2A",
            structured_reference="5000000000000013",
        ),
        StatementEntry(
            amount=Decimal("10.00"),
            booking_date=START,
            account_servicer_reference="DEMO0012026030200000002",
            end_to_end_id="NOTPROVIDED",
            payer_name="Café 't Hoekje",
            payer_iban="NL20INGB0001234567",
            payer_bic="INGBNL2A",
            remittance_text="Factuur PS2026-000001",
        ),
    )
    statement = Statement(
        account_iban="NL36INGB0007654321",
        account_bic="INGBNL2A",
        day=START,
        sequence_number=4,
        opening_balance=Decimal("1000.00"),
        entries=entries,
    )
    created_at = dt.datetime(2026, 3, 2, 6, 30, tzinfo=dt.timezone.utc)
    path = write_statement(statement, tmp_path, created_at)

    [parsed] = read_camt(path)
    assert parsed.account == "NL36INGB0007654321"
    assert parsed.opening_balance == Decimal("1000.00")
    assert parsed.closing_balance == Decimal("1133.45")
    assert parsed.declared_credit_count == 2
    first, second = parsed.entries
    assert first.amount == Decimal("123.45")
    assert first.booked
    assert first.bank_transaction_code == "PMNT/RCDT/ESCT"
    assert first.transactions[0].structured_reference == "5000000000000013"
    assert first.transactions[0].counterparty_iban == "NL91ABNA0417164300"
    assert second.transactions[0].structured_reference == ""
    assert second.transactions[0].remittance_info == "Factuur PS2026-000001"
    assert second.transactions[0].counterparty_name == "Café 't Hoekje"


@pytest.mark.django_db
def test_demo_rejects_bad_start() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Invalid --start '2026-13-01'"):
        _run_demo("--start", "2026-13-01", "--lang", "en")
