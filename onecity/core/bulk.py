"""Statements for the few hot paths (payment notifications, 12345 intake and smart dispatch),
where compiling SQL through the ORM costs more than running it.

- `update_rows`: each row its own values, in one statement. Django's `bulk_update` builds one
  `CASE WHEN pk = … THEN …` per field and row. On PostgreSQL this sends one
  `UPDATE … FROM (VALUES …)` joined on the primary key (psycopg binds on the client, so an
  `executemany` would have the server parse and plan the statement once per row: that was most
  of the server's CPU per payment notification); on SQLite, one parameterised
  `UPDATE … WHERE pk = %s [AND …]` with `executemany` (SQLite keeps the compiled statement
  between rows). Call it inside the transaction that read (and locked) the rows.
- `insert_row`: one new row, as `Model.objects.create` stores it, with the INSERT statement
  built once per model instead of compiled on every call.
- `copy_in` (PostgreSQL): many new rows by `COPY … FROM STDIN`, which fires the table's
  triggers and checks its constraints as INSERT does, through Django's cursor (its errors come as
  Django's `IntegrityError`…, and the statement is logged like any other).

Each value is prepared by its model field exactly as `save()` prepares it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import TypeVar

from django.db import connections, models, router

M = TypeVar("M", bound=models.Model)
_INSERTS: dict[tuple[str, type[models.Model]], tuple[str, list[models.Field]]] = {}
#: rows per joined UPDATE (PostgreSQL allows 65,535 parameters in a statement)
_JOINED_ROWS = 1000


def update_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence],
                where: Sequence[str] = ()) -> int:
    """For each `(pk, value_1, …, value_n, observed_1, …, observed_m)` in `rows` (one row per
    primary key), set `fields` to the values on that row, provided the columns `where` still
    hold the observed values (the conditional UPDATE of a state machine: a row that moved on
    meanwhile is left alone). Returns how many rows were changed."""
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    conditions = [meta.get_field(name) for name in where]
    prepared = []  # (pk, assigned values, observed values), each prepared by its field
    for pk, *values in rows:
        assigned, observed = values[:len(columns)], values[len(columns):]
        prepared.append((meta.pk.get_db_prep_value(pk, connection),
                         [column.get_db_prep_save(value, connection) for column, value in
                          zip(columns, assigned, strict=True)],
                         [column.get_db_prep_value(value, connection) for column, value in
                          zip(conditions, observed, strict=True)]))
    if not prepared:
        return 0
    if len({pk for pk, _assigned, _observed in prepared}) != len(prepared):
        raise ValueError("update_rows: one row per primary key")
    if connection.vendor == "postgresql":
        return sum(_update_joined(connection, meta, columns, conditions, prepared[i:i + _JOINED_ROWS])
                   for i in range(0, len(prepared), _JOINED_ROWS))
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(column.column)} = %s" for column in columns)
    checks = "".join(f" AND {quote(column.column)} = %s" for column in conditions)
    # names from the model's metadata, quoted; every value is a parameter
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s{checks}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[*assigned, pk, *observed] for pk, assigned, observed in prepared])
        return cursor.rowcount  # SQLite adds up an executemany's row counts


def _update_joined(connection, meta, columns, conditions, prepared) -> int:
    """`UPDATE t SET c = CAST(v.c AS type) … FROM (VALUES (…), …) AS v WHERE t.pk = v.pk AND
    t.o = CAST(v.o AS type) …`: the VALUES columns are named by position and cast to the
    target column's type, so a NULL or a text literal is read as that type."""
    quote = connection.ops.quote_name
    fields = [meta.pk, *columns, *conditions]
    names = [f"v{i}" for i in range(len(fields))]

    def cast(i: int) -> str:
        return f"CAST(v.{names[i]} AS {fields[i].db_type(connection)})"

    assignments = ", ".join(f"{quote(column.column)} = {cast(i)}" for i, column in enumerate(columns, start=1))
    checks = "".join(f" AND t.{quote(column.column)} = {cast(i)}"
                     for i, column in enumerate(conditions, start=1 + len(columns)))
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    # names from the model's metadata, quoted; every value is a parameter
    sql = (f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "  # noqa: S608
           f"FROM (VALUES {', '.join([row] * len(prepared))}) AS v ({', '.join(names)}) "
           f"WHERE t.{quote(meta.pk.column)} = {cast(0)}{checks}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for pk, assigned, observed in prepared for value in (pk, *assigned, *observed)])
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


def copy_in(cursor, sql: str, rows: Iterable[Sequence]) -> None:
    """Send `rows` (Python values, adapted by psycopg as for INSERT) with `sql`, a
    `COPY table (columns) FROM STDIN`, on a PostgreSQL cursor of Django's."""
    logged = cursor.debug_sql(sql) if hasattr(cursor, "debug_sql") else contextlib.nullcontext()
    with cursor.db.wrap_database_errors, logged, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
