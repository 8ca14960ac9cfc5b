"""Re-encrypting personal data under the newest field key.

Rotation of `ONECITY_FIELD_KEYS` (see docs/operations.md): put the new key first, restart,
then run `onecity fieldkeys rotate`. It finds every EncryptedTextField column of every
installed model, and re-encrypts each value that is not yet under the first key (MultiFernet
`rotate`: decrypt with whichever key works, encrypt with the first). Values are read and
written as ciphertext with plain SQL, in batches, each batch in its own transaction, so the
job can be stopped and run again at any time. `onecity fieldkeys status` counts the values
still under older keys: when it reports none, the old keys can leave the list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction

from onecity.core import crypto
from onecity.core.audit import audit_record
from onecity.core.fields import EncryptedTextField


@dataclass(frozen=True)
class EncryptedColumn:
    label: str  # app_label.Model.field
    table: str
    pk_column: str
    column: str


@dataclass
class ColumnStatus:
    column: EncryptedColumn
    total: int = 0  # non-empty values
    outdated: int = 0  # values not under the first key
    rotated: int = 0  # values re-encrypted by this run


def encrypted_columns() -> list[EncryptedColumn]:
    columns = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                columns.append(EncryptedColumn(
                    label=f"{model._meta.label}.{field.name}", table=model._meta.db_table,
                    pk_column=model._meta.pk.column, column=field.column,
                ))
    return sorted(columns, key=lambda c: c.label)


def _under_primary_key(token: str, primary: Fernet) -> bool:
    try:
        primary.decrypt(token.encode("ascii"))
    except (InvalidToken, ValueError):
        return False
    return True


def _batches(column: EncryptedColumn, batch_size: int):
    """(pk, ciphertext) rows in primary-key order, `batch_size` at a time (keyset pagination)."""
    quote = connection.ops.quote_name
    pk, value, table = quote(column.pk_column), quote(column.column), quote(column.table)
    first = f"SELECT {pk}, {value} FROM {table} WHERE {value} <> '' ORDER BY {pk} LIMIT %s"  # noqa: S608
    after = f"SELECT {pk}, {value} FROM {table} WHERE {value} <> '' AND {pk} > %s ORDER BY {pk} LIMIT %s"  # noqa: S608
    last = None
    while True:
        with connection.cursor() as cursor:
            if last is None:
                cursor.execute(first, [batch_size])
            else:
                cursor.execute(after, [last, batch_size])
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def fieldkeys_status(*, batch_size: int = 1000) -> list[ColumnStatus]:
    """How many values of each encrypted column are still under an older key."""
    primary = Fernet(settings.FIELD_ENCRYPTION_KEYS[0].encode())
    result = []
    for column in encrypted_columns():
        status = ColumnStatus(column)
        for rows in _batches(column, batch_size):
            status.total += len(rows)
            status.outdated += sum(1 for _, token in rows if not _under_primary_key(token, primary))
        result.append(status)
    return result


def fieldkeys_rotate(*, actor=None, batch_size: int = 500,
                     progress: Callable[[ColumnStatus], None] | None = None) -> list[ColumnStatus]:
    """Re-encrypt every value not yet under the first key. Raises crypto.DecryptionError (and
    changes nothing in that batch) when a value decrypts under none of the configured keys."""
    primary = Fernet(settings.FIELD_ENCRYPTION_KEYS[0].encode())
    quote = connection.ops.quote_name
    result: list[ColumnStatus] = []
    try:
        for column in encrypted_columns():
            status = ColumnStatus(column)
            result.append(status)
            update = (f"UPDATE {quote(column.table)} SET {quote(column.column)} = %s "  # noqa: S608
                      f"WHERE {quote(column.pk_column)} = %s AND {quote(column.column)} = %s")
            for rows in _batches(column, batch_size):
                status.total += len(rows)
                stale = [(pk, token) for pk, token in rows if not _under_primary_key(token, primary)]
                status.outdated += len(stale)
                if not stale:
                    continue
                with transaction.atomic(), connection.cursor() as cursor:
                    for pk, token in stale:
                        # the WHERE on the old ciphertext skips a value rewritten meanwhile
                        cursor.execute(update, [crypto.rotate(token), pk, token])
                        status.rotated += cursor.rowcount
                if progress:
                    progress(status)
    finally:  # committed batches are recorded even when a later one fails
        rotated = sum(s.rotated for s in result)
        if rotated:
            with transaction.atomic():
                audit_record(actor=actor, action="crypto.fieldkeys_rotate", object_type="field_keys",
                             detail={"rotated": rotated,
                                     "columns": {s.column.label: s.rotated for s in result if s.rotated}})
    return result
