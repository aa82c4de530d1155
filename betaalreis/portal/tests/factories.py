"""Test data for the portal and payment tests: creditors, debtors, invoices, a capturing channel."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import ClassVar

from django.utils import timezone

from betaalreis.channels.base import ChannelBackend, OutgoingMessage, SendResult
from betaalreis.ledger.models import Creditor, Debtor, Invoice


def make_creditor(slug: str = "acme", **fields) -> Creditor:
    defaults = {
        "legal_name": f"{slug.title()} B.V.",
        "trade_name": slug.title(),
        "iban": "NL91ABNA0417164300",
        "email": f"debiteuren@{slug}.example",
        "brand_color": "#0b6e4f",
    }
    return Creditor.objects.create(slug=slug, **{**defaults, **fields})


def make_debtor(creditor: Creditor, number: str = "K001", **fields) -> Debtor:
    defaults = {
        "name": "J. de Vries",
        "email": "j.devries@example.nl",
        "mobile": "+31612345678",
        "street": "Kerkstraat 1",
        "postal_code": "1234 AB",
        "city": "Utrecht",
    }
    return Debtor.objects.create(creditor=creditor, customer_number=number, **{**defaults, **fields})


def make_invoice(debtor: Debtor, number: str, amount: str, *, days_overdue: int = -5, **fields) -> Invoice:
    today = timezone.localdate()
    value = Decimal(amount)
    defaults = {
        "issue_date": today - dt.timedelta(days=days_overdue + 30),
        "due_date": today - dt.timedelta(days=days_overdue),
        "total": value,
        "open_amount": value,
        "description": "Onderhoud",
    }
    return Invoice.objects.create(
        creditor_id=debtor.creditor_id, debtor=debtor, number=number, **{**defaults, **fields}
    )


def plan_form_data(debtor: Debtor, invoices: list[Invoice], terms: int) -> dict[str, object]:
    """Return the portal's POST data that requests a plan for these invoices, as sent after the debtor saw its text."""
    from betaalreis.payments.plans import propose_plan

    proposal = propose_plan(debtor, invoices, terms, today=timezone.localdate())
    return {"terms": terms, "invoices": [invoice.pk for invoice in invoices], "shown": proposal.fingerprint}


def give_claim_stage(invoice: Invoice, stage: str = "final_notice") -> Invoice:
    """Put `invoice` at a dunning stage that states the claim, so it carries costs and interest."""
    from betaalreis.dunning.models import InvoiceStage, Policy
    from betaalreis.dunning.policies import seed_default_policies

    if not Policy.objects.filter(creditor_id=invoice.creditor_id).exists():
        seed_default_policies(invoice.creditor)
    InvoiceStage.objects.update_or_create(
        invoice=invoice, defaults={"stage": stage, "stage_date": timezone.localdate()}
    )
    return invoice


class CapturingBackend(ChannelBackend):
    """A channel adapter that keeps messages in memory, for reading codes in tests."""

    channel = "email"
    provider = "capture"
    sent: ClassVar[list[OutgoingMessage]] = []

    def send(self, message: OutgoingMessage) -> SendResult:
        CapturingBackend.sent.append(message)
        return SendResult(provider="capture", provider_reference=str(len(self.sent)), sent_at=timezone.now())
