"""`betaalreis dispatch`: send the messages of the outbox that are due now."""

from __future__ import annotations

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from rich.console import Console
from rich.table import Table

from betaalreis.command_language import TranslatedHelpCommand, add_language_option, report_language
from betaalreis.dunning.management.commands.run import (
    DISPATCH_OUTCOMES,
    find_creditor,
    print_dispatch_notes,
    print_failures,
    print_waiting_messages,
    table_headings,
)
from betaalreis.dunning.planner import CHANNEL_NAMES
from betaalreis.dunning.run import AMSTERDAM, waiting_messages
from betaalreis.dunning.stage_names import stage_names_by_code
from betaalreis.ledger.models import Creditor
from betaalreis.outbox.dispatch import DispatchSummary, dispatch

class Command(TranslatedHelpCommand):
    help = _lazy(
        "Verstuur de berichten uit de berichtenmap die nu aan de beurt zijn, binnen de contacturen. "
        "Draai dit elke paar minuten (cron of Celery beat), zodat berichten die wachtten tot 07:00 of "
        "tot maandag dan ook vertrekken."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--creditor", help=_lazy("Korte naam (slug) van één crediteur (standaard: alle crediteuren).")
        )
        add_language_option(parser)

    def handle(self, *args: object, **options: object) -> None:
        with translation.override(report_language(options["lang"])):
            self._dispatch(options)

    def _dispatch(self, options: dict[str, object]) -> None:
        creditor = None
        if options["creditor"]:
            creditor = find_creditor(str(options["creditor"]))
        creditors = [creditor] if creditor is not None else list(Creditor.objects.order_by("slug"))

        moment = timezone.localtime(timezone.now(), AMSTERDAM)
        summary = dispatch(creditor=creditor, source=f"dispatch {moment.date().isoformat()}")

        console = Console(file=self.stdout, width=110)
        console.print("[bold]" + _("Verzending van %(moment)s") % {"moment": f"{moment:%d-%m-%Y %H:%M}"} + "[/bold]")
        print_dispatch_summary(summary, creditors, console)
        for current in creditors:
            waiting = waiting_messages(current, timezone.now())
            if waiting:
                console.print(f"{current.slug}:", markup=False)
                print_waiting_messages(waiting, console)

        silent = channels_that_sent_nothing(summary)
        if silent:
            names = ", ".join(str(CHANNEL_NAMES.get(channel, channel)) for channel in silent)
            raise CommandError(
                _(
                    "Niets verzonden via %(channels)s: elk bericht mislukte of wacht op een nieuwe poging. "
                    "Zie de regels hierboven en de configuratie van het kanaal."
                ) % {"channels": names},
                returncode=1,
            )


def channels_that_sent_nothing(summary: DispatchSummary) -> list[str]:
    """Return the channels on which messages failed or wait for a retry while none was sent, sorted."""
    tried: set[str] = set()
    sent: set[str] = set()
    for (channel, _stage, outcome), count in summary.counts.items():
        if outcome == "sent" and count:
            sent.add(channel)
        elif outcome in ("failed", "retry") and count:
            tried.add(channel)
    return sorted(tried - sent)


def print_dispatch_summary(summary: DispatchSummary, creditors: list[Creditor], console: Console) -> None:
    """Print the outcomes per channel and stage, the failures and the notes on the sent claims."""
    if not summary.counts:
        console.print(_("Geen berichten die nu verstuurd kunnen worden."))
    else:
        headings = table_headings()
        table = Table(title=_("Berichten per kanaal en fase"))
        table.add_column(headings["channel"])
        table.add_column(headings["stage"])
        for outcome in DISPATCH_OUTCOMES:
            table.add_column(headings[outcome], justify="right")

        stage_names = stage_names_by_code(creditors)
        keys = sorted({(channel, stage) for channel, stage, _outcome in summary.counts})
        for channel, stage in keys:
            table.add_row(
                str(CHANNEL_NAMES.get(channel, channel)),
                stage_names.get(stage, stage),
                *(str(summary.counts.get((channel, stage, outcome), 0)) for outcome in DISPATCH_OUTCOMES),
            )
        console.print(table)
        print_failures(summary, stage_names, console)

    print_dispatch_notes(summary, console)
