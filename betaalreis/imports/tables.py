"""Reading CSV and XLSX files into rows of cells, and finding the header row.

CSV files come in UTF-8 (with or without BOM), UTF-16 with BOM (Excel's
"Unicode text") or Windows-1252, separated by `;`, `,`, tab or `|`. XLSX
cells keep their types (numbers, dates, text); CSV cells are text.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import openpyxl
from django.utils.translation import gettext, ngettext
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from betaalreis.errors import InvalidInput
from betaalreis.imports.headers import (
    AMBIGUOUS_TOTAL_HEADERS,
    DATE_OR_OTHER_HEADERS,
    FIELD_LABELS,
    HEADER_ALIASES,
    NAME_OR_CONTACT_HEADERS,
    NAME_OR_NUMBER_HEADERS,
    normalize_header,
)
from betaalreis.imports import contacts
from betaalreis.imports.toml_files import read_toml
from betaalreis.imports.values import COMMA, POINT, ValueProblem

Cell = str | int | float | dt.datetime | dt.date | None

DELIMITERS = (";", ",", "\t", "|")
# The header row must be among the first rows; preambles are a few lines.
HEADER_SEARCH_ROWS = 30
XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Mapping:
    """A mapping file: which column contains which field, and how the file is written."""

    path: Path | None = None
    columns: dict[str, str] = field(default_factory=dict)
    delimiter: str | None = None
    encoding: str | None = None
    decimal_separator: str | None = None
    date_format: str | None = None
    header_row: int | None = None
    sheet: str | None = None
    defaults: dict[str, str] = field(default_factory=dict)


_FORMAT_KEYS = {"delimiter", "encoding", "decimal_separator", "date_format", "header_row", "sheet"}
_DEFAULT_KEYS = {"currency", "kind", "language", "country"}


def load_mapping(path: Path) -> Mapping:
    """Read a mapping file (TOML) and check every key, naming the file in errors."""
    data = read_toml(path, gettext("mappingbestand"))

    unknown_tables = set(data) - {"columns", "format", "defaults"}
    if unknown_tables:
        raise InvalidInput(gettext(
            "%(path)s: onbekende tabellen %(tables)s; gebruik [columns], [format] en [defaults]."
        ) % {"path": path, "tables": sorted(unknown_tables)})
    columns = data.get("columns", {})
    formats = data.get("format", {})
    defaults = data.get("defaults", {})

    unknown_fields = set(columns) - set(FIELD_LABELS)
    if unknown_fields:
        raise InvalidInput(gettext(
            "%(path)s: onbekende velden in [columns]: %(unknown)s; de velden zijn %(fields)s."
        ) % {"path": path, "unknown": sorted(unknown_fields), "fields": sorted(FIELD_LABELS)})
    if not all(isinstance(header, str) and header.strip() for header in columns.values()):
        raise InvalidInput(gettext(
            "%(path)s: elke waarde in [columns] moet een kolomkop tussen aanhalingstekens zijn."
        ) % {"path": path})
    unknown_formats = set(formats) - _FORMAT_KEYS
    if unknown_formats:
        raise InvalidInput(_unknown_keys(path, "[format]", unknown_formats, _FORMAT_KEYS))
    unknown_defaults = set(defaults) - _DEFAULT_KEYS
    if unknown_defaults:
        raise InvalidInput(_unknown_keys(path, "[defaults]", unknown_defaults, _DEFAULT_KEYS))
    decimal = formats.get("decimal_separator")
    if decimal not in (None, COMMA, POINT):
        raise InvalidInput(gettext(
            '%(path)s: decimal_separator moet "," of "." zijn, niet %(value)r.'
        ) % {"path": path, "value": decimal})
    header_row = formats.get("header_row")
    if header_row is not None and (not isinstance(header_row, int) or header_row < 1):
        raise InvalidInput(gettext(
            "%(path)s: header_row moet een rijnummer vanaf 1 zijn, niet %(value)r."
        ) % {"path": path, "value": header_row})
    if formats.get("encoding"):
        try:
            codecs.lookup(formats["encoding"])
        except LookupError as exc:
            raise InvalidInput(gettext(
                "%(path)s: onbekende tekenset %(encoding)r; gebruik bijvoorbeeld utf-8 of cp1252."
            ) % {"path": path, "encoding": formats["encoding"]}) from exc

    parsers = {
        "currency": contacts.parse_currency,
        "kind": contacts.parse_kind,
        "language": contacts.parse_language,
        "country": contacts.parse_country,
    }
    parsed_defaults: dict[str, str] = {}
    for name, value in defaults.items():
        try:
            parsed_defaults[name] = parsers[name](str(value))
        except ValueProblem as exc:
            raise InvalidInput(
                gettext("%(path)s: [defaults] %(name)s = %(value)r: %(problem)s.")
                % {"path": path, "name": name, "value": value, "problem": exc}
            ) from exc

    return Mapping(
        path=path,
        columns={name: header.strip() for name, header in columns.items()},
        delimiter=formats.get("delimiter"),
        encoding=formats.get("encoding"),
        decimal_separator=decimal,
        date_format=formats.get("date_format"),
        header_row=header_row,
        sheet=formats.get("sheet"),
        defaults=parsed_defaults,
    )


def _unknown_keys(path: Path, table: str, unknown: set[str], known: set[str]) -> str:
    return gettext("%(path)s: onbekende sleutels in %(table)s: %(unknown)s; gebruik %(known)s.") % {
        "path": path, "table": table, "unknown": sorted(unknown), "known": sorted(known),
    }


@dataclass
class Table:
    """The cells of a file, row by row, with how they were read."""

    rows: list[list[Cell]]
    description: str
    # XLSX cells that contain a formula without a stored result and so read
    # as empty: row index → column index → formula (both indexes from 0).
    formulas_without_value: dict[int, dict[int, str]] = field(default_factory=dict)


class UnreadableTable(ValueError):
    """The file is not a table this module can read. The message, in the active language, states why and what to do."""


class InvalidEncoding(UnreadableTable):
    """The text of a CSV file is not valid in its encoding. The message names the byte position."""


def is_xlsx(head: bytes) -> bool:
    return head.startswith(XLSX_MAGIC)


def decode_text(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode CSV bytes and return the text and the encoding used.

    Without `encoding`: a BOM decides; otherwise UTF-8 if the bytes are valid
    UTF-8, else Windows-1252, the encoding of Dutch Excel and most Dutch
    accounting packages.
    """
    if encoding:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise InvalidEncoding(gettext(
                "het bestand is geen geldige %(encoding)s bij byte %(byte)d; verbeter encoding in het "
                "mappingbestand of sla het bestand op als CSV UTF-8"
            ) % {"encoding": encoding, "byte": exc.start}) from exc

    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="strict"), "UTF-8 with BOM"
        except UnicodeDecodeError as exc:
            raise InvalidEncoding(gettext(
                "het bestand begint met een UTF-8-bytevolgordeteken (BOM), maar is bij byte %(byte)d geen "
                "UTF-8; sla het bestand opnieuw op als CSV UTF-8"
            ) % {"byte": exc.start + 3}) from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "UTF-16"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError as exc:
        raise InvalidEncoding(gettext(
            "het bestand is geen UTF-8 en geen Windows-1252 (byte %(byte)d); sla het op als CSV UTF-8"
        ) % {"byte": exc.start}) from exc


def sniff_delimiter(text: str) -> str:
    """Return the separator that splits the first lines into the most equal rows."""
    lines = [line for line in text.splitlines()[:HEADER_SEARCH_ROWS * 2] if line.strip()]
    sample = "\n".join(lines)
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        widths = [len(row) for row in csv.reader(io.StringIO(sample), delimiter=delimiter)]
        widths = [width for width in widths if width > 1]
        if not widths:
            continue
        width, agreeing = Counter(widths).most_common(1)[0]
        score = (agreeing, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_csv_text(text: str, delimiter: str | None) -> tuple[list[list[Cell]], str]:
    delimiter = delimiter or sniff_delimiter(text)
    try:
        rows: list[list[Cell]] = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise UnreadableTable(gettext(
            "het CSV-bestand is niet te lezen, bijvoorbeeld door een aanhalingsteken dat niet wordt "
            "gesloten; exporteer het bestand opnieuw"
        )) from exc
    return rows, delimiter


def read_table(path: Path, mapping: Mapping | None = None, *, max_rows: int | None = None) -> Table:
    """Read `path` as XLSX or CSV; with `max_rows`, only the first rows."""
    mapping = mapping or Mapping()
    with path.open("rb") as handle:
        head = handle.read(len(XLSX_MAGIC))

    if is_xlsx(head):
        return _read_xlsx(path, mapping.sheet, max_rows)

    data = path.read_bytes()
    if b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableTable(_binary_file())
    text, encoding = decode_text(data, mapping.encoding)
    if text.lstrip().startswith("<"):
        raise UnreadableTable(_markup_file())
    if max_rows is not None:
        text = "\n".join(text.splitlines()[:max_rows])
    rows, delimiter = read_csv_text(text, mapping.delimiter)
    return Table(rows=rows, description=_csv_description(encoding, delimiter))


def _csv_description(encoding: str, delimiter: str) -> str:
    """Return how a CSV file was read, for the report and for messages about the file."""
    delimiter_name = {"\t": "tab"}.get(delimiter, delimiter)
    return gettext("CSV, %(encoding)s, scheidingsteken %(delimiter)r") % {
        "encoding": encoding, "delimiter": delimiter_name,
    }


def _binary_file() -> str:
    return gettext("het bestand is binair, geen CSV of XLSX; exporteer de facturen als CSV of XLSX")


def _markup_file() -> str:
    return gettext("het bestand is XML of HTML, geen CSV; exporteer de facturen als CSV of XLSX")


def _read_xlsx(path: Path, sheet: str | None, max_rows: int | None) -> Table:
    try:
        # openpyxl parses the XML parts with defusedxml when it is installed.
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise UnreadableTable(gettext(
            "het bestand is geen leesbare XLSX-werkmap; open het in Excel en sla het opnieuw op als XLSX"
        )) from exc

    try:
        if sheet is not None:
            if sheet not in workbook.sheetnames:
                raise UnreadableTable(gettext(
                    "het bestand heeft geen werkblad %(sheet)r; de werkbladen zijn %(sheets)s, dus "
                    "verbeter sheet in het mappingbestand"
                ) % {"sheet": sheet, "sheets": workbook.sheetnames})
            worksheet = workbook[sheet]
        else:
            worksheet = workbook.worksheets[0]
        rows: list[list[Cell]] = []
        for values in worksheet.iter_rows(values_only=True, max_row=max_rows):
            rows.append(list(values))
        title = worksheet.title
    finally:
        workbook.close()

    formulas: dict[int, dict[int, str]] = {}
    if any(value is None for row in rows for value in row):
        formulas = _formulas_without_value(path, title, rows)
    return Table(
        rows=rows,
        description=gettext("XLSX, werkblad %(sheet)r") % {"sheet": title},
        formulas_without_value=formulas,
    )


def _formulas_without_value(path: Path, sheet: str, values: list[list[Cell]]) -> dict[int, dict[int, str]]:
    """Return the empty cells of `values` that are formulas without a stored result, by row and column index.

    Excel stores the result of every formula when it saves; a workbook
    written by a program (openpyxl, for one) may not, and then the cell
    reads as empty. The importer names such a cell with its formula, because
    "missing" would send the user looking for a value that the sheet does
    show once it is recalculated.
    """
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
    formulas: dict[int, dict[int, str]] = {}
    try:
        cell_rows = workbook[sheet].iter_rows(max_row=len(values))
        for row_index, (row_values, row_cells) in enumerate(zip(values, cell_rows)):
            for column_index, (value, cell) in enumerate(zip(row_values, row_cells)):
                if value is None and isinstance(cell.value, str) and cell.value.startswith("="):
                    formulas.setdefault(row_index, {})[column_index] = cell.value
    finally:
        workbook.close()
    return formulas


def formulas_without_value_problem(table: Table) -> str:
    """Return the problem text that names a table's formula cells without a stored result, up to five."""
    cells = [
        f"{get_column_letter(column_index + 1)}{row_index + 1} ({formula})"
        for row_index, row in sorted(table.formulas_without_value.items())
        for column_index, formula in sorted(row.items())
    ]
    return ngettext(
        "cel %(cells)s bevat een formule zonder berekende waarde; open de werkmap in Excel of "
        "LibreOffice, laat die herberekenen en sla hem opnieuw op als XLSX",
        "cellen %(cells)s bevatten formules zonder berekende waarde; open de werkmap in Excel of "
        "LibreOffice, laat die herberekenen en sla hem opnieuw op als XLSX",
        len(cells),
    ) % {"cells": ", ".join(cells[:5]) + (" …" if len(cells) > 5 else "")}


def cell_text(cell: Cell) -> str:
    """Return a cell as text, writing whole numbers without `.0`."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat() if cell.time() == dt.time() else cell.isoformat()
    return str(cell).strip()


class HeaderMatch(NamedTuple):
    """The fields that a header row's texts match, with the clashes and open questions."""

    columns: dict[str, int]
    # (field, first header, second header) for two columns that read as one field.
    clashes: list[tuple[str, str, str]]
    # Headers such as "Relatie" that may be the customer number or the name,
    # where no other column settles which.
    undecided: list[str]


def map_headers(headers: list[str], fixed: dict[str, int] | None = None) -> HeaderMatch:
    """Match headers to fields, keeping the columns in `fixed` (field → index) as given.

    `fixed` comes from a mapping file: its columns are not guessed again, and
    its fields are not looked for in other columns.
    """
    columns = dict(fixed or {})
    fixed_indexes = set(columns.values())
    clashes: list[tuple[str, str, str]] = []
    ambiguous_total: list[int] = []
    name_or_number: list[int] = []
    name_or_contact: list[int] = []
    plain_dates: list[int] = []
    for index, header in enumerate(headers):
        if index in fixed_indexes:
            continue
        key = normalize_header(header)
        if key in AMBIGUOUS_TOTAL_HEADERS:
            ambiguous_total.append(index)
            continue
        if key in NAME_OR_NUMBER_HEADERS:
            name_or_number.append(index)
            continue
        if key in NAME_OR_CONTACT_HEADERS:
            name_or_contact.append(index)
            continue
        if key in DATE_OR_OTHER_HEADERS:
            plain_dates.append(index)
            continue
        field_name = HEADER_ALIASES.get(key)
        if field_name is None:
            continue
        if field_name in columns:
            if field_name not in (fixed or {}):
                clashes.append((field_name, headers[columns[field_name]], header))
            continue
        columns[field_name] = index

    if len(plain_dates) == 1 and "due_date" in columns and "issue_date" not in columns:
        columns["issue_date"] = plain_dates[0]

    for index in ambiguous_total:
        if "invoice_number" in columns and "total" not in columns:
            columns["total"] = index
        elif "invoice_number" not in columns:
            columns["invoice_number"] = index

    # A name-or-number header that the other columns settle is placed first,
    # so that "Contact" next to "Debiteurnummer;Debiteur" stays the contact person.
    undecided = [index for index in name_or_number if not _place_name_or_number(columns, index)]
    for index in name_or_contact:
        if "name" not in columns and "company_name" not in columns:
            columns["name"] = index
        elif "contact_person" not in columns:
            columns["contact_person"] = index
    undecided = [index for index in undecided if not _place_name_or_number(columns, index)]
    return HeaderMatch(columns, clashes, [headers[index] for index in undecided])


def _place_name_or_number(columns: dict[str, int], index: int) -> bool:
    """Give the column the customer number or the name, whichever the others leave open.

    Returns False when no other column gives either, so the headers do not tell.
    """
    if "customer_number" not in columns:
        if "name" not in columns and "company_name" not in columns:
            return False
        columns["customer_number"] = index
    elif "name" not in columns:
        columns["name"] = index
    return True


def find_header_row(rows: list[list[Cell]]) -> int | None:
    """Return the index of the first row that reads as invoice headers, or None.

    A header row names an invoice number column and at least one more known
    field (an amount or a due date), so a preamble line never qualifies.
    """
    for index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns = map_headers([cell_text(cell) for cell in cells]).columns
        if "invoice_number" in columns and {"open_amount", "total", "due_date"} & set(columns):
            return index
    return None


def peek_rows(path: Path, head: bytes) -> tuple[list[list[Cell]], str]:
    """Return the first rows of a CSV (from `head`) or XLSX file and how it was read."""
    if is_xlsx(head):
        table = _read_xlsx(path, None, HEADER_SEARCH_ROWS)
        return table.rows, table.description

    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableTable(_binary_file())
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, encoding = head[: len(head) // 2 * 2].decode("utf-16", errors="ignore"), "UTF-16"
        text = text[: text.rfind("\n") + 1] or text
    else:
        # Cut at the last line break, so a character split by the head limit is not read.
        complete = head[: head.rfind(b"\n") + 1] or head
        text, encoding = decode_text(complete)
    if text.lstrip().startswith("<"):
        raise UnreadableTable(_markup_file())
    rows, delimiter = read_csv_text(text, None)
    return rows[:HEADER_SEARCH_ROWS], _csv_description(encoding, delimiter)
