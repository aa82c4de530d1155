"""The database side: stored legal settings and claims built from the ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from betaalreis.ledger.models import (
    Allocation,
    Creditor,
    Debtor,
    DebtorKind,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payment,
    PaymentSource,
)
from betaalreis.legal.claims import CostsStatus
from betaalreis.legal.ledger_claims import (
    claim_for_debtor,
    claim_items_for_debtor,
    claim_items_for_debtors,
    claims_for_debtors,
)
from betaalreis.legal.models import (
    CreditorLegalSettings,
    legal_settings_by_creditor,
    legal_settings_for,
)
from betaalreis.legal.policy import BusinessCostMode, ClaimPart, LegalSettings

pytestmark = pytest.mark.django_db

d = dt.date
D = Decimal


@pytest.fixture
def creditor() -> Creditor:
    return Creditor.objects.create(slug="acme", legal_name="Acme B.V.", iban="NL91ABNA0417164300")


def _debtor(creditor: Creditor, number: str, kind: str = DebtorKind.CONSUMER) -> Debtor:
    return Debtor.objects.create(creditor=creditor, customer_number=number, name=f"Debtor {number}", kind=kind)


def _invoice(debtor: Debtor, number: str, total: str, due: dt.date, **extra: object) -> Invoice:
    return Invoice.objects.create(
        creditor=debtor.creditor, debtor=debtor, number=number, issue_date=due - dt.timedelta(days=14),
        due_date=due, total=D(total), open_amount=D(total), **extra,
    )


def test_defaults_without_row(creditor: Creditor) -> None:
    settings = legal_settings_for(creditor)

    assert settings == LegalSettings(vat_deductible=True)


def test_stored_row_and_creditor_vat(creditor: Creditor) -> None:
    creditor.vat_deductible = False
    creditor.save()
    CreditorLegalSettings.objects.create(
        creditor=creditor,
        business_cost_mode=BusinessCostMode.FIXED_40,
        allocation_order="principal,interest,costs",
        receipt_days_letter=3,
        weekly_contact_maximum=5,
        contact_start=dt.time(8, 0),
    )

    settings = legal_settings_for(creditor)

    assert settings.business_cost_mode is BusinessCostMode.FIXED_40
    assert settings.allocation_order == (ClaimPart.PRINCIPAL, ClaimPart.INTEREST, ClaimPart.COSTS)
    assert settings.receipt_days["letter"] == 3
    assert settings.weekly_contact_maximum == 5
    assert settings.contact_start == dt.time(8, 0)
    assert settings.vat_deductible is False


def test_claim_from_ledger_with_payment_and_credit_note(creditor: Creditor) -> None:
    debtor = _debtor(creditor, "C1")
    invoice = _invoice(debtor, "2025-0001", "1200.00", d(2025, 9, 30))
    _invoice(debtor, "2025-0002", "50.00", d(2025, 10, 31), status=InvoiceStatus.PAID)
    credit_note = _invoice(debtor, "2025-C001", "-200.00", d(2025, 9, 30), kind=InvoiceKind.CREDIT_NOTE)
    Allocation.objects.create(creditor=creditor, credit_note=credit_note, invoice=invoice, amount=D("200.00"))
    payment = Payment.objects.create(
        creditor=creditor, debtor=debtor, source=PaymentSource.BANK, external_id="b1",
        booking_date=d(2025, 12, 31), amount=D("100.00"),
    )
    Allocation.objects.create(creditor=creditor, payment=payment, invoice=invoice, amount=D("100.00"))
    invoice.open_amount = D("900.00")
    invoice.save()

    breakdown = claim_for_debtor(debtor, d(2026, 3, 31), fourteen_day_term_end=d(2026, 1, 20))

    assert breakdown is not None
    assert [row.invoice_number for row in breakdown.items] == ["2025-0001"]
    assert breakdown.principal == D("1000.00")
    # 92 days at 6 % on 1000 = 15.12 interest, paid first from the 100.
    assert breakdown.payments[0].to_interest == D("15.12")
    assert breakdown.principal_outstanding == D("915.12")
    assert breakdown.costs.status is CostsStatus.DUE
    assert breakdown.costs.costs == D("137.27")


def test_claim_none_without_open_invoices(creditor: Creditor) -> None:
    debtor = _debtor(creditor, "C2")
    _invoice(debtor, "2025-0003", "10.00", d(2025, 9, 30), status=InvoiceStatus.PAID)

    assert claim_for_debtor(debtor, d(2026, 3, 31)) is None


def test_claim_uses_own_creditor_only(creditor: Creditor) -> None:
    other = Creditor.objects.create(slug="other", legal_name="Other B.V.", iban="NL91ABNA0417164300")
    debtor = _debtor(creditor, "C3", DebtorKind.BUSINESS)
    _invoice(debtor, "2026-0001", "100.00", d(2026, 1, 31))
    foreign_debtor = _debtor(other, "C3", DebtorKind.BUSINESS)
    _invoice(foreign_debtor, "2026-0001", "999.00", d(2026, 1, 31))

    breakdown = claim_for_debtor(debtor, d(2026, 3, 31))

    assert breakdown is not None
    assert breakdown.principal == D("100.00")
    assert breakdown.interest_kind == "commercial"


def test_claim_leaves_other_currencies_out(creditor: Creditor) -> None:
    debtor = _debtor(creditor, "C4")
    _invoice(debtor, "2026-0010", "100.00", d(2026, 1, 31))
    _invoice(debtor, "2026-0011", "300.00", d(2026, 1, 31), currency="USD")

    breakdown = claim_for_debtor(debtor, d(2026, 3, 31))

    assert breakdown is not None
    assert breakdown.currency == "EUR"
    assert [item.invoice_number for item in breakdown.items] == ["2026-0010"]
    assert breakdown.principal == D("100.00")


def test_claim_none_without_euro_invoices(creditor: Creditor) -> None:
    debtor = _debtor(creditor, "C8")
    _invoice(debtor, "2026-0012", "300.00", d(2026, 1, 31), currency="USD")

    assert claim_for_debtor(debtor, d(2026, 3, 31)) is None
    dollar_input = claim_items_for_debtor(debtor, d(2026, 3, 31), currency="USD")
    assert [item.invoice_number for item in dollar_input.items] == ["2026-0012"]
    assert dollar_input.currency == "USD"


@pytest.mark.usefixtures("english_reports")
def test_claim_items_for_many_debtors(creditor: Creditor) -> None:
    paying = _debtor(creditor, "C5")
    mixed = _debtor(creditor, "C6")
    idle = _debtor(creditor, "C7")
    first = _invoice(paying, "2026-0020", "100.00", d(2026, 1, 31))
    _invoice(paying, "2026-0021", "250.00", d(2026, 2, 28))
    _invoice(mixed, "2026-0022", "100.00", d(2026, 1, 31))
    _invoice(mixed, "2026-0023", "100.00", d(2026, 1, 31), currency="USD")
    payment = Payment.objects.create(
        creditor=creditor, debtor=paying, source=PaymentSource.MANUAL, external_id="p-c5",
        booking_date=d(2026, 3, 2), amount=Decimal("40.00"),
    )
    Allocation.objects.create(creditor=creditor, payment=payment, invoice=first, amount=Decimal("40.00"))
    on = d(2026, 3, 31)

    inputs = claim_items_for_debtors(creditor.pk, [paying.pk, mixed.pk, idle.pk], on)

    assert inputs[paying.pk] == claim_items_for_debtor(paying, on)
    assert inputs[idle.pk] == claim_items_for_debtor(idle, on)
    assert [item.invoice_number for item in inputs[mixed.pk].items] == ["2026-0022"]
    assert inputs[mixed.pk].currency == "EUR"


def test_settings_for_many_creditors(creditor: Creditor) -> None:
    other = Creditor.objects.create(
        slug="other", legal_name="Other B.V.", iban="NL91ABNA0417164300", vat_deductible=False
    )
    CreditorLegalSettings.objects.create(creditor=creditor, weekly_contact_maximum=7)

    settings = legal_settings_by_creditor([creditor, other])

    assert settings[creditor.pk].weekly_contact_maximum == 7
    assert settings[other.pk] == LegalSettings(vat_deductible=False)


def test_claims_for_many_debtors(creditor: Creditor) -> None:
    consumer = _debtor(creditor, "M1")
    business = _debtor(creditor, "M2", DebtorKind.BUSINESS)
    idle = _debtor(creditor, "M3")
    _invoice(consumer, "2026-0101", "150.00", d(2026, 10, 1))
    _invoice(consumer, "2026-0102", "200.00", d(2026, 10, 15))
    _invoice(business, "2026-0103", "1000.00", d(2026, 10, 1))

    claims = claims_for_debtors(
        creditor,
        {consumer.pk: consumer.kind, business.pk: business.kind, idle.pk: idle.kind},
        d(2026, 12, 23),
        fourteen_day_term_ends={consumer.pk: d(2026, 12, 22)},
    )

    assert set(claims) == {consumer.pk, business.pk}
    assert claims[consumer.pk].costs.costs == D("52.50")
    assert claims[business.pk].costs.costs == D("150.00")
    assert claims[business.pk].interest_kind == "commercial"
    single = claim_for_debtor(consumer, d(2026, 12, 23), fourteen_day_term_end=d(2026, 12, 22))
    assert single == claims[consumer.pk]
