"""`betaalreis policy`: show a creditor's dunning policies or load one from a file."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _
from rich.console import Console
from rich.table import Table

from betaalreis.command_language import add_language_option, report_language
from betaalreis.dunning.models import Policy, StageAction
from betaalreis.dunning.planner import CHANNEL_NAMES
from betaalreis.dunning.policies import (
    DEFAULT_POLICY_DIR,
    fourteen_day_letter_warnings,
    load_policy,
    seed_default_policies,
)
from betaalreis.errors import InvalidInput
from betaalreis.ledger.models import Creditor, DebtorKind
from betaalreis.ledger.money import format_report_money


class Command(BaseCommand):
    help = "Show or change a creditor's dunning policies (stages, offsets, channels)."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        show = commands.add_parser("show", help="Print the creditor's policies.")
        show.add_argument("--creditor", required=True, help="Creditor slug.")
        load = commands.add_parser(
            "load",
            help=f"Replace the policy for the file's debtor kind; see the defaults in {DEFAULT_POLICY_DIR}.",
        )
        load.add_argument("file", type=Path, help="Policy file (TOML).")
        load.add_argument("--creditor", required=True, help="Creditor slug.")
        defaults = commands.add_parser("defaults", help="Give the creditor the default Dutch policies.")
        defaults.add_argument("--creditor", required=True, help="Creditor slug.")
        defaults.add_argument("--replace", action="store_true", help="Replace existing policies too.")
        for subcommand in (show, load, defaults):
            add_language_option(subcommand)

    def handle(self, *args: object, **options: object) -> None:
        with translation.override(report_language(options["lang"])):
            self._handle(options)

    def _handle(self, options: dict[str, object]) -> None:
        creditor = Creditor.objects.filter(slug=options["creditor"]).first()
        if creditor is None:
            raise CommandError(_(
                "Crediteur %(slug)r niet gevonden; voeg er een toe met `betaalreis creditor add`."
            ) % {"slug": options["creditor"]})

        try:
            if options["action"] == "load":
                policy = load_policy(creditor, options["file"])
                self.stdout.write(_("%(creditor)s: %(policy)s (%(kind)s) geladen.") % {
                    "creditor": creditor.slug, "policy": policy.name, "kind": DebtorKind(policy.debtor_kind).label,
                })
                for warning in fourteen_day_letter_warnings(policy):
                    self.stderr.write(warning)
            elif options["action"] == "defaults":
                seed_default_policies(creditor, replace=options["replace"])
        except InvalidInput as exc:
            raise CommandError(str(exc)) from exc

        self._show(creditor)

    def _show(self, creditor: Creditor) -> None:
        # Wide enough that stage names and codes are not cut off.
        console = Console(file=self.stdout, width=160)
        policies = Policy.objects.filter(creditor=creditor).prefetch_related("stages")
        if not policies:
            console.print(_(
                "%(slug)s heeft geen aanmaningsbeleid; voer `betaalreis policy defaults --creditor %(slug)s` uit."
            ) % {"slug": creditor.slug}, markup=False)
            return

        language = "en" if translation.get_language() == "en" else "nl"
        headings = (
            "#", _("fase"), _("dagen na vervaldatum"), _("kanalen"), _("minimumbedrag"), _("vordering"), _("actie"),
        )
        for policy in policies:
            kind = DebtorKind(policy.debtor_kind).label
            table = Table(title=f"{creditor.slug}: {policy.name} ({kind})")
            for heading in headings:
                table.add_column(heading)
            for stage in policy.stages.all():
                claim = ""
                if stage.is_fourteen_day_letter:
                    claim = _("veertiendagenbrief")
                elif stage.states_claim:
                    claim = _("ja")
                action = str(StageAction(stage.action).label)
                table.add_row(
                    str(stage.order),
                    f"{stage.name_for(language)} ({stage.code})",
                    str(stage.offset_days),
                    ", ".join(str(CHANNEL_NAMES.get(channel, channel)) for channel in stage.channels),
                    format_report_money(stage.min_amount, ""),
                    claim,
                    _("%(action)s (verplicht)") % {"action": action} if stage.required else action,
                )
            console.print(table)
            if policy.debtor_kind == DebtorKind.CONSUMER:
                for line in _fourteen_day_post_rule(policy, language):
                    console.print(line, markup=False)


def _fourteen_day_post_rule(policy: Policy, language: str) -> list[str]:
    """Return the lines that explain how a consumer policy's 14-day letter is sent, in the active language.

    `betaalreis.dunning.letter_channel` applies the rule to every policy,
    whatever channels its stages list.
    """
    lines = [_(
        "Let op: een veertiendagenbrief aan een consument gaat per post, welke kanalen de fase ook noemt, "
        "tenzij de debiteur akkoord gaf met elektronische communicatie. De termijn van 14 dagen begint de dag "
        "na ontvangst, en de schuldeiser moet die ontvangst kunnen bewijzen (art. 6:96 lid 6 BW). De planner "
        "past dit toe bij elk beleid."
    )]
    for stage in policy.stages.all():
        if not stage.is_fourteen_day_letter:
            continue
        values = {
            "stage": stage.name_for(language),
            "channels": ", ".join(
                str(CHANNEL_NAMES.get(channel, channel)) for channel in stage.channels if channel != "letter"
            ),
        }
        if "letter" not in stage.channels:
            lines.append(_(
                "%(stage)s noemt geen brief. Een consument zonder dat akkoord krijgt de brief toch per post; "
                "zet \"letter\" bij de kanalen van deze fase, zodat het beleid zegt wat er gebeurt."
            ) % values)
        elif values["channels"]:
            lines.append(_(
                "Voor %(stage)s kiest de planner %(channels)s alleen bij een consument met dat akkoord."
            ) % values)
    return lines
