"""Recognise ledger numbers whose leading zeros a spreadsheet dropped.

Excel reads a column of invoice or customer numbers as numbers, so an
export opened and saved in it turns invoice "0012" into "12" and customer
"000481" into "481". Read as new numbers, the file would create a second
invoice for the same claim, and with `--open-items` it would settle the
original as paid while it is still open.

`restore_leading_zeros` runs before the import is applied. A digits-only
number of the file that is not in the ledger, and equals exactly one ledger
number once leading zeros are ignored, is read as that ledger number, with a
note in the report. Nothing is changed when the link is uncertain: when the
file contains both forms ("12" and "0012"), or the ledger more than one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from django.db.models import Model

from betaalreis.imports.records import ImportBatch, InvoiceData
from betaalreis.ledger.models import Creditor, Debtor, Invoice

# Numbers looked up per query, well below SQLite's parameter limit.
_CHUNK = 500
# Notes named in the report. One more note gives the count of the rest.
_MAX_NAMED = 20


def _canonical(number: str) -> str | None:
    """Return a digits-only number without its leading zeros, or None for any other number."""
    if not (number.isascii() and number.isdigit()):
        return None
    return number.lstrip("0") or "0"


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _aliases(model: type[Model], field: str, creditor: Creditor, numbers: Iterable[str]) -> dict[str, str]:
    """Map each file number that refers to exactly one other ledger number to that ledger number."""
    by_canonical: dict[str, set[str]] = defaultdict(set)
    for number in numbers:
        canonical = _canonical(number)
        if canonical is not None:
            by_canonical[canonical].add(number)
    if not by_canonical:
        return {}

    ledger = model._default_manager.filter(creditor=creditor)
    file_numbers = sorted({number for group in by_canonical.values() for number in group})
    known: set[str] = set()
    for chunk in _chunks(file_numbers):
        known.update(ledger.filter(**{f"{field}__in": chunk}).values_list(field, flat=True))

    # The file dropped zeros: "12" refers to a ledger "0012". Only ledger
    # numbers that start with a zero can be such a number.
    missing = {canonical for canonical, group in by_canonical.items() if not group & known}
    if not missing:
        return {}
    ledger_forms: dict[str, set[str]] = defaultdict(set)
    for candidate in ledger.filter(**{f"{field}__startswith": "0"}).values_list(field, flat=True).iterator():
        canonical = _canonical(candidate)
        if canonical in missing:
            ledger_forms[canonical].add(candidate)

    # The ledger dropped zeros: "0012" in the file refers to a ledger "12".
    plain = sorted(canonical for canonical in missing if canonical not in by_canonical[canonical])
    for chunk in _chunks(plain):
        for candidate in ledger.filter(**{f"{field}__in": chunk}).values_list(field, flat=True):
            ledger_forms[candidate].add(candidate)

    aliases: dict[str, str] = {}
    for canonical, forms in ledger_forms.items():
        group = by_canonical[canonical]
        if len(forms) == 1 and len(group) == 1:
            (file_number,) = group
            (ledger_number,) = forms
            aliases[file_number] = ledger_number
    return aliases


def _all_invoices(batch: ImportBatch) -> list[InvoiceData]:
    return [*batch.invoices, *(invoice for skipped in batch.skipped.values() for invoice in skipped)]


def restore_leading_zeros(creditor: Creditor, batch: ImportBatch) -> None:
    """Rewrite the batch's invoice and customer numbers to the ledger numbers they refer to, with a note for each."""
    invoices = _all_invoices(batch)
    invoice_aliases = _aliases(
        Invoice, "number", creditor,
        [invoice.number for invoice in invoices] + [invoice.corrects_number for invoice in invoices if invoice.corrects_number],
    )
    debtor_aliases = _aliases(Debtor, "customer_number", creditor, batch.debtors)
    if not invoice_aliases and not debtor_aliases:
        return

    for invoice in invoices:
        invoice.number = invoice_aliases.get(invoice.number, invoice.number)
        invoice.corrects_number = invoice_aliases.get(invoice.corrects_number, invoice.corrects_number)
        invoice.customer_number = debtor_aliases.get(invoice.customer_number, invoice.customer_number)
    for file_number, ledger_number in debtor_aliases.items():
        debtor = batch.debtors.pop(file_number)
        debtor.customer_number = ledger_number
        batch.debtors[ledger_number] = debtor

    notes = [
        *(f"Invoice number {file} in the file is read as invoice {ledger} of the ledger (leading zeros dropped)."
          for file, ledger in sorted(invoice_aliases.items())),
        *(f"Customer number {file} in the file is read as debtor {ledger} of the ledger (leading zeros dropped)."
          for file, ledger in sorted(debtor_aliases.items())),
    ]
    batch.notes.extend(notes[:_MAX_NAMED])
    if len(notes) > _MAX_NAMED:
        batch.notes.append(f"… and {len(notes) - _MAX_NAMED} more numbers read without their dropped leading zeros.")
