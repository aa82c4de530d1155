"""Storage settings of the invoice table on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection


@pytest.mark.django_db
def test_invoice_pages_keep_free_space() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("fillfactor is a PostgreSQL table setting; SQLite has none")

    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'ledger_invoice'")
        (options,) = cursor.fetchone()

    assert "fillfactor=80" in options
