"""`betaalreis demo`: build the demo ledger and simulate days of daily runs."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table

from betaalreis.demo.generator import DEMO_SLUGS, DemoConfig, build_ledger, reset_demo_data
from betaalreis.demo.simulation import (
    DayReport,
    Simulation,
    SimulationResult,
    invoice_status_counts,
    outbox_status_counts,
    payment_status_counts,
)
from betaalreis.errors import BetaalreisError
from betaalreis.ledger.models import Channel, Debtor, InvoiceKind, InvoiceStatus
from betaalreis.ledger.money import format_money
from betaalreis.outbox.models import CommunicationStatus

CHANNEL_COLUMNS = (Channel.EMAIL, Channel.SMS, Channel.LETTER, Channel.PHONE)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Invalid --start {value!r}: use YYYY-MM-DD, for example 2026-01-05.") from None


class Command(BaseCommand):
    help = (
        "Build a demo ledger (two creditors, Dutch consumers and businesses, invoices, "
        "payment history) and simulate daily runs in which bank payments settle part of "
        "the invoices. First deletes the demo creditors "
        f"({', '.join(DEMO_SLUGS)}) with their data, bank statement files and outbox "
        "files, so it can run again. Other creditors are never touched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=7, help="Random seed (default 7). The same seed builds the same ledger.")
        parser.add_argument("--days", type=int, default=60, help="Number of days to simulate (default 60).")
        parser.add_argument("--debtors", type=int, default=2000, help="Number of debtors over both creditors (default 2000).")
        parser.add_argument("--invoices", type=int, default=10000, help="Number of invoices over both creditors (default 10000).")
        parser.add_argument(
            "--start",
            type=_date,
            default=None,
            help="First simulated day, YYYY-MM-DD (default: the day that makes the last simulated day today).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console(highlight=False, soft_wrap=True, file=self.stdout)
        days = options["days"]
        start = options["start"] or dt.date.today() - dt.timedelta(days=max(days, 1) - 1)
        try:
            config = DemoConfig(
                seed=options["seed"],
                debtors=options["debtors"],
                invoices=options["invoices"],
                start=start,
                days=days,
            )
        except BetaalreisError as exc:
            raise CommandError(str(exc)) from exc

        began = time.monotonic()
        deleted = reset_demo_data()
        if deleted:
            console.print(f"Deleted the previous demo data ({deleted} creditors).")

        ledger = build_ledger(config)
        console.print(
            f"Built the demo ledger in {time.monotonic() - began:.1f} s: "
            f"{len(ledger.creditors)} creditors, {ledger.debtor_count} debtors, "
            f"{ledger.invoice_count} invoices issued by {config.start} "
            f"({ledger.historic_payment_count} paid before it), "
            f"{len(ledger.future_invoices)} more issued during the simulation."
        )
        console.print(f"Simulating {config.days} days, {config.start} to {config.end}.\n")

        simulation = Simulation(ledger, config)
        _print_day_header(console)
        result = simulation.run(on_day=lambda report: _print_day(console, report))

        _print_summary(console, ledger, result, time.monotonic() - began)


def _print_day_header(console: Console) -> None:
    console.print(
        f"[bold]{'day':<10}  {'new':>5}  {'email':>5} {'sms':>5} {'letter':>6} {'phone':>5}  "
        f"{'payments in':>24}  stages sent[/bold]"
    )


def _print_day(console: Console, report: DayReport) -> None:
    per_channel: Counter[str] = Counter()
    per_stage: Counter[str] = Counter()
    for (channel, stage), count in report.planned.items():
        per_channel[channel] += count
        per_stage[stage] += count
    stages = ", ".join(f"{stage} {count}" for stage, count in sorted(per_stage.items())) or "-"
    payments = f"{report.payments} {format_money(report.payments_amount)}"
    console.print(
        f"{report.day.isoformat():<10}  {report.new_invoices:>5}  "
        f"{per_channel[Channel.EMAIL]:>5} {per_channel[Channel.SMS]:>5} "
        f"{per_channel[Channel.LETTER]:>6} {per_channel[Channel.PHONE]:>5}  "
        f"{payments:>24}  {stages}"
    )


def _print_summary(console: Console, ledger: Any, result: SimulationResult, seconds: float) -> None:
    totals: Counter[tuple[str, str]] = Counter()
    for report in result.days:
        totals.update(report.planned)

    stage_table = Table(title="Messages per stage and channel", title_justify="left")
    stage_table.add_column("stage")
    for channel in CHANNEL_COLUMNS:
        stage_table.add_column(channel, justify="right")
    for stage in sorted({stage for _, stage in totals}):
        stage_table.add_row(stage, *(str(totals[(channel, stage)]) for channel in CHANNEL_COLUMNS))
    console.print()
    console.print(stage_table)
    statuses = outbox_status_counts(ledger)
    console.print(
        "Outbox status: "
        + (", ".join(f"{status} {count}" for status, count in sorted(statuses.items())) or "empty")
    )
    if statuses.get(CommunicationStatus.PENDING):
        console.print(
            "Pending messages are held until the time in their not_before field, for "
            "example the start of contact hours. The next `betaalreis run` sends them."
        )

    payments = sum(report.payments for report in result.days)
    amount = sum((report.payments_amount for report in result.days), Decimal("0.00"))
    by_status = payment_status_counts(ledger, result.days[0].day) if result.days else {}
    statuses_text = ", ".join(
        f"{status.replace('_', ' ')} {count}" for status, count in sorted(by_status.items())
    )
    console.print(
        f"Payments in: {payments} ({format_money(amount)}), now {statuses_text or 'none'}. "
        f"Bank input: {result.bank_import}."
    )

    status_table = Table(title="Invoices at the end", title_justify="left")
    status_table.add_column("status")
    status_table.add_column("invoices", justify="right")
    status_table.add_column("open amount", justify="right")
    for status, (count, open_total) in sorted(invoice_status_counts(ledger).items()):
        status_table.add_row(status.replace("_", " "), str(count), format_money(open_total))
    console.print(status_table)

    home = settings.BETAALREIS_HOME
    console.print(f"\nDone in {seconds:.1f} s.")
    console.print(f"Outbox:           {settings.OUTBOX_DIR}/<channel>/")
    console.print(f"Bank statements:  {home}/bank/<creditor>/camt053-*.xml")
    console.print(
        f"Admin:            {settings.BETAALREIS_BASE_URL}/admin/ "
        "(first `betaalreis createsuperuser`, then `betaalreis runserver`)"
    )
    sample = (
        Debtor.objects.filter(
            creditor__in=ledger.creditors,
            invoices__kind=InvoiceKind.INVOICE,
            invoices__status=InvoiceStatus.OPEN,
        )
        .order_by("creditor__slug", "customer_number")
        .first()
    )
    if sample is not None:
        from betaalreis.portal.links import portal_url

        console.print(
            f"Debtor portal:    {portal_url(sample)}\n"
            f"                  ({sample.customer_number} {sample.name}; with `betaalreis runserver` "
            "running. Every message in the outbox carries such a link.)"
        )
