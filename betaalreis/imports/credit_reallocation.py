"""Undo Betaalreis's own credit note allocations where an import shows the books decided otherwise.

The daily run applies open credit notes to the debtor's oldest open invoices
(`ledger.credit_notes`). That is a guess until the accounting package books
the credit note. The file is the truth for the open amounts of the invoices
and credit notes it lists, so an import undoes the whole guess for a credit
note when the file shows the books allocated it differently:

- the file changes the credit note's total or open amount (booked elsewhere,
  corrected or withdrawn), or names an invoice for it that the ledger now has;
- the file leaves out the credit note and changes the open amount of an
  invoice it paid to another amount than the ledger has;
- an open-items file leaves out a credit note and lists an invoice it paid
  with another open amount than the ledger has.

Undoing all of the credit note's allocations (not only those on listed
invoices) is what keeps one credit note from being deducted twice: the file
does not say where the books used it. Invoices outside the file that open
again are named in the import report. A credit note that the file does not
list is held (`Invoice.allocation_held`), because its open amount in the
books is unknown, until an import lists it.

A credit note that the file lists with unchanged amounts is not booked in
the books yet, so what Betaalreis applied of it stays where the file
changes an invoice it paid. The writer subtracts that credit from the
invoice's new open amount (`Reallocation.unbooked_credit`). Only when the
file leaves less open on the invoice than that credit are the credit note's
allocations to that invoice undone, and the daily run applies the freed
credit again.
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
from betaalreis.ledger.models import ZERO, Allocation, Creditor, Invoice, InvoiceStatus
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
    # Per invoice id whose open amount the file changes: what Betaalreis applied
    # to it of credit notes that the file lists with unchanged amounts.
    unbooked_credit: dict[int, Decimal] = field(default_factory=dict)
    # Closed invoices in the file that an undo opened again. Their dunning
    # restarts only if the file leaves them open.
    restart_later: set[int] = field(default_factory=set)


def _chunks(items: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _own_allocations() -> Q:
    """Match credit note allocations to any invoice but the one the credit note corrects."""
    return Q(credit_note__isnull=False) & (
        Q(credit_note__corrects__isnull=True) | ~Q(invoice_id=F("credit_note__corrects_id"))
    )


def _credit_paid_to(invoice_ids: list[int]) -> dict[int, dict[int, Decimal]]:
    """Return, per id of `invoice_ids`, the amount each credit note paid of it by Betaalreis's own allocations."""
    found: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for chunk in _chunks(invoice_ids):
        rows = Allocation.objects.filter(_own_allocations(), invoice_id__in=chunk).values_list(
            "invoice_id", "credit_note_id", "amount"
        )
        for invoice_id, credit_note_id, amount in rows:
            found[invoice_id][credit_note_id] += amount
    return found


def open_after_file(
    data: InvoiceData, old_total: Decimal, ledger_open: Decimal, unbooked_credit: Decimal = ZERO
) -> Decimal:
    """Return what stays open of an invoice with allocations under the file's amounts, below zero if it is overpaid.

    The file's total less its open amount is what the books have received.
    The stored total less the stored open amount is what Betaalreis counts
    as received: the payments and credit notes it allocated, and what earlier
    imports stated the books had received. Both usually saw the same bank
    payments, so the larger of the two counts as received. `unbooked_credit`
    is credit that Betaalreis applied and the books have not booked, so it
    is taken out of Betaalreis's count and subtracted from what is left.
    Amounts are compared without their sign, so a credit note follows the
    same rule.
    """
    total = abs(data.total)
    received_by_books = total - abs(data.open_amount)
    received_here = abs(old_total) - abs(ledger_open) - unbooked_credit
    return total - max(received_by_books, received_here) - unbooked_credit


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
    unchanged_credit_notes = {credit_note.pk for _data, credit_note in listed_credit_notes} - set(reasons)

    result = Reallocation()
    # Per credit note id, the invoices it paid that the file leaves less open than the credit it applied there.
    overpaid: dict[int, list[Invoice]] = defaultdict(list)
    changed_invoices = {
        existing[data.number].pk: (data, existing[data.number])
        for data in invoices
        if not data.is_credit_note and data.number in existing and "open_amount" in changes.get(data.number, ())
    }
    for invoice_id, paid_by in sorted(_credit_paid_to(sorted(changed_invoices)).items()):
        data, invoice = changed_invoices[invoice_id]
        # Credit notes undone for a reason of their own give their amounts back first.
        ledger_open = invoice.open_amount + sum(
            (amount for credit_note_id, amount in paid_by.items() if credit_note_id in reasons), ZERO
        )
        unbooked = {pk: amount for pk, amount in paid_by.items() if pk in unchanged_credit_notes}
        unbooked_total = sum(unbooked.values(), ZERO)
        left_out = [pk for pk in paid_by if pk not in reasons and pk not in unchanged_credit_notes]
        if left_out and data.open_amount - unbooked_total != ledger_open:
            # The file does not say whether the books used these credit notes here.
            for credit_note_id in left_out:
                with_allocations.add(credit_note_id)
                reasons[credit_note_id].append(_Reason(
                    f"the file changes the open amount of invoice {data.number}",
                    gettext("het bestand wijzigt het openstaand bedrag van factuur %(number)s")
                    % {"number": data.number},
                ))
                ledger_open += paid_by[credit_note_id]
        if not unbooked:
            continue
        if open_after_file(data, invoice.total, ledger_open, unbooked_total) >= ZERO:
            result.unbooked_credit[invoice_id] = unbooked_total
            continue
        for credit_note_id in unbooked:
            overpaid[credit_note_id].append(invoice)

    for credit_note in Invoice.objects.filter(pk__in=sorted(with_allocations)).order_by("number"):
        hold = credit_note.number not in numbers_in_file
        reason = _Reason(
            "; ".join(reason.stored for reason in reasons[credit_note.pk]),
            "; ".join(reason.translated for reason in reasons[credit_note.pk]),
        )
        _undo(credit_note, reason, numbers_in_file, result, hold=hold, source=source)
    for credit_note in Invoice.objects.filter(pk__in=sorted(overpaid)).order_by("number"):
        paid = overpaid[credit_note.pk]
        numbers = ", ".join(sorted(invoice.number for invoice in paid))
        reason = _Reason(
            f"the file leaves less open on {numbers} than Betaalreis applied of it there",
            gettext("het bestand laat op %(numbers)s minder open dan Betaalreis ervan verrekende")
            % {"numbers": numbers},
        )
        result.restart_later |= {
            invoice.pk for invoice in paid if invoice.status in (InvoiceStatus.PAID, InvoiceStatus.CREDITED)
        }
        _undo(credit_note, reason, numbers_in_file, result, hold=False, source=source, only=paid)
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
    only: Sequence[Invoice] | None = None,
) -> None:
    """Undo the allocations of `credit_note`, or only those to the invoices `only`, and add them to `result`.

    The dunning of invoices in `only` that open again is left to the caller,
    because the file's open amounts for them follow.
    """
    if only is None:
        allocations = do_undo_credit_note_allocations(credit_note, source=source, reason=reason.stored, hold=hold)
    else:
        allocations = do_undo_credit_note_allocations(
            credit_note, source=source, reason=reason.stored, hold=hold,
            invoice_ids=[invoice.pk for invoice in only], restart_dunning=False,
        )
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
