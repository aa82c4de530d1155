"""Benchmark of the debtor portal: latency at 50 concurrent debtors on a local server.

`python -m bench.portal_latency [--debtors N] [--requests N] [--no-record]`
builds the demo ledger (2,000 debtors, 10,000 invoices) on SQLite under a
temporary BETAALREIS_HOME, starts gunicorn (2 workers of 4 threads, as in
a small deployment) or with `--server runserver` Django's development
server on 127.0.0.1, and
lets N debtors (default 50) sign in with their links at the same moment.
Each then loads its invoice list, its payment-plan page and its statement
PDF in turn until it has made its share of the requests (default 2,000 in
total). Latency is measured per request on the client, from sending to the
last byte, and reported per page as p50, p95 and max.

After an unmeasured warm-up round it runs twice. With think time, each
debtor pauses a random 0.5 to 1.5 s between pages, as a person reading the
page does. The target applies to this figure. Without think time, every debtor sends its next request
as soon as the last one returns, which measures the server saturated: there
the latency is roughly the number of debtors divided by the throughput.
A last run with one debtor and no think time gives the time the server
needs for one request when nothing else waits.

The results go to docs/benchmarks-portal.md and to the portal section of
docs/benchmarks.md. The target is a p95 under 100 ms for the invoice list.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS_PAGE = ROOT / "docs" / "benchmarks-portal.md"
TARGET_P95_MS = 100.0
PAGE_HEADER = """# Portal benchmark

Latency of the debtor portal's pages, measured by `bench/portal_latency.py`.
Numbers from another machine or day are not comparable without rerunning.
"""

# Pages every simulated debtor loads in turn, after signing in.
PAGES = ("invoice list", "payment plan", "statement PDF")


def _prepare(home: Path, debtors: int) -> list[dict[str, str]]:
    """Migrate, build the demo ledger and return sign-in paths of debtors with open invoices."""
    script = f"""
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from betaalreis.demo.generator import DemoConfig, build_ledger
from betaalreis.ledger.models import Debtor, InvoiceStatus
from betaalreis.portal.links import make_portal_token
build_ledger(DemoConfig(debtors=2000, invoices=10000))
chosen = (Debtor.objects.filter(invoices__status=InvoiceStatus.OPEN, invoices__open_amount__gt=0)
          .distinct().order_by("pk")[:{debtors}])
print(json.dumps([{{"id": d.pk, "path": "/p/" + make_portal_token(d) + "/"}} for d in chosen]))
"""
    output = subprocess.run(
        [sys.executable, "-c", script], env=_environment(home), capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _environment(home: Path) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    environment.update({"BETAALREIS_HOME": str(home), "DJANGO_SETTINGS_MODULE": "betaalreis.settings",
                        "BETAALREIS_LOG_LEVEL": "ERROR"})
    return environment


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


SERVERS = {
    "gunicorn": "gunicorn betaalreis.wsgi (2 workers, 4 threads each)",
    "runserver": "betaalreis runserver (Django's threaded development server, one process)",
}


def _server_command(kind: str, port: int) -> list[str]:
    if kind == "gunicorn":
        return [
            sys.executable, "-m", "gunicorn", "betaalreis.wsgi:application", "--bind", f"127.0.0.1:{port}",
            "--workers", "2", "--threads", "4", "--worker-class", "gthread", "--log-level", "warning",
            # Longer than the longest think time, so an idle keep-alive connection is
            # not closed by the server while the client reuses it.
            "--keep-alive", "30",
        ]
    return [sys.executable, "-m", "betaalreis", "runserver", f"127.0.0.1:{port}", "--noreload"]


def _start_server(home: Path, port: int, kind: str) -> subprocess.Popen:
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(
        _server_command(kind, port), env=_environment(home), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError(f"The portal server did not listen on 127.0.0.1:{port} within 60 s.")


async def _debtor(
    base: str, debtor: dict, requests: int, timings: dict[str, list[float]], start: asyncio.Event, think: bool
) -> None:
    urls = {
        "invoice list": "/portal/",
        "payment plan": f"/portal/accounts/{debtor['id']}/plan/",
        "statement PDF": f"/portal/accounts/{debtor['id']}/statement.pdf",
    }
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await start.wait()
        began = time.perf_counter()
        response = await client.get(debtor["path"])
        timings["sign-in link"].append((time.perf_counter() - began) * 1000)
        if response.status_code != 302:
            raise RuntimeError(f"Sign-in for debtor {debtor['id']} returned HTTP {response.status_code}, expected 302.")

        pauses = random.Random(debtor["id"])
        for index in range(requests):
            if think:
                await asyncio.sleep(pauses.uniform(0.5, 1.5))
            page = PAGES[index % len(PAGES)]
            began = time.perf_counter()
            response = await client.get(urls[page])
            timings[page].append((time.perf_counter() - began) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{urls[page]} returned HTTP {response.status_code} for debtor {debtor['id']}, expected 200.")


async def _load(
    base: str, debtors: list[dict], total_requests: int, *, think: bool
) -> tuple[dict[str, list[float]], float]:
    timings: dict[str, list[float]] = defaultdict(list)
    start = asyncio.Event()
    per_debtor = max(1, total_requests // len(debtors))
    tasks = [
        asyncio.create_task(_debtor(base, debtor, per_debtor, timings, start, think)) for debtor in debtors
    ]
    await asyncio.sleep(0.5)
    began = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    return timings, time.perf_counter() - began


def _load_note(load: tuple[float, float]) -> str:
    """Say whether other work competed with the server, from the load average and the core count."""
    if max(load) > (os.cpu_count() or 1):
        return "; above the core count, so other work competed with the server and every figure is inflated\n\n"
    return "; below the core count\n\n"


def percentile(values: list[float], share: float) -> float:
    """Return the nearest-rank percentile of `values` (share between 0 and 1)."""
    ordered = sorted(values)
    rank = max(1, round(share * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


def _table(timings: dict[str, list[float]], elapsed: float) -> str:
    rows = []
    for page in ("sign-in link", *PAGES):
        values = timings[page]
        rows.append(
            f"| {page} | {len(values)} | {statistics.median(values):.1f} | {percentile(values, 0.95):.1f} | {max(values):.1f} |"
        )
    total = sum(len(values) for values in timings.values())
    return (
        f"{total} requests in {elapsed:.1f} s ({total / elapsed:.0f} requests/s).\n\n"
        + "| page | requests | p50 ms | p95 ms | max ms |\n|---|---:|---:|---:|---:|\n"
        + "\n".join(rows)
        + "\n"
    )


def _report(
    runs: dict[str, tuple[dict[str, list[float]], float]],
    debtors: int,
    command: str,
    server: str,
    load: tuple[float, float],
) -> str:
    from bench.results import run_header

    thinking, _elapsed = runs["think"]
    p95_list = percentile(thinking["invoice list"], 0.95)
    verdict = "meets" if p95_list < TARGET_P95_MS else "misses"
    return (
        f"## Portal latency at {debtors} concurrent debtors\n\n"
        + run_header(command)
        + f"- Server: {SERVERS[server]}, SQLite in WAL mode, DEBUG off\n"
        + "- Data: demo ledger of 2,000 debtors and 10,000 invoices\n"
        + "- Client: one asyncio process with httpx on the same machine, sharing its cores with the server\n"
        + f"- Load average (1 min) of the machine: {load[0]:.1f} before, {load[1]:.1f} after"
        + _load_note(load)
        + "### With think time (0.5 to 1.5 s between pages)\n\n"
        + _table(*runs["think"])
        + f"\nThe invoice list's p95 of {p95_list:.1f} ms {verdict} the target of {TARGET_P95_MS:.0f} ms.\n\n"
        + "### Without think time (server saturated)\n\n"
        + _table(*runs["saturated"])
        + "\n### One debtor, no think time (time per request without queueing)\n\n"
        + _table(*runs["single"])
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.portal_latency", description=__doc__.splitlines()[0])
    parser.add_argument("--debtors", type=int, default=50, help="Debtors signed in at the same time (default 50).")
    parser.add_argument("--requests", type=int, default=2000, help="Page requests in total after sign-in (default 2000).")
    parser.add_argument("--server", choices=sorted(SERVERS), default="gunicorn", help="Server to measure (default gunicorn).")
    parser.add_argument("--no-record", action="store_true", help="Print the results without writing docs/.")
    options = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="betaalreis-bench-portal-") as home_dir:
        home = Path(home_dir)
        print("Building the demo ledger ...", flush=True)
        debtors = _prepare(home, options.debtors)
        if len(debtors) < options.debtors:
            print(f"Only {len(debtors)} demo debtors have open invoices; using those.", flush=True)

        load_before = os.getloadavg()[0]
        port = _free_port()
        server = _start_server(home, port, options.server)
        base = f"http://127.0.0.1:{port}"
        runs = {}
        try:
            # An unmeasured round first, so worker start-up and first imports are not counted.
            asyncio.run(_load(base, debtors[:10], 100, think=False))
            for mode in ("think", "saturated"):
                print(f"Loading the portal ({mode}) ...", flush=True)
                runs[mode] = asyncio.run(_load(base, debtors, options.requests, think=mode == "think"))
            print("Loading the portal (one debtor) ...", flush=True)
            runs["single"] = asyncio.run(_load(base, debtors[:1], 150, think=False))
        except httpx.HTTPError:
            print((home / "server.log").read_text(errors="replace")[-3000:], file=sys.stderr)
            raise
        finally:
            server.terminate()
            server.wait(timeout=30)

    command = "python -m bench.portal_latency " + " ".join(argv if argv is not None else sys.argv[1:])
    report = _report(runs, len(debtors), command.strip(), options.server, (load_before, os.getloadavg()[0]))
    print(report)
    if not options.no_record:
        from bench.results import write_section

        if not RESULTS_PAGE.exists():
            RESULTS_PAGE.write_text(PAGE_HEADER, encoding="utf-8")
        write_section("portal_latency", report, page=RESULTS_PAGE)
        write_section("portal_latency", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
