"""`betaalreis portal_check [--day YYYY-MM-DD] [--lang nl|en]`: close lapsed promises and check payment plans."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from betaalreis.command_language import TranslatedHelpCommand, add_language_option, report_language
from betaalreis.ledger.models import Creditor
from betaalreis.payments.plans import check_plans
from betaalreis.portal.services import settle_promises


class Command(TranslatedHelpCommand):
    help = _lazy(
        "Markeer betaalbeloften waarvan de datum voorbij is als nagekomen of gebroken, rond betaalde "
        "betalingsregelingen af en verbreek regelingen met een termijn die na de respijtdagen nog "
        "onbetaald is, zodat het aanmanen voor die regelingen verdergaat."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--day",
            metavar=_lazy("JJJJ-MM-DD"),
            help=_lazy("Werkdag om te controleren, JJJJ-MM-DD (standaard: vandaag in Amsterdam)."),
        )
        add_language_option(parser)

    def handle(self, *args, **options) -> None:
        with translation.override(report_language(options["lang"])):
            self._check_creditors(options)

    def _check_creditors(self, options: dict[str, Any]) -> None:
        try:
            day = dt.date.fromisoformat(options["day"]) if options["day"] else timezone.localdate()
        except ValueError:
            raise CommandError(
                _("Ongeldige --day %(value)r: gebruik JJJJ-MM-DD, bijvoorbeeld 2026-12-04.") % {"value": options["day"]}
            ) from None

        for creditor in Creditor.objects.order_by("slug"):
            kept, broken = settle_promises(creditor.pk, day)
            plans = check_plans(creditor.pk, day)
            self.stdout.write(
                _(
                    "%(creditor)s: betaalbeloften nagekomen %(kept)d, gebroken %(broken)d; "
                    "betalingsregelingen afgerond %(completed)d, verbroken %(plans_broken)d"
                )
                % {
                    "creditor": creditor.slug,
                    "kept": kept,
                    "broken": broken,
                    "completed": plans.completed,
                    "plans_broken": plans.broken,
                }
            )
