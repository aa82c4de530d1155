"""`betaalreis whatsapp_templates verify`: check a creditor's WhatsApp templates at Meta."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from betaalreis.channels.accounts import provider_account
from betaalreis.channels.whatsapp_templates import verify_creditor_templates
from betaalreis.errors import ConfigurationError
from betaalreis.ledger.models import Creditor


class Command(BaseCommand):
    help = (
        "Verify a creditor's WhatsApp templates against the WhatsApp Cloud API and list, per "
        "stage and language, the templates a WhatsApp stage is missing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        verify = actions.add_parser(
            "verify",
            help="Look up each template at Meta, store its status and list what is missing. "
            "Exits with status 1 when a stage lacks a usable template or a lookup failed.",
        )
        verify.add_argument("--creditor", required=True, help="Creditor slug.")

    def handle(self, *args: object, **options: object) -> None:
        slug = str(options["creditor"])
        creditor = Creditor.objects.filter(slug=slug).first()
        if creditor is None:
            raise CommandError(f"Creditor {slug!r} not found; add one with `betaalreis creditor add`.")

        try:
            account = provider_account(creditor.slug, "whatsapp")
            report = verify_creditor_templates(creditor, account)
        except ConfigurationError as exc:
            raise CommandError(str(exc)) from exc

        self.stdout.write(f"{creditor.slug}: {report.checked} template(s) checked at Meta.")
        for failure in report.failures:
            self.stdout.write(f"  lookup failed: {failure.template_name} ({failure.language}): {failure.error}")

        if not report.stages:
            self.stdout.write(f"{creditor.slug}: no dunning stage lists WhatsApp.")
        for check in report.stages:
            state = "ok" if check.ready else f"MISSING: {check.problem}"
            template = check.template_name or "-"
            self.stdout.write(
                f"  {check.policy_name} / {check.stage_code} / {check.language}: {template}: {state}"
            )

        if not report.complete:
            missing = len(report.missing)
            failed = len(report.failures)
            raise CommandError(
                f"{creditor.slug}: {missing} stage language(s) without a usable WhatsApp template and "
                f"{failed} failed lookup(s). Those stages skip WhatsApp and use their next channel. "
                "Add the templates in the admin, get them approved at Meta, and run this again."
            )
