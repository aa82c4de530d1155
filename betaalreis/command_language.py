"""The --lang option of the commands that print reports: `import`, `creditor`, `run`, `claim`, `demo` and `limitation`.

Reports speak Dutch unless English is requested with `--lang en` or the
BETAALREIS_LANGUAGE setting. Error codes and log messages stay English.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandParser

REPORT_LANGUAGES = ("nl", "en")


def add_language_option(parser: CommandParser) -> None:
    """Add `--lang nl|en` to a command's parser."""
    parser.add_argument(
        "--lang",
        choices=REPORT_LANGUAGES,
        help=(
            "Taal van het rapport / language of the report: nl or en "
            "(default: the BETAALREIS_LANGUAGE setting, else nl)."
        ),
    )


def report_language(requested: str | None) -> str:
    """Return the language a report is printed in: --lang, else BETAALREIS_LANGUAGE, else Dutch."""
    return requested or settings.BETAALREIS_LANGUAGE or "nl"
