"""Find the invoices that a number with one wrong digit may mean, for the typo rule.

A payment text "factuur 2026-10044" names no invoice, but 2026-10042 and
2026-10043 are each one digit away. The typo rule in `rules` pays such an
invoice only when the amount confirms it and nothing points elsewhere, so it
needs every invoice one digit away, whatever its open amount. The lookup
costs one indexed query per payment, a second one when it finds an invoice
that the index does not hold yet, and one more per 100 digits of long runs
beyond the first 100. So the rules run it only for payments
that the amount index already tied to a typo.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection

from betaalreis.banking.bulk import postgres_array_literal
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
    status with these digits. Only when it finds a variant that the index
    does not hold yet does `index.fetch_digits` load the open ones. The open
    invoices are the index's own `OpenInvoice` objects, with the open
    amounts that earlier payments of the run left.
    """
    found = NearNumbers()
    if not runs:
        return found
    named = set(runs)
    ordered = sorted(named.union(*(one_digit_variants(run) for run in runs)))
    variant_ids: set[int] = set()
    unknown_digits: set[str] = set()
    for start in range(0, len(ordered), QUERY_KEYS):
        for pk, digits, number in _invoices_by_digits(index.creditor.pk, ordered[start:start + QUERY_KEYS]):
            if digits in named:
                # `typo_runs` left out the runs that name an open invoice.
                found.not_open.append(number)
                continue
            variant_ids.add(pk)
            if pk not in index.by_id:
                unknown_digits.add(digits)
    if unknown_digits:
        # The open ones among them join the index, which skips the others.
        index.fetch_digits(unknown_digits)

    found.open = sorted(index.open(variant_ids), key=lambda invoice: (invoice.due_date, invoice.number))
    found.not_open.sort()
    return found


def _invoices_by_digits(creditor_id: int, keys: list[str]) -> list[tuple[int, str, str]]:
    """Return (id, number_digits, number) of the creditor's invoices of every status whose digits are one of `keys`.

    Raw SQL, because the typo rule runs it once per typed number. In
    `python -m bench.bank_match --entries 20000 --invoices 200000` (SQLite,
    1,000 typed numbers, 2 cores under a load average of 15 to 20), the
    match step took 3.6 s of CPU with the ORM query and 2.8 s with this one.
    On PostgreSQL the keys go in as one array parameter, because psycopg
    quoting each key (nine per digit of a run) in Python took about 0.24 ms
    of client CPU per query in the same benchmark, and the array takes 0.1 ms.
    """
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        condition, params = f"{quote('number_digits')} = ANY(%s::text[])", [postgres_array_literal(keys)]
    else:
        condition, params = f"{quote('number_digits')} IN ({', '.join(['%s'] * len(keys))})", keys
    sql = (
        f"SELECT {quote('id')}, {quote('number_digits')}, {quote('number')} FROM {quote(Invoice._meta.db_table)} "
        f"WHERE {quote('creditor_id')} = %s AND {condition}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [creditor_id, *params])
        return cursor.fetchall()
