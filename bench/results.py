"""Recording benchmark results in docs/benchmarks.md, one section per benchmark.

Each benchmark owns the text between `<!-- bench:NAME -->` and
`<!-- /bench:NAME -->` and replaces only that, so benchmarks can run alone
or in any order without removing each other's results.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

RESULTS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"

PAGE_HEADER = """# Benchmarks

Measured numbers from `make bench` (`python -m bench.run`). Each benchmark
rewrites its own section when it runs. Each section names the machine, the
command and the date of its run. Numbers from another machine or another
load are not comparable without rerunning.
"""


@dataclass(frozen=True, slots=True)
class Machine:
    cpu_model: str
    cores: int
    memory_gib: float
    python: str

    def describe(self) -> str:
        return (
            f"{self.cpu_model}, {self.cores} cores, {self.memory_gib:.0f} GiB memory, "
            f"Python {self.python}, {platform.system()} {platform.release()}"
        )


def machine() -> Machine:
    """Return the CPU model (from lscpu), core count and memory of this machine."""
    cpu_model = platform.processor() or "unknown CPU"
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        lscpu = ""
    for line in lscpu.splitlines():
        if line.startswith("Model name:"):
            cpu_model = line.split(":", 1)[1].strip()

    memory_gib = 0.0
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        page_size = os.sysconf("SC_PAGE_SIZE")
        memory_gib = pages * page_size / 2**30
    except (ValueError, OSError):
        pass
    return Machine(
        cpu_model=cpu_model,
        cores=os.cpu_count() or 1,
        memory_gib=memory_gib,
        python=platform.python_version(),
    )


def python_speed_probe(rounds: int = 3) -> float:
    """Return the median CPU seconds of a fixed pure-Python workload.

    Two hosts that report the same CPU model can differ by a factor of two
    in speed, and so can CPython builds with and without profile-guided
    optimisation. The probe measures both effects, so that runs on different
    hosts can be compared.
    """
    timings = []
    for _ in range(rounds):
        began = time.process_time()
        table: dict[int, str] = {}
        total = 0
        for number in range(2_000_000):
            total += number % 7
            if number % 64 == 0:
                table[number] = str(number)
        timings.append(time.process_time() - began)
    return statistics.median(timings)


def database_server_cpu() -> float | None:
    """Return the CPU seconds that this connection's PostgreSQL server process has used so far.

    The server runs on the same host in the benchmarks, so its process is
    read from /proc. Returns None on SQLite (its work is in the process's
    own CPU time) and where /proc does not show the server process. Work
    of other server processes (WAL writer, checkpointer, autovacuum) is
    not counted.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None

    # Fields after the command name in brackets start at field 3, so utime
    # (field 14) and stime (field 15) are at positions 11 and 12.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_header(command: str) -> str:
    """Return the lines that state machine, command and date of a run."""
    return (
        f"- Machine: {machine().describe()}, SQLite {sqlite3.sqlite_version}\n"
        f"- Python speed probe: {python_speed_probe():.2f} s CPU for a fixed pure-Python loop "
        "(`bench.results.python_speed_probe`; lower is faster)\n"
        f"- Command: `{command}`\n"
        f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC\n"
    )


def write_section(name: str, markdown: str, page: Path = RESULTS_PAGE) -> Path:
    """Replace the section of benchmark `name` in the results page, or append it."""
    if not re.fullmatch(r"[a-z0-9_-]+", name):
        raise ValueError(f"Invalid benchmark name {name!r}: use lower-case letters, digits, - and _.")

    begin = f"<!-- bench:{name} -->"
    end = f"<!-- /bench:{name} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"

    text = page.read_text(encoding="utf-8") if page.exists() else PAGE_HEADER
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"

    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(text, encoding="utf-8")
    return page
