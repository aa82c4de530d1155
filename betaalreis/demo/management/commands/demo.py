"""`betaalreis demo`: build the demo ledger and simulate days of daily runs."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from rich.console import Console
from rich.table import Table

from betaalreis.command_language import TranslatedHelpCommand, add_language_option, report_language
from betaalreis.demo.generator import DEMO_SLUGS, DemoConfig, build_ledger, reset_demo_data
from betaalreis.demo.simulation import (
    DayReport,
    Simulation,
    SimulationResult,
    invoice_status_counts,
    outbox_status_counts,
    payment_status_counts,
)
from betaalreis.dunning.stage_names import stage_names_by_code
from betaalreis.errors import BetaalreisError
from betaalreis.ledger.models import Channel, Debtor, InvoiceKind, InvoiceStatus, PaymentStatus
from betaalreis.ledger.money import format_money
from betaalreis.outbox.models import CommunicationStatus

CHANNEL_COLUMNS = (Channel.EMAIL, Channel.SMS, Channel.LETTER, Channel.PHONE)


def _start_date(value: str) -> dt.date:
    """Parse --start inside handle, so that its error is in the report language."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            _("Ongeldige --start %(value)r: gebruik JJJJ-MM-DD, bijvoorbeeld 2026-01-05.") % {"value": value}
        ) from None


class Command(TranslatedHelpCommand):
    @property
    def help(self) -> str:  # type: ignore[override]
        # A property, so that the text is translated when the parser is built, not at import.
        return _(
            "Bouw een demogrootboek (twee crediteuren, Nederlandse consumenten en bedrijven, facturen, "
            "betaalgeschiedenis) en simuleer dagelijkse runs waarin bankbetalingen een deel van de "
            "facturen voldoen. Verwijdert eerst de democrediteuren (%(slugs)s) met hun gegevens, "
            "rekeningafschriften en bestanden in de berichtenmap, zodat het opnieuw kan draaien. "
            "Andere crediteuren blijven altijd onaangeroerd."
        ) % {"slugs": ", ".join(DEMO_SLUGS)}

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seed", type=int, default=7,
            help=_lazy("Startwaarde van de toevalsgenerator (standaard 7). Dezelfde waarde bouwt hetzelfde grootboek."),
        )
        parser.add_argument(
            "--days", type=int, default=60, help=_lazy("Aantal dagen om te simuleren (standaard 60).")
        )
        parser.add_argument(
            "--debtors", type=int, default=2000,
            help=_lazy("Aantal debiteuren over beide crediteuren samen (standaard 2000)."),
        )
        parser.add_argument(
            "--invoices", type=int, default=10000,
            help=_lazy("Aantal facturen over beide crediteuren samen (standaard 10000)."),
        )
        parser.add_argument(
            "--start",
            default=None,
            metavar=_lazy("JJJJ-MM-DD"),
            help=_lazy(
                "Eerste gesimuleerde dag, JJJJ-MM-DD (standaard: de dag waarop de laatste gesimuleerde "
                "dag vandaag is)."
            ),
        )
        add_language_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override(report_language(options["lang"])):
            self._run_demo(options)

    def _run_demo(self, options: dict[str, Any]) -> None:
        console = Console(highlight=False, soft_wrap=True, file=self.stdout)
        days = options["days"]
        if options["start"]:
            start = _start_date(options["start"])
        else:
            start = dt.date.today() - dt.timedelta(days=max(days, 1) - 1)
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
            console.print(_("De vorige demogegevens zijn verwijderd (%(count)d crediteuren).") % {"count": deleted})

        ledger = build_ledger(config)
        console.print(_(
            "Demogrootboek gebouwd in %(seconds).1f s: %(creditors)d crediteuren, %(debtors)d debiteuren, "
            "%(invoices)d facturen uitgegeven tot en met %(start)s (%(paid)d daarvoor betaald), "
            "nog %(future)d uitgegeven tijdens de simulatie."
        ) % {
            "seconds": time.monotonic() - began,
            "creditors": len(ledger.creditors),
            "debtors": ledger.debtor_count,
            "invoices": ledger.invoice_count,
            "start": config.start,
            "paid": ledger.historic_payment_count,
            "future": len(ledger.future_invoices),
        })
        console.print(_("Simulatie van %(days)d dagen, %(start)s tot en met %(end)s.") % {
            "days": config.days, "start": config.start, "end": config.end,
        } + "\n")

        # The stages are named as `betaalreis run` names them, in the report language.
        stage_names = stage_names_by_code(ledger.creditors)
        simulation = Simulation(ledger, config)
        _print_day_header(console)
        result = simulation.run(on_day=lambda report: _print_day(console, report, stage_names))

        _print_summary(console, ledger, result, stage_names, time.monotonic() - began)


def _print_day_header(console: Console) -> None:
    day, new, email, sms = _("dag"), _("nieuw"), _("e-mail"), _("sms")
    letter, phone, payments, stages = _("brief"), _("bellen"), _("betalingen binnen"), _("verzonden fasen")
    console.print(
        f"[bold]{day:<10}  {new:>5}  {email:>6} {sms:>5} {letter:>6} {phone:>6}  {payments:>24}  {stages}[/bold]"
    )


def _print_day(console: Console, report: DayReport, stage_names: dict[str, str]) -> None:
    per_channel: Counter[str] = Counter()
    per_stage: Counter[str] = Counter()
    for (channel, stage), count in report.sent.items():
        per_channel[channel] += count
        per_stage[stage] += count
    stages = ", ".join(
        f"{stage_names.get(stage, stage)} {count}" for stage, count in _by_stage_order(per_stage, stage_names)
    ) or "-"
    payments = f"{report.payments} {format_money(report.payments_amount)}"
    console.print(
        f"{report.day.isoformat():<10}  {report.new_invoices:>5}  "
        f"{per_channel[Channel.EMAIL]:>6} {per_channel[Channel.SMS]:>5} "
        f"{per_channel[Channel.LETTER]:>6} {per_channel[Channel.PHONE]:>6}  "
        f"{payments:>24}  {stages}"
    )


def _by_stage_order(counts: Counter[str], stage_names: dict[str, str]) -> list[tuple[str, int]]:
    """Return the (stage code, count) pairs in the order of the policies' stages, unknown codes last."""
    order = {code: position for position, code in enumerate(stage_names)}
    return sorted(counts.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))


def _print_summary(
    console: Console, ledger: Any, result: SimulationResult, stage_names: dict[str, str], seconds: float
) -> None:
    totals: Counter[tuple[str, str]] = Counter()
    for report in result.days:
        totals.update(report.planned)

    stage_table = Table(title=_("Berichten per fase en kanaal"), title_justify="left")
    stage_table.add_column(_("fase"))
    for channel in CHANNEL_COLUMNS:
        stage_table.add_column(channel.label.lower(), justify="right")
    per_stage: Counter[str] = Counter()
    for (_channel, stage), count in totals.items():
        per_stage[stage] += count
    for stage, _count in _by_stage_order(per_stage, stage_names):
        stage_table.add_row(
            stage_names.get(stage, stage), *(str(totals[(channel, stage)]) for channel in CHANNEL_COLUMNS)
        )
    console.print()
    console.print(stage_table)
    statuses = outbox_status_counts(ledger)
    status_counts = ", ".join(
        f"{_label(CommunicationStatus, status)} {count}" for status, count in sorted(statuses.items())
    )
    console.print(_("Status van de berichten: %(statuses)s") % {"statuses": status_counts or _("leeg")})
    if statuses.get(CommunicationStatus.PENDING):
        console.print(_(
            "Wachtende berichten blijven staan tot de tijd in hun veld not_before, bijvoorbeeld het "
            "begin van de contacturen. De volgende `betaalreis run` verstuurt ze."
        ))

    payments = sum(report.payments for report in result.days)
    amount = sum((report.payments_amount for report in result.days), Decimal("0.00"))
    by_status = payment_status_counts(ledger, result.days[0].day) if result.days else {}
    statuses_text = ", ".join(
        f"{_label(PaymentStatus, status)} {count}" for status, count in sorted(by_status.items())
    )
    console.print(_("Betalingen binnen: %(count)d (%(amount)s), nu %(statuses)s. Bankinvoer: %(bank)s.") % {
        "count": payments,
        "amount": format_money(amount),
        "statuses": statuses_text or _("geen"),
        "bank": result.bank_import,
    })

    status_table = Table(title=_("Facturen aan het eind"), title_justify="left")
    status_table.add_column(_("status"))
    status_table.add_column(_("facturen"), justify="right")
    status_table.add_column(_("openstaand bedrag"), justify="right")
    for status, (count, open_total) in sorted(invoice_status_counts(ledger).items()):
        status_table.add_row(_label(InvoiceStatus, status), str(count), format_money(open_total))
    console.print(status_table)

    home = settings.BETAALREIS_HOME
    channel, creditor = _("kanaal"), _("crediteur")
    console.print("\n" + _("Klaar in %(seconds).1f s.") % {"seconds": seconds})
    console.print(_where(_("Berichtenmap:"), f"{settings.OUTBOX_DIR}/<{channel}>/"))
    console.print(_where(_("Rekeningafschriften:"), f"{home}/bank/<{creditor}>/camt053-*.xml"))
    console.print(_where(
        _("Backoffice:"),
        f"{settings.BETAALREIS_BASE_URL}/admin/ " + _("(eerst `betaalreis createsuperuser`, dan `betaalreis runserver`)"),
    ))
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

        console.print(_where(_("Klantportaal:"), portal_url(sample)))
        console.print(_where("", _(
            "(%(customer)s %(name)s; terwijl `betaalreis runserver` draait. Elk verstuurd bericht "
            "bevat zo'n link.)"
        ) % {"customer": sample.customer_number, "name": sample.name}))


# Width of the labels before the paths and links that end the demo output.
_LABEL_WIDTH = 22


def _where(label: str, location: str) -> str:
    """Return `label` padded to a fixed width, followed by the path or link it names."""
    return f"{label:<{_LABEL_WIDTH}}{location}"


def _label(choices: Any, value: str) -> str:
    """Return the label of status `value` of a TextChoices class in the active language, in lower case."""
    return str(choices(value).label).lower()
