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

`queue_unless_queued` and `run_starting` are the "one run at a time" pattern of the batch jobs
(payment notifications, smart dispatch): every commit asks for a run, a storm of commits queues
a handful.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from huey import SqliteHuey
from huey.storage import SqliteStorage


class WalNormalSqliteStorage(SqliteStorage):
    def _create_connection(self):
        conn = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn


class OneCitySqliteHuey(SqliteHuey):
    storage_class = WalNormalSqliteStorage


def queue_unless_queued(flag: str, task: Callable[[], object]) -> None:
    """Make sure a run of `task` starts after this moment, with the work the caller committed
    before calling: queue one unless a run flagged `flag` is queued and has not started yet
    (the run calls `run_starting(flag)` before it looks for work, so it will find the caller's).
    The flag is read first, which takes no write lock on the queue's storage; only when it is
    absent is it set (`put_if_empty`: of several callers at once, one queues the run)."""
    from huey.contrib.djhuey import HUEY

    if HUEY.get(flag, peek=True) is None and HUEY.put_if_empty(flag, "1"):
        task()


def run_starting(flag: str) -> None:
    """Called by the run first: waits QUEUE_BATCH_LINGER_MS with `flag` still set, then clears
    it, so that work committed from now on queues the next run.

    The wait is a batching window (like a producer's linger in a message broker): work
    committed during it queues nothing and is found by this run, so in a storm each run takes
    the work of the window at once and its fixed cost (the task's dispatch, the batch's
    statements and commit) is spread over the batch instead of paid for every few rows. The
    work was acknowledged before it was queued; it is applied that much later. No wait when
    the queue runs tasks inline (tests, `ONECITY_HUEY_IMMEDIATE`): there is nothing to gather."""
    from huey.contrib.djhuey import HUEY

    if settings.QUEUE_BATCH_LINGER_MS and not HUEY.immediate:
        time.sleep(settings.QUEUE_BATCH_LINGER_MS / 1000)
    HUEY.get(flag)  # reads and clears the flag
