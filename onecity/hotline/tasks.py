"""Periodic hotline jobs. Each calls a service and is idempotent."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from onecity.hotline.services.escalation import case_escalate_overdue


@db_periodic_task(crontab(minute="*/5"))
@lock_task("hotline-escalate-overdue")
def case_escalate_overdue_task() -> int:
    """Every five minutes: flag overdue clocks and escalate them to the supervisors."""
    return len(case_escalate_overdue().escalated)


@db_task(retries=2, retry_delay=30)
def case_smart_dispatch_task(case_id: str) -> bool:
    """After intake: classify the request and dispatch it when the classifier is confident."""
    from onecity.hotline.services.dispatch import case_smart_dispatch

    return case_smart_dispatch(case_id=case_id).dispatched


@db_periodic_task(crontab(day_of_week="1", hour="3", minute="0"))
@lock_task("hotline-classifier-retrain")
def classifier_retrain_task() -> str:
    """Weekly (Monday 03:00): retrain the dispatch classifier on the labelled history when at
    least HOTLINE_RETRAIN_MIN_NEW cases were closed since the active version was trained."""
    from onecity.hotline.services.classifier_versions import classifier_train_from_history, retrain_min_new

    version = classifier_train_from_history(min_new=retrain_min_new())
    return version.version if version is not None else ""
