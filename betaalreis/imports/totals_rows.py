"""Totals rows at the end of invoice exports, and the check of their sums.

Exact and Excel exports close the list with a row such as
`Totaal;;;;;;;4.512,09;4.012,09;;`: a word like "Totaal" in the first
cell, no invoice number of its own, and the column sums. Such a row is skipped. When
it is the last row, its sums must equal the rows above it, because a
difference means that the reader misread or lost a row.
"""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal

from betaalreis.imports.headers import normalize_header
from betaalreis.imports.records import InvoiceData
from betaalreis.imports.tables import Cell, cell_text

# The first cell of a totals row, after normalize_header.
_TOTALS_WORD = re.compile(r"^(sub|eind|grand )?(totaal|totalen|total|totals)\b")
# The same word alone, or followed by a currency code or a number ("Totaal EUR",
# "Subtotaal 1001"), as it may stand in the invoice or customer number column.
_TOTALS_LABEL = re.compile(r"^(sub|eind|grand )?(totaal|totalen|total|totals)( [a-z]{3}| [0-9 ]+)?$")


def is_totals_row(cells: list[Cell], invoice_number: str, customer_number: str) -> bool:
    """Return whether a row is a totals row rather than an invoice.

    The first non-empty cell must start with a totals word. When that cell
    is also the invoice number or customer number, it must be the label
    alone, so a debtor named "Totaal Installatie" is not taken for a totals
    row. A row with any other invoice or customer number is an invoice.
    """
    first = next((cell_text(cell) for cell in cells if cell_text(cell)), "")
    key = normalize_header(first)
    if not _TOTALS_WORD.match(key):
        return False

    identifiers = {invoice_number, customer_number} - {""}
    if not identifiers:
        return True
    return identifiers == {first} and bool(_TOTALS_LABEL.match(key))


class RowSums:
    """Sums of the total and open amount over the invoice rows of a file."""

    def __init__(self) -> None:
        self.by_row: dict[str, Decimal] = defaultdict(Decimal)
        self.currencies: set[str] = set()

    def add(self, invoice: InvoiceData) -> None:
        self.by_row["total"] += invoice.total
        self.by_row["open_amount"] += invoice.open_amount
        self.currencies.add(invoice.currency)

    def matches(self, field_name: str, stated: Decimal, invoices: list[InvoiceData]) -> bool:
        """Return whether `stated` is the sum of the rows, or of the invoices.

        A file with one row per invoice line repeats the invoice amounts on
        each line, so its package may sum the invoices instead of the rows.
        """
        per_invoice = sum((getattr(invoice, field_name) for invoice in invoices), Decimal(0))
        return stated in (self.by_row[field_name], per_invoice)
