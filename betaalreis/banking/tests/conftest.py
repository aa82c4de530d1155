"""Fixtures shared by the review queue tests."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from betaalreis.banking.samples import SampleEntry
from betaalreis.ledger.models import Payment

from .helpers import PAYER_IBAN, import_entries, make_creditor, make_debtor, make_invoice


@pytest.fixture
def ambiguous(tmp_path: Path):
    """One payment of € 80 that names an invoice of each of two debtors, so it waits in review."""
    creditor = make_creditor()
    jansen = make_debtor(creditor, "D1", "Jansen")
    pietersen = make_debtor(creditor, "D2", "Pietersen")
    first = make_invoice(jansen, "A-1001", "80.00")
    second = make_invoice(pietersen, "B-2001", "80.00")
    import_entries(tmp_path, [SampleEntry(Decimal("80.00"), name="Jan", iban=PAYER_IBAN, remittance="A-1001 B-2001")])
    return Payment.objects.get(), jansen, first, second


def superuser_client(client: Client) -> Client:
    """Log `client` in as a new superuser "beheer" and return it."""
    admin = get_user_model().objects.create_superuser("beheer", "beheer@example.nl", "x" * 12)
    client.force_login(admin)
    return client


@pytest.fixture
def admin_client(client: Client) -> Client:
    return superuser_client(client)
