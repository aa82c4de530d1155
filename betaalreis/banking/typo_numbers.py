"""Find the invoices that a number with one wrong digit may mean, for the typo rule and the review queue.

A payment text "factuur 2026-10044" names no invoice, but 2026-10042 and
2026-10043 are each one digit away. The typo rule in `rules` pays such an
invoice only when the amount confirms it and nothing points elsewhere, so it
needs every invoice one digit away, whatever its open amount. The lookup
costs one or two indexed queries per payment, and one more per 100 digits
of long runs beyond the first 100. So the rules run it only for payments
that the amount index already tied to a typo, or that no rule matched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from betaalreis.banking.invoice_index import InvoiceIndex, OpenInvoice
from betaalreis.banking.remittance import WEAK_NUMBER_DIGITS
from betaalreis.ledger.models import Invoice

# The typo rule reads only runs longer than a short number
# (remittance.WEAK_NUMBER_DIGITS), which even whole needs the payer or the
# amount to confirm it.
MIN_TYPO_DIGITS = WEAK_NUMBER_DIGITS + 1
# Keys per IN (...) query, below SQLite's default limit of 999 parameters.
QUERY_KEYS = 900


@dataclass(slots=True)
class NearNumbers:
    """The invoices one digit away from a payment's digit runs.

    `open` lists the open invoices, oldest due first. `not_open` lists the
    numbers of invoices that a run names exactly but that are not open
    (paid, credited, written off, or in a status that matching does not
    pay). Such a run is no typo, because the debtor quoted that invoice.
    """

    open: list[OpenInvoice] = field(default_factory=list)
    not_open: list[str] = field(default_factory=list)


def one_digit_variants(run: str) -> list[str]:
    """Return every string of digits that differs from `run` in exactly one position (9 per digit)."""
    variants: list[str] = []
    for position, digit in enumerate(run):
        for other in "0123456789":
            if other != digit:
                variants.append(run[:position] + other + run[position + 1:])
    return variants


def typo_runs(index: InvoiceIndex, runs: list[str]) -> list[str]:
    """Return the digit runs that are long enough for the typo rule and name no open invoice."""
    by_digits = index.by_digits
    return [run for run in dict.fromkeys(runs) if len(run) >= MIN_TYPO_DIGITS and not by_digits.get(run)]


def near_numbers(index: InvoiceIndex, runs: list[str]) -> NearNumbers:
    """Return the creditor's open invoices one digit away from `runs`, and the invoices that a run names but are not open.

    `runs` should come from `typo_runs`. One query reads the invoices of every
    status with these digits. Only when it finds a variant does
    `index.fetch_digits` load the open ones. They are then the index's own
    `OpenInvoice` objects, with the open amounts that earlier payments of the
    run left.
    """
    found = NearNumbers()
    if not runs:
        return found
    named = set(runs)
    ordered = sorted(named.union(*(one_digit_variants(run) for run in runs)))
    variant_digits: set[str] = set()
    for start in range(0, len(ordered), QUERY_KEYS):
        rows = Invoice.objects.filter(
            creditor=index.creditor, number_digits__in=ordered[start:start + QUERY_KEYS]
        ).values_list("number_digits", "number")
        for digits, number in rows:
            if digits in named:
                # `typo_runs` left out the runs that name an open invoice.
                found.not_open.append(number)
            else:
                variant_digits.add(digits)
    if not variant_digits:
        return found

    index.fetch_digits(variant_digits)
    seen: set[int] = set()
    for digits in sorted(variant_digits):
        for invoice in index.open(index.by_digits[digits]):
            if invoice.id not in seen:
                seen.add(invoice.id)
                found.open.append(invoice)
    found.open.sort(key=lambda invoice: (invoice.due_date, invoice.number))
    found.not_open.sort()
    return found
