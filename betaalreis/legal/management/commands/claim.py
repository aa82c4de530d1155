"""`betaalreis claim`: compute a claim on one or more invoices of one debtor and print its breakdown.

A consumer's costs follow the 14-day letters given with `--letter-sent`, by
the same rules as the letters that the dunning run sent (see
`betaalreis.dunning.letter_costs.stated_letter_costs`). Each letter whose
term passed sets costs over the principal it named. The consumer owes the
highest of them, never their sum (art. 6:96 lid 6 and lid 7 BW). An
invoice given with `--paid-invoice` was paid in full, so it bears no
interest in the claim. Its principal stays in the cost base of each letter
that named it and whose term passed before it was paid.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import enum
import json
from decimal import Decimal
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import pgettext_lazy
from rich.console import Console
from rich.table import Table

from betaalreis.command_language import TranslatedHelpCommand, add_language_option, report_language
from betaalreis.errors import BetaalreisError
from betaalreis.imports.values import nonexistent_iso_date_error
from betaalreis.ledger.money import format_report_money, parse_plain_decimal, quantize
from betaalreis.legal.claims import (
    ClaimBreakdown,
    ClaimItem,
    ClaimPayment,
    CostsStatus,
    DebtorKind,
    compute_claim,
)
from betaalreis.dunning.letter_costs import LetterCosts, PaidInvoice, stated_letter_costs
from betaalreis.legal.fourteen_day import fourteen_day_term
from betaalreis.legal.policy import BusinessCostMode, LegalSettings, parse_allocation_order


# The date and amount options are parsed in handle(), not by argparse, so
# that a malformed value is reported in the --lang language.
DATE_OPTIONS = ("due", "on", "term_end")
# The invoice number of a claim given with --principal and --due.
SINGLE_INVOICE = "invoice"


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        pass

    nonexistent_date_error = nonexistent_iso_date_error(value, option)
    if nonexistent_date_error is not None:
        raise CommandError(nonexistent_date_error)
    raise CommandError(
        _("Ongeldige datum %(value)r bij %(option)s: gebruik JJJJ-MM-DD, bijvoorbeeld 2026-03-01.")
        % {"value": value, "option": option}
    )


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
    day, separator, rest = value.partition("=")
    if not separator:
        raise CommandError(
            _("Ongeldige betaling %(value)r bij --paid: gebruik DATUM=BEDRAG, zoals 2026-03-01=100.00.")
            % {"value": value}
        )
    amount, _at, number = rest.partition("@")
    return ClaimPayment(
        paid_on=_date(day, "--paid"), amount=_amount(amount, "--paid"), invoice_number=number.strip() or None
    )


def _number_amount_date(value: str, option: str, error: str) -> tuple[str, Decimal, dt.date]:
    """Parse NUMBER=AMOUNT@DATE, raising CommandError with the message `error` when the form is wrong."""
    number, separator, rest = value.partition("=")
    amount, at, day = rest.partition("@")
    if not separator or not at or not number.strip():
        raise CommandError(error % {"value": value})
    return number.strip(), _amount(amount, option), _date(day, option)


def _invoice(value: str) -> ClaimItem:
    return ClaimItem(*_number_amount_date(value, "--invoice", _(
        "Ongeldige factuur %(value)r bij --invoice: gebruik NUMMER=BEDRAG@VERVALDATUM, zoals F1=300.00@2026-09-01."
    )))


def _paid_invoice(value: str) -> PaidInvoice:
    return PaidInvoice(*_number_amount_date(value, "--paid-invoice", _(
        "Ongeldige factuur %(value)r bij --paid-invoice: gebruik NUMMER=BEDRAG@BETAALDATUM, "
        "zoals F2=200.00@2026-11-03."
    )))


def _letter(value: str) -> tuple[dt.date, tuple[str, ...] | None]:
    """Parse DATE or DATE=NUMBER,NUMBER into the day a letter was sent and the invoices it named (None for all)."""
    day, separator, numbers = value.partition("=")
    named = tuple(number.strip() for number in numbers.split(",") if number.strip())
    if separator and not named:
        raise CommandError(
            _("Ongeldige brief %(value)r bij --letter-sent: gebruik DATUM of DATUM=NUMMER,NUMMER, "
              "zoals 2026-10-01=F1,F2.") % {"value": value}
        )
    return _date(day, "--letter-sent"), named or None


def parse_values(options: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of the options with the date, amount, invoice, letter and payment texts parsed."""
    parsed = dict(options)
    if options["principal"] is not None:
        parsed["principal"] = _amount(options["principal"], "--principal")
    for name in DATE_OPTIONS:
        if options[name] is not None:
            parsed[name] = _date(options[name], "--" + name.replace("_", "-"))
    parsed["invoice"] = [_invoice(value) for value in options["invoice"]]
    parsed["letter_sent"] = [_letter(value) for value in options["letter_sent"]]
    parsed["paid"] = [_payment(value) for value in options["paid"]]
    parsed["paid_invoice"] = [_paid_invoice(value) for value in options["paid_invoice"]]
    return parsed


class Command(TranslatedHelpCommand):
    help = _lazy(
        "Bereken de hoofdsom, de wettelijke rente per periode, de incassokosten en het totaal "
        "van een vordering op één of meer facturen, zoals het Nederlandse recht ze vaststelt."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        date = _lazy("JJJJ-MM-DD")
        parser.add_argument(
            "--principal", default=None, metavar=_lazy("BEDRAG"),
            help=_lazy(
                "Factuurbedrag in euro, met een punt voor de centen, bijvoorbeeld 1234.56, voor een "
                "vordering op één factuur. Gebruik het met --due."
            ),
        )
        parser.add_argument(
            "--due", default=None, metavar=date,
            help=_lazy("Vervaldatum van de factuur (JJJJ-MM-DD). Gebruik het met --principal."),
        )
        parser.add_argument(
            "--invoice", action="append", default=[], metavar=_lazy("NUMMER=BEDRAG@VERVALDATUM"),
            help=_lazy(
                "Een factuur van de vordering, bijvoorbeeld F1=300.00@2026-09-01 (bedrag in euro, "
                "vervaldatum JJJJ-MM-DD). Herhaal de optie voor meer facturen; gebruik haar in plaats "
                "van --principal en --due."
            ),
        )
        parser.add_argument(
            "--on", default=None, metavar=date,
            help=_lazy(
                "Dag van de vordering (JJJJ-MM-DD). De rente telt tot en met die dag. "
                "Standaard: vandaag in Amsterdam."
            ),
        )

        parser.add_argument(
            "--business", action="store_true",
            help=_lazy(
                "De debiteur is een bedrijf: handelsrente, en incassokosten zonder veertiendagenbrief."
            ),
        )
        parser.add_argument(
            "--vat-deductible", action=argparse.BooleanOptionalAction, default=True,
            help=_lazy(
                "Of de crediteur de btw kan aftrekken die een incassodienst van buiten haar in rekening "
                "bracht. Gebruik --no-vat-deductible alleen als zo'n dienst btw rekende, de crediteur die "
                "niet kan aftrekken en beide aan de debiteur meldt (BIK art. 2 lid 3). De btw komt dan "
                "bij de incassokosten. Standaard: aftrekbaar."
            ),
        )
        parser.add_argument(
            "--business-costs", choices=[mode.value for mode in BusinessCostMode],
            default=BusinessCostMode.SCALE.value,
            help=_lazy(
                "Incassokosten van een bedrijf: de wettelijke staffel (scale) of vast EUR 40 (fixed40). "
                "Standaard: scale."
            ),
        )
        parser.add_argument(
            "--allocation-order", default="costs,interest,principal",
            help=_lazy(
                "Volgorde waarin betalingen worden toegerekend. "
                "Standaard: costs,interest,principal (art. 6:44 BW)."
            ),
        )

        parser.add_argument(
            "--paid", action="append", default=[], metavar=_lazy("DATUM=BEDRAG[@NUMMER]"),
            help=_lazy(
                "Een ontvangen betaling, met de datum als JJJJ-MM-DD, bijvoorbeeld 2026-03-01=100.00, "
                "of 2026-03-01=100.00@F1 als de schuldenaar factuur F1 noemde. Herhaal de optie voor "
                "meer betalingen."
            ),
        )

        parser.add_argument(
            "--term-end", default=None, metavar=date,
            help=_lazy(
                "Consument: laatste dag van de termijn van de veertiendagenbrief, na verlenging "
                "door de Algemene termijnenwet (JJJJ-MM-DD)."
            ),
        )
        parser.add_argument(
            "--letter-sent", action="append", default=[], metavar=_lazy("DATUM[=NUMMER,...]"),
            help=_lazy(
                "Consument: dag waarop een veertiendagenbrief is verstuurd (JJJJ-MM-DD), met de "
                "facturen die hij noemde als dat niet alle zijn, bijvoorbeeld 2026-10-01=F1,F2. Het "
                "einde van de termijn volgt daaruit en uit --letter-channel. Herhaal de optie voor "
                "meer brieven."
            ),
        )
        parser.add_argument(
            "--paid-invoice", action="append", default=[], metavar=_lazy("NUMMER=BEDRAG@BETAALDATUM"),
            help=_lazy(
                "Consument: een factuur die een veertiendagenbrief noemde en die na de termijn van die "
                "brief helemaal is betaald, bijvoorbeeld F2=200.00@2026-11-03 (hoofdsom in euro, "
                "betaaldatum JJJJ-MM-DD). De incassokosten over de hoofdsom van die factuur blijven verschuldigd en "
                "komen in de vordering. Herhaal de optie voor meer facturen; gebruik haar met --letter-sent."
            ),
        )
        parser.add_argument(
            "--letter-channel", choices=["letter", "email"], default="letter",
            help=_lazy(
                "Kanaal van de veertiendagenbrief, dat de vermoedelijke dag van ontvangst bepaalt. "
                "Standaard: letter."
            ),
        )

        parser.add_argument(
            "--format", choices=["table", "json"], default="table",
            help=_lazy("Uitvoer: een leesbare tabel (table) of JSON (json). Standaard: table."),
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
        items = self._items(options)
        self._check_dates(options, items, on)

        letters = LetterCosts()
        if options["term_end"] is not None:
            letters = LetterCosts(term_end=options["term_end"])
        elif options["letter_sent"]:
            letters = self._letter_costs(options, items, settings)

        return compute_claim(
            debtor_kind="business" if options["business"] else "consumer",
            items=items,
            on=on,
            payments=options["paid"],
            fourteen_day_term_end=letters.term_end,
            settings=settings,
            letter_terms=letters.letter_terms,
            costs_paid_before=letters.costs_paid_before,
        )

    def _items(self, options: dict[str, Any]) -> list[ClaimItem]:
        """Return the invoices of --invoice, or the one invoice of --principal and --due."""
        single = [name for name in ("principal", "due") if options[name] is not None]
        if options["invoice"] and single:
            raise CommandError(_("Geef --invoice of --principal met --due, niet allebei."))
        if options["invoice"]:
            return options["invoice"]
        if len(single) < 2:
            raise CommandError(_(
                "Geef de factuur met --principal en --due, of geef een of meer facturen met --invoice."
            ))
        return [ClaimItem(SINGLE_INVOICE, options["principal"], options["due"])]

    def _letter_costs(self, options: dict[str, Any], items: list[ClaimItem], settings: LegalSettings) -> LetterCosts:
        """Return the letter input of the claim from the letters of --letter-sent."""
        open_numbers = [item.invoice_number for item in items]
        numbers = open_numbers + [invoice.number for invoice in options["paid_invoice"]]
        letters: list[tuple[dt.date, tuple[str, ...]]] = []
        for sent_on, named in options["letter_sent"]:
            unknown = sorted(set(named or ()) - set(numbers))
            if unknown:
                raise CommandError(_(
                    "Onbekende factuur %(numbers)s bij --letter-sent %(sent)s: noem alleen facturen "
                    "die u met --invoice geeft (%(known)s)."
                ) % {"numbers": ", ".join(unknown), "sent": sent_on.isoformat(), "known": ", ".join(numbers)})

            term = fourteen_day_term(sent_on, options["letter_channel"], settings)
            if not term.declared_days_on_file:
                self.stderr.write(_(
                    "Let op: de termijn van 14 dagen eindigt op %(end)s, na het laatste jaar met "
                    "aangewezen Atw-feestdagen in betaalreis/legal/data/atw_holidays.toml. Zoek de "
                    "aangewezen dagen op in de Staatscourant en voeg ze aan dat bestand toe."
                ) % {"end": term.term_end.isoformat()})
            letters.append((term.term_end, named or tuple(numbers)))
        return stated_letter_costs(letters, open_numbers, settings, options["paid_invoice"])

    def _check_dates(self, options: dict[str, Any], items: list[ClaimItem], on: dt.date) -> None:
        """Reject options that contradict each other before computing anything."""
        letter_options = [name for name in ("term_end", "letter_sent") if options[name]]
        if options["business"] and letter_options:
            given = ", ".join(f"--{name.replace('_', '-')}" for name in letter_options)
            raise CommandError(_(
                "%(options)s geldt alleen voor consumenten: een bedrijf is incassokosten verschuldigd "
                "zonder veertiendagenbrief. Laat --business of de briefoptie weg."
            ) % {"options": given})
        if len(letter_options) == 2:
            raise CommandError(_("Geef --term-end of --letter-sent, niet allebei."))
        self._check_paid_invoices(options, items, on)
        self._check_payment_invoices(options, items)

        option = "--due" if items[0].invoice_number == SINGLE_INVOICE else "--invoice"
        for item in items:
            if item.due_date > on:
                raise CommandError(_(
                    "Ongeldige %(option)s %(due)s: die ligt na de datum van de vordering %(on)s, dus er is nog "
                    "niets te laat. Geef een latere --on of controleer de vervaldatum."
                ) % {"option": option, "due": item.due_date.isoformat(), "on": on.isoformat()})
        for sent_on, _named in options["letter_sent"]:
            if sent_on > on:
                raise CommandError(_(
                    "Ongeldige --letter-sent %(sent)s: die ligt na de datum van de vordering %(on)s. "
                    "Geef een latere --on of laat de brief weg."
                ) % {"sent": sent_on.isoformat(), "on": on.isoformat()})

    def _check_payment_invoices(self, options: dict[str, Any], items: list[ClaimItem]) -> None:
        """Reject a --paid payment that names an invoice the claim does not contain."""
        numbers = {item.invoice_number for item in items}
        for payment in options["paid"]:
            if payment.invoice_number is None or payment.invoice_number in numbers:
                continue
            values = {"paid": payment.paid_on.isoformat(), "number": payment.invoice_number}
            if items[0].invoice_number == SINGLE_INVOICE:
                raise CommandError(_(
                    "Ongeldige --paid %(paid)s: de betaling noemt factuur %(number)s, maar --principal en "
                    "--due maken één factuur zonder nummer. Laat @%(number)s weg, of geef de facturen met "
                    "--invoice, zoals --invoice %(number)s=BEDRAG@VERVALDATUM."
                ) % values)
            raise CommandError(_(
                "Ongeldige --paid %(paid)s: de betaling noemt factuur %(number)s, die niet in de vordering "
                "staat. Geef die factuur met --invoice, of verbeter het nummer na @ (%(known)s)."
            ) % {**values, "known": ", ".join(sorted(numbers))})

    def _check_paid_invoices(self, options: dict[str, Any], items: list[ClaimItem], on: dt.date) -> None:
        """Reject --paid-invoice without --letter-sent, with a number given twice, or paid after the claim date."""
        paid = options["paid_invoice"]
        if paid and not options["letter_sent"]:
            raise CommandError(_(
                "--paid-invoice vraagt om --letter-sent: alleen een veertiendagenbrief waarvan de termijn "
                "verstreek voordat de factuur werd betaald, maakt incassokosten over die factuur verschuldigd."
            ))
        seen = {item.invoice_number for item in items}
        for invoice in paid:
            if invoice.number in seen:
                raise CommandError(_(
                    "Factuur %(number)s staat meer dan eens in --invoice of --paid-invoice: geef elke factuur één keer."
                ) % {"number": invoice.number})
            seen.add(invoice.number)
            if invoice.paid_on > on:
                raise CommandError(_(
                    "Ongeldige --paid-invoice %(number)s: betaald op %(paid)s, na de datum van de vordering %(on)s. "
                    "Geef een latere --on of laat de factuur weg."
                ) % {"number": invoice.number, "paid": invoice.paid_on.isoformat(), "on": on.isoformat()})

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
    CostsStatus.NONE: _lazy("niet verschuldigd"),
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
