"""Inserting many rows of one model from plain dicts, and filtering by many ids.

On PostgreSQL the rows go in with one `COPY ... FROM STDIN` per table, with
no model instance per row. When the caller needs the ids, they come from the
table's sequence first, because COPY cannot return them. On SQLite the rows
go in with one `executemany` of a plain INSERT, also without a model
instance or a compiled query per row, which took most of the time of
`bulk_create` in profiles.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from functools import partial
from operator import itemgetter
from typing import Any, TypeVar, overload

from django.db import connection, models, transaction
from django.db.models.expressions import RawSQL

from betaalreis.banking.bulk import adapt_each_value_once, postgres_array_literal

ModelT = TypeVar("ModelT", bound=models.Model)


def insert_rows(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert `rows` (field attnames to values) and return their new ids, in row order.

    A field missing from a row gets its model default, as `Model(**row)` would.
    Like `bulk_create`, this calls no `save()` and sends no signals.
    """
    if model._meta.auto_field is None:
        raise ValueError(f"{model.__name__} has no auto-incremented key, so use insert_rows_without_ids")
    if not rows:
        return []
    if connection.vendor == "postgresql":
        return _copy_rows(model, rows, with_ids=True)
    return _execute_many(model, rows)


def insert_rows_without_ids(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` as `insert_rows` does, for callers that need no ids.

    On PostgreSQL the database then numbers the rows itself, which saves
    fetching one sequence value per row first.
    """
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy_rows(model, rows, with_ids=False)
    else:
        _execute_many(model, rows)


def insert_values(model: type[models.Model], attnames: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert `rows` of values for the fields `attnames`, in that order, without ids.

    Faster than `insert_rows_without_ids` for many narrow rows, because it
    neither fills defaults nor converts values. So every other column must
    have a database default or allow NULL, and each value must be one the
    driver takes as it is: int, str, bool, Decimal, date or None.

    `rows` may be a generator. PostgreSQL's COPY then takes each row as the
    generator builds it, so the server stores the first rows while Python
    builds the next ones.
    """
    if isinstance(rows, Sized) and not rows:
        return
    table, column_names = _table_and_columns(model, attnames)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({column_names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(attnames))
            cursor.executemany(f"INSERT INTO {table} ({column_names}) VALUES ({placeholders})", list(rows))


def copy_text(model: type[models.Model], attnames: Sequence[str], chunks: Iterable[str]) -> None:
    """Copy rows in PostgreSQL's COPY text format into the fields `attnames`, on PostgreSQL only.

    Each chunk contains whole lines: values separated by tabs, each line
    ended by a newline, and text values escaped with `copy_text_value`. For
    rows that share most of their values, joining the lines in Python costs
    a fraction of `insert_values`, which formats every value of every row.
    Copying 100,000 rows of (invoice id, stage, day) in three groups took
    0.03 s of the client's CPU time in place of 0.13 s (psycopg 3.3, 2-core
    host under load, one script).
    """
    if connection.vendor != "postgresql":
        raise ValueError(f"COPY text needs PostgreSQL, not {connection.vendor}: use insert_values")
    table, column_names = _table_and_columns(model, attnames)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({column_names}) FROM STDIN") as copy:
        for chunk in chunks:
            copy.write(chunk)


# The characters that COPY's text format reads as special, mapped to their escape sequences.
_COPY_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text_value(value: str) -> str:
    """Return `value` escaped for a column of a COPY text line."""
    return value.translate(_COPY_TEXT_ESCAPES)


def _table_and_columns(model: type[models.Model], attnames: Sequence[str]) -> tuple[str, str]:
    """Return the quoted table name of `model` and the quoted, comma-separated columns of `attnames`."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(attname).column) for attname in attnames)
    return quote(model._meta.db_table), columns


def value_adapter(model: type[models.Model], attname: str) -> Callable[[Any], Any] | None:
    """Return the function that turns a value of field `attname` into one `insert_values` takes, or None.

    None means the driver takes the value as it is. The conversion is the
    one `insert_rows` applies: JSON to text, and on SQLite datetimes, dates
    and decimals to the text Django stores.
    """
    return _adapter(model._meta.get_field(attname))


class SavedInstances(Sequence[ModelT]):
    """Instances of rows that `insert_rows` stored, built as a query would load them.

    They are built on first access, not when the rows are written, because
    callers that only count them need none. In bench.plan on PostgreSQL,
    building 23,100 communications took as long as copying their rows.
    `rows` must not change after the insert.
    """

    def __init__(self, model: type[ModelT], ids: Sequence[int], rows: Sequence[dict[str, Any]]) -> None:
        if len(ids) != len(rows):
            raise ValueError(f"ids and rows differ in length: {len(ids)} ids, {len(rows)} rows")
        self._model = model
        self._ids = ids
        self._rows = rows
        self._instances: list[ModelT] | None = None

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> ModelT: ...

    @overload
    def __getitem__(self, index: slice) -> list[ModelT]: ...

    def __getitem__(self, index: int | slice) -> ModelT | list[ModelT]:
        return self._built()[index]

    def __iter__(self) -> Iterator[ModelT]:
        return iter(self._built())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SavedInstances):
            return self._built() == other._built()
        if isinstance(other, list):
            return self._built() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<SavedInstances of {len(self)} {self._model.__name__} rows>"

    def _built(self) -> list[ModelT]:
        if self._instances is None:
            self._instances = _build_instances(self._model, self._ids, self._rows)
        return self._instances


def _build_instances(
    model: type[ModelT], ids: Sequence[int], rows: Sequence[dict[str, Any]]
) -> list[ModelT]:
    fields = model._meta.concrete_fields
    row_values = _RowValues(fields, adapt=False)
    primary_key_index = next(index for index, field in enumerate(fields) if field.primary_key)
    instances = []
    for pk, row in zip(ids, rows, strict=True):
        values = row_values(row)
        values[primary_key_index] = pk
        instances.append(model.from_db(connection.alias, None, values))
    return instances


def values_subquery(values: Sequence[int] | Sequence[str], *, array_type: str) -> RawSQL:
    """Return a subquery that yields `values`, for a `field__in=` filter.

    The values go to the database as one parameter (a PostgreSQL array of
    `array_type`, or a JSON array that SQLite's `json_each` unpacks) instead
    of one parameter each. That keeps a filter on 100,000 ids to one query
    on SQLite, which allows at most 32,766 parameters per statement, and
    saves building and parsing a list of 100,000 literals on PostgreSQL.
    """
    if connection.vendor == "postgresql":
        return RawSQL(f"SELECT unnest(%s::{array_type}[])", [postgres_array_literal(values)])
    return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(list(values))])


class _RowValues:
    """A converter of row dicts to value lists in field order, as the driver takes them.

    A missing key gets the field's default. A column derived from others
    (ledger.match_keys.NormalisedKeyField) is computed from the row, as
    `pre_save` would on save(). `adapt` converts values the way Django would
    for the connection; without it, values stay Python objects.
    """

    def __init__(self, fields: Sequence[models.Field], *, adapt: bool) -> None:
        self._defaults: dict[str, Any] = {}
        self._callable_defaults: list[models.Field] = []
        self._derived: list[Any] = []
        for field in fields:
            if hasattr(field, "value_for_row"):
                self._derived.append(field)
            elif field.has_default() and callable(field.default):
                self._callable_defaults.append(field)
            else:
                self._defaults[field.attname] = None if field.primary_key else field.get_default()

        attnames = [field.attname for field in fields]
        self._get = itemgetter(*attnames) if len(attnames) > 1 else lambda row: (row[attnames[0]],)
        self._adapters = [
            (index, adapter)
            for index, adapter in enumerate(_adapter(field) if adapt else None for field in fields)
            if adapter is not None
        ]

    def __call__(self, row: dict[str, Any]) -> list[Any]:
        complete = {**self._defaults, **row}
        for field in self._callable_defaults:
            if field.attname not in row:
                complete[field.attname] = field.get_default()
        for field in self._derived:
            complete[field.attname] = field.value_for_row(complete)

        values = list(self._get(complete))
        for index, adapter in self._adapters:
            value = values[index]
            if value is not None:
                values[index] = adapter(value)
        return values


def _adapter(field: models.Field) -> Callable[[Any], Any] | None:
    if isinstance(field, models.JSONField):
        # Django stores JSON as the encoder's text too, so the stored document is the same.
        return partial(_dump_json, encoder=field.encoder)
    if connection.vendor == "postgresql":
        # psycopg's COPY adapts dates, datetimes and decimals itself.
        return None
    if isinstance(field, models.DateTimeField):
        return adapt_each_value_once(connection.ops.adapt_datetimefield_value)
    if isinstance(field, models.DateField):
        return adapt_each_value_once(connection.ops.adapt_datefield_value)
    if isinstance(field, models.DecimalField):
        return partial(
            connection.ops.adapt_decimalfield_value,
            max_digits=field.max_digits,
            decimal_places=field.decimal_places,
        )
    return None


def _dump_json(value: Any, *, encoder: type[json.JSONEncoder] | None) -> str:
    return json.dumps(value, cls=encoder)


def _inserted_fields(model: type[models.Model]) -> list[models.Field]:
    """Return the fields an INSERT names: all but a key the database numbers itself."""
    return [field for field in model._meta.concrete_fields if field is not model._meta.auto_field]


def _copy_rows(model: type[models.Model], rows: Sequence[dict[str, Any]], *, with_ids: bool) -> list[int]:
    meta = model._meta
    fields = _inserted_fields(model)
    row_values = _RowValues(fields, adapt=True)
    names = [field.column for field in fields]
    quote = connection.ops.quote_name

    with connection.cursor() as cursor:
        ids: list[int] = []
        if with_ids:
            names.insert(0, meta.pk.column)
            # pg_get_serial_sequence is STABLE, so PostgreSQL would call it
            # once per generated row. Looked up once, 22,500 ids took about
            # 50 ms of server time in place of 380 ms (PostgreSQL 15, timed in psql).
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [meta.db_table, meta.pk.column])
            (sequence,) = cursor.fetchone()
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, len(rows)]
            )
            ids = sorted(row[0] for row in cursor.fetchall())

        column_names = ", ".join(quote(name) for name in names)
        with cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({column_names}) FROM STDIN") as copy:
            if with_ids:
                for pk, row in zip(ids, rows, strict=True):
                    copy.write_row([pk, *row_values(row)])
            else:
                for row in rows:
                    copy.write_row(row_values(row))
    return ids


def _execute_many(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> list[int]:
    fields = _inserted_fields(model)
    row_values = _RowValues(fields, adapt=True)
    quote = connection.ops.quote_name
    column_names = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({column_names}) VALUES ({placeholders})"

    # The transaction holds SQLite's write lock from the first INSERT to the
    # end, so no other connection inserts in between. SQLite then gives each
    # new row the next id after the largest one (Django declares the key
    # AUTOINCREMENT), so the ids of the rows are consecutive, in row order.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, [row_values(row) for row in rows])
        cursor.execute("SELECT last_insert_rowid()")
        last_id = cursor.fetchone()[0]
    return list(range(last_id - len(rows) + 1, last_id + 1))
