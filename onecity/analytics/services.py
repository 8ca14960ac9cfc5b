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

The 福码 payments read model (decision 0018) works the same way: `payment_stats_rebuild` and
`payment_stats_refresh` fold the payments app's desensitised facts (`payment_facts`) into
`PaymentHourlyStat` rows per (day, hour, scenario, district, channel), with their own cursor.
`read_models_rebuild` rebuilds both (the command and the demo city use it).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from onecity.analytics.models import CITY, Dimension, HotlineDailyStat, PaymentHourlyStat, RefreshCursor
from onecity.analytics.rollup import PAYMENT_MEASURES, Key, PaymentKey, fold, fold_payments
from onecity.core.audit import audit_record
from onecity.hotline.selectors.stats import (
    MEASURES,
    case_day_span,
    case_days_updated_since,
    case_stat_groups,
    case_stat_groups_for_days,
)
from onecity.payments.selectors import payment_facts

CURSOR = "hotline_stats"
REFRESH_OVERLAP = dt.timedelta(minutes=5)
BATCH = 5000

def _insert_values(model, names: list[str], values: list[tuple]) -> int:
    """Insert read-model rows with one executemany per batch: the ORM's bulk_create spends most
    of a rebuild preparing values field by field, and these rows are plain integers and dates."""
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(n) for n in names)}) "  # noqa: S608
           f"VALUES ({', '.join(['%s'] * len(names))})")  # constant names
    with connection.cursor() as cursor:
        for start in range(0, len(values), BATCH):
            cursor.executemany(sql, values[start:start + BATCH])
    return len(values)


def _insert(rows: dict[Key, list[int]]) -> int:
    adapt = connection.ops.adapt_datefield_value
    values = [(scope, dimension, adapt(day), adapt(day.replace(day=1)), key, *measures)
              for (scope, dimension, day, key), measures in rows.items()]
    return _insert_values(HotlineDailyStat, ["scope", "dimension", "day", "month", "key", *MEASURES], values)


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


def _cursor_move(started: dt.datetime, days: int, name: str = CURSOR) -> None:
    RefreshCursor.objects.update_or_create(name=name, defaults={
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


# --- 福码 payments (decision 0018) ---------------------------------------------------------------
PAYMENT_CURSOR = "payment_stats"


def _insert_payments(rows: dict[PaymentKey, list[int]]) -> int:
    adapt = connection.ops.adapt_datefield_value
    values = [(adapt(day), hour, scenario, district, channel, *measures)
              for (day, hour, scenario, district, channel), measures in rows.items()]
    return _insert_values(PaymentHourlyStat, ["day", "hour", "scenario", "district", "channel", *PAYMENT_MEASURES],
                          values)


@transaction.atomic
def payment_stats_rebuild(*, actor=None, progress: Callable[[int, int], None] | None = None) -> RebuildReport:
    """Rebuild the payments read model from every succeeded payment, in one transaction.
    `progress(done, total)` is called once the facts are read and once they are stored."""
    started_clock = time.monotonic()
    started = timezone.now()
    report = RebuildReport()
    PaymentHourlyStat.objects.all().delete()
    rows = fold_payments(payment_facts())
    if progress is not None:
        progress(1, 2)
    report.rows = _insert_payments(rows)
    report.days = len({day for day, *_rest in rows})
    if progress is not None:
        progress(2, 2)
    _cursor_move(started, report.days, PAYMENT_CURSOR)
    report.seconds = time.monotonic() - started_clock
    audit_record(actor=actor, action="analytics.payment_stats_rebuild", object_type="read_model",
                 object_id=PAYMENT_CURSOR, detail={"days": report.days, "rows": report.rows})
    return report


@transaction.atomic
def payment_stats_refresh() -> RefreshReport:
    """Recompute the local days of the payments changed since the last run (a payment that
    succeeded, or was refunded, counts on the day it succeeded). Without a cursor every day is
    built."""
    started = timezone.now()
    cursor = RefreshCursor.objects.select_for_update().filter(name=PAYMENT_CURSOR).first()
    if cursor is None:
        PaymentHourlyStat.objects.all().delete()
        rows = fold_payments(payment_facts())
        report = RefreshReport(days=sorted({day for day, *_rest in rows}))
        report.rows = _insert_payments(rows)
    else:
        report = RefreshReport(days=sorted({fact.day for fact in payment_facts(updated_since=cursor.since)}))
        if report.days:
            PaymentHourlyStat.objects.filter(day__in=report.days).delete()
            report.rows = _insert_payments(fold_payments(payment_facts(days=report.days)))
    _cursor_move(started, len(report.days), PAYMENT_CURSOR)
    return report


@dataclass
class ReadModelsReport:
    hotline: RebuildReport
    payments: RebuildReport


def read_models_rebuild(*, actor=None, progress: Callable[[str, int, int], None] | None = None) -> ReadModelsReport:
    """Rebuild every read model of the app (each in its own transaction). `progress(name, done,
    total)` with name "hotline_stats" or "payment_stats"."""

    def relay(name):
        return None if progress is None else (lambda done, total: progress(name, done, total))

    return ReadModelsReport(hotline=hotline_stats_rebuild(actor=actor, progress=relay(CURSOR)),
                            payments=payment_stats_rebuild(actor=actor, progress=relay(PAYMENT_CURSOR)))
