"""Invoices and debtors as a file states them, before they touch the ledger.

Each reader (CSV/XLSX, UBL) turns a file into an `ImportBatch`. The writer
in `betaalreis.imports.writer` compares the batch with the ledger and
applies it in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal

from betaalreis.imports.headers import field_label
from betaalreis.imports.registry import RowError

# Debtor fields a file can set. An empty value leaves the stored value alone,
# so a file without contact data never erases what the ledger stores.
DEBTOR_FIELDS = (
    "name",
    "kind",
    "contact_person",
    "email",
    "extra_emails",
    "mobile",
    "phone",
    "street",
    "postal_code",
    "city",
    "country",
    "language",
    "kvk_number",
    "vat_id",
    "electronic_agreement",
)


@dataclass
class DebtorData:
    """A debtor as one or more rows of a file state it."""

    customer_number: str
    row: int | None
    name: str = ""
    kind: str = ""
    contact_person: str = ""
    email: str = ""
    extra_emails: list[str] = field(default_factory=list)
    mobile: str = ""
    phone: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = ""
    language: str = ""
    kvk_number: str = ""
    vat_id: str = ""
    # None when the file has no value for it, so that an empty cell keeps the stored agreement.
    electronic_agreement: bool | None = None
    ibans: list[str] = field(default_factory=list)
    # The legal form at the end of the name ("B.V.") when `kind` was inferred
    # from it because the file has no kind column; "" otherwise.
    legal_form: str = ""

    def given_values(self) -> dict[str, object]:
        """Return the debtor fields this file fills in, leaving out empty ones.

        A "no" for the agreement to electronic communication is a value, not an empty cell.
        """
        return {
            name: getattr(self, name)
            for name in DEBTOR_FIELDS
            if getattr(self, name) or (name == "electronic_agreement" and self.electronic_agreement is not None)
        }


@dataclass
class InvoiceData:
    """An invoice or credit note as a file states it.

    `total` and `open_amount` carry the sign of the ledger: negative for a
    credit note. `row` is the first row (or None for a whole document).
    """

    number: str
    row: int | None
    customer_number: str
    # None when the file gives no invoice date.
    issue_date: dt.date | None
    due_date: dt.date
    total: Decimal
    open_amount: Decimal
    currency: str = "EUR"
    is_credit_note: bool = False
    payment_reference: str = ""
    description: str = ""
    corrects_number: str = ""

    def source_values(self) -> dict[str, str]:
        """Return the values that decide whether a re-import changes this invoice."""
        return {
            "customer_number": self.customer_number,
            "kind": "credit_note" if self.is_credit_note else "invoice",
            "issue_date": self.issue_date.isoformat() if self.issue_date is not None else "",
            "due_date": self.due_date.isoformat(),
            "currency": self.currency,
            "total": str(self.total),
            "open_amount": str(self.open_amount),
            "payment_reference": self.payment_reference,
            "description": self.description,
            "corrects_number": self.corrects_number,
        }

    def fingerprint(self) -> str:
        encoded = json.dumps(self.source_values(), sort_keys=True).encode()
        return hashlib.sha256(encoded).hexdigest()


@dataclass
class ImportBatch:
    """Everything read from one file, or the problems that stop it."""

    format: str
    debtors: dict[str, DebtorData] = field(default_factory=dict)
    invoices: list[InvoiceData] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Invoices read but not imported, by reason (draft, void).
    skipped: dict[str, list[InvoiceData]] = field(default_factory=dict)
    rows: int = 0
    # How the file names a field (its column header, or an XML path), for problem texts.
    field_names: dict[str, str] = field(default_factory=dict)

    def field_name(self, name: str) -> str:
        """Return the file's own name of field `name`, else the field's name in the active language."""
        return self.field_names.get(name) or field_label(name)
