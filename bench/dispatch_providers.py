"""Benchmark of SMS hand-over through a fake provider on 127.0.0.1.

`python -m bench.dispatch_providers [--messages N] [--workers N] [--sweep-messages N]
[--provider-limit R] [--no-record]`

Sends N queued messages (default 100,000) through the Twilio adapter to the
fake Twilio server, which runs in its own process so it does not share the
benchmark's interpreter lock. Every send takes the adapter's full path:
the provider account lookup, the locked `Delivery` row per idempotency
key, the rate limiter, the HTTP request and the stored result. One in a
hundred messages is sent a second time, to check that the fake still contains
each message once.

A second part finds where the provider's rate limit, not Betaalreis, is
the bottleneck: the fake responds with 429 above a fixed rate (default 40 per
second, below what one small machine hands over), and the adapter's own limit is set below it, at it, above it and
off. Messages whose retries run out are sent again, as dispatch would, so
every message ends accepted exactly once.

The database is DATABASE_URL when set, else SQLite under a temporary
BETAALREIS_HOME. Results go to docs/benchmarks-providers.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_PAGE = ROOT / "docs" / "benchmarks-providers.md"
PAGE_HEADER = """# Provider dispatch benchmark

Throughput of SMS hand-over through the Twilio adapter to a fake Twilio
server on 127.0.0.1, measured by `bench/dispatch_providers.py`. Numbers from
another machine or day are not comparable without rerunning.
"""


def _serve_fake(connection) -> None:
    """Run a fake Twilio in this process and serve the commands sent on `connection`."""
    from betaalreis.channels.tests.fakes.sms import FakeTwilio

    fake = FakeTwilio().start()
    connection.send((fake.url, fake.account_sid, fake.auth_token))
    while True:
        command, value = connection.recv()
        if command == "limit":
            fake.rate_per_second = value
            connection.send(None)
        elif command == "stats":
            keys = [record["status_callback"] for record in fake.accepted]
            connection.send((len(fake.accepted), len(set(keys)), fake.rejected_for_rate))
        elif command == "stop":
            fake.stop()
            connection.send(None)
            return


@dataclass(frozen=True)
class Run:
    label: str
    messages: int
    seconds: float
    accepted: int
    distinct: int
    rate_limited: int
    resent: int

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def _setup_django() -> None:
    if "DATABASE_URL" not in os.environ and "BETAALREIS_HOME" not in os.environ:
        os.environ["BETAALREIS_HOME"] = tempfile.mkdtemp(prefix="br-bench-providers-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "betaalreis.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def _send_all(backend, messages, workers: int) -> tuple[float, int]:
    """Send every message, sending again those that failed temporarily; return (seconds, resent)."""
    from django.db import connection

    from betaalreis.channels.base import ChannelError

    def send(message):
        try:
            backend.send(message)
            return None
        except ChannelError as exc:
            if exc.permanent:
                raise
            return message

    began = time.monotonic()
    pending = list(messages)
    resent = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while pending:
            pending = [message for message in pool.map(send, pending) if message is not None]
            resent += len(pending)
        # Each worker thread opened its own database connection.
        list(pool.map(lambda _: connection.close(), range(workers)))
    return time.monotonic() - began, resent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dispatch_providers", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000, help="Messages in the throughput run (default 100,000).")
    parser.add_argument("--workers", type=int, default=8, help="Sending threads (default 8).")
    parser.add_argument("--sweep-messages", type=int, default=2_000, help="Messages per rate-limit run (default 2,000).")
    parser.add_argument("--provider-limit", type=float, default=40.0, help="Fake provider's limit in messages per second (default 40).")
    parser.add_argument("--no-record", action="store_true", help="Print the results without writing docs/benchmarks-providers.md.")
    options = parser.parse_args(argv)

    _setup_django()
    from django.conf import settings

    from bench.results import run_header, write_section
    from betaalreis.channels.base import OutgoingMessage
    from betaalreis.channels.providers import SmsRouter
    from betaalreis.channels.ratelimit import reset_buckets
    from betaalreis.ledger.models import Creditor, Debtor

    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve_fake, args=(child,), daemon=True)
    server.start()
    url, account_sid, auth_token = parent.recv()

    def command(name: str, value: object = None):
        parent.send((name, value))
        return parent.recv()

    stamp = str(int(time.time()))
    creditor = Creditor.objects.create(slug=f"bench-{stamp}", legal_name="Bench B.V.", iban="NL91ABNA0417164300")
    debtors = Debtor.objects.bulk_create(
        Debtor(creditor=creditor, customer_number=f"B{index:05d}", name=f"Debiteur {index}",
               mobile=f"+316{index:08d}")
        for index in range(1, 1001)
    )
    settings.BETAALREIS_BASE_URL = "http://127.0.0.1:8000"
    settings.BETAALREIS_PROVIDER_RETRY = {"attempts": 3, "base_seconds": 0.05, "max_seconds": 1.0}

    def configure(rate: float) -> None:
        reset_buckets()
        settings.BETAALREIS_PROVIDERS = {creditor.slug: {"sms": {
            "provider": "twilio", "api_base": url, "account_sid": account_sid, "auth_token": auth_token,
            "sender": "Bench", "rate_per_second": rate, "price_per_segment": "0.0750",
        }}}

    def messages(label: str, count: int) -> list:
        return [
            OutgoingMessage(
                idempotency_key=f"bench:{stamp}:{label}:{index}", channel="sms", creditor_slug=creditor.slug,
                debtor_id=debtors[index % len(debtors)].pk, language="nl",
                recipient=debtors[index % len(debtors)].mobile,
                text=f"Herinnering: factuur 2026-{index:06d} (EUR 125,00) staat nog open. Betaal via https://pay.example.nl/x{index}",
            )
            for index in range(count)
        ]

    runs: list[Run] = []
    backend = SmsRouter()

    def measure(label: str, batch: list, rate: float, limit: float | None) -> Run:
        configure(rate)
        command("limit", limit)
        accepted_before, distinct_before, limited_before = command("stats")
        seconds, resent = _send_all(backend, batch, options.workers)
        accepted, distinct, limited = command("stats")
        run = Run(label, len(batch), seconds, accepted - accepted_before, distinct - distinct_before,
                  limited - limited_before, resent)
        print(f"{label}: {run.messages} messages in {seconds:.1f} s = {run.per_second:.0f}/s, "
              f"accepted {run.accepted}, distinct {run.distinct}, 429s {run.rate_limited}, resent {resent}",
              flush=True)
        runs.append(run)
        return run

    try:
        batch = messages("main", options.messages)
        main_run = measure("no provider limit", batch, 1_000_000.0, None)
        repeat = batch[:: 100]
        seconds, _ = _send_all(backend, repeat, options.workers)
        accepted, distinct, _ = command("stats")
        repeats_ok = accepted == distinct
        print(f"resent {len(repeat)} accepted keys in {seconds:.1f} s; fake contains each once: {repeats_ok}", flush=True)

        limit = options.provider_limit
        for factor in (0.5, 1.0, 2.0, None):
            rate = 1_000_000.0 if factor is None else limit * factor
            label = f"provider {limit:.0f}/s, adapter {'off' if factor is None else f'{rate:.0f}/s'}"
            measure(label, messages(f"sweep{factor}", options.sweep_messages), rate, limit)
    finally:
        command("stop")
        server.join(timeout=10)

    lines = [
        "## SMS hand-over through the Twilio adapter",
        "",
        run_header(f"python -m bench.dispatch_providers --messages {options.messages} --workers {options.workers} "
                   f"--sweep-messages {options.sweep_messages} --provider-limit {options.provider_limit:.0f}")
        + f"- Database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}\n",
        "| run | messages | seconds | messages/s | accepted | distinct at fake | 429s | sent again |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        lines.append(f"| {run.label} | {run.messages:,} | {run.seconds:.1f} | {run.per_second:,.0f} | "
                     f"{run.accepted:,} | {run.distinct:,} | {run.rate_limited:,} | {run.resent:,} |")
    lines += [
        "",
        f"Sending {len(repeat):,} of the accepted messages a second time reached the fake "
        f"{'zero times' if repeats_ok else 'again: DUPLICATES FOUND'}.",
        "",
        f"Betaalreis alone hands over {main_run.per_second:,.0f} messages per second here, so a "
        f"provider limit below that is the bottleneck. At the fake's {options.provider_limit:.0f}/s, "
        "throughput stays at the provider's rate whatever the adapter's limit. "
        "Setting the adapter's limit at or under the provider's keeps 429 responses and "
        "repeated requests near zero; above it, every 429 is a wasted request and a retry.",
    ]
    markdown = "\n".join(lines)
    print(markdown)

    if not options.no_record:
        page = RESULTS_PAGE
        text = page.read_text(encoding="utf-8") if page.exists() else PAGE_HEADER
        if not page.exists():
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(text, encoding="utf-8")
        write_section("dispatch_providers", markdown, page=page)
    return 0 if repeats_ok and all(run.accepted == run.distinct == run.messages for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
