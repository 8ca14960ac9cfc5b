"""Periodic payments jobs. Each calls a service and is idempotent."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from onecity.core.queue import queue_unless_queued, run_starting
from onecity.payments.channels.base import CHINA
from onecity.payments.services.attempts import attempts_expire
from onecity.payments.services.bills import bills_mark_overdue
from onecity.payments.services.notifications import (
    attempts_query_channel,
    notifications_apply,
    notifications_process_pending,
)
from onecity.payments.services.refunds import refunds_query_channel
from onecity.payments.services.settlement import settlement_run

#: set while an applier run is queued and has not started: the notify endpoint queues one only
#: when it is not set, so a storm of notifications queues a handful of runs, not one per row
_APPLY_QUEUED = "payments:notifications-apply-queued"


def notifications_apply_soon() -> None:
    """Called by the notify endpoint after it stored a verified row (committed): make sure an
    applier run will start after this moment. The run clears the flag before it looks for rows,
    so a row stored while a run is under way is found by that run or by the next one."""
    queue_unless_queued(_APPLY_QUEUED, notifications_apply_task)


@db_task()
def notifications_apply_task() -> int:
    """Apply the verified notifications waiting (services.notifications.notifications_apply)."""
    run_starting(_APPLY_QUEUED)
    return notifications_apply()


@db_periodic_task(crontab(minute="*"))
@lock_task("payments-query-channel")
def attempts_query_channel_task() -> int:
    """Every minute: ask the channel about attempts pending longer than
    PAYMENTS_QUERY_AFTER_MINUTES with no notification, and process its answer. Runs before
    the expiry job's turn so a payment the channel took is found before its attempt expires."""
    return attempts_query_channel()


@db_periodic_task(crontab(minute="*"))
@lock_task("payments-notifications-pending")
def notifications_process_pending_task() -> int:
    """Every minute: process notifications that were stored but never processed (a crash)."""
    return notifications_process_pending()


@db_periodic_task(crontab(minute="*"))
@lock_task("payments-refunds-query-channel")
def refunds_query_channel_task() -> int:
    """Every minute: ask the channel about refunds it accepted "for later" (processing) longer
    than PAYMENTS_REFUND_QUERY_AFTER_MINUTES ago, and settle those it has decided."""
    return refunds_query_channel()


@db_periodic_task(crontab(minute="*/5"))
@lock_task("payments-attempts-expire")
def attempts_expire_task() -> int:
    """Every five minutes: open attempts past their expiry expire."""
    return attempts_expire()


@db_periodic_task(crontab(hour="16", minute="10"))
@lock_task("payments-bills-overdue")
def bills_mark_overdue_task() -> int:
    """Daily at 00:10 Beijing time (16:10 UTC: the schedule is in UTC): bills past their due date
    become overdue."""
    return bills_mark_overdue()


@db_periodic_task(crontab(hour="17", minute="30"))
@lock_task("payments-settlement")
def settlement_run_task() -> int:
    """Daily at 01:30 Beijing time (17:30 UTC): T+1 settlement of yesterday (Beijing) for every
    payee; re-running it settles nothing twice."""
    yesterday = timezone.now().astimezone(CHINA).date() - dt.timedelta(days=1)
    return len(settlement_run(day=yesterday))
