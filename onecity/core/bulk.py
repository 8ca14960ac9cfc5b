"""Statements for the few hot paths (payment notifications, 12345 intake and smart dispatch),
where compiling SQL through the ORM costs more than running it.

- `update_rows`: row-by-row UPDATEs in one round trip. Django's `bulk_update` builds one
  `CASE WHEN pk = … THEN …` per field and row; this sends one parameterised
  `UPDATE … SET … WHERE pk = %s [AND …]` with `executemany`. Call it inside the transaction that
  read (and locked) the rows.
- `insert_row`: one new row, as `Model.objects.create` stores it, with the INSERT statement
  built once per model instead of compiled on every call.

Each value is prepared by its model field exactly as `save()` prepares it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from django.db import connections, models, router

M = TypeVar("M", bound=models.Model)
_INSERTS: dict[tuple[str, type[models.Model]], tuple[str, list[models.Field]]] = {}


def update_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence],
                where: Sequence[str] = ()) -> int:
    """For each `(pk, value_1, …, value_n, observed_1, …, observed_m)` in `rows`, set `fields` to
    the values on that row, provided the columns `where` still hold the observed values (the
    conditional UPDATE of a state machine: a row that moved on meanwhile is left alone). Returns
    how many rows were changed (SQLite and psycopg both add up an executemany's row counts)."""
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    conditions = [meta.get_field(name) for name in where]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(column.column)} = %s" for column in columns)
    checks = "".join(f" AND {quote(column.column)} = %s" for column in conditions)
    # names from the model's metadata, quoted; every value is a parameter
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s{checks}"  # noqa: S608
    params = []
    for pk, *values in rows:
        assigned, observed = values[:len(columns)], values[len(columns):]
        params.append([column.get_db_prep_save(value, connection) for column, value in
                       zip(columns, assigned, strict=True)] + [pk]
                      + [column.get_db_prep_value(value, connection) for column, value in
                         zip(conditions, observed, strict=True)])
    if not params:
        return 0
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
        return cursor.rowcount


def insert_row(obj: M) -> M:
    """Store the new instance `obj` as `obj.save()` would (every concrete field's `pre_save`
    and `get_db_prep_save`; the primary key from `RETURNING`) and return it, saved. The
    statement is built once per model and database. No model signals are sent: use it only for
    models that have no receivers (hotline cases and events, channel notifications)."""
    alias = router.db_for_write(type(obj))
    connection = connections[alias]
    key = (alias, type(obj))
    if key not in _INSERTS:
        meta = obj._meta
        quote = connection.ops.quote_name
        fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field]
        columns = ", ".join(quote(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        # names from the model's metadata, quoted; every value is a parameter
        _INSERTS[key] = (f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks}) "  # noqa: S608
                         f"RETURNING {quote(meta.pk.column)}", fields)
    sql, fields = _INSERTS[key]
    params = [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        obj.pk = cursor.fetchone()[0]
    obj._state.adding, obj._state.db = False, alias
    return obj
