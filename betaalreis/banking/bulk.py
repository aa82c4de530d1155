"""Write many rows at once, for the import and matching paths that handle 100,000 rows.

The helpers write what the ORM's bulk_create and update would write, but
without building a model instance or compiling a query per row, which took
most of the time of those paths in profiles. None calls save() or sends
signals, and bulk_create does not either.

`insert_rows` takes dicts and fills in defaults (COPY on PostgreSQL,
executemany on SQLite). `insert_values` and `update_values` take tuples of
values that the caller has already made ready for the driver, and write them
set-based: with COPY on PostgreSQL and multi-row statements on SQLite.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from functools import partial
from operator import itemgetter
from typing import Any

import sqlite3

from django.db import connection, connections, transaction
from django.db.models import DateField, DateTimeField, DecimalField, JSONField, Model, QuerySet
from django.utils import timezone

from betaalreis.ledger.money import CENT

INSERT_BATCH = 5000


def raw_rows(queryset: QuerySet) -> Iterator[tuple]:
    """Yield the rows of a values_list query as the database driver returns them.

    This skips Django's converters, one Python call per value, which
    bench/bank_match.py ran for 270,000 amounts per 100,000 payments. Callers
    convert the values that need it, such as amounts with `money_from_db`.
    """
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(20000):
            yield from rows


def money_from_db(value: Decimal | float | int) -> Decimal:
    """Return a money column's value (two decimal places) as the Decimal that Django's converter gives.

    psycopg returns a Decimal with the column's scale already. SQLite returns
    an int or a float, and str() of such a float gives back its two
    decimals exactly.
    """
    if type(value) is Decimal:
        return value
    return Decimal(str(value)).quantize(CENT)


def insert_rows(model: type[Model], rows: list[dict[str, object]]) -> None:
    """Insert rows given as {attname: value}, filling in field defaults and auto_now fields."""
    if not rows:
        return

    fields = [model_field for model_field in model._meta.concrete_fields if not model_field.primary_key]
    rows = _with_derived_values(fields, rows)
    defaults = {model_field.attname: model_field.get_default() for model_field in fields}
    now = timezone.now()
    for model_field in fields:
        if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
            defaults[model_field.attname] = now if isinstance(model_field, DateTimeField) else timezone.localdate(now)

    adapters = []
    for model_field in fields:
        if isinstance(model_field, DateTimeField):
            adapters.append(adapt_each_value_once(connection.ops.adapt_datetimefield_value))
        elif isinstance(model_field, DateField):
            adapters.append(adapt_each_value_once(connection.ops.adapt_datefield_value))
        elif isinstance(model_field, DecimalField):
            adapters.append(partial(
                connection.ops.adapt_decimalfield_value,
                max_digits=model_field.max_digits,
                decimal_places=model_field.decimal_places,
            ))
        elif isinstance(model_field, JSONField):
            adapters.append(partial(model_field.get_db_prep_save, connection=connection))
        else:
            adapters.append(None)

    # A field missing from a row gets its default, adapted once here.
    columns_to_fill = []
    for model_field, adapt in zip(fields, adapters, strict=True):
        default = defaults.get(model_field.attname)
        adapted_default = adapt(default) if adapt is not None and default is not None else default
        columns_to_fill.append((model_field.attname, adapt, adapted_default))

    # The values are gathered column by column, with one comprehension per
    # column, which costs less than a Python loop over every value.
    params = list(zip(*(_column_values(rows, *column) for column in columns_to_fill), strict=True))

    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(model_field.column) for model_field in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY sends the rows as one stream: no statement per row for
            # the driver to prepare and no round trip per batch.
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for values in params:
                    copy.write_row(values)
            return
        placeholders = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"
        for start in range(0, len(params), INSERT_BATCH):
            cursor.executemany(sql, params[start:start + INSERT_BATCH])


_MISSING = object()


def _column_values(
    rows: list[dict[str, object]], attname: str, adapt: Callable[[Any], Any] | None, default: object
) -> list[object]:
    """Return one column of every row: the adapted value, None, or the adapted default when the row lacks it."""
    values = [row.get(attname, _MISSING) for row in rows]
    if adapt is not None:
        values = [value if value is None or value is _MISSING else adapt(value) for value in values]
    return [default if value is _MISSING else value for value in values]


def _with_derived_values(fields: list[Any], rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Fill the fields that compute their value from other columns of the row (see ledger.match_keys.NormalisedKeyField)."""
    derived = [model_field for model_field in fields if hasattr(model_field, "value_for_row")]
    if not derived:
        return rows
    return [{**row, **{model_field.attname: model_field.value_for_row(row) for model_field in derived}} for row in rows]


def adapt_each_value_once(adapt: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Wrap a date or datetime adapter so an insert adapts each distinct value once.

    The rows of one call usually share a few timestamps, and the SQLite
    adapter converts every aware datetime to the connection's time zone.
    """
    cache: dict[Any, Any] = {}

    def adapt_once(value: Any) -> Any:
        adapted = cache.get(value)
        if adapted is None:
            adapted = cache[value] = adapt(value)
        return adapted

    return adapt_once


def update_many(table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    """Run one UPDATE per row (`columns` = values, last item = id) with executemany."""
    if not rows:
        return
    # In id order consecutive rows share B-tree pages. The sort is stable, so
    # two updates of one row still run in the given order.
    rows = sorted(rows, key=itemgetter(-1))
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(column)} = %s" for column in columns)
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {quote(table)} SET {assignments} WHERE {quote('id')} = %s", rows)


# Rows per multi-row INSERT on SQLite. `_rows_per_statement` lowers it
# where rows times columns would exceed SQLite's limit on parameters.
SQLITE_ROWS_PER_INSERT = 500


def insert_values(table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """Insert `rows`, each a tuple of values for `columns` (column names) as the driver takes them.

    Columns left out get NULL, not the model default. On PostgreSQL the rows
    go in with one COPY, and on SQLite with INSERTs of many rows each.
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    column_list = ", ".join(quote(column) for column in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quote(table)} ({column_list}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return

        size = _rows_per_statement(len(columns))
        row_placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for start in range(0, len(rows), size):
            batch = rows[start:start + size]
            cursor.execute(
                f"INSERT INTO {quote(table)} ({column_list}) VALUES {', '.join([row_placeholder] * len(batch))}",
                [value for row in batch for value in row],
            )


def update_values(table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    """Set `columns` of many rows, each given as a tuple of the new values followed by the row's id.

    Every id must occur once. On PostgreSQL the values go to a temporary
    table with COPY and one UPDATE joins it. On SQLite this is `update_many`.
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        update_many(table, columns, rows)
        return

    # Staged in id order, the join visits the table's primary key and pages
    # in order. With a million invoices, where PostgreSQL 15 joins by nested
    # loop, this cut the server CPU of updating 8,500 random invoices from
    # about 0.5 s to 0.3 s (/proc of the server process, this machine).
    rows = sorted(rows, key=itemgetter(-1))

    quote = connection.ops.quote_name
    staging = quote(f"{table}_staged_update")
    column_list = ", ".join(quote(column) for column in (*columns, "id"))
    assignments = ", ".join(f"{quote(column)} = {staging}.{quote(column)}" for column in columns)
    # On an error the transaction rolls back, which also removes the staging table.
    with transaction.atomic(), connection.cursor() as cursor:
        # Created from the table itself, so every column has the table's type.
        cursor.execute(f"CREATE TEMPORARY TABLE {staging} AS SELECT {column_list} FROM {quote(table)} WITH NO DATA")
        with cursor.cursor.copy(f"COPY {staging} ({column_list}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(f"UPDATE {quote(table)} SET {assignments} FROM {staging} WHERE {quote(table)}.{quote('id')} = {staging}.{quote('id')}")
        cursor.execute(f"DROP TABLE {staging}")


def _rows_per_statement(columns: int) -> int:
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, min(SQLITE_ROWS_PER_INSERT, limit // columns))


# Comma-separated items of ASCII letters and digits, none empty.
_PLAIN_ARRAY_ITEMS = re.compile(r"[A-Za-z0-9]+(?:,[A-Za-z0-9]+)*")


def postgres_array_literal(values: Iterable[object]) -> str:
    """Return the text form of a PostgreSQL array of `values`, to pass as one parameter with a cast.

    psycopg adapts a list parameter element by element in Python, which
    showed up in profiles of bench/bank_match.py for lists of 10,000 ids.
    Integers and plain letters and digits go in bare, anything else as a
    quoted string, which every array type accepts.
    """
    items = list(values)
    # The type and character checks run once over the whole list in C, not per item in Python.
    types = set(map(type, items))
    if types <= {int}:
        return "{" + ",".join(map(str, items)) + "}"
    if types == {str}:
        joined = ",".join(items)  # type: ignore[arg-type]
        if _PLAIN_ARRAY_ITEMS.fullmatch(joined) and "NULL" not in joined.upper():
            # Like the normalised invoice numbers: nothing to quote, and no
            # element that PostgreSQL would read as NULL. Items that merely
            # contain NULL ("NULLA1") get quoted too, which is equally valid.
            return "{" + joined + "}"
    return "{" + ",".join('"' + str(item).replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items) + "}"
