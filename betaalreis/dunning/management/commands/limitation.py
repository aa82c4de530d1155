"""`betaalreis limitation`: release an invoice the run holds for possible limitation, or hold it again."""

from __future__ import annotations

import getpass
from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from betaalreis.command_language import add_language_option, report_language
from betaalreis.dunning.limitation_holds import (
    ReleaseOutcome,
    do_release_limitation_hold,
    do_restore_limitation_hold,
)
from betaalreis.errors import InvalidInput
from betaalreis.ledger.models import Creditor, Invoice

# Functions, so that each message is translated in the language of the command.
RELEASE_MESSAGES: dict[ReleaseOutcome, Callable[[], str]] = {
    ReleaseOutcome.RELEASED: lambda: _("%(number)s: vrijgegeven; de volgende run maant deze factuur weer aan."),
    ReleaseOutcome.ALREADY_RELEASED: lambda: _("%(number)s: was al vrijgegeven; er is niets gewijzigd."),
    ReleaseOutcome.NOT_OPEN: lambda: _(
        "%(number)s: niet vrijgegeven, want de factuur staat niet open (%(status)s) en wordt dus niet "
        "aangemaand; er is niets gewijzigd."
    ),
    ReleaseOutcome.NOT_HELD: lambda: _(
        "%(number)s: niet vrijgegeven, want de run houdt deze factuur niet aan: er is een schriftelijke "
        "aanmaning of betaling in de laatste 5 jaar, of de vervaldatum is minder dan 5 jaar geleden; er is "
        "niets gewijzigd."
    ),
}


class Command(BaseCommand):
    help = (
        "The run holds open invoices whose claim may be time-barred (five years after the due date "
        "without a written reminder or payment on record, art. 3:307 BW). Release one after checking "
        "that the limitation period was interrupted, or hold it again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        release = actions.add_parser("release", help="Let the run chase the invoice again.")
        release.add_argument("number", help="Invoice number.")
        release.add_argument("--creditor", required=True, help="Creditor slug.")
        release.add_argument(
            "--reason", required=True,
            help="Why the claim is not time-barred, for example the date of a reminder sent outside Betaalreis.",
        )
        release.add_argument("--by", default=getpass.getuser(), help="Who decided (default: the system user).")
        add_language_option(release)
        hold = actions.add_parser("hold", help="Undo a release, so the run holds the invoice again.")
        hold.add_argument("number", help="Invoice number.")
        hold.add_argument("--creditor", required=True, help="Creditor slug.")
        hold.add_argument("--by", default=getpass.getuser(), help="Who decided (default: the system user).")
        add_language_option(hold)

    def handle(self, *args: object, **options: object) -> None:
        with translation.override(report_language(options["lang"])):
            self._decide(options)

    def _decide(self, options: dict[str, object]) -> None:
        creditor = Creditor.objects.filter(slug=options["creditor"]).first()
        if creditor is None:
            raise CommandError(
                _("Crediteur %(slug)r niet gevonden; zie `betaalreis creditor list`.") % {"slug": options["creditor"]}
            )

        by = f"limitation command ({options['by']})"
        values = {"number": options["number"]}
        try:
            if options["action"] == "release":
                outcome = do_release_limitation_hold(
                    creditor.pk, options["number"], by=by, reason=options["reason"], day=timezone.localdate()
                )
                message = RELEASE_MESSAGES[outcome]()
                if outcome == ReleaseOutcome.NOT_OPEN:
                    invoice = Invoice.objects.get(creditor=creditor, number=options["number"])
                    values["status"] = invoice.get_status_display().lower()
            elif do_restore_limitation_hold(creditor.pk, options["number"], by=by):
                message = _("%(number)s: weer aangehouden zolang de vordering verjaard kan zijn.")
            else:
                message = _("%(number)s: was niet vrijgegeven; er is niets gewijzigd.")
        except InvalidInput as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(message % values)
