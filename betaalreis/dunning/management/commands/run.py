"""`betaalreis run`: the daily dunning job."""

from __future__ import annotations

import argparse
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table

from betaalreis.dunning.run import CreditorRun, RunSummary, run_cycle
from betaalreis.ledger.models import Creditor, Debtor, opted_out_of_every_channel
from betaalreis.ledger.money import format_money
from betaalreis.outbox.dispatch import DispatchSummary


def parse_day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid date {value!r}: use YYYY-MM-DD, for example 2026-12-04"
        ) from None


class Command(BaseCommand):
    help = (
        "Run the daily dunning job: apply payments, plan the due stages, "
        "write the outbox and dispatch it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=parse_day, help="Business day to run for (default: today).")
        parser.add_argument("--creditor", help="Slug of one creditor (default: all creditors).")
        parser.add_argument(
            "--no-dispatch", action="store_true", help="Write the outbox but send nothing."
        )

    def handle(self, *args: object, **options: object) -> None:
        day = options["date"] or dt.date.today()
        creditor = None
        if options["creditor"]:
            creditor = Creditor.objects.filter(slug=options["creditor"]).first()
            if creditor is None:
                known = ", ".join(Creditor.objects.values_list("slug", flat=True)) or "none yet"
                raise CommandError(
                    f"Creditor {options['creditor']!r} not found. Known creditors: {known}. "
                    "Add one with `betaalreis creditor add`."
                )

        summary = run_cycle(day, creditor, dispatch_messages=not options["no_dispatch"])
        print_summary(summary, Console(file=self.stdout, width=110))


def print_summary(summary: RunSummary, console: Console) -> None:
    """Print what a run did, per creditor and per channel and stage."""
    console.print(f"[bold]Betaalreis run for {summary.day.isoformat()}[/bold]")
    for creditor_run in summary.creditors:
        plan = creditor_run.plan
        written = creditor_run.written
        payments = creditor_run.payments
        console.print(
            f"{creditor_run.creditor.slug}: {_count(payments.matched, 'payment')} applied, "
            f"{payments.to_review} to review, {_credit_text(payments.credit_applied)} of debtor credit and "
            f"{_credit_text(payments.credit_notes_applied)} of open credit notes applied to other invoices; "
            f"{_count(plan.invoices_considered, 'open invoice')} checked; "
            f"{_count(len(written.created), 'message')} planned, {written.already_planned} already planned today, "
            f"{_count(written.unreachable, 'debtor')} unreachable, "
            f"{_count(plan.waiting_for_legal_term, 'invoice')} waiting for a 14-day term, "
            f"{_count(plan.paused, 'open invoice')} of paused debtors"
        )
        _print_unreachable(creditor_run, console)
        _print_paused_for_review(creditor_run, console)
        _print_invoices_without_claim(creditor_run, console)
        _print_opted_out_of_every_channel(creditor_run, console)

    if summary.dispatched is not None and summary.dispatched.total("fallback"):
        console.print(
            f"{_count(summary.dispatched.total('fallback'), 'message')} planned on another channel "
            "because a send failed"
        )

    outcomes = ("fallback", "sent", "cancelled", "failed", "retry")
    table = Table(title="Messages per channel and stage")
    for column in ("channel", "stage", "planned", *outcomes):
        table.add_column(column, justify="right" if column not in ("channel", "stage") else "left")
    planned = summary.planned_counts()
    dispatched = summary.dispatched.counts if summary.dispatched else {}
    keys = sorted(set(planned) | {(channel, stage) for channel, stage, _ in dispatched})
    for channel, stage in keys:
        table.add_row(
            channel,
            stage,
            str(planned.get((channel, stage), 0)),
            *(str(dispatched.get((channel, stage, outcome), 0)) for outcome in outcomes),
        )
    console.print(table)
    if summary.dispatched is not None:
        _print_dispatch_notes(summary.dispatched, console)


def _print_dispatch_notes(dispatched: DispatchSummary, console: Console) -> None:
    """Print the claim notices of the sent messages in Dutch and English, and the reverted stages."""
    for dutch, english in dispatched.claim_notices:
        console.print(f"  note: {english}", markup=False)
        console.print(f"  let op: {dutch}", markup=False)
    if dispatched.stages_reverted:
        console.print(
            f"  {dispatched.stages_reverted} invoices moved back to their previous stage because "
            "their message failed; the next run plans it again (see the debtor timeline)."
        )


def _print_paused_for_review(creditor_run: CreditorRun, console: Console) -> None:
    """Name the debtors paused until a payment in the bank review queue is decided."""
    if creditor_run.paused_for_review:
        named = _name_debtors(sorted(creditor_run.paused_for_review))
        console.print(f"  Paused until a payment in bank review is decided: {named}")


def _print_invoices_without_claim(creditor_run: CreditorRun, console: Console) -> None:
    """Print, in English and Dutch, how many invoices in another currency got no interest or costs computed."""
    counts = creditor_run.invoices_without_claim()
    if not counts:
        return
    total = sum(counts.values())
    currencies = ", ".join(counts)
    console.print(
        f"  note: no statutory interest or collection costs computed for {_count(total, 'invoice')} in "
        f"{currencies}, because they are computed in EUR only; handle these claims by hand.",
        markup=False,
    )
    console.print(
        f"  let op: geen wettelijke rente of incassokosten berekend voor {total} "
        f"{'factuur' if total == 1 else 'facturen'} in {currencies}, want die worden alleen in euro berekend; "
        "behandel deze vorderingen zelf.",
        markup=False,
    )


def _print_opted_out_of_every_channel(creditor_run: CreditorRun, console: Console) -> None:
    """Print the debtors who opted out of every channel, whose messages today can only go by post."""
    debtor_ids = sorted({
        message.debtor.id
        for message in creditor_run.plan.messages
        if opted_out_of_every_channel(message.debtor.opted_out_channels)
    })
    if debtor_ids:
        console.print(f"  Opted out of every channel, so messages go by letter only: {_name_debtors(debtor_ids)}")


# How many debtors each summary line names; the rest are counted.
MAX_NAMED_UNREACHABLE = 10


def _name_debtors(debtor_ids: list[int]) -> str:
    """Return the customer numbers of the first debtors, and how many more there are."""
    shown = debtor_ids[:MAX_NAMED_UNREACHABLE]
    numbers = dict(Debtor.objects.filter(pk__in=shown).values_list("id", "customer_number"))
    named = ", ".join(numbers[debtor_id] for debtor_id in shown)
    more = len(debtor_ids) - MAX_NAMED_UNREACHABLE
    return f"{named} and {more} more" if more > 0 else named


def _print_unreachable(creditor_run: CreditorRun, console: Console) -> None:
    """Name the debtors that no channel of any due stage can reach, per stage and reason.

    One line per stage and reason, so the reader can see which contact data to fix.
    """
    by_reason: dict[tuple[str, str], list[int]] = defaultdict(list)
    for message in creditor_run.plan.messages:
        if message.channel is None:
            by_reason[(message.stage.code, message.unreachable_reason)].append(message.debtor.id)

    for (stage_code, reason), debtor_ids in by_reason.items():
        console.print(f"  Unreachable for {stage_code} ({reason}): {_name_debtors(debtor_ids)}")


def _count(number: int, noun: str) -> str:
    """Return `number` with `noun` in the singular or plural form: "1 message", "2 messages"."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _credit_text(amounts: dict[str, Decimal]) -> str:
    """Return the debtor credit a run applied, per currency, as "€ 5,00" or "none"."""
    return " + ".join(format_money(amount, currency) for currency, amount in sorted(amounts.items())) or "none"
