"""Query plans of invoice queries that depend on the partial status index.

The index leaves out paid and other settled invoices. SQLite uses a partial
index only when the query contains its condition, so these tests fail when a
query change makes the engine read all of a creditor's invoices instead.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import QuerySet

from betaalreis.banking.tests.helpers import make_creditor
from betaalreis.imports.writer import open_items_candidates
from betaalreis.ledger.models import Invoice, InvoiceStatus

pytestmark = pytest.mark.django_db

INDEX = "invoice_payable_status_idx"


def _plan(queryset: QuerySet) -> str:
    """Return the engine's plan for `queryset`, with sequential scans turned off on PostgreSQL.

    A test database is too small for PostgreSQL to prefer an index over a
    sequential scan. The setting lasts until the test's transaction ends.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
    return queryset.explain()


def test_open_status_uses_payable_index():
    creditor = make_creditor()

    plan = _plan(Invoice.objects.filter(creditor=creditor, status=InvoiceStatus.OPEN).order_by("due_date"))

    assert INDEX in plan


def test_open_items_candidates_use_payable_index():
    creditor = make_creditor()

    plan = _plan(open_items_candidates(creditor).values_list("pk", "number"))

    assert INDEX in plan


def test_paid_status_skips_payable_index():
    creditor = make_creditor()

    plan = _plan(Invoice.objects.filter(creditor=creditor, status=InvoiceStatus.PAID))

    assert INDEX not in plan
