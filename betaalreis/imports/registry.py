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

from betaalreis.errors import BetaalreisError
from betaalreis.ledger.models import Creditor

logger = logging.getLogger(__name__)

# How many bytes of a file `detect` gets to look at.
HEAD_BYTES = 8192


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in an input file: where it is, what it is and what to do."""

    row: int | None
    field: str
    value: str
    problem: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else "file"
        return f"{where}, field {self.field!r}, value {self.value!r}: {self.problem}"


class ImportRejected(BetaalreisError):
    """The file was not imported at all, for the reasons in `errors`."""

    code = "import_rejected"

    def __init__(self, path: Path, errors: list[RowError], summary: str = "") -> None:
        self.path = path
        self.errors = errors
        lines = [f"{path}: rejected, nothing was imported. {summary}".rstrip()]
        lines += [f"  {error}" for error in errors[:200]]
        if len(errors) > 200:
            lines.append(f"  … and {len(errors) - 200} more problems")
        super().__init__("\n".join(lines))


@dataclass
class ImportReport:
    """The result of importing one file, printed by `betaalreis import`."""

    path: Path
    format: str
    counts: dict[str, int] = field(default_factory=dict)
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
        raise BetaalreisError(
            f"{path}: the file is empty ({size} bytes{', only spaces and line breaks' if size else ''}). "
            "Export or download it again.",
            code="empty_file",
        )
    importers = importer_classes()
    for importer in importers:
        if importer.detect(path, head):
            return importer

    descriptions = [text for importer in importers if (text := importer.describe(path, head))]
    if descriptions:
        raise BetaalreisError(f"{path}: not imported. " + " ".join(descriptions), code="unknown_format")
    raise BetaalreisError(
        f"{path}: unknown file format. Betaalreis reads invoice CSV/XLSX exports, "
        "UBL 2.1 invoices and credit notes, camt.053/camt.054 and MT940 bank statements. "
        "For another CSV layout, pass --mapping FILE.",
        code="unknown_format",
    )
