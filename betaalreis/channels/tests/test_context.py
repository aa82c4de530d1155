"""Building a message context from the ledger, the outbox and the legal engine."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from betaalreis.channels.render import (
    ClaimBreakdown,
    MessageContext,
    debtor_payment_reference,
    message_payment_reference,
    render_message,
)
from betaalreis.dunning.models import Policy, Stage
from betaalreis.ledger.models import Creditor, Debtor, Invoice
from betaalreis.legal.claims import ClaimItem, compute_claim
from betaalreis.legal.references import is_valid_rf_reference, make_rf_reference
from betaalreis.outbox.models import Communication, CommunicationInvoice

RUN_DATE = dt.date(2026, 12, 4)
PORTAL = "http://127.0.0.1:8000/p/token/"


@pytest.fixture
def ledger(db) -> dict:
    creditor = Creditor.objects.create(
        slug="zoet", legal_name="Bakkerij Zoet B.V.", trade_name="Bakkerij Zoet",
        iban="NL91ABNA0417164300", city="Utrecht", street="Dorpsstraat 12", postal_code="1234 AB",
    )
    debtor = Debtor.objects.create(
        creditor=creditor, customer_number="K-7", name="Jan Jansen", language="en",
        email="jan@example.nl", street="Laan 3", postal_code="3511 AA", city="Utrecht",
    )
    policy = Policy.objects.create(creditor=creditor, debtor_kind="consumer", name="Consumenten")
    stage = Stage.objects.create(
        policy=policy, code="fourteen_day_letter", order=3, name_nl="Veertiendagenbrief",
        name_en="Fourteen-day letter", offset_days=28, channels=["letter", "email"],
        attach_letter=True, is_fourteen_day_letter=True,
    )
    invoices = [
        Invoice.objects.create(
            creditor=creditor, debtor=debtor, number=number, issue_date=due - dt.timedelta(days=14),
            due_date=due, total=Decimal(amount), open_amount=Decimal(open_amount),
            payment_reference=make_rf_reference(number.replace("-", "")),
        )
        for number, amount, open_amount, due in [
            ("F-100", "150.00", "150.00", dt.date(2026, 10, 20)),
            ("F-101", "250.00", "200.00", dt.date(2026, 10, 30)),
        ]
    ]
    communication = Communication.objects.create(
        creditor=creditor, debtor=debtor, channel="letter", stage="fourteen_day_letter", language="en",
        idempotency_key="zoet:1:fourteen_day_letter:letter:2026-12-04", run_date=RUN_DATE,
        total_amount=Decimal("350.00"),
    )
    items = [
        CommunicationInvoice.objects.create(communication=communication, invoice=invoice,
                                            open_amount=invoice.open_amount)
        for invoice in invoices
    ]
    return {"creditor": creditor, "debtor": debtor, "stage": stage, "invoices": invoices,
            "communication": communication, "items": items}


def test_context_from_communication(ledger: dict) -> None:
    context = MessageContext.from_communication(
        ledger["communication"], ledger["items"], ledger["stage"], portal_url=PORTAL
    )

    assert context.creditor.name == "Bakkerij Zoet"
    assert context.debtor.customer_number == "K-7"
    assert context.stage_name == "Fourteen-day letter"
    assert context.language == "en"
    assert [line.number for line in context.invoices] == ["F-100", "F-101"]
    assert context.invoices[1].open_amount == Decimal("200.00")
    assert context.invoices[0].days_overdue == 45
    assert context.total_due == Decimal("350.00")
    assert context.payment_reference == debtor_payment_reference(ledger["debtor"])
    assert context.attach_letter is True
    assert context.is_fourteen_day_letter is True
    assert context.date == RUN_DATE
    assert context.communication_id == ledger["communication"].pk


def test_context_without_stage(ledger: dict) -> None:
    context = MessageContext.from_communication(ledger["communication"], ledger["items"], None, portal_url=PORTAL)

    assert context.stage_name == "fourteen_day_letter"
    assert context.template_folder == "fourteen_day_letter"
    assert context.attach_letter is False


def test_single_invoice_keeps_its_reference(ledger: dict) -> None:
    invoice = ledger["invoices"][0]

    assert message_payment_reference(ledger["debtor"], [invoice]) == invoice.payment_reference


def test_free_text_reference_is_replaced(ledger: dict) -> None:
    invoice = ledger["invoices"][0]
    invoice.payment_reference = "factuur F-100"

    reference = message_payment_reference(ledger["debtor"], [invoice])

    assert reference == debtor_payment_reference(ledger["debtor"])
    assert is_valid_rf_reference(reference)


def test_legal_claim_in_fourteen_day_letter(ledger: dict) -> None:
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=[
            ClaimItem(invoice_number="F-100", principal=Decimal("150.00"), due_date=dt.date(2026, 10, 20)),
            ClaimItem(invoice_number="F-101", principal=Decimal("200.00"), due_date=dt.date(2026, 10, 30)),
        ],
        on=RUN_DATE,
    )
    claim = ClaimBreakdown.from_legal(breakdown)
    context = MessageContext.from_communication(
        ledger["communication"], ledger["items"], ledger["stage"], portal_url=PORTAL, claim=claim
    )

    letter = render_message(context, "letter")

    # BIK over the summed principal: 15 % of 350.00 is 52.50, above the 40.00 minimum.
    assert claim.costs == Decimal("52.50")
    assert claim.costs_due is False
    assert claim.principal == Decimal("350.00")
    assert claim.total == claim.principal + claim.interest
    assert "we will charge €52.50 in collection costs" in letter.text
    assert "within fourteen days after the day on which you received this letter" in letter.text


@pytest.mark.parametrize(("debtor_kind", "commercial"), [("consumer", False), ("business", True)])
def test_claim_names_interest_rate(debtor_kind: str, commercial: bool) -> None:
    breakdown = compute_claim(
        debtor_kind=debtor_kind,
        items=[ClaimItem(invoice_number="F-100", principal=Decimal("1000.00"), due_date=dt.date(2026, 7, 15))],
        on=RUN_DATE,
    )

    claim = ClaimBreakdown.from_legal(breakdown)

    assert claim.commercial_interest is commercial
