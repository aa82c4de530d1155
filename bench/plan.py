"""Benchmark of the daily planning and outbox writing, and of dispatch to the file outbox.

`python -m bench.plan [--large] [--invoices N]` measures, on SQLite and, when
DATABASE_URL names a PostgreSQL database, on PostgreSQL too:

- a plain SQL read of a creditor's open invoices joined with their debtors
  and the stage each reached (dunning.InvoiceStage), every row fetched: the
  floor any planner has to pay;
- `plan_day` alone, and `run_cycle(dispatch_messages=False)` (payments,
  planning and outbox writing) on a ledger in steady state, where each
  invoice already carries the stage it reached before the run day;
- the same run after clearing every invoice's stage, as on the first run
  over an imported ledger, which writes a message for nearly every debtor;
- dispatch of email-only and letter-only messages to the file outbox, in
  one process, as messages per second per core, with the process's CPU
  time split into user time (Python) and system time (the kernel, which
  creates the outbox files).

Each engine runs in its own child process on a new test database (created
and dropped by Django's test database support, so no existing data is
touched) under a temporary BETAALREIS_HOME. The results go to
docs/benchmarks.md.

`--only-dispatch --repeat N` runs the dispatch measurement N times per
engine, each in a new child process, and prints the median and the range.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

SUPPORTS_LARGE = True

DEFAULT_INVOICES = 100_000
LARGE_INVOICES = 1_000_000
INVOICES_PER_DEBTOR = 5
DISPATCH_EMAILS = 2_000
DISPATCH_LETTERS = 200
BATCH_SIZE = 5_000
RESULT_PREFIX = "BENCH-RESULT "
TARGET_RATIO = 5
TARGET_EMAILS_PER_SECOND = 1_000
TARGET_LETTERS_PER_SECOND = 50

# The run day of the benchmark. A fixed past date keeps runs comparable.
RUN_DAY = dt.date(2026, 6, 15)
# Due dates spread over this many days before the run day, so every stage of
# the default policies has invoices that reach it on the run day.
DUE_SPREAD_DAYS = 100

PLAIN_READ_SQL = """
SELECT i.id, i.number, i.due_date, i.open_amount, i.currency, s.stage,
       s.stage_date, d.id, d.kind, d.language, d.email, d.mobile, d.phone,
       d.street, d.postal_code, d.city, d.preferred_channel, d.opted_out_channels
FROM ledger_invoice i
JOIN ledger_debtor d ON d.id = i.debtor_id
LEFT JOIN dunning_invoicestage s ON s.invoice_id = i.id
WHERE i.creditor_id = %s AND i.status = 'open'
"""


@dataclass
class Timing:
    """Wall-clock and process CPU seconds of one measured step.

    CPU time counts only the benchmark's Python process. On PostgreSQL the
    database server works in other processes, so there CPU time is lower
    than the work done, and `server` gives the CPU seconds of the server
    process that served the benchmark's connection (None on SQLite).
    `user` and `system` split the process's CPU time as getrusage() reports
    it. User time is the Python code, and system time is the kernel's work
    for the process, such as creating files. Their sum can differ a little
    from `cpu`, because the clocks are read at slightly different moments.
    """

    wall: float
    cpu: float
    server: float | None = None
    user: float = 0.0
    system: float = 0.0


@dataclass
class EngineResult:
    engine: str
    invoices: int
    debtors: int
    build: Timing
    plain_read: Timing
    plan: Timing
    daily_run: Timing
    daily_messages: int
    first_run: Timing
    first_run_messages: int
    load_average: tuple[float, float]
    emails: int = 0
    email_dispatch: Timing | None = None
    letters: int = 0
    letter_dispatch: Timing | None = None
    dispatch_error: str = ""

    @classmethod
    def from_json(cls, data: dict) -> EngineResult:
        for name in ("build", "plain_read", "plan", "daily_run", "first_run", "email_dispatch", "letter_dispatch"):
            if data.get(name) is not None:
                data[name] = Timing(**data[name])
        data["load_average"] = tuple(data["load_average"])
        return cls(**data)

    @classmethod
    def dispatch_only(cls, engine: str, load_average: tuple[float, float]) -> EngineResult:
        """Return a result whose planning steps are unmeasured, for a run that measures dispatch alone."""
        unmeasured = Timing(wall=0.0, cpu=0.0)
        return cls(
            engine=engine,
            invoices=0,
            debtors=0,
            build=unmeasured,
            plain_read=unmeasured,
            plan=unmeasured,
            daily_run=unmeasured,
            daily_messages=0,
            first_run=unmeasured,
            first_run_messages=0,
            load_average=load_average,
        )


class _Stopwatch:
    """Measure wall-clock and process CPU time of a `with` block."""

    def __enter__(self) -> _Stopwatch:
        from bench.results import database_server_cpu

        self._server = database_server_cpu()
        self._usage = resource.getrusage(resource.RUSAGE_SELF)
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *exc_info: object) -> None:
        from bench.results import database_server_cpu

        wall = time.perf_counter() - self._wall
        cpu = time.process_time() - self._cpu
        usage = resource.getrusage(resource.RUSAGE_SELF)
        server = database_server_cpu()
        used = server - self._server if server is not None and self._server is not None else None
        self.timing = Timing(
            wall=wall,
            cpu=cpu,
            server=used,
            user=usage.ru_utime - self._usage.ru_utime,
            system=usage.ru_stime - self._usage.ru_stime,
        )


# --- child process: one engine ------------------------------------------------


def _setup_django(home: Path) -> None:
    os.environ["BETAALREIS_HOME"] = str(home)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "betaalreis.settings")
    import django

    django.setup()


def _create_test_database(home: Path) -> str:
    from django.db import connection

    test_settings = connection.settings_dict.setdefault("TEST", {})
    if connection.vendor == "sqlite":
        # A file, not Django's default in-memory test database, so SQLite
        # pays for disk writes as it does in a deployment.
        test_settings["NAME"] = str(home / "bench.sqlite3")
    else:
        # Not pytest's test_<name>, so a test run beside the benchmark is safe.
        test_settings["NAME"] = f"{connection.settings_dict['NAME']}_bench"
    return connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)


def _stage_offsets() -> dict[str, list[tuple[str, int]]]:
    from betaalreis.dunning.policies import DEFAULT_POLICY_FILES, read_policy_file

    offsets = {}
    for kind, path in DEFAULT_POLICY_FILES.items():
        _, stages = read_policy_file(path)
        offsets[kind] = [(stage.code, stage.offset_days) for stage in stages]
    return offsets


def _make_creditor(slug: str):
    from betaalreis.dunning.policies import seed_default_policies
    from betaalreis.ledger.models import Creditor

    creditor = Creditor.objects.create(
        slug=slug,
        legal_name=f"Benchmark {slug} B.V.",
        iban="NL36INGB0007654321",
        bic="INGBNL2A",
        street="Stationsplein 1",
        postal_code="3511 ED",
        city="Utrecht",
        email="debiteuren@bench.example.com",
    )
    seed_default_policies(creditor)
    return creditor


def _make_debtors(creditor, count: int, *, email: bool, mobile: bool, address: bool) -> list[int]:
    from betaalreis.ledger.models import Debtor

    ids: list[int] = []
    for start in range(0, count, BATCH_SIZE):
        batch = []
        for number in range(start, min(start + BATCH_SIZE, count)):
            kind = "business" if number % 5 == 0 else "consumer"
            batch.append(
                Debtor(
                    creditor=creditor,
                    customer_number=f"B{number:08d}",
                    kind=kind,
                    name=f"Debiteur {number}",
                    email=f"debiteur{number}@example.com" if email else "",
                    mobile=f"+3161{number % 10**7:07d}" if mobile else "",
                    street=f"Dorpsstraat {number % 300 + 1}" if address else "",
                    postal_code="1234 AB" if address else "",
                    city="Utrecht" if address else "",
                    language="en" if number % 9 == 0 else "nl",
                )
            )
        ids.extend(debtor.pk for debtor in Debtor.objects.bulk_create(batch))
    return ids


def _reached_stage(
    offsets: list[tuple[str, int]], days_past_due: int
) -> tuple[str, int] | tuple[str, None]:
    """Return the last stage whose offset has passed, with its offset, or ("", None)."""
    reached: tuple[str, int] | tuple[str, None] = ("", None)
    for code, offset in offsets:
        if offset <= days_past_due:
            reached = (code, offset)
    return reached


def _make_invoices(creditor, debtor_ids: list[int], count: int, *, steady_state: bool) -> None:
    """Insert `count` open invoices. In steady state each carries the stage it reached the day before."""
    from betaalreis.dunning.models import InvoiceStage
    from betaalreis.legal.references import make_betalingskenmerk
    from betaalreis.ledger.models import Invoice

    offsets = _stage_offsets()
    previous_day = RUN_DAY - dt.timedelta(days=1)

    for start in range(0, count, BATCH_SIZE):
        batch = []
        stages: list[tuple[int, str, dt.date]] = []
        for number in range(start, min(start + BATCH_SIZE, count)):
            debtor_index = number % len(debtor_ids)
            debtor_id = debtor_ids[debtor_index]
            # The same rule as in _make_debtors, which numbers debtors in list order.
            kind = "business" if debtor_index % 5 == 0 else "consumer"
            due_date = RUN_DAY - dt.timedelta(days=number % (DUE_SPREAD_DAYS + 1))
            amount = Decimal(25 + number % 900) + Decimal(number % 100) / 100

            if steady_state:
                stage, offset = _reached_stage(offsets[kind], (previous_day - due_date).days)
                if offset is not None:
                    stages.append((len(batch), stage, due_date + dt.timedelta(days=offset)))
            batch.append(
                Invoice(
                    creditor=creditor,
                    debtor_id=debtor_id,
                    number=f"{creditor.slug[:6].upper()}-{number:08d}",
                    issue_date=due_date - dt.timedelta(days=14),
                    due_date=due_date,
                    total=amount,
                    open_amount=amount,
                    payment_reference=make_betalingskenmerk(number),
                )
            )
        Invoice.objects.bulk_create(batch)
        InvoiceStage.objects.bulk_create(
            InvoiceStage(invoice_id=batch[index].pk, stage=stage, stage_date=stage_date)
            for index, stage, stage_date in stages
        )


def clear_stages(creditor) -> None:
    """Take every stage off the creditor's invoices, as before the first run over an imported ledger."""
    from betaalreis.dunning.models import InvoiceStage

    InvoiceStage.objects.filter(invoice__creditor=creditor).delete()


def _time_plain_read(creditor_id: int) -> Timing:
    """Run the plain read three times and return the run with the median wall time."""
    from django.db import connection

    timings = []
    for _ in range(3):
        with _Stopwatch() as stopwatch, connection.cursor() as cursor:
            cursor.execute(PLAIN_READ_SQL, [creditor_id])
            while cursor.fetchmany(10_000):
                pass
        timings.append(stopwatch.timing)
    return sorted(timings, key=lambda timing: timing.wall)[1]


def _time_dispatch(creditor) -> tuple[int, Timing]:
    """Plan the creditor's messages, time their dispatch, and return the count sent and the timing."""
    from betaalreis.dunning.run import run_cycle, run_moment
    from betaalreis.outbox.dispatch import dispatch

    summary = run_cycle(RUN_DAY, creditor, dispatch_messages=False)
    # Dispatch syncs the file system of the outbox once per batch (syncfs),
    # and the kernel charges the writeback of every dirty page on it to the
    # calling process. Writing back what building the ledger left dirty
    # first keeps that work out of the dispatch's CPU time.
    os.sync()
    # Start after a full collection, as every measured step does.
    gc.collect()
    with _Stopwatch() as stopwatch:
        result = dispatch(due_by=run_moment(RUN_DAY), creditor=creditor)
    sent = result.total("sent")
    if sent != summary.planned:
        raise RuntimeError(f"dispatch sent {sent} of {summary.planned} planned messages: {dict(result.counts)}")
    return sent, stopwatch.timing


def run_engine(invoice_count: int) -> EngineResult:
    """Build the benchmark ledger on the configured database and measure it."""
    from django.db import connection

    from betaalreis.dunning.planner import plan_day
    from betaalreis.dunning.run import run_cycle
    from betaalreis.ledger.models import Invoice

    load_before = os.getloadavg()[0]
    debtor_count = max(invoice_count // INVOICES_PER_DEBTOR, 1)
    with _Stopwatch() as build:
        creditor = _make_creditor("bench-plan")
        debtor_ids = _make_debtors(creditor, debtor_count, email=True, mobile=True, address=True)
        _make_invoices(creditor, debtor_ids, invoice_count, steady_state=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    # Each measured step starts after a full collection, so a collection of
    # what the build or an earlier step left alive does not fall into it.
    gc.collect()
    plain_read = _time_plain_read(creditor.pk)

    gc.collect()
    with _Stopwatch() as plan:
        plan_day(RUN_DAY, creditor)

    gc.collect()
    with _Stopwatch() as daily_run:
        daily = run_cycle(RUN_DAY, creditor, dispatch_messages=False)

    clear_stages(creditor)
    gc.collect()
    with _Stopwatch() as first_run:
        first = run_cycle(RUN_DAY + dt.timedelta(days=1), creditor, dispatch_messages=False)

    result = EngineResult(
        engine=connection.vendor,
        invoices=invoice_count,
        debtors=debtor_count,
        build=build.timing,
        plain_read=plain_read,
        plan=plan.timing,
        daily_run=daily_run.timing,
        daily_messages=daily.planned,
        first_run=first_run.timing,
        first_run_messages=first.planned,
        load_average=(load_before, 0.0),
    )

    try:
        _measure_dispatch(result)
    except Exception as exc:  # noqa: BLE001 - planning numbers are still worth recording
        result.dispatch_error = f"{type(exc).__name__}: {exc}"[:300]
    result.load_average = (load_before, os.getloadavg()[0])
    return result


def run_dispatch_engine() -> EngineResult:
    """Measure only dispatch, on a database without the planning ledger."""
    from django.db import connection

    load_before = os.getloadavg()[0]
    result = EngineResult.dispatch_only(connection.vendor, (load_before, 0.0))
    _measure_dispatch(result)
    result.load_average = (load_before, os.getloadavg()[0])
    return result


def _measure_dispatch(result: EngineResult) -> None:
    email_creditor = _make_creditor("bench-email")
    email_debtors = _make_debtors(email_creditor, DISPATCH_EMAILS, email=True, mobile=False, address=False)
    _make_dispatch_invoices(email_creditor, email_debtors)
    result.emails, result.email_dispatch = _time_dispatch(email_creditor)

    letter_creditor = _make_creditor("bench-letter")
    letter_debtors = _make_debtors(letter_creditor, DISPATCH_LETTERS, email=False, mobile=False, address=True)
    _make_dispatch_invoices(letter_creditor, letter_debtors)
    result.letters, result.letter_dispatch = _time_dispatch(letter_creditor)


def _make_dispatch_invoices(creditor, debtor_ids: list[int]) -> None:
    """Give each debtor one invoice that reaches its first stage on the run day."""
    from betaalreis.legal.references import make_rf_reference
    from betaalreis.ledger.models import Debtor, Invoice

    first_offsets = {kind: offsets[0][1] for kind, offsets in _stage_offsets().items()}
    kinds = dict(Debtor.objects.filter(pk__in=debtor_ids).values_list("pk", "kind"))
    invoices = []
    for number, debtor_id in enumerate(debtor_ids):
        due_date = RUN_DAY - dt.timedelta(days=first_offsets[kinds[debtor_id]])
        amount = Decimal("95.00") + Decimal(number % 50)
        invoices.append(
            Invoice(
                creditor=creditor,
                debtor_id=debtor_id,
                number=f"{creditor.slug.upper()}-{number:06d}",
                issue_date=due_date - dt.timedelta(days=14),
                due_date=due_date,
                total=amount,
                open_amount=amount,
                payment_reference=make_rf_reference(f"{creditor.pk}X{number}"),
            )
        )
    Invoice.objects.bulk_create(invoices, batch_size=BATCH_SIZE)


def child_main(invoice_count: int, *, only_dispatch: bool = False) -> int:
    with tempfile.TemporaryDirectory(prefix="br-plan-bench-", ignore_cleanup_errors=True) as directory:
        home = Path(directory)
        _setup_django(home)
        from django.db import connection

        original_name = connection.settings_dict["NAME"]
        _create_test_database(home)
        try:
            result = run_dispatch_engine() if only_dispatch else run_engine(invoice_count)
            print(RESULT_PREFIX + json.dumps(asdict(result)), flush=True)
        finally:
            # Other processes on a shared machine may clean temporary files
            # during a long run, so a database file that is gone is no error.
            with contextlib.suppress(FileNotFoundError):
                connection.creation.destroy_test_db(original_name, verbosity=0)
    return 0


# --- parent process: both engines and the report ---------------------------------


def _run_child(invoice_count: int, database_url: str | None, *, only_dispatch: bool = False) -> EngineResult:
    environment = dict(os.environ)
    environment.pop("DATABASE_URL", None)
    if database_url:
        environment["DATABASE_URL"] = database_url
    completed = subprocess.run(
        [sys.executable, "-m", "bench.plan", "--child", "--invoices", str(invoice_count)]
        + (["--only-dispatch"] if only_dispatch else []),
        env=environment,
        capture_output=True,
        text=True,
    )
    for line in completed.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return EngineResult.from_json(json.loads(line.removeprefix(RESULT_PREFIX)))
    raise RuntimeError(
        f"benchmark child for {'PostgreSQL' if database_url else 'SQLite'} failed "
        f"with exit status {completed.returncode}:\n{completed.stderr[-3000:]}"
    )


def _step(timing: Timing, read: Timing) -> str:
    return f"{timing.wall:.2f} s ({timing.cpu:.2f} s) | {timing.wall / read.wall:.1f}x ({timing.cpu / read.cpu:.1f}x)"


def _rate(count: int, timing: Timing | None) -> str:
    if timing is None or not timing.wall:
        return "not measured"
    return f"{count / timing.wall:,.0f}/s ({count / timing.cpu:,.0f}/s), {count} in {timing.wall:.2f} s"


def _cpu_split(timing: Timing | None) -> str:
    if timing is None or not timing.wall:
        return ""
    split = f"{timing.user:.2f} s + {timing.system:.2f} s"
    if timing.server is not None:
        split += f", server {timing.server:.2f} s"
    return split


def render_report(results: list[EngineResult], command: str) -> str:
    from bench.results import run_header

    lines = [
        "## Planning, outbox writing and dispatch (`bench/plan.py`)",
        "",
        run_header(command),
        "The plain read is `SELECT` of the creditor's open invoices joined with their",
        "debtors and stages, every row fetched (median of 3). Planning is `plan_day`. The daily",
        "run is `run_cycle(dispatch_messages=False)`, which applies payments, plans",
        "and writes the outbox. In the daily run every invoice already carries the",
        "stage it reached the day before, so only invoices that reach a new stage",
        "get a message. The first run clears all stages first, so nearly every",
        f"debtor gets one. Targets: planning within {TARGET_RATIO}x the plain read, and dispatch",
        f"at {TARGET_EMAILS_PER_SECOND:,} emails/s and {TARGET_LETTERS_PER_SECOND} letters/s per core.",
        "",
        "`python -m bench.plan --large` runs the same with 1,000,000 open invoices.",
        "Set DATABASE_URL to a PostgreSQL database to measure PostgreSQL beside SQLite.",
        "",
        "Each cell gives wall-clock time, with the benchmark process's CPU time in",
        "brackets, and the ratio to the plain read. CPU time leaves out other",
        "processes: on PostgreSQL it does not count the database server, whose",
        "process's CPU time follows the table, and on a busy machine the",
        "wall-clock time includes waiting for a core.",
        "",
        "| engine | open invoices | load average | plain read | plan_day | ratio | daily run | ratio | messages | first run | ratio | messages |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        read = result.plain_read
        load = f"{result.load_average[0]:.1f} to {result.load_average[1]:.1f}"
        lines.append(
            f"| {result.engine} | {result.invoices:,} | {load} "
            f"| {read.wall:.2f} s ({read.cpu:.2f} s) "
            f"| {_step(result.plan, read)} "
            f"| {_step(result.daily_run, read)} | {result.daily_messages:,} "
            f"| {_step(result.first_run, read)} | {result.first_run_messages:,} |"
        )

    lines += _server_lines(results)
    lines += ["", *render_dispatch_table(results)]
    builds = ", ".join(f"{result.build.wall:.0f} s on {result.engine}" for result in results)
    lines += ["", f"Building the benchmark ledger took {builds}."]
    return "\n".join(lines)


def _server_lines(results: list[EngineResult]) -> list[str]:
    """Return a sentence per engine whose server process CPU time was measured, with the ratios it gives."""
    lines = []
    for result in results:
        steps = (result.plain_read, result.plan, result.daily_run, result.first_run)
        if any(step.server is None for step in steps):
            continue

        def total(step: Timing) -> float:
            return step.cpu + (step.server or 0.0)

        read = total(result.plain_read)
        lines += [
            "",
            f"On {result.engine} the server process that served the benchmark used "
            f"{result.plain_read.server:.2f} s of CPU for the plain read, {result.plan.server:.2f} s for plan_day, "
            f"{result.daily_run.server:.2f} s for the daily run and {result.first_run.server:.2f} s for the first run. "
            f"Counting the CPU time of both processes, the ratios are {total(result.plan) / read:.1f}x, "
            f"{total(result.daily_run) / read:.1f}x and {total(result.first_run) / read:.1f}x.",
        ]
    return lines


def render_dispatch_table(results: list[EngineResult]) -> list[str]:
    """Return the lines of the dispatch table, with the sentence that introduces it."""
    lines = [
        "Dispatch to the file outbox in one process, as messages per second of",
        "wall-clock time, with messages per second of the process's CPU time",
        "(one core) in brackets. The CPU columns split that CPU time into user",
        "time, which is Python, and system time, which is the kernel's work such",
        "as creating the outbox files. On PostgreSQL they also give the CPU time",
        "of the server process that served the dispatch:",
        "",
        "| engine | emails | CPU user + system | letters (PDF) | CPU user + system |",
        "|---|---|---:|---|---:|",
    ]
    for result in results:
        if result.dispatch_error:
            lines.append(f"| {result.engine} | failed: {result.dispatch_error} | | | |")
            continue
        lines.append(
            f"| {result.engine} | {_rate(result.emails, result.email_dispatch)} "
            f"| {_cpu_split(result.email_dispatch)} "
            f"| {_rate(result.letters, result.letter_dispatch)} "
            f"| {_cpu_split(result.letter_dispatch)} |"
        )
    return lines


def render_repeated_dispatch(runs: dict[str, list[EngineResult]]) -> list[str]:
    """Return the median and the range over repeated dispatch runs, one table row per engine and kind."""
    lines = [
        "Median over the runs, with the lowest and highest value in brackets. Server CPU is",
        "the CPU time of the PostgreSQL server process that served the dispatch, and the",
        "column after it divides the messages by the CPU time of both processes.",
        "",
        "| engine | messages | runs | per CPU-second | user CPU (s) | system CPU (s) "
        "| server CPU (s) | per CPU-second with server | per wall-clock second |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for engine, results in runs.items():
        measured = [result for result in results if not result.dispatch_error]
        for kind, count_field, timing_field in (
            ("emails", "emails", "email_dispatch"),
            ("letters", "letters", "letter_dispatch"),
        ):
            timings = [(getattr(result, count_field), getattr(result, timing_field)) for result in measured]
            if not timings:
                lines.append(f"| {engine} | {kind} | 0 | not measured | | | | | |")
                continue
            per_cpu = [count / timing.cpu for count, timing in timings]
            per_wall = [count / timing.wall for count, timing in timings]
            if all(timing.server is not None for _, timing in timings):
                server = _spread([timing.server or 0.0 for _, timing in timings], "{:.2f}")
                with_server = _spread(
                    [count / (timing.cpu + (timing.server or 0.0)) for count, timing in timings], "{:,.0f}"
                )
            else:
                server = with_server = "not measured"
            lines.append(
                f"| {engine} | {kind} | {len(timings)} "
                f"| {_spread(per_cpu, '{:,.0f}')} "
                f"| {_spread([timing.user for _, timing in timings], '{:.2f}')} "
                f"| {_spread([timing.system for _, timing in timings], '{:.2f}')} "
                f"| {server} | {with_server} "
                f"| {_spread(per_wall, '{:,.0f}')} |"
            )
    return lines


def _spread(values: list[float], number_format: str) -> str:
    low, median, high = min(values), statistics.median(values), max(values)
    return f"{number_format.format(median)} ({number_format.format(low)} to {number_format.format(high)})"


def _repeat_dispatch(repeat: int, database_url: str) -> int:
    """Measure dispatch `repeat` times per engine, print each run's table row, then the median and range.

    The engines take turns, so a change in the machine's load during the
    runs reaches both engines alike.
    """
    runs: dict[str, list[EngineResult]] = {}
    for number in range(1, repeat + 1):
        for url in (None, database_url) if database_url else (None,):
            result = _run_child(0, url, only_dispatch=True)
            runs.setdefault(result.engine, []).append(result)
            load = f"load average {result.load_average[0]:.1f} to {result.load_average[1]:.1f}"
            print(f"run {number}: {render_dispatch_table([result])[-1]} {load}", flush=True)
    print()
    print("\n".join(render_repeated_dispatch(runs)))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--large", action="store_true", help=f"Use {LARGE_INVOICES:,} open invoices.")
    parser.add_argument("--invoices", type=int, help=f"Number of open invoices (default {DEFAULT_INVOICES:,}).")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-record", action="store_true", help="Print the results without writing docs/benchmarks.md.")
    parser.add_argument(
        "--only-dispatch",
        action="store_true",
        help=(
            f"Measure only dispatch ({DISPATCH_EMAILS:,} emails and {DISPATCH_LETTERS} letters per engine) "
            "and print its table, without building the planning ledger or writing docs/benchmarks.md."
        ),
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help=(
            "With --only-dispatch: run the dispatch measurement N times per engine, each in a new "
            "process, and print the median and range of the runs (default 1)."
        ),
    )
    options = parser.parse_args(argv)
    invoice_count = options.invoices or (LARGE_INVOICES if options.large else DEFAULT_INVOICES)
    if options.repeat < 1:
        parser.error(f"--repeat must be at least 1, not {options.repeat}.")
    if options.repeat > 1 and not options.only_dispatch:
        parser.error("--repeat needs --only-dispatch.")

    if options.child:
        return child_main(invoice_count, only_dispatch=options.only_dispatch)

    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        print("DATABASE_URL does not name a PostgreSQL database: measuring SQLite only.")
        database_url = ""
    if options.repeat > 1:
        return _repeat_dispatch(options.repeat, database_url)

    results = [_run_child(invoice_count, None, only_dispatch=options.only_dispatch)]
    if database_url:
        results.append(_run_child(invoice_count, database_url, only_dispatch=options.only_dispatch))

    if options.only_dispatch:
        print("\n".join(render_dispatch_table(results)))
        for result in results:
            print(f"Load average on {result.engine}: {result.load_average[0]:.1f} to {result.load_average[1]:.1f}.")
        return 0

    command = "python -m bench.plan" + (" --large" if options.large else "") + (
        f" --invoices {options.invoices}" if options.invoices else ""
    )
    if len(results) > 1:
        # The URL may carry a password, so the record names only its kind.
        command = "DATABASE_URL=<PostgreSQL URL> " + command
    report = render_report(results, command)
    print(report)
    if not options.no_record:
        from bench.results import write_section

        print(f"Recorded in {write_section('plan', report)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
