"""Benchmark of bank statement import: parse, store and match a large camt.053.

`python -m bench.bank_match [--entries N] [--invoices N] [--no-record]` builds
a ledger of open invoices (default 1,000,000) and a camt.053 with one entry
per payment (default 100,000), then times separately:

- parse: reading the XML into statements (`read_camt`);
- store: checking balances and inserting payments (`store_statements`);
- match: `match_payments`, which per chunk of 10,000 payments fetches the
  open invoices they name, decides in memory and allocates in bulk.

The run happens in a child process on SQLite under a temporary
BETAALREIS_HOME, so no existing database is touched. When DATABASE_URL
names a PostgreSQL database, a second child repeats the run on PostgreSQL
in a new database `<name>_bench`, which it drops afterwards. The results go
to docs/benchmarks-banking.md. The entry mix covers every matching rule
plus partial payments and payments that match nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

DEFAULT_ENTRIES = 100_000
DEFAULT_INVOICES = 1_000_000
INVOICES_PER_DEBTOR = 5
TARGET_ENTRIES_PER_SECOND = 20_000
RESULT_PREFIX = "BENCH-RESULT "
RESULTS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "benchmarks-banking.md"
BATCH = 5_000
CREDITOR_IBAN = "NL91ABNA0417164300"

# Share of entries per kind; what is left over matches nothing.
MIX = (
    ("kenmerk", 0.35),
    ("number", 0.25),
    ("two numbers", 0.05),
    ("iban", 0.10),
    ("name", 0.05),
    ("typo", 0.05),
    ("partial", 0.05),
)


@dataclass
class Result:
    """Seconds per step, as CPU time of the process and as wall-clock time.

    `server_cpu` is the CPU time of the PostgreSQL server process that
    served the benchmark's connection, per step. It is empty on SQLite.
    """

    engine: str
    entries: int
    invoices: int
    setup_seconds: float
    cpu: dict[str, float] = field(default_factory=dict)
    wall: dict[str, float] = field(default_factory=dict)
    server_cpu: dict[str, float] = field(default_factory=dict)
    load_average: tuple[float, float] = (0.0, 0.0)
    outcomes: dict[str, int] = field(default_factory=dict)


class _Timer:
    """Measure one step as CPU time of this process and as wall-clock time."""

    def __init__(self, result: Result, step: str) -> None:
        self.result = result
        self.step = step

    def __enter__(self) -> None:
        from bench.results import database_server_cpu

        self.server_cpu = database_server_cpu()
        self.cpu = time.process_time()
        self.wall = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        from bench.results import database_server_cpu

        self.result.cpu[self.step] = time.process_time() - self.cpu
        self.result.wall[self.step] = time.perf_counter() - self.wall
        server_cpu = database_server_cpu()
        if server_cpu is not None and self.server_cpu is not None:
            self.result.server_cpu[self.step] = server_cpu - self.server_cpu


def _iban(number: int) -> str:
    from schwifty import IBAN

    return IBAN.generate("NL", bank_code="ABNA", account_code=f"{number:010d}").compact


def _build_ledger(invoices: int):
    """Insert debtors, invoices and known IBANs; return the creditor and the debtor ids."""
    from betaalreis.banking.store import insert_rows
    from betaalreis.ledger.models import Creditor, Debtor, DebtorBankAccount, Invoice
    from betaalreis.legal.references import make_betalingskenmerk

    creditor = Creditor.objects.create(slug="bench", legal_name="Bench B.V.", iban=CREDITOR_IBAN)
    debtor_count = invoices // INVOICES_PER_DEBTOR
    rng = random.Random(7)
    surnames = ["Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "Bos"]

    insert_rows(Debtor, [
        {"creditor_id": creditor.pk, "customer_number": f"K{number:07d}", "name": f"{rng.choice(surnames)} {number:07d} Installatie"}
        for number in range(debtor_count)
    ])
    debtor_ids = list(Debtor.objects.filter(creditor=creditor).order_by("id").values_list("id", flat=True))

    insert_rows(DebtorBankAccount, [
        {"creditor_id": creditor.pk, "debtor_id": debtor_id, "iban": _iban(index), "source": "import"}
        for index, debtor_id in enumerate(debtor_ids[: debtor_count // 5])
    ])

    due = dt.date(2026, 11, 1)
    for start in range(0, invoices, BATCH * 10):
        rows = []
        for number in range(start, min(start + BATCH * 10, invoices)):
            amount = Decimal(rng.randint(1_000, 250_000)) / 100
            rows.append({
                "creditor_id": creditor.pk,
                "debtor_id": debtor_ids[number // INVOICES_PER_DEBTOR],
                "number": f"F2026-{number:07d}",
                "issue_date": due - dt.timedelta(days=30),
                "due_date": due - dt.timedelta(days=number % 60),
                "total": amount,
                "open_amount": amount,
                "payment_reference": make_betalingskenmerk(number + 1) if number % 2 == 0 else "",
            })
        insert_rows(Invoice, rows)
    return creditor, debtor_ids


def _write_statement(path: Path, creditor, debtor_ids: list[int], entries: int) -> None:
    """Write a camt.053 whose entries pay distinct invoices in the MIX proportions."""
    from betaalreis.banking.samples import SampleEntry, write_camt053
    from betaalreis.ledger.models import Invoice

    rng = random.Random(11)
    invoice_rows = {
        number: (amount, reference, debtor_id, name)
        for number, amount, reference, debtor_id, name in Invoice.objects.filter(creditor=creditor).values_list(
            "number", "open_amount", "payment_reference", "debtor_id", "debtor__name"
        )
    }
    numbers = sorted(invoice_rows)
    # Every fifth invoice is the only one of its debtor that a payment may
    # touch, so IBAN and name rules see one exact amount per debtor.
    pool = [number for index, number in enumerate(numbers) if index % INVOICES_PER_DEBTOR == 0]
    rng.shuffle(pool)
    known_debtors = {debtor_id: index for index, debtor_id in enumerate(debtor_ids[: len(debtor_ids) // 5])}

    samples = []
    for index in range(entries):
        kind = _kind(index / entries)
        number = pool.pop()
        amount, reference, debtor_id, name = invoice_rows[number]
        reference_text = f"R{index:08d}"
        if kind == "kenmerk" and reference:
            samples.append(SampleEntry(amount, structured_reference=reference, reference=reference_text))
        elif kind in ("kenmerk", "number"):
            samples.append(SampleEntry(amount, remittance=f"Factuur nr. {number[:5]} {number[6:]}", reference=reference_text))
        elif kind == "two numbers":
            second = pool.pop()
            samples.append(SampleEntry(amount + invoice_rows[second][0], remittance=f"{number} en {second}", reference=reference_text))
        elif kind == "iban" and debtor_id in known_debtors:
            samples.append(SampleEntry(amount, iban=_iban(known_debtors[debtor_id]), remittance="bedankt", reference=reference_text))
        elif kind in ("iban", "name"):
            samples.append(SampleEntry(amount, name=name.upper(), remittance="betaling", reference=reference_text))
        elif kind == "typo":
            # Change a digit of the year, so the typo is no other invoice's number.
            wrong = number[:3] + str((int(number[3]) + 3) % 10) + number[4:]
            samples.append(SampleEntry(amount, remittance=f"factuur {wrong}", reference=reference_text))
        elif kind == "partial":
            samples.append(SampleEntry((amount / 2).quantize(Decimal("0.01")), remittance=number, reference=reference_text))
        else:
            samples.append(SampleEntry(Decimal(rng.randint(100, 9_999)) / 100, remittance=f"gift {rng.random()}", reference=reference_text))
    write_camt053(path, CREDITOR_IBAN, samples, statement_id="BENCH-1")


def _kind(position: float) -> str:
    total = 0.0
    for kind, share in MIX:
        total += share
        if position < total:
            return kind
    return "nothing"


def child(entries: int, invoices: int) -> Result:
    """Run the benchmark in this process; Django must not be set up yet."""
    import django

    django.setup()
    from django.db import connection

    if connection.vendor == "sqlite":
        return _run(entries, invoices)

    from bench.plan import _create_test_database

    original_name = connection.settings_dict["NAME"]
    _create_test_database(Path(os.environ["BETAALREIS_HOME"]))
    try:
        return _run(entries, invoices)
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0)


def _run(entries: int, invoices: int) -> Result:
    from django.core.management import call_command
    from django.db import connection

    from betaalreis.banking.camt import read_camt
    from betaalreis.banking.matching import match_payments
    from betaalreis.banking.store import store_statements
    from betaalreis.ledger.models import Payment

    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    creditor, debtor_ids = _build_ledger(invoices)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    path = Path(os.environ["BETAALREIS_HOME"]) / "statement.xml"
    _write_statement(path, creditor, debtor_ids, entries)
    setup_seconds = time.perf_counter() - began

    engine = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
    result = Result(engine, entries, invoices, setup_seconds)
    load_before = os.getloadavg()[0]
    with _Timer(result, "parse"):
        statements = read_camt(path)
    with _Timer(result, "store"):
        stored = store_statements(path, "camt.053", statements, None)
    with _Timer(result, "match"):
        report = match_payments(creditor, stored.payments[creditor.pk])
    result.load_average = (load_before, os.getloadavg()[0])

    result.outcomes = {"matched": report.matched, "matched partly": report.partly, "review": report.review}
    for rule in Payment.objects.exclude(match_rule="").values_list("match_rule", flat=True):
        result.outcomes[f"rule {rule}"] = result.outcomes.get(f"rule {rule}", 0) + 1
    return result


def _verdict(result: Result) -> str:
    rate = result.entries / (result.cpu["parse"] + result.cpu["match"])
    if rate >= TARGET_ENTRIES_PER_SECOND:
        verdict = f"Parse plus match reached the target: {rate:,.0f} entries per second of CPU time."
    else:
        verdict = (
            f"Parse plus match missed the target: {rate:,.0f} entries per second of CPU time, "
            f"{TARGET_ENTRIES_PER_SECOND / rate:.1f} times too slow."
        )
    if result.server_cpu:
        server = result.server_cpu.get("parse", 0.0) + result.server_cpu.get("match", 0.0)
        with_server = result.entries / (result.cpu["parse"] + result.cpu["match"] + server)
        verdict += f" Counting the server process's CPU time too: {with_server:,.0f} entries per second."
    return verdict


def _markdown(results: list[Result], command: str) -> str:
    from bench.results import run_header

    first = results[0]
    lines = [
        "## Bank statement import and matching",
        "",
        run_header(command).rstrip(),
        f"- Ledger: {first.invoices:,} open invoices, {first.invoices // INVOICES_PER_DEBTOR:,} debtors; "
        f"statement: one camt.053 with {first.entries:,} entries",
        "",
        "CPU time is the process's own (time.process_time), so it leaves out time spent waiting for a core "
        "on a busy machine, and on PostgreSQL the server's work; wall time includes both and the disk writes. "
        "On PostgreSQL, server CPU is the CPU time of the server process that served the benchmark's "
        "connection, read from /proc (WAL writer, checkpointer and autovacuum not counted). "
        f"Target: {TARGET_ENTRIES_PER_SECOND:,} entries per second for parse plus match on one core.",
    ]
    for result in results:
        lines += ["", *_engine_markdown(result)]
    return "\n".join(lines)


def _engine_markdown(result: Result) -> list[str]:
    with_server = bool(result.server_cpu)

    def row(label: str, steps: tuple[str, ...]) -> str:
        cpu = sum(result.cpu[step] for step in steps)
        wall = sum(result.wall[step] for step in steps)
        cells = [label, f"{cpu:.1f}", f"{result.entries / cpu:,.0f}"]
        if with_server:
            server = sum(result.server_cpu.get(step, 0.0) for step in steps)
            cells += [f"{server:.1f}", f"{result.entries / (cpu + server):,.0f}"]
        cells += [f"{wall:.1f}", f"{result.entries / wall:,.0f}"]
        return "| " + " | ".join(cells) + " |"

    header = ["step", "CPU s", "entries/s (CPU)"]
    if with_server:
        header += ["server CPU s", "entries/s (CPU + server)"]
    header += ["wall s", "entries/s (wall)"]
    return [
        f"### {result.engine}",
        "",
        f"- Engine: {result.engine}"
        + (" (temporary BETAALREIS_HOME)" if result.engine == "SQLite" else " (a new database, dropped afterwards)")
        + ", one process",
        f"- Load average (1 min) before and after the timed steps: {result.load_average[0]:.1f}, {result.load_average[1]:.1f}",
        "",
        "| " + " | ".join(header) + " |",
        "|---|" + "---:|" * (len(header) - 1),
        row("parse (`read_camt`)", ("parse",)),
        row("store (`store_statements`)", ("store",)),
        row("match and allocate (`match_payments`)", ("match",)),
        row("parse + match", ("parse", "match")),
        row("all three", ("parse", "store", "match")),
        "",
        f"Building the ledger and writing the file took {result.setup_seconds:.0f} s (wall) and is not counted. "
        + _verdict(result),
        "",
        "Outcomes: " + ", ".join(f"{key} {value:,}" for key, value in sorted(result.outcomes.items())) + ".",
    ]


def _run_child(entries: int, invoices: int, database_url: str | None) -> Result | None:
    """Run the benchmark in a child process on SQLite, or on PostgreSQL when `database_url` is given."""
    with tempfile.TemporaryDirectory(prefix="betaalreis-bench-bank-") as home:
        env = dict(os.environ, BETAALREIS_HOME=home, DJANGO_SETTINGS_MODULE="betaalreis.settings")
        env.pop("DATABASE_URL", None)
        if database_url:
            env["DATABASE_URL"] = database_url
        command = [sys.executable, "-m", "bench.bank_match", "--child", "--entries", str(entries), "--invoices", str(invoices)]
        completed = subprocess.run(command, env=env, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    if completed.returncode != 0:
        print(completed.stdout + completed.stderr, file=sys.stderr)
        return None

    line = next(text for text in completed.stdout.splitlines() if text.startswith(RESULT_PREFIX))
    values = json.loads(line[len(RESULT_PREFIX):])
    values["load_average"] = tuple(values["load_average"])
    return Result(**values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bank_match", description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=DEFAULT_ENTRIES, help="Number of statement entries (payments).")
    parser.add_argument("--invoices", type=int, default=DEFAULT_INVOICES, help="Number of open invoices in the ledger.")
    parser.add_argument("--no-record", action="store_true", help="Print the results without writing docs/benchmarks-banking.md.")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)

    if options.child:
        result = child(options.entries, options.invoices)
        print(RESULT_PREFIX + json.dumps(asdict(result)), flush=True)
        return 0

    database_url = os.environ.get("DATABASE_URL", "")
    engines: list[str | None] = [None]
    if database_url.startswith(("postgres://", "postgresql://")):
        engines.append(database_url)
    results = []
    for engine_url in engines:
        result = _run_child(options.entries, options.invoices, engine_url)
        if result is None and engine_url is None:
            return 1
        if result is None:
            # The SQLite result is still worth recording; the child's output is printed above.
            print("The PostgreSQL run failed: recording SQLite only.", file=sys.stderr)
            engines.remove(engine_url)
            break
        results.append(result)

    command_line = " ".join(["python -m bench.bank_match", *(argv if argv is not None else sys.argv[1:])])
    if len(engines) > 1:
        command_line = "DATABASE_URL=<PostgreSQL URL> " + command_line
    markdown = _markdown(results, command_line)
    print(markdown)
    if not options.no_record:
        from bench.results import write_section

        write_section("bank_match", markdown, page=RESULTS_PAGE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
