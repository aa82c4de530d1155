"""`betaalreis creditor add|load|list [--lang nl|en]`: set up the creditors (tenants)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db.models import Count
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rich.console import Console
from rich.table import Table

from betaalreis.command_language import add_language_option, report_language
from betaalreis.errors import InvalidInput
from betaalreis.imports.creditors import CreditorSpec, do_add_creditor, do_load_creditors
from betaalreis.ledger.models import Creditor

# Labels of the outcome of `creditor load` for one creditor, keyed as in `LoadResult.action`.
LOAD_ACTIONS: dict[str, Promise] = {
    "created": _("aangemaakt"),
    "updated": _("bijgewerkt"),
    "unchanged": _("ongewijzigd"),
}


class Command(BaseCommand):
    help = "Add, load or list creditors, the companies whose invoices Betaalreis collects."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        add = actions.add_parser("add", help="Add one creditor.")
        add.add_argument("--slug", required=True, help="Short name used in commands, like acme.")
        add.add_argument("--legal-name", required=True, help="Name as registered at the KvK.")
        add.add_argument("--iban", required=True, help="Account the debtors pay to.")
        add.add_argument("--bic", default="")
        add.add_argument("--kvk", default="", help="KvK number, 8 digits.")
        add.add_argument("--vat-id", default="", help="VAT id, like NL004495445B01.")
        add.add_argument("--trade-name", default="", help="Name shown to debtors, if not the legal name.")
        add.add_argument("--street", default="", help="Street and house number.")
        add.add_argument("--postal-code", default="")
        add.add_argument("--city", default="")
        add.add_argument("--country", default="NL", help="ISO country code (default NL).")
        add.add_argument("--email", default="")
        add.add_argument("--phone", default="")
        add.add_argument("--website", default="")
        add.add_argument("--logo", default="", help="Path of a PNG or JPEG logo for letters and email.")
        add.add_argument("--language", default="nl", choices=["nl", "en"],
                         help="Language for debtors whose language is unknown (default nl).")
        add.add_argument("--brand-color", default="", help="Colour as #rrggbb.")
        add.add_argument("--collection-agency", action="store_true",
                         help="The creditor is a collection agency collecting for others.")
        add.add_argument("--no-vat-deductible", action="store_true",
                         help="The creditor cannot deduct VAT, so VAT is added to collection costs.")

        load = actions.add_parser("load", help="Create or update the creditors in a TOML file.")
        load.add_argument("file", type=Path, metavar="FILE")

        list_parser = actions.add_parser("list", help="List the creditors.")
        for action_parser in (add, load, list_parser):
            add_language_option(action_parser)

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override(report_language(options.get("lang"))):
            self._run(options)

    def _run(self, options: dict[str, Any]) -> None:
        console = Console(file=self.stdout._out, width=120, highlight=False)
        try:
            if options["action"] == "add":
                self._add(console, options)
            elif options["action"] == "load":
                for result in do_load_creditors(options["file"]):
                    console.print(f"{result.creditor.slug}: {LOAD_ACTIONS[result.action]}")
            else:
                _list(console)
        except InvalidInput as exc:
            raise CommandError(str(exc)) from exc

    def _add(self, console: Console, options: dict[str, Any]) -> None:
        spec = CreditorSpec(
            slug=options["slug"],
            legal_name=options["legal_name"],
            iban=options["iban"],
            bic=options["bic"],
            kvk=options["kvk"],
            vat_id=options["vat_id"],
            trade_name=options["trade_name"],
            street=options["street"],
            postal_code=options["postal_code"],
            city=options["city"],
            country=options["country"],
            email=options["email"],
            phone=options["phone"],
            website=options["website"],
            logo=options["logo"],
            language=options["language"],
            brand_color=options["brand_color"],
            collection_agency=options["collection_agency"],
            vat_deductible=not options["no_vat_deductible"],
        )
        creditor = do_add_creditor(spec)
        added = gettext("%(slug)s: toegevoegd (%(name)s, %(iban)s)")
        console.print(added % {"slug": creditor.slug, "name": creditor.legal_name, "iban": creditor.iban})


def _list(console: Console) -> None:
    table = Table()
    columns = (
        "slug", gettext("statutaire naam"), gettext("handelsnaam"), "KvK", "IBAN", gettext("plaats"),
        gettext("debiteuren"),
    )
    for column in columns:
        table.add_column(column)
    for creditor in Creditor.objects.annotate(debtor_count=Count("debtors")):
        table.add_row(
            creditor.slug, creditor.legal_name, creditor.trade_name, creditor.kvk_number,
            creditor.iban, creditor.city, str(creditor.debtor_count),
        )
    console.print(table)
