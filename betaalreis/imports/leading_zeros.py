"""Recognise ledger numbers whose leading zeros a spreadsheet dropped.

Excel reads a column of invoice or customer numbers as numbers, so an
export opened and saved in it turns invoice "0012" into "12" and customer
"000481" into "481". Read as new numbers, the file would create a second
invoice for the same claim, and with `--open-items` it would settle the
original as paid while it is still open.

`restore_leading_zeros` runs before the import is applied. A digits-only
invoice number of the file that is not in the ledger, and equals exactly one
ledger number once leading zeros are ignored, is read as that ledger number,
with a note in the report. When the file contains both forms of an invoice
number ("12" and "0012"), nothing is changed and they stay two invoices.
When the ledger contains more than one, the file is rejected.

Customer numbers are stricter, because two debtors for one customer mean
two dunning tracks and collection costs charged twice. All forms of a
customer number in the file and in the ledger are one debtor: the stored
one, or else the longest form in the file, because Excel drops zeros and
never adds them. The file is rejected when those forms give different names,
or when the ledger already stores two of the forms and the file gives a third.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db.models import Model, QuerySet
from django.utils.translation import gettext, ngettext

from betaalreis.imports.records import DebtorData, ImportBatch, InvoiceData
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


def _group_by_canonical(numbers: Iterable[str]) -> dict[str, set[str]]:
    """Group the digits-only numbers by their value without leading zeros."""
    by_canonical: dict[str, set[str]] = defaultdict(set)
    for number in numbers:
        canonical = _canonical(number)
        if canonical is not None:
            by_canonical[canonical].add(number)
    return by_canonical


def _stored_numbers(ledger: QuerySet[Any], column: str, by_canonical: dict[str, set[str]]) -> set[str]:
    """Return the numbers of the groups that the ledger stores exactly as written."""
    file_numbers = sorted({number for group in by_canonical.values() for number in group})
    known: set[str] = set()
    for chunk in _chunks(file_numbers):
        known.update(ledger.filter(**{f"{column}__in": chunk}).values_list(column, flat=True))
    return known


def _aliases(model: type[Model], column: str, creditor: Creditor, numbers: Iterable[str]) -> _Aliases:
    """Find the ledger numbers that each file number missing from the ledger equals without leading zeros."""
    result = _Aliases()
    by_canonical = _group_by_canonical(numbers)
    if not by_canonical:
        return result

    ledger = model._default_manager.filter(creditor=creditor)
    known = _stored_numbers(ledger, column, by_canonical)

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


def _invoice_errors(invoices: list[InvoiceData], batch: ImportBatch, aliases: _Aliases) -> list[RowError]:
    errors: list[RowError] = []
    for invoice in invoices:
        forms = aliases.ambiguous.get(invoice.number)
        if forms:
            errors.append(RowError(invoice.row, batch.field_name("invoice_number"), invoice.number, gettext(
                "is zonder voorloopnullen gelijk aan de facturen %(numbers)s in Betaalreis; schrijf het "
                "nummer zoals Betaalreis het heeft"
            ) % {"numbers": _and_list(forms)}))
    return errors


@dataclass
class _CustomerAliases:
    """File customer numbers read as another number, the reports of it, and the conflicts that stop the file."""

    found: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _customer_groups(creditor: Creditor, numbers: Iterable[str]) -> dict[str, tuple[list[str], set[str]]]:
    """Return, per number without leading zeros, its forms in the file and in the ledger.

    Only groups that need a decision are returned: more than one form in the
    file, or a form the ledger does not store under that exact number.
    """
    by_canonical = _group_by_canonical(numbers)
    if not by_canonical:
        return {}

    ledger = Debtor.objects.filter(creditor=creditor)
    known = _stored_numbers(ledger, "customer_number", by_canonical)
    open_groups = {
        canonical: group for canonical, group in by_canonical.items() if len(group) > 1 or not group <= known
    }
    if not open_groups:
        return {}

    ledger_forms: dict[str, set[str]] = defaultdict(set)
    for canonical, group in open_groups.items():
        ledger_forms[canonical] |= group & known
    for chunk in _chunks(sorted(open_groups)):
        for number in ledger.filter(customer_number__in=chunk).values_list("customer_number", flat=True):
            ledger_forms[number].add(number)
    for candidate in ledger.filter(customer_number__startswith="0").values_list("customer_number", flat=True).iterator():
        canonical = _canonical(candidate)
        if canonical in open_groups:
            ledger_forms[canonical].add(candidate)
    return {canonical: (sorted(group), ledger_forms[canonical]) for canonical, group in open_groups.items()}


def _customer_aliases(creditor: Creditor, batch: ImportBatch) -> _CustomerAliases:
    """Decide which customer number each form of the file is read as, or why the file is rejected."""
    result = _CustomerAliases()
    groups = _customer_groups(creditor, batch.debtors)
    stored_names: dict[str, str] = {}
    stored = sorted({number for _, forms in groups.values() for number in forms})
    for chunk in _chunks(stored):
        stored_names.update(
            Debtor.objects.filter(creditor=creditor, customer_number__in=chunk).values_list("customer_number", "name")
        )

    for file_forms, ledger_forms in groups.values():
        field_name = batch.field_name("customer_number")
        if len(ledger_forms) > 1:
            for number in file_forms:
                if number not in ledger_forms:
                    result.errors.append(RowError(batch.debtors[number].row, field_name, number, gettext(
                        "is zonder voorloopnullen gelijk aan de debiteuren %(numbers)s in Betaalreis; schrijf "
                        "het nummer zoals Betaalreis het heeft"
                    ) % {"numbers": _and_list(sorted(ledger_forms))}))
            continue

        if ledger_forms:
            (target,) = ledger_forms
        elif len(file_forms) > 1:
            target = max(file_forms, key=lambda number: (len(number), number))
        else:
            continue

        conflict = _name_conflict(batch, file_forms, target, stored_names.get(target))
        if conflict is not None:
            result.errors.append(conflict)
            continue
        for number in file_forms:
            if number == target:
                continue
            result.found[number] = target
            if ledger_forms:
                result.notes.append(gettext(
                    "Debiteurnummer %(file)s in het bestand is gelezen als debiteur %(ledger)s in Betaalreis "
                    "(voorloopnullen weggevallen)."
                ) % {"file": number, "ledger": target})
            else:
                result.notes.append(gettext(
                    "Debiteurnummer %(file)s in het bestand is gelezen als debiteurnummer %(number)s uit "
                    "hetzelfde bestand: ze verschillen alleen in voorloopnullen en hebben dezelfde naam."
                ) % {"file": number, "number": target})
    return result


def _name_conflict(batch: ImportBatch, file_forms: list[str], target: str, stored_name: str | None) -> RowError | None:
    """Return the error for a form of one customer number whose name differs from the target's, or None.

    The target's name is the one the file gives under the target number, else
    the stored one. Rows without a name never conflict.
    """
    field_name = batch.field_name("customer_number")
    others = sorted(
        (batch.debtors[number] for number in file_forms if number != target and batch.debtors[number].name),
        key=lambda debtor: debtor.row or 0,
    )
    in_file = batch.debtors.get(target)
    if in_file is not None and in_file.name:
        reference: DebtorData | None = in_file
    elif stored_name:
        reference = None
    elif others:
        reference = others.pop(0)
    else:
        return None

    for debtor in others:
        if reference is None:
            if normalise_name(debtor.name) != normalise_name(stored_name or ""):
                return RowError(debtor.row, field_name, debtor.customer_number, gettext(
                    "is zonder voorloopnullen gelijk aan debiteur %(ledger)s in Betaalreis, maar de naam "
                    "verschilt (%(name)r in het bestand, %(ledger_name)r in Betaalreis). Excel laat "
                    "voorloopnullen weg: schrijf het nummer zoals Betaalreis het heeft, of verbeter de naam"
                ) % {"ledger": target, "name": debtor.name, "ledger_name": stored_name})
        elif normalise_name(debtor.name) != normalise_name(reference.name):
            return RowError(debtor.row, field_name, debtor.customer_number, gettext(
                "is zonder voorloopnullen gelijk aan debiteurnummer %(other)s op rij %(row)s, maar de naam "
                "verschilt (%(name)r, %(other_name)r). Excel laat voorloopnullen weg: importeer de export "
                "zonder hem in Excel op te slaan, of verbeter het nummer of de naam"
            ) % {
                "other": reference.customer_number, "row": reference.row, "name": debtor.name,
                "other_name": reference.name,
            })
    return None


def _merge_debtors(batch: ImportBatch, aliases: dict[str, str]) -> None:
    """Combine the file's debtors that are one customer under the number each is read as.

    Rows are combined in file order, so a later non-empty value wins, as it
    does for rows with the same customer number.
    """
    targets = set(aliases.values())
    by_target: dict[str, list[DebtorData]] = defaultdict(list)
    for number in list(batch.debtors):
        if number in aliases or number in targets:
            by_target[aliases.get(number, number)].append(batch.debtors.pop(number))

    for target, debtors in by_target.items():
        debtors.sort(key=lambda debtor: debtor.row or 0)
        combined = debtors[0]
        combined.customer_number = target
        for other in debtors[1:]:
            for name, value in other.given_values().items():
                setattr(combined, name, value)
            if other.kind:
                combined.legal_form = other.legal_form
            combined.ibans += [iban for iban in other.ibans if iban not in combined.ibans]
        batch.debtors[target] = combined


def restore_leading_zeros(creditor: Creditor, batch: ImportBatch, *, path: Path) -> None:
    """Rewrite the batch's invoice and customer numbers to the numbers they refer to, with notes.

    Raises ImportRejected when a file number equals more than one ledger
    number once leading zeros are ignored, because either reading could
    settle or duplicate the wrong invoice, and when forms of one customer
    number give different names, because they may be different customers.
    """
    invoices = _all_invoices(batch)
    invoice_aliases = _aliases(
        Invoice, "number", creditor,
        [invoice.number for invoice in invoices]
        + [invoice.corrects_number for invoice in invoices if invoice.corrects_number],
    )
    customer_aliases = _customer_aliases(creditor, batch)
    errors = _invoice_errors(invoices, batch, invoice_aliases) + customer_aliases.errors
    if errors:
        summary = ngettext(
            "%(count)d nummer is niet eenduidig.", "%(count)d nummers zijn niet eenduidig.", len(errors)
        )
        raise ImportRejected(path, errors, summary % {"count": len(errors)})
    if not invoice_aliases.found and not customer_aliases.found:
        return

    for invoice in invoices:
        invoice.number = invoice_aliases.found.get(invoice.number, invoice.number)
        invoice.corrects_number = invoice_aliases.found.get(invoice.corrects_number, invoice.corrects_number)
        invoice.customer_number = customer_aliases.found.get(invoice.customer_number, invoice.customer_number)
    _merge_debtors(batch, customer_aliases.found)

    invoice_note = gettext(
        "Factuurnummer %(file)s in het bestand is gelezen als factuur %(ledger)s in Betaalreis "
        "(voorloopnullen weggevallen)."
    )
    notes = [
        *(invoice_note % {"file": file, "ledger": ledger} for file, ledger in sorted(invoice_aliases.found.items())),
        *sorted(customer_aliases.notes),
    ]
    batch.notes.extend(notes[:_MAX_NAMED])
    if len(notes) > _MAX_NAMED:
        more = len(notes) - _MAX_NAMED
        batch.notes.append(ngettext(
            "… en nog %(count)d nummer gelezen zonder de weggevallen voorloopnullen.",
            "… en nog %(count)d nummers gelezen zonder de weggevallen voorloopnullen.",
            more,
        ) % {"count": more})
