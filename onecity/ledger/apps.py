"""Double-entry ledger: accounts and immutable transfers, the only writer of money."""
from __future__ import annotations

import threading

from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _

_erase = threading.local()


def erase_permitted() -> bool:
    """True only while this thread empties the whole database (the `flush` command)."""
    return getattr(_erase, "permitted", False)


def set_erase_permitted(value: bool) -> None:
    _erase.permitted = value


def _register_sqlite_functions(sender, connection, **kwargs) -> None:
    # SQLite's delete trigger on ledger_transfer asks this function; a connection without it
    # (the sqlite3 shell, another program) cannot delete transfers at all.
    if connection.vendor == "sqlite":
        connection.connection.create_function("ledger_erase_permitted", 0, lambda: int(erase_permitted()))


class LedgerConfig(AppConfig):
    name = "onecity.ledger"
    label = "ledger"
    verbose_name = _("Ledger")

    def ready(self) -> None:
        connection_created.connect(_register_sqlite_functions, dispatch_uid="ledger_sqlite_functions")
