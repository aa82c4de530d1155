"""Recognise ledger numbers whose leading zeros a spreadsheet dropped.

Excel reads a column of invoice or customer numbers as numbers, so an
export opened and saved in it turns invoice "0012" into "12" and customer
"000481" into "481". Read as new numbers, the file would create a second
invoice for the same claim, and with `--open-items` it would settle the
original as paid while it is still open.

`restore_leading_zeros` runs before the import is applied. A digits-only
number of the file that is not in the ledger, and equals exactly one ledger
number once leading zeros are ignored, is read as that ledger number, with a
note in the report. When the file contains both forms ("12" and "0012"),
nothing is changed. When the ledger contains more than one, the file is
rejected. A customer number is read as the ledger's only when the file gives
no name or the same name, so another customer's details are never overwritten.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db.models import Model
from django.utils.translation import gettext, ngettext

from betaalreis.imports.records import ImportBatch, InvoiceData
from betaalreis.imports.registry import ImportRejected, RowError
from betaalreis.ledger.match_keys import normalise_name
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


@dataclass
class _Aliases:
    """The file numbers read as ledger numbers, and those that equal several ledger numbers."""

    found: dict[str, str] = field(default_factory=dict)
    ambiguous: dict[str, list[str]] = field(default_factory=dict)


def _aliases(model: type[Model], column: str, creditor: Creditor, numbers: Iterable[str]) -> _Aliases:
    """Find the ledger numbers that each file number missing from the ledger equals without leading zeros."""
    result = _Aliases()
    by_canonical: dict[str, set[str]] = defaultdict(set)
    for number in numbers:
        canonical = _canonical(number)
        if canonical is not None:
            by_canonical[canonical].add(number)
    if not by_canonical:
        return result

    ledger = model._default_manager.filter(creditor=creditor)
    file_numbers = sorted({number for group in by_canonical.values() for number in group})
    known: set[str] = set()
    for chunk in _chunks(file_numbers):
        known.update(ledger.filter(**{f"{column}__in": chunk}).values_list(column, flat=True))

    # The file dropped zeros: "12" refers to a ledger "0012". Only ledger
    # numbers that start with a zero can be such a number.
    missing = {canonical for canonical, group in by_canonical.items() if not group & known}
    if not missing:
        return result
    ledger_forms: dict[str, set[str]] = defaultdict(set)
    for candidate in ledger.filter(**{f"{column}__startswith": "0"}).values_list(column, flat=True).iterator():
        canonical = _canonical(candidate)
        if canonical in missing:
            ledger_forms[canonical].add(candidate)

    # The ledger dropped zeros: "0012" in the file refers to a ledger "12".
    plain = sorted(canonical for canonical in missing if canonical not in by_canonical[canonical])
    for chunk in _chunks(plain):
        for candidate in ledger.filter(**{f"{column}__in": chunk}).values_list(column, flat=True):
            ledger_forms[candidate].add(candidate)

    for canonical, forms in ledger_forms.items():
        group = by_canonical[canonical]
        if len(group) != 1:
            continue
        (file_number,) = group
        if len(forms) == 1:
            result.found[file_number] = next(iter(forms))
        else:
            result.ambiguous[file_number] = sorted(forms)
    return result


def _all_invoices(batch: ImportBatch) -> list[InvoiceData]:
    return [*batch.invoices, *(invoice for skipped in batch.skipped.values() for invoice in skipped)]


def _and_list(numbers: list[str]) -> str:
    return gettext(" en ").join(numbers)


def _ambiguity_errors(invoices: list[InvoiceData], batch: ImportBatch, invoice_aliases: _Aliases,
                      debtor_aliases: _Aliases) -> list[RowError]:
    errors: list[RowError] = []
    for invoice in invoices:
        forms = invoice_aliases.ambiguous.get(invoice.number)
        if forms:
            errors.append(RowError(invoice.row, batch.field_name("invoice_number"), invoice.number, gettext(
                "is zonder voorloopnullen gelijk aan de facturen %(numbers)s in Betaalreis; schrijf het "
                "nummer zoals Betaalreis het heeft"
            ) % {"numbers": _and_list(forms)}))
    for number, forms in debtor_aliases.ambiguous.items():
        errors.append(RowError(batch.debtors[number].row, batch.field_name("customer_number"), number, gettext(
            "is zonder voorloopnullen gelijk aan de debiteuren %(numbers)s in Betaalreis; schrijf het "
            "nummer zoals Betaalreis het heeft"
        ) % {"numbers": _and_list(forms)}))
    return errors


def _drop_other_names(creditor: Creditor, batch: ImportBatch, aliases: _Aliases, notes: list[str]) -> None:
    """Keep a customer number alias only when the file gives no name or the debtor's own name."""
    names: dict[str, str] = {}
    for chunk in _chunks(sorted(aliases.found.values())):
        names.update(
            Debtor.objects.filter(creditor=creditor, customer_number__in=chunk).values_list("customer_number", "name")
        )
    for file_number, ledger_number in list(aliases.found.items()):
        file_name = batch.debtors[file_number].name
        ledger_name = names.get(ledger_number, "")
        if not file_name or normalise_name(file_name) == normalise_name(ledger_name):
            continue
        del aliases.found[file_number]
        notes.append(gettext(
            "Debiteurnummer %(file)s in het bestand kan zonder voorloopnullen debiteur %(ledger)s in "
            "Betaalreis zijn, maar de namen verschillen (%(file_name)r, %(ledger_name)r); het is "
            "geïmporteerd als een andere debiteur."
        ) % {"file": file_number, "ledger": ledger_number, "file_name": file_name, "ledger_name": ledger_name})


def restore_leading_zeros(creditor: Creditor, batch: ImportBatch, *, path: Path) -> None:
    """Rewrite the batch's invoice and customer numbers to the ledger numbers they refer to, with notes.

    Raises ImportRejected when a file number equals more than one ledger
    number once leading zeros are ignored, because either reading could
    settle or duplicate the wrong invoice.
    """
    invoices = _all_invoices(batch)
    invoice_aliases = _aliases(
        Invoice, "number", creditor,
        [invoice.number for invoice in invoices]
        + [invoice.corrects_number for invoice in invoices if invoice.corrects_number],
    )
    debtor_aliases = _aliases(Debtor, "customer_number", creditor, batch.debtors)
    errors = _ambiguity_errors(invoices, batch, invoice_aliases, debtor_aliases)
    if errors:
        summary = ngettext(
            "%(count)d nummer is niet eenduidig.", "%(count)d nummers zijn niet eenduidig.", len(errors)
        )
        raise ImportRejected(path, errors, summary % {"count": len(errors)})

    notes: list[str] = []
    _drop_other_names(creditor, batch, debtor_aliases, notes)
    if not invoice_aliases.found and not debtor_aliases.found and not notes:
        return

    for invoice in invoices:
        invoice.number = invoice_aliases.found.get(invoice.number, invoice.number)
        invoice.corrects_number = invoice_aliases.found.get(invoice.corrects_number, invoice.corrects_number)
        invoice.customer_number = debtor_aliases.found.get(invoice.customer_number, invoice.customer_number)
    for file_number, ledger_number in debtor_aliases.found.items():
        debtor = batch.debtors.pop(file_number)
        debtor.customer_number = ledger_number
        batch.debtors[ledger_number] = debtor

    invoice_note = gettext(
        "Factuurnummer %(file)s in het bestand is gelezen als factuur %(ledger)s in Betaalreis "
        "(voorloopnullen weggevallen)."
    )
    debtor_note = gettext(
        "Debiteurnummer %(file)s in het bestand is gelezen als debiteur %(ledger)s in Betaalreis "
        "(voorloopnullen weggevallen)."
    )
    notes += [
        *(invoice_note % {"file": file, "ledger": ledger} for file, ledger in sorted(invoice_aliases.found.items())),
        *(debtor_note % {"file": file, "ledger": ledger} for file, ledger in sorted(debtor_aliases.found.items())),
    ]
    batch.notes.extend(notes[:_MAX_NAMED])
    if len(notes) > _MAX_NAMED:
        more = len(notes) - _MAX_NAMED
        batch.notes.append(ngettext(
            "… en nog %(count)d nummer gelezen zonder de weggevallen voorloopnullen.",
            "… en nog %(count)d nummers gelezen zonder de weggevallen voorloopnullen.",
            more,
        ) % {"count": more})
