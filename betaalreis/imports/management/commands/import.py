"""`betaalreis import FILE... [--creditor SLUG] [--mapping FILE] [--dry-run] [--open-items] [--lang nl|en]`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rich.console import Console
from rich.table import Table

from betaalreis.command_language import add_language_option, report_language
from betaalreis.errors import BetaalreisError, InvalidInput
from betaalreis.imports.registry import (
    MAX_LISTED_ERRORS,
    ImportRejected,
    ImportReport,
    find_importer,
    more_problems_line,
)
from betaalreis.imports.report_labels import amount_text, row_label
from betaalreis.imports.tables import load_mapping
from betaalreis.imports.tabular import TabularInvoiceImporter
from betaalreis.ledger.models import Creditor

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Import invoice files (CSV/XLSX exports, UBL invoices and credit notes) and bank "
        "statements. The format is detected per file; each file is imported whole or not at all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
        parser.add_argument(
            "--creditor", metavar="SLUG",
            help=(
                "Creditor whose ledger receives the files. May be left out when there is only "
                "one creditor, and for bank statements, whose account names the creditor."
            ),
        )
        parser.add_argument(
            "--mapping", type=Path, metavar="FILE",
            help="TOML file that names the columns of a CSV/XLSX layout Betaalreis does not know.",
        )
        parser.add_argument(
            "--dry-run", action="store_true",
            help="Check the files and print the report without saving anything.",
        )
        parser.add_argument(
            "--open-items", action="store_true",
            help=(
                "The one CSV/XLSX file lists all open items of the creditor: open and disputed "
                "invoices that it leaves out are marked paid outside Betaalreis. Try it with "
                "--dry-run first."
            ),
        )
        add_language_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override(report_language(options["lang"])):
            self._import_files(options)

    def _import_files(self, options: dict[str, Any]) -> None:
        console = Console(file=self.stdout._out, width=120, highlight=False)
        creditor = _named_creditor(options["creditor"]) if options["creditor"] else None
        mapping = None
        if options["mapping"] is not None:
            try:
                mapping = load_mapping(options["mapping"])
            except InvalidInput as exc:
                raise CommandError(str(exc)) from exc

        if options["open_items"] and len(options["files"]) != 1:
            raise CommandError(_(
                "--open-items neemt precies één bestand, omdat elk bestand de facturen van de "
                "andere als betaald zou markeren; voeg de openstaande posten samen in één bestand."
            ))

        rejected = 0
        for path in options["files"]:
            try:
                report = _import_one(
                    path, creditor, mapping=mapping, dry_run=options["dry_run"],
                    open_items=options["open_items"],
                )
            except ImportRejected as exc:
                rejected += 1
                _print_rejection(console, exc)
                continue
            except BetaalreisError as exc:
                rejected += 1
                console.print(str(exc), style="bold red", markup=False, soft_wrap=True)
                continue
            # Verbosity 0 prints only rejected files and errors, and 1 (the default) adds each report.
            if options["verbosity"] >= 1:
                _print_report(console, report)

        if rejected:
            total = len(options["files"])
            if options["dry_run"]:
                outcome = _("proefdraai, dus er is niets opgeslagen")
            elif rejected == total:
                outcome = _("geen bestand is geïmporteerd")
            else:
                outcome = _("de andere zijn geïmporteerd")
            self.stdout.flush()
            message = ngettext(
                "%(rejected)d van %(total)d bestand geweigerd; %(outcome)s.",
                "%(rejected)d van %(total)d bestanden geweigerd; %(outcome)s.",
                total,
            ) % {"rejected": rejected, "total": total, "outcome": outcome}
            raise CommandError(message, returncode=1)


def _named_creditor(slug: str) -> Creditor:
    creditor = Creditor.objects.filter(slug=slug).first()
    if creditor is None:
        known = ", ".join(Creditor.objects.values_list("slug", flat=True)) or _("nog geen")
        raise CommandError(
            _("Crediteur %(slug)r niet gevonden; de crediteuren zijn: %(known)s.") % {"slug": slug, "known": known}
        )
    return creditor


def _only_creditor(path: Path) -> Creditor:
    """Return the one creditor for a file that needs one, when --creditor was not given."""
    creditors = list(Creditor.objects.all()[:2])
    if len(creditors) == 1:
        return creditors[0]
    if not creditors:
        raise BetaalreisError(
            _("%(path)s: nog geen crediteur; voeg er eerst een toe met `betaalreis creditor add`.") % {"path": path}
        )
    raise BetaalreisError(
        _("%(path)s: er zijn meerdere crediteuren; geef --creditor SLUG op (zie `betaalreis creditor list`).")
        % {"path": path}
    )


def _import_one(
    path: Path, creditor: Creditor | None, *, mapping: object, dry_run: bool, open_items: bool = False
) -> ImportReport:
    """Import one file; a bank statement without --creditor finds its creditor by account."""
    if not path.is_file():
        raise BetaalreisError(_("%(path)s: bestand niet gevonden.") % {"path": path}, code="not_found")

    try:
        importer = find_importer(path)
    except BetaalreisError:
        # With a mapping file, a table whose headers are unknown is still an
        # invoice table: the mapping names its columns.
        if mapping is None:
            raise
        importer = TabularInvoiceImporter

    if open_items and not importer.lists_open_items:
        raise InvalidInput(
            _(
                "%(path)s: --open-items vraagt een CSV/XLSX-lijst van alle openstaande posten, maar dit "
                "bestand wordt gelezen als %(format)s. Importeer het zonder --open-items."
            ) % {"path": path, "format": importer.format}
        )

    if creditor is None and importer.needs_creditor:
        creditor = _only_creditor(path)

    logger.info("import started", extra={"file": path.name, "importer": importer.__name__})
    options: dict[str, object] = {"mapping": mapping, "dry_run": dry_run}
    if open_items:
        options["open_items"] = True
    return importer().run(path, creditor, **options)


def _print_report(console: Console, report: ImportReport) -> None:
    console.print(f"[bold]{report.path.name}[/]: {report.format}")
    for line in report.header:
        console.print(f"  {line}", markup=False, soft_wrap=True)
    table = Table()
    table.add_column(_("wat"))
    table.add_column(_("waarde"), justify="right")
    for name, count in report.counts.items():
        table.add_row(row_label(name), str(count))
    for name, amount in report.amounts.items():
        table.add_row(row_label(name), amount_text(name, amount))
    console.print(table)
    for line in report.details:
        console.print(f"  {line}", markup=False, soft_wrap=True)
    note_prefix = _("let op")
    for note in report.notes:
        console.print(f"  {note_prefix}: {note}", markup=False, soft_wrap=True)


def _print_rejection(console: Console, error: ImportRejected) -> None:
    # One plain line per problem, unwrapped, so it can be searched and copied.
    rejected = _("%(name)s: geweigerd, er is niets geïmporteerd.") % {"name": error.path.name}
    console.print(rejected, style="bold red", markup=False)
    for row_error in error.errors[:MAX_LISTED_ERRORS]:
        console.print(f"  {row_error}", markup=False, soft_wrap=True)
    if len(error.errors) > MAX_LISTED_ERRORS:
        console.print(f"  {more_problems_line(len(error.errors) - MAX_LISTED_ERRORS)}")
