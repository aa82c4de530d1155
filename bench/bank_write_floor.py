"""Floor of the database writes of bank matching: the rows that `match_payments` writes, without matching.

`python -m bench.bank_write_floor [--entries N] [--invoices N] [--without-index NAME ...]`
builds the ledger of bench.bank_match and inserts the payments as the store
step leaves them. It then writes, per chunk of 10,000 payments, what matching
writes for the outcomes of bench.bank_match: 80% of the entries pay one
invoice in full, 5% pay half of one, and the other 15% go to review without
candidates. The writes use the helpers that matching uses (`banking.bulk`):
invoice and payment updates, allocation and timeline inserts, and one commit
per chunk. Each kind of write is timed as CPU time of this process and, on
PostgreSQL, of the server process that serves the connection.

It runs on SQLite under a temporary BETAALREIS_HOME, or on PostgreSQL in a
new database `<name>_bench` (dropped afterwards) when DATABASE_URL names one.
`--without-index` drops the named indexes before the writes, to measure what
an index costs. The results are printed, not recorded.

NOTE: this has run with 2,000 payments on both engines, not yet at full
size. The full-size floor in docs/benchmarks-banking.md comes from a
replay of the same statements with the plain database drivers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from bench.bank_match import DEFAULT_ENTRIES, DEFAULT_INVOICES

CHUNK = 10_000
PAID_SHARE = 0.80
PARTLY_SHARE = 0.05
WRITES = ("invoice update", "payment update", "allocation insert", "timeline insert", "commit")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bank_write_floor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=DEFAULT_ENTRIES, help="Number of payments to write.")
    parser.add_argument("--invoices", type=int, default=DEFAULT_INVOICES, help="Number of open invoices in the ledger.")
    parser.add_argument(
        "--without-index", action="append", default=[], metavar="NAME",
        help="Drop this index before the writes. Repeat the option for several indexes.",
    )
    options = parser.parse_args(argv)
    if options.entries * (PAID_SHARE + PARTLY_SHARE) > options.invoices:
        parser.error("--invoices must be at least 85% of --entries, because each paying entry pays its own invoice")

    with tempfile.TemporaryDirectory(prefix="betaalreis-bench-floor-") as home:
        os.environ["BETAALREIS_HOME"] = home
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "betaalreis.settings")
        import django

        django.setup()
        from django.db import connection

        if connection.vendor == "sqlite":
            times = _run(options.entries, options.invoices, options.without_index)
        else:
            from bench.plan import _create_test_database

            original_name = connection.settings_dict["NAME"]
            _create_test_database(Path(home))
            try:
                times = _run(options.entries, options.invoices, options.without_index)
            finally:
                connection.creation.destroy_test_db(original_name, verbosity=0)

    _print(times, options.entries, options.without_index)
    return 0


def _run(entries: int, invoices: int, without_indexes: list[str]) -> dict[str, tuple[float, float]]:
    """Build the ledger and payments, then time the writes. Return (client CPU s, server CPU s) per kind of write."""
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from bench.bank_match import _build_ledger
    from betaalreis.banking.allocation import ALLOCATION_COLUMNS, TIMELINE_COLUMNS, UNCONFIRMED_DECISION_COLUMNS
    from betaalreis.banking.bulk import insert_values, update_values
    from betaalreis.ledger.models import Allocation, Invoice, Payment, TimelineEvent

    call_command("migrate", verbosity=0)
    creditor, _ = _build_ledger(invoices)
    with connection.cursor() as cursor:
        for name in without_indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")

    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    payment_ids = _insert_payments(creditor.pk, entries, stamp)
    paying = int(entries * (PAID_SHARE + PARTLY_SHARE))
    paid = int(entries * PAID_SHARE)
    invoice_rows = random.Random(5).sample(
        list(Invoice.objects.filter(creditor=creditor).values_list("id", "debtor_id", "number", "total")), paying
    )

    times = {write: [0.0, 0.0] for write in WRITES}
    # One transaction per chunk, committed explicitly so the commit gets its own timer.
    transaction.set_autocommit(False)
    for start in range(0, entries, CHUNK):
        invoices_paid, invoices_partly, payments_matched, payments_review, allocations, events = [], [], [], [], [], []
        for position in range(start, min(start + CHUNK, entries)):
            payment_id = payment_ids[position]
            if position >= paying:
                payments_review.append(("review", "no invoice number, reference or known payer", "none", 0, stamp, payment_id))
                continue
            invoice_id, debtor_id, number, total = invoice_rows[position]
            amount = total if position < paid else (total / 2).quantize(Decimal("0.01"))
            open_amount = total - amount
            if position < paid:
                invoices_paid.append((open_amount, "paid", stamp, invoice_id))
                status = "matched"
            else:
                invoices_partly.append((open_amount, stamp, invoice_id))
                status = "partly_matched"
            reason = f"invoice number {number} in the remittance information"
            payments_matched.append((status, debtor_id, reason, "invoice_number", 90, stamp, payment_id))
            allocations.append((creditor.pk, payment_id, invoice_id, amount, reason, stamp))
            data = json.dumps({"payment_id": payment_id, "amount": str(amount), "open_amount": str(open_amount), "reason": reason})
            summary = f"Betaling EUR {amount} op factuur {number}"
            events.append((creditor.pk, debtor_id, invoice_id, "payment", stamp, "bench", summary, data))

        with _WriteTimer(times, "invoice update"):
            update_values(Invoice._meta.db_table, ("open_amount", "status", "updated_at"), invoices_paid)
            update_values(Invoice._meta.db_table, ("open_amount", "updated_at"), invoices_partly)
        with _WriteTimer(times, "payment update"):
            update_values(Payment._meta.db_table, ("status", "debtor_id", *UNCONFIRMED_DECISION_COLUMNS), payments_matched)
            update_values(Payment._meta.db_table, ("status", *UNCONFIRMED_DECISION_COLUMNS), payments_review)
        with _WriteTimer(times, "allocation insert"):
            insert_values(Allocation._meta.db_table, ALLOCATION_COLUMNS, allocations)
        with _WriteTimer(times, "timeline insert"):
            insert_values(TimelineEvent._meta.db_table, TIMELINE_COLUMNS, events)
        with _WriteTimer(times, "commit"):
            transaction.commit()
    # The server CPU reading after the last commit opened a transaction.
    transaction.commit()
    transaction.set_autocommit(True)

    written = Invoice.objects.filter(creditor=creditor, status="paid").count()
    if written != paid:
        raise RuntimeError(f"Internal error: {written:,} invoices are paid after the writes, expected {paid:,}.")
    return {write: (client, server) for write, (client, server) in times.items()}


def _insert_payments(creditor_id: int, entries: int, stamp: object) -> list[int]:
    """Insert `entries` new bank payments, untimed, and return their ids in insertion order."""
    from django.db import connection, transaction
    from django.utils import timezone

    from betaalreis.banking.bulk import insert_values
    from betaalreis.ledger.models import Payment

    columns = (
        "creditor_id", "source", "external_id", "booking_date", "amount", "currency", "payer_name", "payer_iban",
        "structured_reference", "remittance_info", "status", "match_reason", "match_rule", "match_score", "created_at",
    )
    booked = connection.ops.adapt_datefield_value(timezone.localdate())
    rows = [
        (creditor_id, "bank", f"floor-{number}", booked, Decimal("10.00"), "EUR", "", "", "", "", "new", "", "", 0, stamp)
        for number in range(entries)
    ]
    with transaction.atomic():
        insert_values(Payment._meta.db_table, columns, rows)
    return list(Payment.objects.filter(creditor_id=creditor_id).order_by("id").values_list("id", flat=True))


class _WriteTimer:
    """Add the CPU time of this process and of the PostgreSQL server process to `times[write]`."""

    def __init__(self, times: dict[str, list[float]], write: str) -> None:
        self.times = times
        self.write = write

    def __enter__(self) -> None:
        from bench.results import database_server_cpu

        self.server = database_server_cpu() or 0.0
        self.client = time.process_time()

    def __exit__(self, *exc: object) -> None:
        from bench.results import database_server_cpu

        self.times[self.write][0] += time.process_time() - self.client
        self.times[self.write][1] += (database_server_cpu() or 0.0) - self.server


def _print(times: dict[str, tuple[float, float]], entries: int, without_indexes: list[str]) -> None:
    from django.db import connection

    print(f"engine {connection.vendor}, {entries:,} payments, load average {os.getloadavg()[0]:.1f}")
    if without_indexes:
        print("dropped indexes: " + ", ".join(without_indexes))
    print(f"{'write':<20} {'client CPU s':>12} {'server CPU s':>12}")
    for write, (client, server) in times.items():
        print(f"{write:<20} {client:>12.2f} {server:>12.2f}")
    client = sum(value[0] for value in times.values())
    server = sum(value[1] for value in times.values())
    print(f"{'all writes':<20} {client:>12.2f} {server:>12.2f}")
    print(f"per payment: {(client + server) / entries * 1e6:.1f} us of CPU (client + server)")


if __name__ == "__main__":
    sys.exit(main())
