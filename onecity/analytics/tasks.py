"""Periodic analytics jobs. Each calls a service and is idempotent."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from onecity.analytics.services import hotline_stats_refresh, payment_stats_refresh


@db_periodic_task(crontab(minute="*/10"))
@lock_task("analytics-hotline-stats-refresh")
def hotline_stats_refresh_task() -> int:
    """Every ten minutes: recompute the 12345 statistics of the days whose requests changed."""
    return len(hotline_stats_refresh().days)


@db_periodic_task(crontab(minute="*/10"))
@lock_task("analytics-payment-stats-refresh")
def payment_stats_refresh_task() -> int:
    """Every ten minutes: recompute the 福码 statistics of the days whose payments changed."""
    return len(payment_stats_refresh().days)
