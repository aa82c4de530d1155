"""Importing invoices and debtors from CSV and XLSX exports.

Headers are recognised in Dutch and English (see `headers.py`); any other
layout needs a mapping file. A file may list one row per invoice or one row
per invoice line (as Zoho exports do): rows with the same invoice number are
one invoice, and their invoice-level values must agree.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from django.utils.translation import gettext, ngettext
from openpyxl.utils import get_column_letter

from betaalreis.imports import contacts
from betaalreis.imports.derived_numbers import derive_customer_number
from betaalreis.imports.headers import NAME_OR_CONTACT_HEADERS, bank_export_reason, field_label, normalize_header
from betaalreis.imports.records import DebtorData, ImportBatch, InvoiceData
from betaalreis.imports.registry import (
    Importer,
    ImportRejected,
    ImportReport,
    RowError,
    creditor_required,
    file_field,
    more_items,
)
from betaalreis.imports.report_labels import SKIP_REASONS
from betaalreis.imports.totals_rows import RowSums, is_totals_row
from betaalreis.imports.tables import (
    Cell,
    InvalidEncoding,
    Mapping,
    UnreadableTable,
    cell_text,
    find_header_row,
    formulas_without_value_problem,
    load_mapping,
    map_headers,
    peek_rows,
    read_table,
)
from betaalreis.imports.values import (
    COMMA,
    POINT,
    ValueProblem,
    amount_from_number,
    check_amount_shape,
    check_date_range,
    decide_decimal_separator,
    decimal_evidence,
    format_amount,
    parse_amount,
    parse_date,
)
from betaalreis.imports.writer import do_import
from betaalreis.ledger.models import ZERO, Creditor, DebtorKind
from betaalreis.ledger.match_keys import normalise_name

logger = logging.getLogger(__name__)

T = TypeVar("T")

AMOUNT_FIELDS = ("total", "open_amount")
REQUIRED_FIELDS = ("invoice_number", "customer_number", "due_date")

# Status values of invoices that were never sent or were cancelled: they
# are not claims, so they are skipped (and counted in the report).
_SKIPPED_STATUSES = {
    "draft": "draft", "concept": "draft",
    "void": "void", "voided": "void", "cancelled": "void", "canceled": "void",
    "geannuleerd": "void", "ongeldig": "void",
}
_MAX_CONFLICT_NOTES = 20


def _table_rows_as_text(rows: list[list[Cell]]) -> list[list[str]]:
    return [[cell_text(cell) for cell in row] for row in rows]


class TabularInvoiceImporter(Importer):
    """Invoices and debtors from CSV or XLSX exports of accounting packages."""

    format = "invoice table (CSV/XLSX)"
    lists_open_items = True

    @classmethod
    def detect(cls, path: Path, head: bytes) -> bool:
        try:
            rows, _ = peek_rows(path, head)
        except UnreadableTable:
            return False
        if bank_export_reason(_table_rows_as_text(rows)):
            return False
        return find_header_row(rows) is not None

    @classmethod
    def describe(cls, path: Path, head: bytes) -> str | None:
        try:
            rows, read_as = peek_rows(path, head)
        except InvalidEncoding as exc:
            # A mapping file cannot help here, so the generic "unknown format"
            # advice would mislead: state the byte and how to save the file.
            reason = str(exc)
            return f"{reason[:1].upper()}{reason[1:]}."
        except UnreadableTable:
            return None

        text_rows = _table_rows_as_text(rows)
        if find_header_row(rows) is not None:
            return None
        reason = bank_export_reason(text_rows)
        if reason:
            return gettext(
                "Het lijkt een export van een bankrekening (%(read_as)s; %(reason)s), geen lijst met "
                "facturen. Download het rekeningafschrift als camt.053 of MT940 en importeer dat "
                "bestand, zodat Betaalreis de betalingen aan facturen kan koppelen."
            ) % {"read_as": read_as, "reason": reason}

        headers = next((row for row in text_rows if sum(bool(cell) for cell in row) > 1), [])
        if not headers:
            return None
        header_list = ", ".join(repr(header) for header in headers[:12] if header)
        return gettext(
            "Het is een tabel (%(read_as)s) met de kolomkoppen %(headers)s, maar geen daarvan is te "
            "lezen als factuurnummer met een bedrag of vervaldatum. Noem de kolommen in een "
            "mappingbestand en geef --mapping FILE op (examples/mapping.toml laat de opbouw zien)."
        ) % {"read_as": read_as, "headers": header_list}

    def run(self, path: Path, creditor: Creditor | None, **options: object) -> ImportReport:
        if creditor is None:
            raise creditor_required(path)

        mapping_option = options.get("mapping")
        if isinstance(mapping_option, Path):
            mapping: Mapping | None = load_mapping(mapping_option)
        elif isinstance(mapping_option, Mapping):
            mapping = mapping_option
        else:
            mapping = None

        batch = read_invoice_table(path, mapping)
        return do_import(
            creditor,
            batch,
            path=path,
            dry_run=bool(options.get("dry_run")),
            open_items=bool(options.get("open_items")),
        )


def read_invoice_table(path: Path, mapping: Mapping | None = None) -> ImportBatch:
    """Read a CSV or XLSX invoice export into an `ImportBatch`, collecting every problem."""
    batch = ImportBatch(format=TabularInvoiceImporter.format)
    try:
        table = read_table(path, mapping)
    except UnreadableTable as exc:
        raise ImportRejected(path, [RowError(None, file_field(), path.name, str(exc))]) from exc

    if mapping is None or not mapping.columns:
        reason = bank_export_reason(_table_rows_as_text(table.rows[:30]))
        if reason:
            raise ImportRejected(path, [RowError(
                None, file_field(), path.name,
                gettext(
                    "dit is een export van een bankrekening (%(reason)s), geen lijst met facturen; "
                    "importeer in plaats daarvan het rekeningafschrift als camt.053 of MT940"
                ) % {"reason": reason},
            )])

    try:
        layout = _Layout.find(path, table.rows, mapping)
    except ImportRejected as exc:
        if not table.formulas_without_value:
            raise
        # A header cell may be one of those formulas, so name them along with the header problems.
        formulas = RowError(None, file_field(), path.name, formulas_without_value_problem(table))
        raise ImportRejected(path, [formulas, *exc.errors]) from exc

    batch.format = f"{gettext('facturentabel (CSV/XLSX)')}: {table.description}"
    batch.notes += layout.notes
    batch.field_names = {name: layout.header(name) for name in layout.columns}
    _read_rows(table.rows, layout, batch, table.formulas_without_value)
    logger.info("invoice table read", extra={"rows": batch.rows, "errors": len(batch.errors)})
    if batch.rows == 0:
        # A file with only a header row is almost always a failed or over-filtered export.
        raise ImportRejected(path, [RowError(
            None, file_field(), path.name,
            gettext(
                "het bestand heeft een kopregel maar geen rijen met facturen; controleer de export en "
                "importeer het bestand opnieuw"
            ),
        )])
    return batch


class _Layout:
    """The header row's position and which column contains which field."""

    def __init__(
        self, header_index: int, headers: list[str], columns: dict[str, int], mapping: Mapping
    ) -> None:
        self.header_index = header_index
        self.headers = headers
        self.columns = columns
        self.mapping = mapping
        self.notes: list[str] = []
        self.separators: dict[str, str | None] = {}
        # Amount columns whose values show both a decimal comma and a decimal point. A file
        # error names each one, so their rows report only values that are no amount at all.
        self.mixed_notation: set[str] = set()
        # Invoices whose invoice date cell is empty, so the due date was stored in its place.
        self.without_issue_date: list[str] = []
        # Whether rows without a customer number get one derived from the contact (a Moneybird export).
        self.derives_customer_numbers = _is_moneybird_layout(headers, columns)
        # The derived customer numbers, each with the contact name it came from.
        self.derived_customer_numbers: dict[str, str] = {}

    @classmethod
    def find(cls, path: Path, rows: list[list[Cell]], mapping: Mapping | None) -> _Layout:
        mapping = mapping or Mapping()
        header_index = cls._header_index(path, rows, mapping)
        headers = [cell_text(cell) for cell in rows[header_index]]
        errors: list[RowError] = []
        header_list = ", ".join(repr(header) for header in headers if header)

        by_key = {normalize_header(header): index for index, header in enumerate(headers)}
        mapped: dict[str, int] = {}
        for field_name, header in mapping.columns.items():
            index = by_key.get(normalize_header(header))
            if index is None:
                errors.append(RowError(
                    header_index + 1, field_label(field_name), header,
                    gettext(
                        "%(field)s = %(header)r in %(mapping)s: de kopregel heeft geen kolom met die "
                        "naam; verbeter de naam in het mappingbestand. De kolomkoppen zijn %(headers)s"
                    ) % {
                        "field": field_name, "header": header,
                        "mapping": _mapping_name(mapping), "headers": header_list,
                    },
                ))
                continue
            mapped[field_name] = index

        columns, clashes, undecided = map_headers(headers, mapped)
        for field_name, first, second in clashes:
            errors.append(RowError(
                header_index + 1, field_label(field_name), second,
                gettext(
                    "zowel %(first)r als %(second)r wordt gelezen als dit veld; noem de juiste kolom "
                    "in een mappingbestand (--mapping), bijvoorbeeld %(field)s = \"%(first)s\""
                ) % {"first": first, "second": second, "field": field_name},
            ))
        for header in undecided:
            errors.append(RowError(
                header_index + 1, field_label("customer_number"), header,
                gettext(
                    "%(header)r kan het debiteurnummer of de naam zijn, en geen andere kolom maakt "
                    "duidelijk welke van de twee; noem de kolom in een mappingbestand (--mapping): "
                    "customer_number = \"%(header)s\" of name = \"%(header)s\""
                ) % {"header": header},
            ))

        missing = [name for name in REQUIRED_FIELDS if name not in columns]
        if undecided or _is_moneybird_layout(headers, columns):
            missing = [name for name in missing if name != "customer_number"]
        if not {"open_amount", "total"} & set(columns):
            missing.append("open_amount")
        for field_name in missing:
            name_column = columns.get("name", columns.get("company_name"))
            if field_name == "customer_number" and name_column is not None:
                # A name, or a name with an email address, is no debtor key: it changes,
                # and two customers can share it, so invoices would move between debtors.
                problem = _name_only_problem(headers[name_column]) % {
                    "header": headers[name_column], "headers": header_list,
                }
            else:
                problem = gettext(
                    "het bestand heeft geen kolom voor dit veld; voeg de kolom toe of noem hem in een "
                    "mappingbestand (--mapping). De kolomkoppen zijn %(headers)s"
                ) % {"headers": header_list}
            errors.append(RowError(header_index + 1, field_label(field_name), "", problem))
        if errors:
            raise ImportRejected(path, errors, gettext("De kopregel past niet bij een lijst met facturen."))

        layout = cls(header_index, headers, columns, mapping)
        layout._note_unused_columns()
        return layout

    @staticmethod
    def _header_index(path: Path, rows: list[list[Cell]], mapping: Mapping) -> int:
        if mapping.header_row is not None:
            if mapping.header_row > len(rows):
                raise ImportRejected(path, [RowError(
                    None, "header_row", str(mapping.header_row),
                    ngettext(
                        "het bestand heeft maar %(count)d rij; verbeter header_row in het mappingbestand",
                        "het bestand heeft maar %(count)d rijen; verbeter header_row in het mappingbestand",
                        len(rows),
                    ) % {"count": len(rows)},
                )])
            return mapping.header_row - 1
        if mapping.columns:
            index = _row_with_most_mapped_headers(rows[:30], mapping)
            if index is not None:
                return index
        index = find_header_row(rows)
        if index is None and mapping.columns:
            raise ImportRejected(path, [RowError(
                None, gettext("kopregel"), "",
                gettext(
                    "geen van de eerste 30 rijen bevat een kolomkop uit %(mapping)s (%(headers)s); "
                    "verbeter de namen in [columns], of geef de rij met kolomkoppen op met header_row"
                ) % {"mapping": _mapping_name(mapping), "headers": _mapped_header_list(mapping)},
            )])
        if index is None:
            raise ImportRejected(path, [RowError(
                None, gettext("kopregel"), "",
                gettext(
                    "geen van de eerste 30 rijen noemt een factuurnummer en een bedrag of vervaldatum; "
                    "noem de kolommen in een mappingbestand (--mapping)"
                ),
            )])
        return index

    def _note_unused_columns(self) -> None:
        used = set(self.columns.values())
        unused = [header for index, header in enumerate(self.headers) if header and index not in used]
        if unused:
            header_list = ", ".join(repr(header) for header in unused[:15])
            if len(unused) > 15:
                header_list = more_items(header_list, len(unused) - 15)
            self.notes.append(gettext("Niet gebruikte kolommen: %(headers)s.") % {"headers": header_list})
        if "issue_date" not in self.columns:
            self.notes.append(gettext(
                "Geen kolom factuurdatum: de facturen krijgen geen factuurdatum, en brieven en het "
                "portaal laten die weg. Voeg de kolom toe, of noem hem in een mappingbestand "
                "(issue_date = \"...\")."
            ))
        if "total" not in self.columns:
            self.notes.append(gettext("Geen kolom totaal: het openstaand bedrag geldt als factuurtotaal."))
        if "open_amount" not in self.columns:
            self.notes.append(gettext("Geen kolom openstaand bedrag: elke factuur geldt als geheel onbetaald."))

    def header(self, field_name: str) -> str:
        """Return the file's header of a field, or the field's name when the file has no such column."""
        if field_name not in self.columns:
            return field_label(field_name)
        return self.headers[self.columns[field_name]] or field_label(field_name)


def _row_with_most_mapped_headers(rows: list[list[Cell]], mapping: Mapping) -> int | None:
    """Return the index of the row with the most of the mapping's headers, or None when no row has one.

    The first such row wins a tie. A row that lacks some of the headers is still
    the header row, so that the error names the mapping entries it lacks.
    """
    expected_headers = {normalize_header(header) for header in mapping.columns.values()}
    best_index, best_count = None, 0
    for index, cells in enumerate(rows):
        count = len(expected_headers & {normalize_header(cell_text(cell)) for cell in cells})
        if count > best_count:
            best_index, best_count = index, count
    return best_index


def _mapping_name(mapping: Mapping) -> str:
    """Return the mapping file's name for a message, or a generic label for a mapping built in code."""
    return mapping.path.name if mapping.path is not None else gettext("het mappingbestand")


def _mapped_header_list(mapping: Mapping) -> str:
    return ", ".join(f"{field_name} = {header!r}" for field_name, header in mapping.columns.items())


def _is_moneybird_layout(headers: list[str], columns: dict[str, int]) -> bool:
    """Return whether the customer's name is under "Contact", as Moneybird writes it."""
    name_column = columns.get("name")
    return name_column is not None and normalize_header(headers[name_column]) in NAME_OR_CONTACT_HEADERS


def _name_only_problem(name_header: str) -> str:
    """Return the problem text of a file that names its customers without a customer number, with placeholders.

    A Moneybird export never gets here, because its rows get a derived
    customer number (`betaalreis.imports.derived_numbers`).
    """
    return gettext(
        "het bestand noemt de klant alleen bij naam (%(header)r). Betaalreis houdt per debiteurnummer één "
        "debiteur bij, omdat een naam of e-mailadres kan veranderen en twee klanten dezelfde naam kunnen "
        "hebben. Voeg een kolom 'Klantnummer' toe met het nummer van elke klant in uw boekhouding, of noem "
        "de kolom met dat nummer in een mappingbestand (--mapping). De kolomkoppen zijn %(headers)s"
    )


class _Row:
    """One data row: reads its cells by field and collects its problems."""

    def __init__(
        self,
        number: int,
        cells: list[Cell],
        layout: _Layout,
        errors: list[RowError],
        formulas: dict[int, str] | None = None,
    ) -> None:
        self.number = number
        self.cells = cells
        self.layout = layout
        self.errors = errors
        # The row's XLSX formulas without a stored result, by column index (see `Table.formulas_without_value`).
        self.formulas = formulas or {}
        # Fields whose cell was reported as such a formula. Their other errors
        # (such as "missing") are left out, because the cell only reads as empty.
        self.formula_fields: set[str] = set()

    def report_formulas(self) -> None:
        """Record an error for each field whose cell is a formula without a stored result."""
        for field_name, index in self.layout.columns.items():
            formula = self.formulas.get(index)
            if formula is None:
                continue
            self.error(field_name, formula, gettext(
                "cel %(cell)s bevat een formule zonder berekende waarde; open het bestand in Excel of "
                "LibreOffice, laat het herberekenen en sla het opnieuw op als XLSX, of exporteer de "
                "waarden in plaats van de formules"
            ) % {"cell": f"{get_column_letter(index + 1)}{self.number}"})
            self.formula_fields.add(field_name)

    def cell(self, field_name: str) -> Cell:
        index = self.layout.columns.get(field_name)
        if index is None or index >= len(self.cells):
            return None
        return self.cells[index]

    def text(self, field_name: str) -> str:
        return cell_text(self.cell(field_name))

    def customer_number(self) -> str:
        """Return the row's customer number, derived from the contact in a Moneybird export without one."""
        from_file = self.text("customer_number")
        if from_file or not self.layout.derives_customer_numbers:
            return from_file

        name = self.text("name")
        derived = derive_customer_number(
            self.text("contact_id"), name, self.text("street"), self.text("postal_code"), self.text("city"),
        )
        if derived:
            self.layout.derived_customer_numbers.setdefault(derived, name)
        return derived

    def error(self, field_name: str, value: str, problem: str) -> None:
        if field_name in self.formula_fields:
            return
        self.errors.append(RowError(self.number, self.layout.header(field_name), value, problem))

    def parse(self, field_name: str, parser: Callable[[str], T]) -> T | None:
        raw = self.text(field_name)
        if not raw:
            return None
        try:
            return parser(raw)
        except ValueProblem as exc:
            self.error(field_name, raw, str(exc))
            return None

    def limited_text(self, field_name: str) -> str:
        """Return the cell's text, or record an error and return "" when the ledger cannot store it whole."""
        return self.parse(field_name, lambda raw: contacts.check_text_length(field_name, raw)) or ""

    def required(self, field_name: str, problem: str) -> bool:
        if field_name in self.layout.columns and not self.text(field_name):
            self.error(field_name, "", problem)
            return False
        return True

    def amount(self, field_name: str) -> Decimal | None:
        cell = self.cell(field_name)
        raw = cell_text(cell)
        if not raw:
            return None
        try:
            if isinstance(cell, (int, float)) and not isinstance(cell, bool):
                return amount_from_number(cell)
            if field_name in self.layout.mixed_notation:
                return _amount_in_own_notation(raw)
            return parse_amount(raw, self.layout.separators.get(field_name))
        except ValueProblem as exc:
            self.error(field_name, raw, str(exc))
            return None

    def date(self, field_name: str) -> dt.date | None:
        cell = self.cell(field_name)
        if isinstance(cell, dt.date):
            day = cell.date() if isinstance(cell, dt.datetime) else cell
            try:
                return check_date_range(day)
            except ValueProblem as exc:
                self.error(field_name, cell_text(cell), str(exc))
                return None
        if isinstance(cell, (int, float)):
            self.error(
                field_name, cell_text(cell), gettext("een getal, geen datum; geef de kolom de opmaak datum")
            )
            return None
        return self.parse(field_name, lambda raw: parse_date(raw, self.layout.mapping.date_format))


def _amount_in_own_notation(raw: str) -> Decimal | None:
    """Parse a cell of a mixed-notation column by the decimal separator that the cell shows.

    The file is rejected for the mixed column anyway. These amounts only let
    the checks that compare amounts (open above total, the sign, the rows of
    one invoice) run in the same import. A cell that shows no separator but
    contains one, such as 1.234, returns None without an error, because only
    the column's notation could settle it. Text that is no amount in any
    notation raises ValueProblem.
    """
    check_amount_shape(raw)
    separator = decimal_evidence(raw)
    if separator is None and (COMMA in raw or POINT in raw):
        return None
    return parse_amount(raw, separator)


def _decide_separators(rows: list[list[Cell]], layout: _Layout, batch: ImportBatch) -> None:
    for field_name in AMOUNT_FIELDS:
        if field_name not in layout.columns:
            continue
        if layout.mapping.decimal_separator:
            layout.separators[field_name] = layout.mapping.decimal_separator
            continue
        index = layout.columns[field_name]
        texts = [row[index] for row in rows if index < len(row) and isinstance(row[index], str)]
        try:
            layout.separators[field_name] = decide_decimal_separator(texts)
        except ValueProblem as exc:
            batch.errors.append(RowError(None, layout.header(field_name), "", str(exc)))
            layout.mixed_notation.add(field_name)


_SLASH_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/\d{4}\b")


def _note_day_first_dates(rows: list[list[Cell]], layout: _Layout, batch: ImportBatch) -> None:
    """Add a note when every slash date of the file could also be read month first.

    Dutch files write 12/01/2026 for 12 January, American ones for
    1 December. A single date with a day above 12 settles the order, so the
    note only appears when no date in the file does.
    """
    if layout.mapping.date_format:
        return

    example = ""
    for field_name in ("issue_date", "due_date"):
        index = layout.columns.get(field_name)
        if index is None:
            continue
        for row in rows:
            cell = row[index] if index < len(row) else None
            match = _SLASH_DATE.match(cell) if isinstance(cell, str) else None
            if match is None:
                continue
            day, month = int(match.group(1)), int(match.group(2))
            if day > 12:
                return
            if not example and day != month and month <= 12:
                example = cell.strip()
    if example:
        batch.notes.append(gettext(
            "Datums zoals %(example)s zijn gelezen met de dag vooraan (dd/mm/jjjj). Schrijft het "
            "bestand de maand vooraan, zet dan date_format = \"%%m/%%d/%%Y\" onder [format] in een "
            "mappingbestand (zie examples/mapping.toml) en importeer het opnieuw."
        ) % {"example": example})


def _read_rows(
    rows: list[list[Cell]], layout: _Layout, batch: ImportBatch, formulas: dict[int, dict[int, str]]
) -> None:
    data_rows = rows[layout.header_index + 1 :]
    used_columns = set(layout.columns.values())
    _decide_separators(data_rows, layout, batch)
    _note_day_first_dates(data_rows, layout, batch)
    invoices: dict[str, InvoiceData] = {}
    skipped: dict[str, dict[str, InvoiceData]] = {}
    first_rows: dict[str, tuple[int, tuple[object, ...]]] = {}
    conflicts: dict[tuple[str, str], list[int]] = {}
    # The first row of each invoice number, and for a number on several rows
    # each distinct row's cell texts, to find exact copies among them.
    first_cells: dict[str, tuple[int, list[Cell]]] = {}
    texts_by_invoice: dict[str, dict[tuple[str, ...], int]] = {}
    copied_rows: list[tuple[int, int]] = []
    skip_reasons: dict[str, tuple[int, str | None]] = {}
    sums = RowSums()
    last_row: _Row | None = None
    totals_row: _Row | None = None

    for offset, cells in enumerate(data_rows):
        number = layout.header_index + offset + 2
        # A formula in a column the import does not read cannot matter, so only read columns count.
        row_formulas = {
            index: formula for index, formula in formulas.get(number - 1, {}).items() if index in used_columns
        }
        if not row_formulas and not any(cell_text(cell) for cell in cells):
            continue
        batch.rows += 1
        row = last_row = _Row(number, cells, layout, batch.errors, row_formulas)

        invoice_number = row.parse("invoice_number", contacts.check_number_length) or ""
        if is_totals_row(cells, row.text("invoice_number"), row.text("customer_number")):
            # A totals row is not imported, so its formulas without a result
            # only leave its sums unchecked (see `_check_totals_row`).
            totals_row = row
            continue
        row.report_formulas()
        if not invoice_number:
            if not row.text("invoice_number"):
                row.error("invoice_number", "", gettext("ontbreekt; vul op elke rij een factuurnummer in"))
            continue

        original = _record_row_and_find_original(invoice_number, number, cells, first_cells, texts_by_invoice)
        if original is not None:
            copied_rows.append((number, original))

        # Skipped invoices are still read and checked, so the report can
        # show what was left out and a broken row is not hidden.
        skip_reason = _SKIPPED_STATUSES.get(normalize_header(row.text("status")))
        first_row, first_reason = skip_reasons.setdefault(invoice_number, (number, skip_reason))
        if first_reason != skip_reason:
            row.error(
                "status", row.text("status"),
                gettext(
                    "factuur %(number)s heeft op rij %(row)d een andere status; de rijen van één "
                    "factuur moeten overeenkomen, dus verbeter de status"
                ) % {"number": invoice_number, "row": first_row},
            )
            continue
        if skip_reason:
            invoice = _read_invoice(row, invoice_number)
            if invoice is not None:
                sums.add(invoice)
                _merge_invoice(row, invoice, skipped.setdefault(skip_reason, {}), first_rows)
            continue

        errors_before = len(batch.errors)
        debtor = _read_debtor(row)
        invoice = _read_invoice(row, invoice_number)
        # A row whose invoice has errors still gives its debtor, so the
        # customer number checks across rows (names, leading zeros) report
        # in this import too. The file is rejected then, so nothing is saved.
        if debtor is not None and (invoice is not None or len(batch.errors) > errors_before):
            _merge_debtor(batch, debtor, conflicts)
        if debtor is None or invoice is None:
            continue
        sums.add(invoice)
        _merge_invoice(row, invoice, invoices, first_rows)

    batch.invoices = list(invoices.values())
    batch.skipped = {reason: list(found.values()) for reason, found in skipped.items()}
    if totals_row is not None:
        _check_totals_row(totals_row, totals_row is last_row, sums, batch)
    _note_debtor_conflicts(batch, layout, conflicts)
    _note_copied_rows(batch, copied_rows)
    _note_missing_issue_dates(batch, layout)
    _note_derived_customer_numbers(batch, layout)
    for reason, skipped_invoices in batch.skipped.items():
        numbers = [invoice.number for invoice in skipped_invoices]
        number_list = ", ".join(numbers[:10])
        if len(numbers) > 10:
            number_list = more_items(number_list, len(numbers) - 10)
        batch.notes.append(ngettext(
            "%(count)d factuur met status %(reason)s overgeslagen (%(numbers)s): die is nooit "
            "verstuurd of is geannuleerd, dus het is geen vordering.",
            "%(count)d facturen met status %(reason)s overgeslagen (%(numbers)s): die zijn nooit "
            "verstuurd of zijn geannuleerd, dus het zijn geen vorderingen.",
            len(numbers),
        ) % {"count": len(numbers), "reason": SKIP_REASONS.get(reason, reason), "numbers": number_list})


def _note_derived_customer_numbers(batch: ImportBatch, layout: _Layout) -> None:
    """Tell the reader which contacts got a derived customer number, and what keeps that number stable."""
    derived = layout.derived_customer_numbers
    if not derived:
        return
    examples = ", ".join(f"{name or '-'} = {number}" for number, name in list(derived.items())[:10])
    if len(derived) > 10:
        examples = more_items(examples, len(derived) - 10)
    if "contact_id" in layout.columns:
        source = gettext("de contact-id van Moneybird, of naam en adres als die leeg is")
    else:
        source = gettext("de naam en het adres van het contact")
    batch.notes.append(ngettext(
        "%(count)d contact zonder klantnummer kreeg een debiteurnummer afgeleid uit %(source)s: %(examples)s. "
        "Een volgende import geeft hetzelfde nummer zolang dat gelijk blijft. Verandert het, dan wordt het "
        "contact een nieuwe debiteur, en twee contacten met dezelfde naam en hetzelfde adres worden één "
        "debiteur. Voeg de kolom 'Klantnummer' toe aan de export om dat te voorkomen.",
        "%(count)d contacten zonder klantnummer kregen een debiteurnummer afgeleid uit %(source)s: %(examples)s. "
        "Een volgende import geeft hetzelfde nummer zolang dat gelijk blijft. Verandert het, dan wordt het "
        "contact een nieuwe debiteur, en twee contacten met dezelfde naam en hetzelfde adres worden één "
        "debiteur. Voeg de kolom 'Klantnummer' toe aan de export om dat te voorkomen.",
        len(derived),
    ) % {"count": len(derived), "source": source, "examples": examples})


def _record_row_and_find_original(
    invoice_number: str,
    number: int,
    cells: list[Cell],
    first_cells: dict[str, tuple[int, list[Cell]]],
    texts_by_invoice: dict[str, dict[tuple[str, ...], int]],
) -> int | None:
    """Record row `number` and return the earlier row whose cells read the same, or None.

    Cell texts are compared only for invoice numbers on more than one row,
    so a file with one row per invoice costs one dictionary lookup a row.
    """
    first = first_cells.setdefault(invoice_number, (number, cells))
    if first[0] == number:
        return None
    seen = texts_by_invoice.get(invoice_number)
    if seen is None:
        seen = texts_by_invoice[invoice_number] = {_cell_texts(first[1]): first[0]}
    texts = _cell_texts(cells)
    original = seen.get(texts)
    if original is None:
        seen[texts] = number
    return original


def _cell_texts(cells: list[Cell]) -> tuple[str, ...]:
    """Return the cells as text, without trailing empty cells, which some exports leave out."""
    texts = [cell_text(cell) for cell in cells]
    while texts and not texts[-1]:
        texts.pop()
    return tuple(texts)


def _note_copied_rows(batch: ImportBatch, copied_rows: list[tuple[int, int]]) -> None:
    """Name the rows that repeat an earlier row cell for cell.

    Such a row adds nothing: it has the invoice number and amounts of the
    earlier row, so the invoice is imported once. The note names both rows,
    because an export that repeats a row may also have left one out.
    """
    if not copied_rows:
        return
    pairs = ", ".join(
        gettext("rij %(row)d is gelijk aan rij %(original)d") % {"row": row, "original": original}
        for row, original in copied_rows[:_MAX_CONFLICT_NOTES]
    )
    if len(copied_rows) > _MAX_CONFLICT_NOTES:
        pairs = more_items(pairs, len(copied_rows) - _MAX_CONFLICT_NOTES)
    batch.notes.append(ngettext(
        "%(count)d rij is een exacte kopie van een eerdere rij en is één keer geïmporteerd: %(pairs)s.",
        "%(count)d rijen zijn een exacte kopie van een eerdere rij en zijn één keer geïmporteerd: %(pairs)s.",
        len(copied_rows),
    ) % {"count": len(copied_rows), "pairs": pairs})


def _note_missing_issue_dates(batch: ImportBatch, layout: _Layout) -> None:
    numbers = layout.without_issue_date
    if not numbers:
        return
    number_list = ", ".join(numbers[:10])
    if len(numbers) > 10:
        number_list = more_items(number_list, len(numbers) - 10)
    batch.notes.append(ngettext(
        "%(count)d factuur zonder factuurdatum (%(numbers)s): brieven en het portaal laten de "
        "factuurdatum weg. Vul de factuurdatum in en importeer het bestand opnieuw.",
        "%(count)d facturen zonder factuurdatum (%(numbers)s): brieven en het portaal laten de "
        "factuurdatum weg. Vul de factuurdatum in en importeer het bestand opnieuw.",
        len(numbers),
    ) % {"count": len(numbers), "numbers": number_list})


def _check_totals_row(row: _Row, is_last: bool, sums: RowSums, batch: ImportBatch) -> None:
    """Note the skipped totals row, and when it closes the file, compare its sums with the rows.

    Only the last totals row is compared: earlier ones are subtotals of a
    part of the file. The comparison is left out when rows have errors,
    because their amounts are not in the sums, or when the file mixes
    currencies, because their sum means nothing.
    """
    note = gettext("Rij %(row)d is een totaalregel en is niet geïmporteerd.") % {"row": row.number}
    stated = {
        field_name: amount
        for field_name in AMOUNT_FIELDS
        if field_name in row.layout.columns and (amount := row.amount(field_name)) is not None
    }
    if not is_last or not stated or batch.errors:
        batch.notes.append(note)
        return
    if len(sums.currencies) > 1:
        unchecked = gettext("De sommen zijn niet gecontroleerd, omdat de rijen verschillende valuta hebben.")
        batch.notes.append(f"{note} {unchecked}")
        return

    invoices = batch.invoices + [invoice for found in batch.skipped.values() for invoice in found]
    for field_name, amount in stated.items():
        if not sums.matches(field_name, amount, invoices):
            row.error(
                field_name, row.text(field_name),
                gettext(
                    "de totaalregel geeft %(stated)s, maar de rijen erboven tellen op tot %(sum)s; een "
                    "rij is verkeerd gelezen of ontbreekt, dus controleer de bedragen en het "
                    "decimaalteken van elke rij"
                ) % {"stated": format_amount(amount), "sum": format_amount(sums.by_row[field_name])},
            )
    if not batch.errors:
        checked = ", ".join(f"{row.layout.header(name)} {format_amount(amount)}" for name, amount in stated.items())
        equal = gettext("De sommen (%(checked)s) zijn gelijk aan de rijen erboven.") % {"checked": checked}
        batch.notes.append(f"{note} {equal}")


def _read_debtor(row: _Row) -> DebtorData | None:
    errors_before = len(row.errors)
    customer_number = row.customer_number()
    if not customer_number:
        row.error("customer_number", "", gettext("ontbreekt; vul bij elke factuur het debiteurnummer in"))
        return None
    try:
        contacts.check_number_length(customer_number)
    except ValueProblem as exc:
        row.error("customer_number", customer_number, str(exc))
        return None

    debtor = DebtorData(customer_number=customer_number, row=row.number)
    country = row.parse("country", contacts.parse_country) or row.layout.mapping.defaults.get("country", "")
    debtor.country = country

    company = row.limited_text("company_name")
    person = row.limited_text("name")
    debtor.name = company or person
    contact = row.limited_text("contact_person") or (person if company and person != company else "")
    debtor.contact_person = contact

    emails = row.parse("email", contacts.parse_emails) or []
    debtor.email = emails[0] if emails else ""
    debtor.extra_emails = emails[1:]
    debtor.mobile = row.parse("mobile", lambda raw: contacts.parse_phone(raw, country, mobile=True)) or ""
    phone = row.parse("phone", lambda raw: contacts.parse_phone(raw, country, mobile=False)) or ""
    debtor.phone = phone
    if phone and not debtor.mobile and contacts.is_mobile(phone):
        debtor.mobile = phone

    debtor.street = row.limited_text("street")
    debtor.postal_code = row.parse("postal_code", lambda raw: contacts.parse_postal_code(raw, country)) or ""
    debtor.city = row.limited_text("city")
    debtor.language = (
        row.parse("language", contacts.parse_language)
        or row.layout.mapping.defaults.get("language", "")
    )
    debtor.kvk_number = row.parse("kvk_number", contacts.parse_kvk_number) or ""
    debtor.vat_id = row.parse("vat_id", contacts.parse_vat_id) or ""
    debtor.electronic_agreement = row.parse("electronic_agreement", contacts.parse_yes_no)
    iban = row.parse("iban", contacts.parse_iban)
    debtor.ibans = [iban] if iban else []

    kind = row.parse("kind", contacts.parse_kind) or row.layout.mapping.defaults.get("kind", "")
    if not kind and (company or debtor.kvk_number or debtor.vat_id):
        kind = DebtorKind.BUSINESS
    if not kind:
        debtor.legal_form = contacts.legal_form(debtor.name)
        kind = DebtorKind.BUSINESS if debtor.legal_form else ""
    debtor.kind = kind

    return debtor if len(row.errors) == errors_before else None


def _check_open_against_total(row: _Row, total: Decimal, open_amount: Decimal) -> None:
    """Record an error when the open amount has the other sign than the total or exceeds it."""
    # These checks can fail only when the file has both amount columns, so
    # the error shows the open amount cell as written (250,00-, not -250.00).
    if total < ZERO < open_amount or open_amount < ZERO < total:
        row.error(
            "open_amount", row.text("open_amount"),
            gettext(
                "heeft een ander teken dan het totaalbedrag %(total)s; bij een creditnota zijn beide "
                "negatief, bij een factuur beide positief, dus verbeter het teken"
            ) % {"total": format_amount(total)},
        )
    elif abs(open_amount) > abs(total):
        row.error(
            "open_amount", row.text("open_amount"),
            gettext(
                "is hoger dan het totaalbedrag %(total)s van de factuur; controleer of de kolommen "
                "niet verwisseld zijn"
            ) % {"total": format_amount(total)},
        )


def _read_invoice(row: _Row, number: str) -> InvoiceData | None:
    errors_before = len(row.errors)
    row.required("due_date", gettext("ontbreekt; vul de vervaldatum in als dd-mm-jjjj"))
    row.required("open_amount", gettext("ontbreekt; vul 0 in voor een betaalde factuur"))
    row.required("total", gettext("ontbreekt; vul het totaalbedrag van de factuur in"))
    due_date = row.date("due_date")
    issue_date = row.date("issue_date")
    if issue_date is None and not row.text("issue_date"):
        if "issue_date" in row.layout.columns and number not in row.layout.without_issue_date:
            row.layout.without_issue_date.append(number)
    open_amount = row.amount("open_amount")
    total = row.amount("total")
    currency = (
        row.parse("currency", contacts.parse_currency)
        or row.layout.mapping.defaults.get("currency", "EUR")
    )
    payment_reference = row.parse("payment_reference", contacts.parse_payment_reference) or ""
    total = total if total is not None else open_amount
    open_amount = open_amount if open_amount is not None else total
    # The amounts are compared even when another cell of the row has an
    # error, so that one import reports every problem of the row.
    if total is not None and open_amount is not None:
        _check_open_against_total(row, total, open_amount)
    if len(row.errors) > errors_before or due_date is None or total is None or open_amount is None:
        return None

    return InvoiceData(
        number=number,
        row=row.number,
        customer_number=row.customer_number(),
        issue_date=issue_date,
        due_date=due_date,
        total=total,
        open_amount=open_amount,
        currency=currency,
        is_credit_note=total < ZERO,
        payment_reference=payment_reference,
        description=row.limited_text("description"),
        corrects_number=row.text("corrects_number"),
    )


def _merge_invoice(
    row: _Row,
    invoice: InvoiceData,
    invoices: dict[str, InvoiceData],
    first_rows: dict[str, tuple[int, tuple[object, ...]]],
) -> None:
    """Keep the first row of each invoice; later rows (invoice lines) must agree with it."""
    key = (invoice.customer_number, invoice.issue_date, invoice.due_date, invoice.total,
           invoice.open_amount, invoice.currency)
    first = first_rows.get(invoice.number)
    if first is None:
        invoices[invoice.number] = invoice
        first_rows[invoice.number] = (row.number, key)
        return

    first_row, first_key = first
    if key != first_key:
        names = ("customer_number", "issue_date", "due_date", "total", "open_amount", "currency")
        differing_names = [name for name, a, b in zip(names, key, first_key) if a != b]
        # A field without a column (no total, no invoice date) copies another, so only that one is named.
        in_file = [name for name in differing_names if name in row.layout.columns] or differing_names
        differing = [row.layout.header(name) for name in in_file]
        row.error(
            "invoice_number", invoice.number,
            gettext(
                "staat ook op rij %(row)d, met een andere waarde voor %(fields)s; de rijen van één "
                "factuur moeten overeenkomen, dus verbeter de rij of geef die een eigen factuurnummer"
            ) % {"row": first_row, "fields": ", ".join(repr(label) for label in differing)},
        )
        return
    if not invoices[invoice.number].description and invoice.description:
        invoices[invoice.number].description = invoice.description


def _merge_debtor(
    batch: ImportBatch, debtor: DebtorData, conflicts: dict[tuple[str, str], list[int]]
) -> None:
    """Combine rows of one debtor; a later non-empty value wins and the clash is noted.

    Rows that give one customer number two different names are an error,
    because they may be two people, and merging them would send one
    person's invoices to the other.
    """
    known = batch.debtors.get(debtor.customer_number)
    if known is None:
        batch.debtors[debtor.customer_number] = debtor
        return

    if known.name and debtor.name and normalise_name(known.name) != normalise_name(debtor.name):
        batch.errors.append(RowError(debtor.row, batch.field_name("customer_number"), debtor.customer_number, gettext(
            "staat ook op rij %(row)s, maar met een andere naam (%(name)r op rij %(row)s, %(other_name)r "
            "hier). Eén debiteurnummer is één debiteur: verbeter het nummer of de naam"
        ) % {"row": known.row, "name": known.name, "other_name": debtor.name}))
        return

    for name, value in debtor.given_values().items():
        previous = getattr(known, name)
        if previous and previous != value:
            rows = conflicts.setdefault((debtor.customer_number, name), [known.row or 0])
            rows.append(debtor.row or 0)
        setattr(known, name, value)
    if debtor.kind:
        known.legal_form = debtor.legal_form
    for iban in debtor.ibans:
        if iban not in known.ibans:
            known.ibans.append(iban)


def _note_debtor_conflicts(
    batch: ImportBatch, layout: _Layout, conflicts: dict[tuple[str, str], list[int]]
) -> None:
    for (customer_number, name), rows in list(conflicts.items())[:_MAX_CONFLICT_NOTES]:
        value = getattr(batch.debtors[customer_number], name)
        row_list = ", ".join(str(number) for number in sorted(set(rows)))
        # The second and later addresses of an email cell are stored apart, as extra_emails.
        header = layout.header("email" if name == "extra_emails" else name)
        batch.notes.append(gettext(
            "Debiteur %(number)s: de rijen %(rows)s geven verschillende waarden voor %(field)r; "
            "%(value)r van de laatste rij is opgeslagen."
        ) % {"number": customer_number, "rows": row_list, "field": header, "value": value})
    if len(conflicts) > _MAX_CONFLICT_NOTES:
        more = len(conflicts) - _MAX_CONFLICT_NOTES
        batch.notes.append(ngettext(
            "… en nog %(count)d debiteurveld met verschillende waarden.",
            "… en nog %(count)d debiteurvelden met verschillende waarden.",
            more,
        ) % {"count": more})
