"""Row-by-row UPDATEs in one round trip, for the few hot batch paths (payment notifications,
smart dispatch).

Django's `bulk_update` builds one `CASE WHEN pk = … THEN …` per field and row, which costs more
to compile than the statements cost to run; `update_rows` sends one parameterised
`UPDATE … SET … WHERE pk = %s [AND …]` with `executemany`, each value prepared by its model field
exactly as `save()` would prepare it. Call it inside the transaction that read (and locked) the
rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connections, models, router


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
