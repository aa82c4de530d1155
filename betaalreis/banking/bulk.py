"""Insert rows (COPY on PostgreSQL, executemany on SQLite) and update them, for paths that handle 100,000 rows.

Both helpers write what the ORM's bulk_create and update would write, but
without building a model instance or compiling a query per row, which took
most of the time of those paths in profiles. Neither calls save() or sends
signals, and bulk_create does not either.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from operator import itemgetter
from typing import Any

from django.db import connection
from django.db.models import DateField, DateTimeField, DecimalField, JSONField, Model
from django.utils import timezone

INSERT_BATCH = 5000


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
