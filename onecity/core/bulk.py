"""Row-by-row UPDATEs in one round trip, for the few hot batch paths (payment notifications).

Django's `bulk_update` builds one `CASE WHEN pk = … THEN …` per field and row, which costs more
to compile than the statements cost to run; `update_rows` sends one parameterised
`UPDATE … SET … WHERE pk = %s` with `executemany`, each value prepared by its model field exactly
as `save()` would prepare it. Call it inside the transaction that read (and locked) the rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connections, models, router


def update_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence]) -> int:
    """For each `(pk, value_1, …, value_n)` in `rows`, set `fields` to the values on that row.
    Returns how many rows were given (each names an existing primary key: the caller read them)."""
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(column.column)} = %s" for column in columns)
    # names from the model's metadata, quoted; every value is a parameter
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    params = [[column.get_db_prep_save(value, connection) for column, value in zip(columns, values, strict=True)]
              + [pk] for pk, *values in rows]
    if params:
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)
    return len(params)
