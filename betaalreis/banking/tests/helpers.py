"""Ledger rows and statement files for the banking tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from betaalreis.banking.importers import Camt05xImporter
from betaalreis.banking.samples import SampleEntry, write_camt053
from betaalreis.imports.registry import ImportReport
from betaalreis.ledger.models import Creditor, Debtor, Invoice

CREDITOR_IBAN = "NL91ABNA0417164300"
PAYER_IBAN = "NL02ABNA0123456789"
OTHER_PAYER_IBAN = "NL20INGB0001234567"


def make_creditor(slug: str = "acme", iban: str = CREDITOR_IBAN) -> Creditor:
    return Creditor.objects.create(slug=slug, legal_name=f"{slug} B.V.", iban=iban)


def make_debtor(creditor: Creditor, number: str, name: str) -> Debtor:
    return Debtor.objects.create(creditor=creditor, customer_number=number, name=name)


def make_invoice(
    debtor: Debtor, number: str, amount: str, *, reference: str = "", due: dt.date = dt.date(2026, 11, 1), status: str = "open"
) -> Invoice:
    return Invoice.objects.create(
        creditor=debtor.creditor,
        debtor=debtor,
        number=number,
        issue_date=due - dt.timedelta(days=30),
        due_date=due,
        total=Decimal(amount),
        open_amount=Decimal(amount),
        payment_reference=reference,
        status=status,
    )


def import_entries(tmp_path: Path, entries: list[SampleEntry], name: str = "statement.xml", **options: object) -> ImportReport:
    path = write_camt053(tmp_path / name, CREDITOR_IBAN, entries, **options)
    return Camt05xImporter().run(path, None)
