"""Importers and how `betaalreis import` picks one for a file.

Each importer class in `BETAALREIS_IMPORTERS` decides from the file's first
bytes whether it reads that format. The first that does imports the whole
file in one transaction, or raises `ImportRejected` and imports nothing.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from betaalreis.errors import BetaalreisError
from betaalreis.ledger.models import Creditor

logger = logging.getLogger(__name__)

# How many bytes of a file `detect` gets to look at.
HEAD_BYTES = 8192
# A rejection lists this many problems and counts the rest.
MAX_LISTED_ERRORS = 200


# The field of a problem with the whole file (`file_field()`) in Dutch and English.
_FILE_FIELDS = frozenset({"bestand", "file"})


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in an input file: where it is, what it is and what to do.

    `field` is the file's own name for the field where it has one (a column
    header), and `problem` is written in the language active when the
    importer found it. `str()` frames the problem in the language active when
    it is printed.

    `row` is a row of a table (CSV, XLSX), unless `line_based` is true: then
    it is a line of a text file (XML, MT940), and `column` may give the
    character column on that line.
    """

    row: int | None
    field: str
    value: str
    problem: str
    line_based: bool = False
    column: int | None = None

    def __str__(self) -> str:
        if self.row is None and self.field in _FILE_FIELDS:
            # A problem with the whole file: its field would only repeat "file".
            if not self.value:
                return _("bestand: %(problem)s") % {"problem": self.problem}
            return _("bestand %(value)r: %(problem)s") % {"value": self.value, "problem": self.problem}
        if not self.line_based:
            where = _("rij %(row)d") % {"row": self.row} if self.row is not None else file_field()
            return _("%(where)s, veld %(field)r, waarde %(value)r: %(problem)s") % {
                "where": where, "field": self.field, "value": self.value, "problem": self.problem,
            }
        return self._line_text()

    def _line_text(self) -> str:
        where = _("regel %(line)d") % {"line": self.row} if self.row is not None else file_field()
        if self.column is not None:
            where = _("%(line)s, kolom %(column)d") % {"line": where, "column": self.column}
        if not self.value:
            return _("%(where)s, veld %(field)r: %(problem)s") % {
                "where": where, "field": self.field, "problem": self.problem,
            }
        return _("%(where)s, veld %(field)r, waarde %(value)r: %(problem)s") % {
            "where": where, "field": self.field, "value": self.value, "problem": self.problem,
        }


def file_field() -> str:
    """Return the field name of a problem with the file as a whole."""
    return _("bestand")


def creditor_required(path: Path) -> ImportRejected:
    """Return the rejection of a file that an importer got without a creditor."""
    return ImportRejected(path, [RowError(
        None, _("crediteur"), "", _("geen crediteur gekozen; geef --creditor SLUG op"),
    )])


def more_items(item_list: str, more: int) -> str:
    """Return a shortened, comma-separated list followed by how many items it leaves out."""
    return _("%(items)s en nog %(more)d") % {"items": item_list, "more": more}


def more_problems_line(count: int) -> str:
    """Return the line that counts the problems a rejection does not list."""
    return ngettext("… en nog %(count)d probleem", "… en nog %(count)d problemen", count) % {"count": count}


class ImportRejected(BetaalreisError):
    """The file was not imported at all, for the reasons in `errors`."""

    code = "import_rejected"

    def __init__(self, path: Path, errors: list[RowError], summary: str = "") -> None:
        self.path = path
        self.errors = errors
        lines = [(_("%(path)s: geweigerd, er is niets geïmporteerd.") % {"path": path} + f" {summary}").rstrip()]
        lines += [f"  {error}" for error in errors[:MAX_LISTED_ERRORS]]
        if len(errors) > MAX_LISTED_ERRORS:
            lines.append(f"  {more_problems_line(len(errors) - MAX_LISTED_ERRORS)}")
        super().__init__("\n".join(lines))


@dataclass
class ImportReport:
    """The result of importing one file, printed by `betaalreis import`."""

    path: Path
    format: str
    counts: dict[str, int] = field(default_factory=dict)
    # Amounts as Decimal strings ("1234.56"), by a row name that ends in the
    # currency; `betaalreis import` prints them in the report language ("€ 1.234,56").
    amounts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Lines printed above the counts: what the file covers (creditor, account, period).
    header: list[str] = field(default_factory=list)
    # Lines printed below the counts, such as the payments sent to review and why.
    details: list[str] = field(default_factory=list)


class Importer:
    """Base class of an importer.

    `detect` gets the path and up to HEAD_BYTES of the file and returns
    whether this importer reads it; it must not raise on foreign input.
    `run` imports the whole file atomically, returns an `ImportReport`, and
    raises `ImportRejected` with every problem found when anything is wrong.
    Importing the same file twice must change nothing the second time.
    `describe` may return a sentence about a file this importer recognises
    but does not import (for example a bank export given to the invoice
    importer), which `find_importer` puts in its error.
    `lists_open_items` is true for formats that can carry a creditor's whole
    list of open items; only those take the `open_items` option.
    """

    format: ClassVar[str]
    needs_creditor: ClassVar[bool] = True
    lists_open_items: ClassVar[bool] = False

    @classmethod
    def detect(cls, path: Path, head: bytes) -> bool:
        raise NotImplementedError

    @classmethod
    def describe(cls, path: Path, head: bytes) -> str | None:
        return None

    def run(self, path: Path, creditor: Creditor | None, **options: object) -> ImportReport:
        raise NotImplementedError


def importer_classes() -> list[type[Importer]]:
    """Return the importer classes of BETAALREIS_IMPORTERS that can be imported.

    A dotted path whose own module or class does not exist (an importer not
    written yet) is skipped with a warning, so the other formats keep
    working. An import error inside an existing module is raised.
    """
    classes: list[type[Importer]] = []
    for dotted in settings.BETAALREIS_IMPORTERS:
        module_path = dotted.rpartition(".")[0]
        try:
            classes.append(import_string(dotted))
        except ModuleNotFoundError as exc:
            if exc.name is None or not module_path.startswith(exc.name):
                raise
            logger.warning("importer module not found, skipped", extra={"importer": dotted})
        except ImportError:
            if module_path not in sys.modules:
                raise
            logger.warning("importer class not found, skipped", extra={"importer": dotted})
    return classes


def find_importer(path: Path) -> type[Importer]:
    """Return the importer class for `path`, or raise naming the file."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    if not head.strip(b"\xef\xbb\xbf \t\r\n"):
        size = path.stat().st_size
        if size:
            message = _(
                "%(path)s: het bestand is leeg (%(size)d bytes, alleen spaties en regeleinden). "
                "Exporteer of download het opnieuw."
            )
        else:
            message = _("%(path)s: het bestand is leeg (0 bytes). Exporteer of download het opnieuw.")
        raise BetaalreisError(message % {"path": path, "size": size}, code="empty_file")
    importers = importer_classes()
    for importer in importers:
        if importer.detect(path, head):
            return importer

    descriptions = [text for importer in importers if (text := importer.describe(path, head))]
    if descriptions:
        not_imported = _("%(path)s: niet geïmporteerd.") % {"path": path}
        raise BetaalreisError(" ".join([not_imported, *descriptions]), code="unknown_format")
    raise BetaalreisError(
        _(
            "%(path)s: onbekend bestandsformaat. Betaalreis leest CSV/XLSX-exports van facturen, "
            "UBL 2.1-facturen en -creditnota's, camt.053/camt.054- en MT940-rekeningafschriften. "
            "Geef voor een andere CSV-indeling --mapping FILE op."
        ) % {"path": path},
        code="unknown_format",
    )
