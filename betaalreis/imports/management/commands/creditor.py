"""`betaalreis creditor add|load|list|grant|revoke [--lang nl|en]`: set up the creditors (tenants).

`grant SLUG USERNAME` lets a back-office user see and work on the creditor's
data in the admin, and `revoke` takes that away. Superusers see every creditor.
`grant` warns on stderr when the access changes nothing for the user: a user
without staff status cannot log in to the admin, and a superuser sees every
creditor anyway.
"""

from __future__ import annotations

import getpass
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
from betaalreis.errors import InvalidInput, NotFound
from betaalreis.imports.creditors import CreditorSpec, do_add_creditor, do_load_creditors
from betaalreis.ledger.models import Creditor
from betaalreis.ledger.tenancy import (
    access_warnings,
    do_grant_creditor_access,
    do_revoke_creditor_access,
    user_by_name,
)

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
                         help="Add VAT to the collection costs. Use it only when an outside collection service "
                              "charges the creditor VAT that it cannot deduct (BIK art. 2 lid 3). Every message "
                              "that charges the costs then states this to the debtor. A creditor that is "
                              "not VAT-registered and collects itself must not use it.")
        add.add_argument("--handover-agency", default="",
                         help="Name of the collection agency that handed-over invoices go to, named in the handover messages.")

        load = actions.add_parser("load", help="Create or update the creditors in a TOML file.")
        load.add_argument("file", type=Path, metavar="FILE")

        list_parser = actions.add_parser("list", help="List the creditors.")

        grant = actions.add_parser("grant", help="Give a back-office user access to a creditor's data.")
        revoke = actions.add_parser("revoke", help="Take a back-office user's access to a creditor's data away.")
        for access_parser in (grant, revoke):
            access_parser.add_argument("slug", metavar="SLUG", help="Short name of the creditor.")
            access_parser.add_argument("username", metavar="USERNAME", help="Login name of the user.")

        for action_parser in (add, load, list_parser, grant, revoke):
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
            elif options["action"] in ("grant", "revoke"):
                for warning in _change_access(console, options):
                    self.stderr.write(warning)
            else:
                _list(console)
        except (InvalidInput, NotFound) as exc:
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
            handover_agency=options["handover_agency"],
        )
        creditor = do_add_creditor(spec)
        added = gettext("%(slug)s: aangemaakt (%(name)s, %(iban)s)")
        console.print(added % {"slug": creditor.slug, "name": creditor.legal_name, "iban": creditor.iban})


def _change_access(console: Console, options: dict[str, Any]) -> list[str]:
    """Grant or revoke a user's access to a creditor, print the outcome and return the warnings about the user."""
    creditor = Creditor.objects.filter(slug=options["slug"]).first()
    if creditor is None:
        raise NotFound(
            gettext("Crediteur %(slug)r niet gevonden; `betaalreis creditor list` toont de crediteuren.")
            % {"slug": options["slug"]}
        )
    user, by = user_by_name(options["username"]), f"command:{getpass.getuser()}"
    names = {"user": user.get_username(), "slug": creditor.slug}
    if options["action"] == "grant":
        do_grant_creditor_access(creditor, user, by=by)
        console.print(gettext("%(user)s heeft toegang tot %(slug)s.") % names)
        return access_warnings(user)
    if do_revoke_creditor_access(creditor, user, by=by):
        console.print(gettext("%(user)s heeft geen toegang meer tot %(slug)s.") % names)
    else:
        console.print(gettext("%(user)s had geen toegang tot %(slug)s.") % names)
    return []


def _list(console: Console) -> None:
    table = Table()
    columns = (
        "slug", gettext("statutaire naam"), gettext("handelsnaam"), "KvK", "IBAN", gettext("plaats"),
        gettext("debiteuren"), gettext("gebruikers"),
    )
    creditors = Creditor.objects.annotate(debtor_count=Count("debtors")).prefetch_related("user_access__user")
    rows = [
        (
            creditor.slug, creditor.legal_name, creditor.trade_name, creditor.kvk_number,
            creditor.iban, creditor.city, str(creditor.debtor_count),
            ", ".join(sorted(access.user.get_username() for access in creditor.user_access.all())),
        )
        for creditor in creditors
    ]
    # Slug, KvK number and IBAN are copied into other commands, so they are
    # never shortened; a long name wraps onto a second line instead.
    whole = {0, 3, 4}
    for index, column in enumerate(columns):
        if index in whole:
            width = max([len(column), *(len(row[index]) for row in rows)])
            table.add_column(column, no_wrap=True, min_width=width)
        else:
            table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)
