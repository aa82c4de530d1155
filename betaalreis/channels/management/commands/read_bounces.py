"""`betaalreis read_bounces`: apply bounce emails (delivery status notifications) for SMTP mail."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from betaalreis.channels.bounces import BounceSummary, read_maildir, read_mbox
from betaalreis.ledger.models import Creditor

# Outcome kinds in the order the summary line lists them, with their labels.
SUMMARY_LABELS = {
    "hard": "hard bounce(s)",
    "failed": "failed after retries",
    "soft": "soft bounce(s)",
    "delivered": "delivery report(s)",
    "duplicate": "seen before",
    "unmatched": "unmatched (flagged)",
    "not_dsn": "not a bounce",
    "ignored": "ignored",
}


class Command(BaseCommand):
    help = (
        "Read bounce emails (RFC 3464 delivery status notifications) from a Maildir or an mbox file. "
        "A permanent failure (5.X.X) marks the message bounced and queues the stage's next channel, "
        "and an address error (5.1.X, 5.2.1, 5.4.4) also marks the address invalid; a delay (4.X.X) "
        "is recorded as a soft bounce. Handled Maildir files move from new/ to cur/. Without a path, "
        "reads BETAALREIS_BOUNCE_MAILDIR and every `bounce_maildir` in BETAALREIS_PROVIDERS. "
        "Reading the same bounce twice changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--maildir", type=Path, help="Maildir folder to read (with new/ and cur/).")
        parser.add_argument("--mbox", type=Path, help="mbox file to read; it is left unchanged.")
        parser.add_argument(
            "--creditor",
            help="Creditor slug: match bounces only to this creditor's messages, and without a path "
            "read the `bounce_maildir` of its email account.",
        )

    def handle(self, *args: object, **options: Any) -> None:
        creditor_id = None
        slug = options.get("creditor")
        if slug:
            creditor_id = Creditor.objects.filter(slug=slug).values_list("pk", flat=True).first()
            if creditor_id is None:
                raise CommandError(f"Creditor {slug!r} not found; check the slug with `betaalreis creditor list`.")

        sources = self._sources(options, slug, creditor_id)
        if not sources:
            raise CommandError(
                "No bounce folder given. Pass --maildir or --mbox, or set BETAALREIS_BOUNCE_MAILDIR "
                "or `bounce_maildir` in a creditor's email account."
            )

        failed = 0
        for kind, path, scope in sources:
            try:
                summary = read_mbox(path, creditor_id=scope) if kind == "mbox" else read_maildir(path, creditor_id=scope)
            except FileNotFoundError as exc:
                raise CommandError(f"Bounce folder {path} not found: {exc}") from exc
            self.stdout.write(f"{path}: {_describe(summary)}")
            for error in summary.errors:
                self.stdout.write(f"  could not read {error}")
            failed += len(summary.errors)

        if failed:
            raise CommandError(f"{failed} bounce message(s) could not be read; they stay in new/ for the next run.")

    def _sources(self, options: Mapping[str, Any], slug: str | None,
                 creditor_id: int | None) -> list[tuple[str, Path, int | None]]:
        """Return (kind, path, creditor id to scope to) for each folder to read."""
        if options.get("maildir"):
            return [("maildir", options["maildir"], creditor_id)]
        if options.get("mbox"):
            return [("mbox", options["mbox"], creditor_id)]

        sources: list[tuple[str, Path, int | None]] = []
        providers: Mapping[str, Mapping[str, Mapping[str, Any]]] = getattr(settings, "BETAALREIS_PROVIDERS", {})
        for key, accounts in providers.items():
            folder = str(accounts.get("email", {}).get("bounce_maildir", "") or "")
            if not folder or (slug and key not in (slug, "*")):
                continue
            scope = creditor_id
            if key != "*" and scope is None:
                scope = Creditor.objects.filter(slug=key).values_list("pk", flat=True).first()
                if scope is None:
                    continue
            sources.append(("maildir", Path(folder), scope))

        shared = str(getattr(settings, "BETAALREIS_BOUNCE_MAILDIR", "") or "")
        if shared and all(Path(shared) != path for _, path, _ in sources):
            sources.append(("maildir", Path(shared), creditor_id))
        return sources


def _describe(summary: BounceSummary) -> str:
    parts = [f"{summary.counts[kind]} {label}" for kind, label in SUMMARY_LABELS.items() if summary.counts[kind]]
    return ", ".join(parts) if parts else "no new messages"
