"""The embedded task queue's storage: Huey's SQLite storage at the OneCity database's durability.

Huey's `SqliteStorage` offers `synchronous=FULL` (its default: every enqueue waits for the disk)
or `OFF` (a power cut may corrupt the file). The OneCity database itself runs WAL with
`synchronous=NORMAL`: a commit is atomic and survives a crash of any process; a power cut may
roll back the last transactions, never corrupt the file. The queue gets the same guarantee, so
that enqueueing a job after a commit (a smart-dispatch job per 12345 request, an SMS per
notification) costs what the commit costs, not a second disk flush. A job lost to a power cut is
recovered by the periodic jobs that look for work left undone (the dispatchers' queue shows
requests the smart-dispatch job never saw; the outbox requeues messages stuck in `queued`).
See docs/decisions/0001-task-queue-huey.md.
"""

from __future__ import annotations

from huey import SqliteHuey
from huey.storage import SqliteStorage


class WalNormalSqliteStorage(SqliteStorage):
    def _create_connection(self):
        conn = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn


class OneCitySqliteHuey(SqliteHuey):
    storage_class = WalNormalSqliteStorage
