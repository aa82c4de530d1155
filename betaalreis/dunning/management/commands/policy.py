"""`betaalreis policy`: show a creditor's dunning policies or load one from a file."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table

from betaalreis.dunning.models import Policy
from betaalreis.dunning.policies import DEFAULT_POLICY_DIR, load_policy, seed_default_policies
from betaalreis.errors import InvalidInput
from betaalreis.ledger.models import Creditor


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

    def handle(self, *args: object, **options: object) -> None:
        creditor = Creditor.objects.filter(slug=options["creditor"]).first()
        if creditor is None:
            raise CommandError(
                f"Creditor {options['creditor']!r} not found; add one with `betaalreis creditor add`."
            )

        try:
            if options["action"] == "load":
                policy = load_policy(creditor, options["file"])
                self.stdout.write(f"{creditor.slug}: loaded {policy.name} ({policy.debtor_kind}).")
            elif options["action"] == "defaults":
                seed_default_policies(creditor, replace=options["replace"])
        except InvalidInput as exc:
            raise CommandError(str(exc)) from exc

        self._show(creditor)

    def _show(self, creditor: Creditor) -> None:
        console = Console(file=self.stdout, width=120)
        policies = Policy.objects.filter(creditor=creditor).prefetch_related("stages")
        if not policies:
            console.print(f"{creditor.slug} has no dunning policy; run `betaalreis policy defaults --creditor {creditor.slug}`.")
            return
        for policy in policies:
            table = Table(title=f"{creditor.slug}: {policy.name} ({policy.debtor_kind})")
            for column in ("#", "stage", "days after due date", "channels", "min. amount", "claim", "action"):
                table.add_column(column)
            for stage in policy.stages.all():
                claim = ""
                if stage.is_fourteen_day_letter:
                    claim = "14-day letter"
                elif stage.states_claim:
                    claim = "yes"
                table.add_row(
                    str(stage.order),
                    f"{stage.code} ({stage.name_nl})",
                    str(stage.offset_days),
                    ", ".join(stage.channels),
                    str(stage.min_amount),
                    claim,
                    f"{stage.action} (required)" if stage.required else stage.action,
                )
            console.print(table)
