"""Writes of the analytics app: rebuilding the 12345 statistics read model (decision 0011).

- `hotline_stats_rebuild`: the whole table from the hotline's facts, in one transaction (the
  dashboards see the old figures or the new ones, never half of them). `onecity analytics
  rebuild` runs it; so does the demo city after its hotline history.
- `hotline_stats_refresh`: the periodic job's part. It asks the hotline which local days the
  requests changed since the cursor were filed on, and recomputes exactly those days (delete
  their rows, insert them anew). Recomputing a day writes the same rows however often it runs,
  so running the job again changes nothing. The cursor is the start of the previous run minus
  REFRESH_OVERLAP, so a change committed while a run was reading is seen by the next one.

Both fold (rollup.py) the hotline's `CaseStatGroup` rows (one per day, unit, sub-unit, district, category,
channel) into `HotlineDailyStat` rows: for the city and for each unit that holds the requests
(the first-level unit and the sub-unit), one row per day for all requests and one per key of
each dimension.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from onecity.analytics.models import CITY, Dimension, HotlineDailyStat, RefreshCursor
from onecity.analytics.rollup import Key, fold
from onecity.core.audit import audit_record
from onecity.hotline.selectors import (
    MEASURES,
    case_day_span,
    case_days_updated_since,
    case_stat_groups,
    case_stat_groups_for_days,
)

CURSOR = "hotline_stats"
REFRESH_OVERLAP = dt.timedelta(minutes=5)
BATCH = 5000

def _insert(rows: dict[Key, list[int]]) -> int:
    """Insert read-model rows with one executemany per batch: the ORM's bulk_create spends most
    of a rebuild preparing values field by field, and these rows are plain integers and dates."""
    table = HotlineDailyStat._meta.db_table
    names = ["scope", "dimension", "day", "month", "key", *MEASURES]
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(table)} ({', '.join(quote(n) for n in names)}) "  # noqa: S608 - constant names
           f"VALUES ({', '.join(['%s'] * len(names))})")
    adapt = connection.ops.adapt_datefield_value
    values = [(scope, dimension, adapt(day), adapt(day.replace(day=1)), key, *measures)
              for (scope, dimension, day, key), measures in rows.items()]
    with connection.cursor() as cursor:
        for start in range(0, len(values), BATCH):
            cursor.executemany(sql, values[start:start + BATCH])
    return len(values)


def _months(first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    spans = []
    start = first
    while start <= last:
        following = (start.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        spans.append((start, min(last, following - dt.timedelta(days=1))))
        start = following
    return spans


@dataclass
class RebuildReport:
    days: int = 0
    rows: int = 0
    seconds: float = 0.0


def _cursor_move(started: dt.datetime, days: int) -> None:
    RefreshCursor.objects.update_or_create(name=CURSOR, defaults={
        "since": started - REFRESH_OVERLAP, "last_run_at": started, "last_days": days})


@transaction.atomic
def hotline_stats_rebuild(*, actor=None, progress: Callable[[int, int], None] | None = None) -> RebuildReport:
    """Rebuild the whole read model. `progress(done, total)` is called after each month."""
    started_clock = time.monotonic()
    started = timezone.now()
    report = RebuildReport()
    HotlineDailyStat.objects.all().delete()
    span = case_day_span()
    months = _months(*span) if span else []
    for index, (first, last) in enumerate(months, start=1):
        rows = fold(case_stat_groups(start=first, end=last))
        report.rows += _insert(rows)
        report.days += sum(1 for scope, dimension, _day, _key in rows if scope == CITY and dimension == Dimension.ALL)
        if progress is not None:
            progress(index, len(months))
    _cursor_move(started, report.days)
    report.seconds = time.monotonic() - started_clock
    audit_record(actor=actor, action="analytics.hotline_stats_rebuild", object_type="read_model",
                 object_id=CURSOR, detail={"days": report.days, "rows": report.rows})
    return report


@dataclass
class RefreshReport:
    days: list[dt.date] = field(default_factory=list)
    rows: int = 0


@transaction.atomic
def hotline_stats_refresh() -> RefreshReport:
    """Recompute the days touched since the last run (module docstring). Without a cursor (the
    table was never built) every day is built."""
    started = timezone.now()
    cursor = RefreshCursor.objects.select_for_update().filter(name=CURSOR).first()
    if cursor is None:
        span = case_day_span()
        days: set[dt.date] = set()
        if span:
            days = {span[0] + dt.timedelta(days=n) for n in range((span[1] - span[0]).days + 1)}
    else:
        days = case_days_updated_since(since=cursor.since)
    report = RefreshReport(days=sorted(days))
    if days:
        HotlineDailyStat.objects.filter(day__in=report.days).delete()
        report.rows = _insert(fold(case_stat_groups_for_days(days=report.days)))
    _cursor_move(started, len(report.days))
    return report
