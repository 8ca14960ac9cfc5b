"""The embedded queue's SQLite storage runs at the OneCity database's durability (WAL, NORMAL)
and still queues, dequeues and runs jobs."""

from __future__ import annotations

from onecity.core.queue import OneCitySqliteHuey


def test_embedded_queue_is_wal_with_normal_sync_and_runs_jobs(tmp_path):
    huey = OneCitySqliteHuey("test-queue", filename=str(tmp_path / "huey.sqlite3"), immediate=False)
    conn = huey.storage.conn
    assert conn.execute("pragma journal_mode").fetchone() == ("wal",)
    assert conn.execute("pragma synchronous").fetchone() == (1,)  # NORMAL

    @huey.task()
    def add(a, b):
        return a + b

    result = add(20, 22)
    assert huey.pending_count() == 1
    task = huey.dequeue()
    assert huey.execute(task) == 42
    assert result.get() == 42
    assert huey.pending_count() == 0
