"""`betaalreis portal_check [--day YYYY-MM-DD]`: close lapsed promises and check payment plans."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from betaalreis.ledger.models import Creditor
from betaalreis.payments.plans import check_plans
from betaalreis.portal.services import settle_promises


class Command(BaseCommand):
    help = (
        "Mark promises whose date passed as kept or broken, complete paid payment plans, and break "
        "plans with an instalment unpaid past the grace days, so dunning resumes for them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--day", help="Business day to check, YYYY-MM-DD (default: today in Amsterdam).")

    def handle(self, *args, **options) -> None:
        try:
            day = dt.date.fromisoformat(options["day"]) if options["day"] else timezone.localdate()
        except ValueError:
            raise CommandError(f"Invalid --day {options['day']!r}: use YYYY-MM-DD, for example 2026-12-04.") from None

        for creditor in Creditor.objects.order_by("slug"):
            kept, broken = settle_promises(creditor.pk, day)
            plans = check_plans(creditor.pk, day)
            self.stdout.write(
                f"{creditor.slug}: promises kept {kept}, broken {broken}; "
                f"plans completed {plans.completed}, broken {plans.broken}"
            )
