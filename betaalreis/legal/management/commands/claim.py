"""`betaalreis claim`: compute a claim on one invoice and print its breakdown."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import enum
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rich.console import Console
from rich.table import Table

from betaalreis.errors import BetaalreisError
from betaalreis.ledger.money import quantize
from betaalreis.legal.claims import (
    ClaimBreakdown,
    ClaimItem,
    ClaimPayment,
    DebtorKind,
    compute_claim,
)
from betaalreis.legal.fourteen_day import fourteen_day_term
from betaalreis.legal.policy import BusinessCostMode, LegalSettings, parse_allocation_order


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid date {value!r}: use YYYY-MM-DD") from None


def _amount(value: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(
            f"invalid amount {value!r}: use digits and a dot, like 1234.56"
        ) from None
    if not amount.is_finite() or amount <= 0:
        raise argparse.ArgumentTypeError(f"invalid amount {value!r}: use a positive number")
    return amount


def _payment(value: str) -> ClaimPayment:
    day, separator, amount = value.partition("=")
    if not separator:
        raise argparse.ArgumentTypeError(
            f"invalid payment {value!r}: use DATE=AMOUNT, like 2026-03-01=100.00"
        )
    return ClaimPayment(paid_on=_date(day), amount=_amount(amount))


class Command(BaseCommand):
    help = (
        "Compute principal, statutory interest per period, collection costs and the total "
        "of a claim on one invoice, as Dutch law sets them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--principal", type=_amount, required=True,
            help="Invoice amount in euros, e.g. 1234.56.",
        )
        parser.add_argument(
            "--due", type=_date, required=True, help="Due date of the invoice (YYYY-MM-DD).",
        )
        parser.add_argument(
            "--on", type=_date, default=None,
            help=(
                "Day of the claim (YYYY-MM-DD). Interest counts up to and including it. "
                "Default: today in Amsterdam."
            ),
        )

        parser.add_argument(
            "--business", action="store_true",
            help=(
                "The debtor is a business: commercial interest, and costs without "
                "a 14-day letter."
            ),
        )
        parser.add_argument(
            "--vat-deductible", action=argparse.BooleanOptionalAction, default=True,
            help=(
                "Whether the creditor can deduct the VAT an outside collection service "
                "charged it. Use --no-vat-deductible only when such a service charged VAT, "
                "the creditor cannot deduct it and states both facts to the debtor (BIK "
                "art. 2 lid 3); VAT is then added to the collection costs. Default: deductible."
            ),
        )
        parser.add_argument(
            "--business-costs", choices=[mode.value for mode in BusinessCostMode],
            default=BusinessCostMode.SCALE.value,
            help=(
                "Collection costs for a business: the statutory scale or the fixed EUR 40. "
                "Default: scale."
            ),
        )
        parser.add_argument(
            "--allocation-order", default="costs,interest,principal",
            help=(
                "Order in which payments are applied. "
                "Default: costs,interest,principal (BW 6:44)."
            ),
        )

        parser.add_argument(
            "--paid", type=_payment, action="append", default=[], metavar="DATE=AMOUNT",
            help="A payment received, e.g. 2026-03-01=100.00. Repeat the option for more payments.",
        )

        parser.add_argument(
            "--term-end", type=_date, default=None,
            help="Consumer: last day of the 14-day letter's term, after the Atw extension.",
        )
        parser.add_argument(
            "--letter-sent", type=_date, default=None,
            help=(
                "Consumer: day the 14-day letter was sent. "
                "The term end follows from it and --letter-channel."
            ),
        )
        parser.add_argument(
            "--letter-channel", choices=["letter", "email"], default="letter",
            help=(
                "Channel of the 14-day letter, which sets its presumed day of receipt. "
                "Default: letter."
            ),
        )

        parser.add_argument(
            "--format", choices=["table", "json"], default="table",
            help="Output: a readable table or JSON. Default: table.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            breakdown = self._compute(options)
        except BetaalreisError as error:
            raise CommandError(str(error)) from error

        if options["format"] == "json":
            data = breakdown_to_json(breakdown)
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            self._print_table(breakdown)

    def _compute(self, options: dict[str, Any]) -> ClaimBreakdown:
        settings = LegalSettings(
            business_cost_mode=BusinessCostMode(options["business_costs"]),
            allocation_order=parse_allocation_order(options["allocation_order"]),
            vat_deductible=options["vat_deductible"],
        )

        on = options["on"] or timezone.localdate()
        self._check_dates(options, on)

        term_end = options["term_end"]
        if options["letter_sent"] is not None:
            term = fourteen_day_term(options["letter_sent"], options["letter_channel"], settings)
            term_end = term.term_end
            if not term.declared_days_on_file:
                self.stderr.write(
                    f"Warning: the 14-day term ends on {term_end}, after the last year of "
                    "declared Atw holidays on file (betaalreis/legal/data/atw_holidays.toml). "
                    "Check the Staatscourant for declared days and add them to that file."
                )

        return compute_claim(
            debtor_kind="business" if options["business"] else "consumer",
            items=[ClaimItem("invoice", options["principal"], options["due"])],
            on=on,
            payments=options["paid"],
            fourteen_day_term_end=term_end,
            settings=settings,
        )

    def _check_dates(self, options: dict[str, Any], on: dt.date) -> None:
        """Reject options that contradict each other before computing anything."""
        letter_options = [
            name for name in ("term_end", "letter_sent") if options[name] is not None
        ]
        if options["business"] and letter_options:
            given = " and ".join(f"--{name.replace('_', '-')}" for name in letter_options)
            raise CommandError(
                f"{given} applies to consumers only: a business owes collection costs "
                "without a 14-day letter. Leave out --business or the letter option."
            )
        if len(letter_options) == 2:
            raise CommandError("Give --term-end or --letter-sent, not both.")

        if options["due"] > on:
            raise CommandError(
                f"Invalid --due {options['due']}: it is after the claim date {on}, so nothing "
                "is overdue yet. Give a later --on or check the due date."
            )
        if options["letter_sent"] is not None and options["letter_sent"] > on:
            raise CommandError(
                f"Invalid --letter-sent {options['letter_sent']}: it is after the claim date "
                f"{on}. Give a later --on or leave the letter out."
            )

    def _print_table(self, breakdown: ClaimBreakdown) -> None:
        console = Console(file=self.stdout, highlight=False)

        console.print(_periods_table(breakdown))
        if breakdown.payments:
            console.print(_payments_table(breakdown))
        console.print(_totals_table(breakdown))

        if breakdown.uses_unconfirmed_rates:
            console.print(
                "* Rate not confirmed by an official source. See betaalreis/legal/data/statutory_rates.toml."
            )
        console.print(breakdown.explanation_en)


def _periods_table(breakdown: ClaimBreakdown) -> Table:
    periods = Table(
        title=f"Interest ({breakdown.interest_kind}) up to and including {breakdown.on}",
        caption=(
            "Each amount is the period's share of its year's interest rounded to cents, "
            "so the amounts add up to the total."
        ),
    )
    periods.add_column("from")
    periods.add_column("to")
    for column in ("days", "rate %", "base", "amount"):
        periods.add_column(column, justify="right")

    for period in breakdown.interest_periods:
        marker = " *" if period.rate_status == "unconfirmed" else ""
        periods.add_row(
            str(period.start), str(period.end), str(period.days), f"{period.percent}{marker}",
            f"{period.base:.2f}", f"{period.rounded_amount:.2f}",
        )
    periods.add_row("total", "", "", "", "", f"{breakdown.interest:.2f}")
    return periods


def _payments_table(breakdown: ClaimBreakdown) -> Table:
    payments = Table(title=f"Payments, applied in the order {', '.join(breakdown.allocation_order)}")
    payments.add_column("paid on")
    for column in ("amount", "to costs", "to interest", "to principal", "credit"):
        payments.add_column(column, justify="right")

    for payment in breakdown.payments:
        payments.add_row(
            str(payment.paid_on), f"{payment.amount:.2f}", f"{payment.to_costs:.2f}",
            f"{payment.to_interest:.2f}", f"{payment.to_principal:.2f}", f"{payment.unapplied:.2f}",
        )
    return payments


def _totals_table(breakdown: ClaimBreakdown) -> Table:
    totals = Table(title="Claim")
    totals.add_column("part")
    totals.add_column(breakdown.currency, justify="right")

    totals.add_row("principal", f"{breakdown.principal:.2f}")
    totals.add_row("principal outstanding", f"{breakdown.principal_outstanding:.2f}")
    totals.add_row("interest", f"{breakdown.interest:.2f}")
    totals.add_row("interest outstanding", f"{breakdown.interest_outstanding:.2f}")

    costs = breakdown.costs
    totals.add_row(f"collection costs ({costs.status})", f"{costs.costs:.2f}")
    totals.add_row("VAT on collection costs", f"{costs.vat:.2f}")
    if breakdown.debtor_kind is DebtorKind.CONSUMER:
        totals.add_row("costs if unpaid after the 14-day term", f"{costs.if_unpaid:.2f}")

    totals.add_row("total outstanding", f"{quantize(breakdown.total_outstanding):.2f}")
    if breakdown.unapplied_payments > 0:
        totals.add_row("credit (paid more than owed)", f"{breakdown.unapplied_payments:.2f}")
    return totals


def breakdown_to_json(breakdown: ClaimBreakdown) -> dict[str, Any]:
    """Return the breakdown as JSON-ready data: amounts as strings, dates in ISO 8601."""

    def convert(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, dict):
            return {key: convert(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [convert(item) for item in value]
        return value

    data = convert(dataclasses.asdict(breakdown))
    data["explanation_nl"] = breakdown.explanation_nl
    data["explanation_en"] = breakdown.explanation_en
    for period, raw in zip(data["interest_periods"], breakdown.interest_periods):
        period["amount"] = str(raw.rounded_amount)
        period["exact_amount"] = str(raw.amount)
    return data
