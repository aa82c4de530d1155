"""Benchmark of reading and storing a large bank statement, without a ledger.

`python -m bench.bank_parse [--entries N] [--store] [--mt940] [--profile]`
writes a camt.053 with N entries (default 100,000) in the entry mix of
bench/bank_match.py and prints the CPU time of `read_camt`. Unlike
bench.bank_match it builds no ledger of invoices, so it runs in seconds.

- `--store` also times `store_statements` on SQLite under a temporary
  BETAALREIS_HOME, and on PostgreSQL in a new database `<name>_bench` when
  DATABASE_URL names one.
- `--mt940` also writes an MT940 file with the same entries and times
  `read_mt940`.
- `--profile` prints the 25 functions with the most cumulative time per step.

Each step also prints a SHA-256 digest of what it read, so two versions of a
reader can be checked for identical output on the same file.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import hashlib
import json
import os
import pstats
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

DEFAULT_ENTRIES = 100_000
CREDITOR_IBAN = "NL91ABNA0417164300"
RESULT_PREFIX = "BENCH-RESULT "


def _samples(entries: int) -> list[Any]:
    """Return sample entries that mix references, invoice numbers, IBANs and names as bench.bank_match does."""
    from betaalreis.banking.samples import SampleEntry
    from betaalreis.legal.references import make_betalingskenmerk

    rng = random.Random(11)
    samples = []
    for index in range(entries):
        amount = Decimal(rng.randint(1_000, 250_000)) / 100
        number = f"F2026-{index * 5:07d}"
        reference = f"R{index:08d}"
        kind = index % 20
        if kind < 7:
            samples.append(SampleEntry(amount, structured_reference=make_betalingskenmerk(index + 1), reference=reference))
        elif kind < 12:
            samples.append(SampleEntry(amount, remittance=f"Factuur nr. {number[:5]} {number[6:]}", reference=reference))
        elif kind < 14:
            samples.append(SampleEntry(amount, iban=f"NL{index % 90 + 10:02d}ABNA{index:010d}", remittance="bedankt", reference=reference))
        elif kind < 16:
            samples.append(SampleEntry(amount, name=f"JANSEN {index:07d} INSTALLATIE", remittance="betaling", reference=reference))
        elif kind < 17:
            samples.append(SampleEntry(-amount, name="Leverancier B.V.", end_to_end_id=f"E2E-{index}", reference=reference))
        else:
            samples.append(SampleEntry(amount, remittance=f"gift {rng.random()}", reference=reference))
    return samples


def _write_mt940(path: Path, samples: list[Any], opening: Decimal = Decimal("1000.00")) -> None:
    """Write an ING-style MT940 statement with one :61: and one :86: per sample."""
    closing = opening + sum((sample.amount for sample in samples), Decimal("0"))
    day = "261201"

    def balance(tag: str, amount: Decimal) -> str:
        mark = "C" if amount >= 0 else "D"
        return f":{tag}:{mark}{day}EUR{abs(amount):.2f}".replace(".", ",")

    lines = [":20:BENCH-1", f":25:{CREDITOR_IBAN}EUR", ":28C:1", balance("60F", opening)]
    for sample in samples:
        mark = "C" if sample.amount > 0 else "D"
        amount = f"{abs(sample.amount):.2f}".replace(".", ",")
        lines.append(f":61:{day}1201{mark}{amount}NTRFNONREF//{sample.reference}")
        lines.append("/TRCD/00100/")
        information = "/TRTP/SEPA OVERBOEKING/IBAN/" + (sample.iban or "NL20INGB0001234567") + "/BIC/INGBNL2A/NAME/"
        information += (sample.name or "ONBEKEND") + "/REMI/"
        if sample.structured_reference:
            information += f"STRD/CUR/{sample.structured_reference}"
        else:
            information += f"USTD//{sample.remittance}/"
        information += "/EREF/" + (sample.end_to_end_id or "NOTPROVIDED")
        # Banks wrap :86: at 65 characters.
        lines.append(":86:" + information[:61])
        lines.extend(information[start:start + 65] for start in range(61, len(information), 65))
    lines.append(balance("62F", closing))
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")


def _digest(statements: list[Any]) -> str:
    return hashlib.sha256(repr(statements).encode("utf-8")).hexdigest()[:16]


def _timed(step: str, function: Callable[[], Any], profile: bool) -> tuple[Any, float]:
    profiler = cProfile.Profile() if profile else None
    began = time.process_time()
    if profiler is not None:
        profiler.enable()
    value = function()
    if profiler is not None:
        profiler.disable()
    seconds = time.process_time() - began
    if profiler is not None:
        print(f"--- profile of {step} ---", file=sys.stderr)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
    return value, seconds


def child(entries: int, store: bool, mt940: bool, profile: bool) -> dict[str, Any]:
    """Write the files, then time each step in this process; Django must not be set up yet."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from betaalreis.banking.camt import read_camt
    from betaalreis.banking.mt940_reader import read_mt940
    from betaalreis.banking.samples import write_camt053

    home = Path(os.environ["BETAALREIS_HOME"])
    samples = _samples(entries)
    camt_path = write_camt053(home / "statement.xml", CREDITOR_IBAN, samples, statement_id="BENCH-1")
    result: dict[str, Any] = {"engine": connection.vendor, "entries": entries, "cpu": {}, "digest": {}}
    load_before = os.getloadavg()[0]

    statements, result["cpu"]["parse camt.053"] = _timed("read_camt", lambda: read_camt(camt_path), profile)
    result["digest"]["parse camt.053"] = _digest(statements)

    if mt940:
        mt940_path = home / "statement.940"
        _write_mt940(mt940_path, samples)
        parsed, result["cpu"]["parse MT940"] = _timed("read_mt940", lambda: read_mt940(mt940_path), profile)
        result["digest"]["parse MT940"] = _digest(parsed)

    if store:
        from bench.plan import _create_test_database

        original_name = connection.settings_dict["NAME"]
        if connection.vendor == "sqlite":
            call_command("migrate", verbosity=0)
        else:
            _create_test_database(home)
        try:
            from betaalreis.banking.store import store_statements
            from betaalreis.ledger.models import Creditor

            Creditor.objects.create(slug="bench", legal_name="Bench B.V.", iban=CREDITOR_IBAN)
            stored, result["cpu"]["store"] = _timed(
                "store_statements", lambda: store_statements(camt_path, "camt.053", statements, None), profile
            )
            result["digest"]["store"] = _stored_digest(stored)
        finally:
            if connection.vendor != "sqlite":
                connection.creation.destroy_test_db(original_name, verbosity=0)

    result["load_average"] = (load_before, os.getloadavg()[0])
    return result


def _stored_digest(stored: Any) -> str:
    """Return a digest of the stored rows, without their ids, which differ per database."""
    from django.db.models import F

    from betaalreis.banking.models import BankTransaction
    from betaalreis.ledger.models import Payment

    payments = list(
        Payment.objects.order_by("external_id").values_list(
            "external_id", "booking_date", "value_date", "amount", "currency", "payer_name", "payer_iban",
            "structured_reference", "remittance_info", "status",
        )
    )
    excluded = {"id", "creditor", "statement", "payment", "created_at", "updated_at"}
    names = [model_field.attname for model_field in BankTransaction._meta.concrete_fields if model_field.name not in excluded]
    transactions = list(BankTransaction.objects.order_by("external_id").values_list(*names))
    # Each payment must be linked to the bank transaction with its own external id.
    linked = BankTransaction.objects.filter(payment__external_id=F("external_id")).count()
    text = repr((stored.entries, stored.transactions, stored.duplicates, stored.ignored, payments, transactions, linked))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _run_child(options: argparse.Namespace, database_url: str | None) -> dict[str, Any] | None:
    with tempfile.TemporaryDirectory(prefix="betaalreis-bench-parse-") as home:
        env = dict(os.environ, BETAALREIS_HOME=home, DJANGO_SETTINGS_MODULE="betaalreis.settings")
        env.pop("DATABASE_URL", None)
        if database_url:
            env["DATABASE_URL"] = database_url
        command = [sys.executable, "-m", "bench.bank_parse", "--child", "--entries", str(options.entries)]
        command += ["--store"] * options.store + ["--mt940"] * options.mt940 + ["--profile"] * options.profile
        completed = subprocess.run(command, env=env, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    sys.stderr.write(completed.stderr)
    if completed.returncode != 0:
        print(completed.stdout, file=sys.stderr)
        return None
    line = next(text for text in completed.stdout.splitlines() if text.startswith(RESULT_PREFIX))
    return json.loads(line[len(RESULT_PREFIX):])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bank_parse", description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=DEFAULT_ENTRIES, help="Number of statement entries.")
    parser.add_argument("--store", action="store_true", help="Also time store_statements on SQLite and PostgreSQL.")
    parser.add_argument("--mt940", action="store_true", help="Also time read_mt940 on an MT940 file with the same entries.")
    parser.add_argument("--profile", action="store_true", help="Print a cProfile summary of each step to stderr.")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)

    if options.child:
        print(RESULT_PREFIX + json.dumps(child(options.entries, options.store, options.mt940, options.profile)), flush=True)
        return 0

    database_url = os.environ.get("DATABASE_URL", "")
    engines: list[str | None] = [None]
    if options.store and database_url.startswith(("postgres://", "postgresql://")):
        engines.append(database_url)
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {options.entries:,} entries")
    for engine_url in engines:
        result = _run_child(options, engine_url)
        if result is None:
            return 1
        print(f"{result['engine']} (load average {result['load_average'][0]:.1f}, {result['load_average'][1]:.1f}):")
        for step, seconds in result["cpu"].items():
            print(
                f"  {step}: {seconds:.2f} s CPU, {seconds / result['entries'] * 1e6:.1f} µs per entry, "
                f"digest {result['digest'][step]}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
