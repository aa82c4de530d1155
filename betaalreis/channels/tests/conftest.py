"""Fixtures for the channel tests: message contexts built without a database."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from betaalreis.channels.render import ClaimBreakdown, CreditorInfo, DebtorInfo, InvoiceLine, MessageContext
from betaalreis.legal.references import make_rf_reference

MESSAGE_DATE = dt.date(2026, 12, 4)


@pytest.fixture
def creditor_info() -> CreditorInfo:
    return CreditorInfo(
        slug="bakkerij-zoet",
        name="Bakkerij Zoet",
        legal_name="Bakkerij Zoet B.V.",
        iban="NL91ABNA0417164300",
        street="Dorpsstraat 12",
        postal_code="1234 AB",
        city="Utrecht",
        email="debiteuren@bakkerijzoet.example",
        phone="030 123 4567",
        website="https://bakkerijzoet.example",
        kvk_number="12345678",
        vat_id="NL001234567B01",
        brand_color="#8a2be2",
    )


@pytest.fixture
def debtor_info() -> DebtorInfo:
    return DebtorInfo(
        id=42,
        customer_number="K-1001",
        name="Zoë de Vries-Ëlberg",
        is_consumer=True,
        email="zoe@example.nl",
        extra_emails=("boekhouding@example.nl",),
        mobile="+31612345678",
        phone="+31301234567",
        street="Kerkstraat 1 bis",
        postal_code="3511 AA",
        city="Utrecht",
    )


def invoice(number: str, amount: str, due: dt.date, issued: dt.date | None = None) -> InvoiceLine:
    return InvoiceLine(
        number=number,
        issue_date=issued or due - dt.timedelta(days=14),
        due_date=due,
        open_amount=Decimal(amount),
        total=Decimal(amount),
        days_overdue=(MESSAGE_DATE - due).days,
    )


@pytest.fixture
def make_context(creditor_info: CreditorInfo, debtor_info: DebtorInfo) -> Callable[..., MessageContext]:
    """Build a context for stage `reminder` in Dutch; keyword arguments replace fields."""

    def build(**overrides: Any) -> MessageContext:
        invoices = overrides.pop("invoices", (
            invoice("2026-0042", "425.00", dt.date(2026, 11, 1)),
            invoice("2026-0057", "1234.56", dt.date(2026, 11, 15)),
        ))
        context = MessageContext(
            creditor=creditor_info,
            debtor=debtor_info,
            stage_code="reminder",
            stage_name="Herinnering",
            language="nl",
            invoices=tuple(invoices),
            total_due=sum((line.open_amount for line in invoices), Decimal("0.00")),
            currency="EUR",
            payment_reference=make_rf_reference("D42"),
            portal_url="http://127.0.0.1:8000/p/eyJkIjo0Mn0:1vXyZa:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG/",
            idempotency_key="bakkerij-zoet:42:reminder:email:2026-12-04",
            date=MESSAGE_DATE,
        )
        return dataclasses.replace(context, **overrides)

    return build


@pytest.fixture
def claim() -> ClaimBreakdown:
    """A consumer's claim during the 14-day term: costs (15 % of 1659.56) follow if unpaid."""
    return ClaimBreakdown(
        principal=Decimal("1659.56"),
        interest=Decimal("12.30"),
        costs=Decimal("248.93"),
        total=Decimal("1671.86"),
        costs_if_unpaid=Decimal("248.93"),
        costs_increase_if_unpaid=Decimal("248.93"),
    )
