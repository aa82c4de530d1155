"""Inserting many rows of one model from plain dicts.

On PostgreSQL the rows go in with one `COPY ... FROM STDIN` per table, with
no model instance per row. Their ids come from the table's sequence first,
because COPY cannot return them. On SQLite the rows go through
`bulk_create`, which returns the new ids there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection, models

_BATCH_SIZE = 2000

ModelT = TypeVar("ModelT", bound=models.Model)


def insert_rows(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert `rows` (field attnames to values) and return their new ids, in row order.

    A field missing from a row gets its model default, as `Model(**row)` would.
    """
    if not rows:
        return []
    if connection.vendor == "postgresql":
        return _copy_rows(model, rows)

    instances = [model(**row) for row in rows]
    model._default_manager.bulk_create(instances, batch_size=_BATCH_SIZE)
    return [instance.pk for instance in instances]


def saved_instances(
    model: type[ModelT], ids: Sequence[int], rows: Sequence[dict[str, Any]]
) -> list[ModelT]:
    """Build instances of rows that `insert_rows` stored, as a query would load them."""
    meta = model._meta
    fields = meta.concrete_fields
    instances = []
    for pk, row in zip(ids, rows, strict=True):
        values = [pk if field.primary_key else _python_value(field, row) for field in fields]
        instances.append(model.from_db(connection.alias, None, values))
    return instances


def _python_value(field: models.Field, row: dict[str, Any]) -> Any:
    if hasattr(field, "value_for_row"):
        # A column derived from others (ledger.match_keys.NormalisedKeyField).
        return field.value_for_row(row)
    return row[field.attname] if field.attname in row else field.get_default()


def _copy_rows(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> list[int]:
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    table = connection.ops.quote_name(meta.db_table)
    column_names = [meta.pk.column] + [field.column for field in fields]
    columns = ", ".join(connection.ops.quote_name(column) for column in column_names)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(rows)],
        )
        ids = sorted(row[0] for row in cursor.fetchall())

        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for pk, row in zip(ids, rows, strict=True):
                copy.write_row([pk] + [_column_value(field, row) for field in fields])
    return ids


def _column_value(field: models.Field, row: dict[str, Any]) -> Any:
    value = _python_value(field, row)
    if isinstance(field, models.JSONField) and value is not None:
        # Django stores JSON as the encoder's text too, so the stored document is the same.
        return json.dumps(value, cls=field.encoder)
    return value
