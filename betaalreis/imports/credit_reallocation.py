"""Undo Betaalreis's own credit note allocations where an import shows the books decided otherwise.

The daily run applies open credit notes to the debtor's oldest open invoices
(`ledger.credit_notes`). That is a guess until the accounting package books
the credit note. The file is the truth for the open amounts of the invoices
and credit notes it lists, so an import undoes the whole guess for a credit
note when the file shows the books allocated it differently:

- the file changes the credit note's total or open amount (booked elsewhere,
  corrected or withdrawn), or names an invoice for it that the ledger now has;
- the file changes the open amount of an invoice the credit note paid;
- an open-items file leaves out a credit note and lists an invoice it paid
  with another open amount than the ledger has.

Undoing all of the credit note's allocations (not only those on listed
invoices) is what keeps one credit note from being deducted twice: the file
does not say where the books used it. Invoices outside the file that open
again are named in the import report. A credit note that the file does not
list is held (`Invoice.allocation_held`), because its open amount in the
books is unknown, until an import lists it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, Q
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from betaalreis.imports.records import InvoiceData
from betaalreis.ledger.actions import do_undo_credit_note_allocations
from betaalreis.ledger.models import Allocation, Creditor, Invoice
from betaalreis.ledger.money import format_money

# Ids per IN (...) query, as in `imports.writer`.
CHUNK = 900
MAX_NOTES = 20

# The file fields that show the books booked, corrected or withdrew a credit note. Each has
# an English name for the stored reason and a Dutch one, with its article, for the report.
CREDIT_NOTE_FIELDS: dict[str, tuple[str, Promise]] = {
    "total": ("total", _("het totaalbedrag")),
    "open_amount": ("open amount", _("het openstaand bedrag")),
    "corrects_number": ("original invoice", _("de oorspronkelijke factuur")),
}


@dataclass(frozen=True)
class _Reason:
    """Why a credit note is re-allocated: in English for the timeline data and log, translated for the report."""

    stored: str
    translated: str


@dataclass
class Reallocation:
    """Credit notes whose allocations one import undid, with the report notes."""

    credit_notes: int = 0
    invoice_ids: set[int] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


def _chunks(items: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _own_allocations() -> Q:
    """Match credit note allocations to any invoice but the one the credit note corrects."""
    return Q(credit_note__isnull=False) & (
        Q(credit_note__corrects__isnull=True) | ~Q(invoice_id=F("credit_note__corrects_id"))
    )


def _credit_notes_paying(invoice_ids: list[int]) -> dict[int, set[int]]:
    """Return, per credit note id, which of `invoice_ids` it paid by Betaalreis's own allocation."""
    found: dict[int, set[int]] = defaultdict(set)
    for chunk in _chunks(invoice_ids):
        rows = Allocation.objects.filter(_own_allocations(), invoice_id__in=chunk).values_list(
            "credit_note_id", "invoice_id"
        )
        for credit_note_id, invoice_id in rows:
            found[credit_note_id].add(invoice_id)
    return found


def _with_own_allocations(credit_note_ids: list[int]) -> set[int]:
    found: set[int] = set()
    for chunk in _chunks(credit_note_ids):
        found |= set(
            Allocation.objects.filter(_own_allocations(), credit_note_id__in=chunk).values_list(
                "credit_note_id", flat=True
            )
        )
    return found


def undo_for_import(
    invoices: list[InvoiceData],
    existing: dict[str, Invoice],
    changes: dict[str, set[str]],
    *,
    source: str,
) -> Reallocation:
    """Undo the credit note allocations that the file contradicts, before its values are applied.

    `existing` maps the numbers the file names to ledger invoices, and
    `changes` maps an invoice number to the fields whose file value differs
    from the last import.
    """
    numbers_in_file = {data.number for data in invoices}
    invoice_numbers = {data.number for data in invoices if not data.is_credit_note}
    invoice_numbers |= {number for number, invoice in existing.items() if not invoice.is_credit_note}
    reasons: dict[int, list[_Reason]] = defaultdict(list)

    listed_credit_notes = [
        (data, existing[data.number])
        for data in invoices
        if data.is_credit_note and data.number in existing
    ]
    for data, credit_note in listed_credit_notes:
        changed = [labels for name, labels in CREDIT_NOTE_FIELDS.items() if name in changes.get(data.number, ())]
        if changed:
            stored = " and ".join(english for english, _dutch in changed)
            translated = gettext(" en ").join(str(dutch) for _english, dutch in changed)
            reasons[credit_note.pk].append(_Reason(
                f"the file changes its {stored}", gettext("het bestand wijzigt %(fields)s") % {"fields": translated},
            ))
        elif (
            credit_note.corrects_id is None
            and data.corrects_number in invoice_numbers
            and data.corrects_number != data.number
        ):
            reasons[credit_note.pk].append(_Reason(
                f"the file names its original invoice {data.corrects_number}",
                gettext("het bestand noemt de oorspronkelijke factuur %(number)s") % {"number": data.corrects_number},
            ))
    with_allocations = _with_own_allocations(list(reasons))

    changed_invoices = {
        existing[data.number].pk: data.number
        for data in invoices
        if not data.is_credit_note and data.number in existing and "open_amount" in changes.get(data.number, ())
    }
    for credit_note_id, invoice_ids in _credit_notes_paying(sorted(changed_invoices)).items():
        with_allocations.add(credit_note_id)
        for invoice_id in sorted(invoice_ids):
            number = changed_invoices[invoice_id]
            reasons[credit_note_id].append(_Reason(
                f"the file changes the open amount of invoice {number}",
                gettext("het bestand wijzigt het openstaand bedrag van factuur %(number)s") % {"number": number},
            ))

    result = Reallocation()
    for credit_note in Invoice.objects.filter(pk__in=sorted(with_allocations)).order_by("number"):
        hold = credit_note.number not in numbers_in_file
        reason = _Reason(
            "; ".join(reason.stored for reason in reasons[credit_note.pk]),
            "; ".join(reason.translated for reason in reasons[credit_note.pk]),
        )
        _undo(credit_note, reason, numbers_in_file, result, hold=hold, source=source)
    return result


def undo_for_missing_credit_notes(
    creditor: Creditor, listed: Collection[str], listed_open_amounts: Mapping[str, Decimal], *, source: str
) -> Reallocation:
    """Undo the allocations of left-out credit notes that a listed invoice contradicts.

    An open-items export never lists a credit note that is used up, so its
    absence alone does not show where the books used it. The allocations of
    a left-out credit note are undone only when an invoice it paid is listed
    with another open amount than the ledger has: the books did not use the
    credit note there. Otherwise they stay, and the settling of the missing
    items closes what is still open of the credit note and its invoices.
    `listed_open_amounts` maps the invoice numbers of the file to their open
    amounts. Run this before the missing invoices are settled, so the
    invoices that open again and are missing too are settled with them.
    """
    result = Reallocation()
    paid_by: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    rows = Allocation.objects.filter(_own_allocations(), creditor=creditor).values_list(
        "credit_note_id", "invoice__number", "invoice__open_amount"
    )
    for credit_note_id, invoice_number, ledger_open in rows:
        paid_by[credit_note_id].append((invoice_number, ledger_open))

    for credit_note in Invoice.objects.filter(pk__in=sorted(paid_by)).order_by("number"):
        if credit_note.number in listed:
            continue
        contradicted = sorted({
            number
            for number, ledger_open in paid_by[credit_note.pk]
            if number in listed_open_amounts and listed_open_amounts[number] != ledger_open
        })
        if not contradicted:
            continue
        numbers = ", ".join(contradicted)
        reason = _Reason(
            f"the open items leave it out and list {numbers} with another open amount",
            gettext(
                "de openstaande posten noemen haar niet meer en noemen %(numbers)s met een ander openstaand bedrag"
            ) % {"numbers": numbers},
        )
        _undo(credit_note, reason, listed, result, hold=False, source=source)
    return result


def _undo(
    credit_note: Invoice,
    reason: _Reason,
    numbers_in_file: Collection[str],
    result: Reallocation,
    *,
    hold: bool,
    source: str,
) -> None:
    allocations = do_undo_credit_note_allocations(credit_note, source=source, reason=reason.stored, hold=hold)
    if not allocations:
        return

    result.credit_notes += 1
    result.invoice_ids |= {allocation.invoice_id for allocation in allocations}
    if len(result.notes) >= MAX_NOTES:
        return

    undone = ", ".join(
        f"{allocation.invoice.number} "
        f"({format_money(allocation.amount, allocation.invoice.currency, language=get_language() or 'nl')})"
        for allocation in allocations
    )
    sentences = [gettext(
        "Creditnota %(number)s opnieuw verdeeld, want %(reason)s: wat Betaalreis ervan had verrekend "
        "met %(undone)s is teruggedraaid."
    ) % {"number": credit_note.number, "reason": reason.translated, "undone": undone}]
    outside = sorted({a.invoice.number for a in allocations if a.invoice.number not in numbers_in_file})
    if outside:
        sentences.append(gettext(
            "Weer open maar niet in dit bestand: %(numbers)s; controleer ze in de boekhouding."
        ) % {"numbers": ", ".join(outside)})
    if hold:
        sentences.append(gettext(
            "Het bestand noemt de creditnota niet, dus Betaalreis verrekent haar pas weer als een "
            "import haar noemt."
        ))
    result.notes.append(" ".join(sentences))
