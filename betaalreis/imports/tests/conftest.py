"""Fixtures for the import tests: a creditor and a helper that writes input files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from betaalreis.ledger.models import Creditor


@pytest.fixture
def creditor(db) -> Creditor:
    return Creditor.objects.create(
        slug="acme", legal_name="Acme B.V.", iban="NL91ABNA0417164300", kvk_number="12345678"
    )


def make_corpus_supplier(creditor: Creditor) -> Creditor:
    """Give `creditor` the details by which the corpus UBL files name their supplier, and return it.

    The SimplerInvoicing examples match on their VAT id and the Peppol
    examples on their trade name, so the supplier check accepts both.
    """
    creditor.vat_id = "NL111111111B01"
    creditor.trade_name = "SupplierTradingName Ltd."
    creditor.save(update_fields=["vat_id", "trade_name"])
    return creditor


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[..., Path]:
    """Write text (in `encoding`) or bytes to a file under tmp_path and return its path."""

    def write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        data = content if isinstance(content, bytes) else content.encode(encoding)
        path.write_bytes(data)
        return path

    return write
