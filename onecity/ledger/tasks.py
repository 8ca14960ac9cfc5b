"""Periodic ledger job: void the holds whose deadline has passed (idempotent: each void's
transfer id is derived from its hold's)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from onecity.ledger.services import pendings_void_expired


@db_periodic_task(crontab(minute="*"))
@lock_task("ledger-void-expired-holds")
def pendings_void_expired_task() -> dict[str, int]:
    """Every minute: void the expired holds."""
    return {"voided": len(pendings_void_expired())}
