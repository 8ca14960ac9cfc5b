"""Periodic hotline jobs. Each calls a service and is idempotent."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from onecity.core.queue import queue_unless_queued, run_starting
from onecity.hotline.services.escalation import case_escalate_overdue


@db_periodic_task(crontab(minute="*/5"))
@lock_task("hotline-escalate-overdue")
def case_escalate_overdue_task() -> int:
    """Every five minutes: flag overdue clocks and escalate them to the supervisors."""
    return len(case_escalate_overdue().escalated)


#: set while a smart-dispatch run is queued and has not started: intake queues one only when it
#: is not set, so a burst of calls queues a handful of runs, not one per call
_DISPATCH_QUEUED = "hotline:smart-dispatch-queued"


def smart_dispatch_soon() -> None:
    """Called by intake after a request awaiting the classifier was committed: make sure a
    smart-dispatch run will start after this moment. The run clears the flag before it looks
    for cases, so a case registered while a run is under way is found by that run or the next."""
    queue_unless_queued(_DISPATCH_QUEUED, smart_dispatch_task)


@db_task()
def smart_dispatch_task() -> int:
    """Classify the requests awaiting the classifier and dispatch the confident ones."""
    from onecity.hotline.services.dispatch import smart_dispatch_pending

    run_starting(_DISPATCH_QUEUED)
    return len(smart_dispatch_pending())


@db_periodic_task(crontab(minute="*"))
@lock_task("hotline-smart-dispatch-pending")
def smart_dispatch_pending_task() -> int:
    """Every minute: the same run, for requests whose run was lost (a crash after commit)."""
    from onecity.hotline.services.dispatch import smart_dispatch_pending

    return len(smart_dispatch_pending())


@db_periodic_task(crontab(day_of_week="1", hour="3", minute="0"))
@lock_task("hotline-classifier-retrain")
def classifier_retrain_task() -> str:
    """Weekly (Monday 03:00): retrain the dispatch classifier on the labelled history when at
    least HOTLINE_RETRAIN_MIN_NEW cases were closed since the active version was trained."""
    from onecity.hotline.services.classifier_versions import classifier_train_from_history, retrain_min_new

    version = classifier_train_from_history(min_new=retrain_min_new())
    return version.version if version is not None else ""
