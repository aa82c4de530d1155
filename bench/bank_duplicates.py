"""Benchmark of the store step when a statement repeats a notification: 100,000 duplicates.

`python -m bench.bank_duplicates [--entries N]` writes a camt.054
notification with N credits (half with an end-to-end id, half identified by
payer IBAN and description) and a camt.053 statement with the same credits
under other bank references, then times `store_statements` for each:

- notification: the first file, with no other file to compare against;
- statement: every transaction is recognised as already imported, which
  runs the duplicate query of `banking.duplicates` on every chunk.

With `--reissue` the first file is a camt.053 statement of the same period
too, as when a bank issues a statement again with new references.

The run happens in a child process on SQLite under a temporary
BETAALREIS_HOME. When DATABASE_URL names a PostgreSQL database, a second
child repeats it in a new database `<name>_bench`, dropped afterwards. The
results are printed, not recorded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

DEFAULT_ENTRIES = 100_000
RESULT_PREFIX = "BENCH-RESULT "
CREDITOR_IBAN = "NL91ABNA0417164300"
DAY = dt.date(2026, 12, 1)


def _samples(entries: int, prefix: str) -> list:
    from betaalreis.banking.samples import SampleEntry

    samples = []
    for index in range(entries):
        amount = Decimal(10_000 + index % 50_000) / 100
        # A payer IBAN of the right shape; the store step does not check its digits.
        iban = f"NL00ABNA{index:010d}"
        end_to_end_id = f"E2E-{index}" if index % 2 == 0 else ""
        samples.append(SampleEntry(
            amount, name=f"Payer {index}", iban=iban, remittance=f"Factuur {index}",
            end_to_end_id=end_to_end_id, reference=f"{prefix}-{index}", booking_date=DAY,
        ))
    return samples


def _run(entries: int, reissue: bool = False) -> dict[str, object]:
    from django.core.management import call_command

    from betaalreis.banking.camt import read_camt
    from betaalreis.banking.samples import write_camt053, write_camt054
    from betaalreis.banking.store import store_statements
    from betaalreis.ledger.models import Creditor

    call_command("migrate", verbosity=0)
    Creditor.objects.create(slug="bench", legal_name="Bench B.V.", iban=CREDITOR_IBAN)
    home = Path(os.environ["BETAALREIS_HOME"])
    write_first = write_camt053 if reissue else write_camt054
    first_file = write_first(home / "first.xml", CREDITOR_IBAN, _samples(entries, "N"))
    statement = write_camt053(home / "statement.xml", CREDITOR_IBAN, _samples(entries, "S"))

    cpu: dict[str, float] = {}
    counts: dict[str, int] = {}
    load_before = os.getloadavg()[0]
    first_step = "first statement" if reissue else "notification"
    for step, path in ((first_step, first_file), ("statement", statement)):
        statements = read_camt(path)
        began = time.process_time()
        result = store_statements(path, "camt.053/054", statements, None)
        cpu[step] = time.process_time() - began
        counts[f"{step} new payments"] = sum(len(ids) for ids in result.payments.values())
        counts[f"{step} already imported"] = result.duplicates
    return {"cpu": cpu, "counts": counts, "load_average": [load_before, os.getloadavg()[0]]}


def child(entries: int, reissue: bool = False) -> dict[str, object]:
    """Run the benchmark in this process; Django must not be set up yet."""
    import django

    django.setup()
    from django.db import connection

    result = {"engine": "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"}
    if connection.vendor == "sqlite":
        return result | _run(entries, reissue)

    from bench.plan import _create_test_database

    original_name = connection.settings_dict["NAME"]
    _create_test_database(Path(os.environ["BETAALREIS_HOME"]))
    try:
        return result | _run(entries, reissue)
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0)


def _run_child(entries: int, database_url: str | None, reissue: bool = False) -> dict[str, object] | None:
    with tempfile.TemporaryDirectory(prefix="betaalreis-bench-duplicates-") as home:
        env = dict(os.environ, BETAALREIS_HOME=home, DJANGO_SETTINGS_MODULE="betaalreis.settings")
        env.pop("DATABASE_URL", None)
        if database_url:
            env["DATABASE_URL"] = database_url
        command = [sys.executable, "-m", "bench.bank_duplicates", "--child", "--entries", str(entries)]
        if reissue:
            command.append("--reissue")
        completed = subprocess.run(command, env=env, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    if completed.returncode != 0:
        print(completed.stdout + completed.stderr, file=sys.stderr)
        return None
    line = next(text for text in completed.stdout.splitlines() if text.startswith(RESULT_PREFIX))
    return json.loads(line[len(RESULT_PREFIX):])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bank_duplicates", description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=DEFAULT_ENTRIES, help="Number of credits in each file.")
    parser.add_argument(
        "--reissue", action="store_true", help="Import a camt.053 statement first instead of a camt.054 notification."
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)

    if options.child:
        print(RESULT_PREFIX + json.dumps(child(options.entries, options.reissue)), flush=True)
        return 0

    database_url = os.environ.get("DATABASE_URL", "")
    engines: list[str | None] = [None]
    if database_url.startswith(("postgres://", "postgresql://")):
        engines.append(database_url)
    failed = False
    for engine_url in engines:
        result = _run_child(options.entries, engine_url, options.reissue)
        if result is None:
            failed = True
            continue
        print(f"{result['engine']}: load average (1 min) before and after {result['load_average']}")
        for step, seconds in result["cpu"].items():
            print(f"  store {step}: {seconds:.1f} s CPU ({options.entries / seconds:,.0f} entries/s)")
        print("  " + ", ".join(f"{key} {value:,}" for key, value in result["counts"].items()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
