"""The --lang option of the commands that print reports.

These commands are `import`, `creditor`, `run`, `claim`, `demo`, `limitation`
and `portal_check`.

Reports speak Dutch unless English is requested with `--lang en` or the
BETAALREIS_LANGUAGE setting. Error codes and log messages stay English.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import translation

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


def language_in_argv(argv: Sequence[str]) -> str | None:
    """Return the report language that a command line requests with `--lang`, or None.

    The help text of a command is printed while argparse reads the command
    line, before the parsed `--lang` exists, so a command that translates
    its help looks the option up here. A value that is not nl or en gives
    None, and argparse then rejects it.
    """
    for index, argument in enumerate(argv):
        if argument == "--lang" and index + 1 < len(argv):
            value = argv[index + 1]
        elif argument.startswith("--lang="):
            value = argument.partition("=")[2]
        else:
            continue
        return value if value in REPORT_LANGUAGES else None
    return None


class TranslatedHelpCommand(BaseCommand):
    """A management command whose help text is in the report language.

    `betaalreis <command> --help` prints in the language of `--lang` on the
    same command line, else BETAALREIS_LANGUAGE, else Dutch. `betaalreis
    help <command>` has no `--lang` and follows the setting. The help texts
    must be lazy translations (gettext_lazy), because the parser is built
    before the language is chosen.
    """

    def run_from_argv(self, argv: list[str]) -> None:
        with translation.override(report_language(language_in_argv(argv))):
            super().run_from_argv(argv)

    def print_help(self, prog_name: str, subcommand: str) -> None:
        with translation.override(report_language(None)):
            super().print_help(prog_name, subcommand)

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # argparse wraps the description with a regular expression, which takes no lazy text.
        parser.description = str(self.help)
        return parser
