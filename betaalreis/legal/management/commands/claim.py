"""`betaalreis claim`: compute a claim on one invoice and print its breakdown."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import enum
import json
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import pgettext_lazy
from rich.console import Console
from rich.table import Table

from betaalreis.command_language import add_language_option, report_language
from betaalreis.errors import BetaalreisError
from betaalreis.ledger.money import format_report_money, parse_plain_decimal, quantize
from betaalreis.legal.claims import (
    ClaimBreakdown,
    ClaimItem,
    ClaimPayment,
    CostsStatus,
    DebtorKind,
    compute_claim,
)
from betaalreis.legal.fourteen_day import fourteen_day_term
from betaalreis.legal.policy import BusinessCostMode, LegalSettings, parse_allocation_order


# The date and amount options are parsed in handle(), not by argparse, so
# that a malformed value is reported in the --lang language.
DATE_OPTIONS = ("due", "on", "term_end", "letter_sent")


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            _("Ongeldige datum %(value)r bij %(option)s: gebruik JJJJ-MM-DD, bijvoorbeeld 2026-03-01.")
            % {"value": value, "option": option}
        ) from None


def _amount(value: str, option: str) -> Decimal:
    try:
        amount = parse_plain_decimal(value)
    except ValueError:
        raise CommandError(
            _("Ongeldig bedrag %(value)r bij %(option)s: gebruik cijfers en een punt, zoals 1234.56.")
            % {"value": value, "option": option}
        ) from None
    if amount <= 0:
        raise CommandError(
            _("Ongeldig bedrag %(value)r bij %(option)s: geef een positief getal.") % {"value": value, "option": option}
        )
    return amount


def _payment(value: str) -> ClaimPayment:
    day, separator, amount = value.partition("=")
    if not separator:
        raise CommandError(
            _("Ongeldige betaling %(value)r bij --paid: gebruik DATUM=BEDRAG, zoals 2026-03-01=100.00.")
            % {"value": value}
        )
    return ClaimPayment(paid_on=_date(day, "--paid"), amount=_amount(amount, "--paid"))


def parse_values(options: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of the options with the date, amount and payment texts parsed."""
    parsed = dict(options)
    parsed["principal"] = _amount(options["principal"], "--principal")
    for name in DATE_OPTIONS:
        if options[name] is not None:
            parsed[name] = _date(options[name], "--" + name.replace("_", "-"))
    parsed["paid"] = [_payment(value) for value in options["paid"]]
    return parsed


class Command(BaseCommand):
    help = (
        "Compute principal, statutory interest per period, collection costs and the total "
        "of a claim on one invoice, as Dutch law sets them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--principal", required=True,
            help="Invoice amount in euros, e.g. 1234.56.",
        )
        parser.add_argument(
            "--due", required=True, help="Due date of the invoice (YYYY-MM-DD).",
        )
        parser.add_argument(
            "--on", default=None,
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
            "--paid", action="append", default=[], metavar="DATE=AMOUNT",
            help="A payment received, e.g. 2026-03-01=100.00. Repeat the option for more payments.",
        )

        parser.add_argument(
            "--term-end", default=None,
            help="Consumer: last day of the 14-day letter's term, after the Atw extension.",
        )
        parser.add_argument(
            "--letter-sent", default=None,
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
        add_language_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override(report_language(options["lang"])):
            self._handle(options)

    def _handle(self, options: dict[str, Any]) -> None:
        options = parse_values(options)
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
                self.stderr.write(_(
                    "Let op: de termijn van 14 dagen eindigt op %(end)s, na het laatste jaar met "
                    "aangewezen Atw-feestdagen in betaalreis/legal/data/atw_holidays.toml. Zoek de "
                    "aangewezen dagen op in de Staatscourant en voeg ze aan dat bestand toe."
                ) % {"end": term_end.isoformat()})

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
            given = ", ".join(f"--{name.replace('_', '-')}" for name in letter_options)
            raise CommandError(_(
                "%(options)s geldt alleen voor consumenten: een bedrijf is incassokosten verschuldigd "
                "zonder veertiendagenbrief. Laat --business of de briefoptie weg."
            ) % {"options": given})
        if len(letter_options) == 2:
            raise CommandError(_("Geef --term-end of --letter-sent, niet allebei."))

        if options["due"] > on:
            raise CommandError(_(
                "Ongeldige --due %(due)s: die ligt na de datum van de vordering %(on)s, dus er is nog "
                "niets te laat. Geef een latere --on of controleer de vervaldatum."
            ) % {"due": options["due"].isoformat(), "on": on.isoformat()})
        if options["letter_sent"] is not None and options["letter_sent"] > on:
            raise CommandError(_(
                "Ongeldige --letter-sent %(sent)s: die ligt na de datum van de vordering %(on)s. "
                "Geef een latere --on of laat de brief weg."
            ) % {"sent": options["letter_sent"].isoformat(), "on": on.isoformat()})

    def _print_table(self, breakdown: ClaimBreakdown) -> None:
        console = Console(file=self.stdout, highlight=False)

        console.print(_periods_table(breakdown))
        if breakdown.payments:
            console.print(_payments_table(breakdown))
        console.print(_totals_table(breakdown))

        if breakdown.uses_unconfirmed_rates:
            console.print(_(
                "* Tarief niet bevestigd door een officiële bron. Zie betaalreis/legal/data/statutory_rates.toml."
            ))
        console.print(breakdown.explanation("en" if translation.get_language() == "en" else "nl"))


def _number(amount: Decimal) -> str:
    """Return an amount as a number in the report language: 1.234,56 in Dutch, 1,234.56 in English."""
    return format_report_money(amount, "")


def _percent(percent: Decimal) -> str:
    return f"{percent:.2f}" if translation.get_language() == "en" else f"{percent:.2f}".replace(".", ",")


# Names in the report language. The tables write dates in ISO 8601
# (2026-10-01), which no reader takes for 10 January.
PERIOD_TITLES = {
    "statutory": _lazy("Wettelijke rente tot en met %(on)s"),
    "commercial": _lazy("Wettelijke handelsrente tot en met %(on)s"),
}
COSTS_STATUSES = {
    CostsStatus.DUE: _lazy("verschuldigd"),
    CostsStatus.TERM_RUNNING: _lazy("termijn loopt"),
    CostsStatus.NO_LETTER: _lazy("geen veertiendagenbrief"),
}
PARTS = {
    "costs": pgettext_lazy("allocation order", "kosten"),
    "interest": pgettext_lazy("allocation order", "rente"),
    "principal": pgettext_lazy("allocation order", "hoofdsom"),
}


def _periods_table(breakdown: ClaimBreakdown) -> Table:
    periods = Table(
        title=str(PERIOD_TITLES[str(breakdown.interest_kind)]) % {"on": breakdown.on.isoformat()},
        caption=_(
            "Elk bedrag is het deel van de periode in de rente van haar jaar, afgerond op centen, "
            "zodat de bedragen optellen tot het totaal."
        ),
    )
    periods.add_column(_("van"))
    periods.add_column(_("tot en met"))
    for column in (_("dagen"), _("rente %"), _("grondslag"), _("bedrag")):
        periods.add_column(column, justify="right")

    for period in breakdown.interest_periods:
        marker = " *" if period.rate_status == "unconfirmed" else ""
        periods.add_row(
            period.start.isoformat(), period.end.isoformat(), str(period.days), f"{_percent(period.percent)}{marker}",
            _number(period.base), _number(period.rounded_amount),
        )
    periods.add_row(_("totaal"), "", "", "", "", _number(breakdown.interest))
    return periods


def _payments_table(breakdown: ClaimBreakdown) -> Table:
    order = ", ".join(str(PARTS.get(str(part), str(part))) for part in breakdown.allocation_order)
    payments = Table(title=_("Betalingen, toegerekend in de volgorde %(order)s") % {"order": order})
    payments.add_column(_("datum betaling"))
    for column in (_("bedrag"), _("naar kosten"), _("naar rente"), _("naar hoofdsom"), _("tegoed")):
        payments.add_column(column, justify="right")

    for payment in breakdown.payments:
        payments.add_row(
            payment.paid_on.isoformat(), _number(payment.amount), _number(payment.to_costs),
            _number(payment.to_interest), _number(payment.to_principal), _number(payment.unapplied),
        )
    return payments


def _totals_table(breakdown: ClaimBreakdown) -> Table:
    totals = Table(title=_("Vordering"))
    totals.add_column(_("onderdeel"))
    totals.add_column(breakdown.currency, justify="right")

    totals.add_row(_("hoofdsom"), _number(breakdown.principal))
    totals.add_row(_("openstaande hoofdsom"), _number(breakdown.principal_outstanding))
    totals.add_row(_("rente"), _number(breakdown.interest))
    totals.add_row(_("openstaande rente"), _number(breakdown.interest_outstanding))

    costs = breakdown.costs
    status = COSTS_STATUSES.get(costs.status, str(costs.status))
    totals.add_row(_("incassokosten (%(status)s)") % {"status": status}, _number(costs.costs))
    totals.add_row(_("btw over incassokosten"), _number(costs.vat))
    if breakdown.debtor_kind is DebtorKind.CONSUMER:
        totals.add_row(_("kosten als na de termijn van 14 dagen niet is betaald"), _number(costs.if_unpaid))

    totals.add_row(_("totaal openstaand"), _number(quantize(breakdown.total_outstanding)))
    if breakdown.unapplied_payments > 0:
        totals.add_row(_("tegoed (meer betaald dan verschuldigd)"), _number(breakdown.unapplied_payments))
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
