"""The working-day calendar of mainland China, and deadlines computed on it.

A day is a working day when it is Monday to Friday and not a public holiday, or when it is a
weekend day declared a make-up workday (调休). Holidays and make-up workdays are DATA: rows of
`core.CalendarDay`, seeded from `core/data/cn_calendar.csv` and edited by administrators when
the State Council publishes the next year's schedule. Nothing here knows a holiday by name.

Rules (docs/decisions/0006-hotline-workflow-and-deadlines.md):

- Times are aware datetimes; days are counted in the local time zone (settings.TIME_ZONE,
  Asia/Shanghai).
- "N working days" from a start instant: the start day itself is not counted (as in Chinese
  administrative law, 期间开始的当日不计入); the deadline is the end (23:59:59) of the Nth working
  day after the start's local date. A start on a holiday counts from the next working day.
- "N hours": calendar hours; the clock runs through nights, weekends and holidays (urgent
  matters and utilities do not wait for Monday).
- "N working hours": only time inside office hours (settings.OFFICE_HOURS, default
  08:00-12:00 and 14:30-17:30) on working days counts.

The table is cached per process. Saving or deleting a CalendarDay (admin, shell, migrations
through the model) clears this process's cache and bumps a version in the shared Django cache;
other processes notice the new version within CHECK_SECONDS and reload.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time as _time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save

HOURS = "hours"
WORKING_HOURS = "working_hours"
WORKING_DAYS = "working_days"
UNITS = (HOURS, WORKING_HOURS, WORKING_DAYS)

DEFAULT_OFFICE_HOURS = ((dt.time(8, 0), dt.time(12, 0)), (dt.time(14, 30), dt.time(17, 30)))
END_OF_DAY = dt.time(23, 59, 59)
CHECK_SECONDS = 5.0
VERSION_KEY = "core:calendar:version"
#: how far a search for the next working day may go before the data must be wrong
MAX_SEARCH_DAYS = 366


@dataclass(frozen=True)
class CalendarTable:
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    first: dt.date | None  # first and last date with a row: the years the data covers
    last: dt.date | None


_state: dict = {"table": None, "version": None, "checked": 0.0}
_lock = threading.Lock()


def _local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _shared_version():
    try:
        return cache.get(VERSION_KEY)
    except Exception:  # noqa: BLE001 - the cache table may not exist yet (first migrate)
        return None


def _load() -> CalendarTable:
    from onecity.core.models import CalendarDay, CalendarDayKind

    holidays, workdays = set(), set()
    for day, kind in CalendarDay.objects.values_list("date", "kind"):
        (holidays if kind == CalendarDayKind.HOLIDAY else workdays).add(day)
    every = holidays | workdays
    return CalendarTable(frozenset(holidays), frozenset(workdays), min(every, default=None),
                         max(every, default=None))


def table() -> CalendarTable:
    """The holiday/workday table of this process, reloaded when another process changed it."""
    now = _time.monotonic()
    state = _state
    if state["table"] is not None and now - state["checked"] < CHECK_SECONDS:
        return state["table"]
    with _lock:
        version = _shared_version()
        if state["table"] is None or version != state["version"]:
            state["table"] = _load()
            state["version"] = version
        state["checked"] = now
        return state["table"]


def calendar_forget() -> None:
    """Forget this process's cached table (the next read loads it again)."""
    with _lock:
        _state["table"] = None
        _state["checked"] = 0.0


def calendar_changed(**_kwargs) -> None:
    """Forget the cached table here and tell the other processes (connected to CalendarDay's
    post_save/post_delete in CoreConfig.ready)."""
    calendar_forget()
    # No shared cache yet (the first migrate): this process is already up to date.
    with contextlib.suppress(Exception):
        cache.set(VERSION_KEY, _time.time_ns(), timeout=None)


def connect_signals() -> None:
    from onecity.core.models import CalendarDay

    post_save.connect(calendar_changed, sender=CalendarDay, dispatch_uid="core-calendar-save")
    post_delete.connect(calendar_changed, sender=CalendarDay, dispatch_uid="core-calendar-delete")


def covered(day: dt.date) -> bool:
    """Whether `day` lies in a year the data covers (its schedule has been entered)."""
    t = table()
    return t.first is not None and t.first.year <= day.year <= t.last.year


def is_working_day(day: dt.date) -> bool:
    t = table()
    if day in t.workdays:
        return True
    if day in t.holidays:
        return False
    return day.weekday() < 5


def local_date(moment: dt.datetime) -> dt.date:
    if moment.tzinfo is None:
        raise ValueError("calendar arithmetic needs an aware datetime")
    return moment.astimezone(_local_tz()).date()


def next_working_day(day: dt.date) -> dt.date:
    """The first working day strictly after `day`."""
    for _ in range(MAX_SEARCH_DAYS):
        day += dt.timedelta(days=1)
        if is_working_day(day):
            return day
    raise ValueError("no working day within a year: the calendar data is wrong")


def _end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, END_OF_DAY, tzinfo=_local_tz())


def add_working_days(start: dt.datetime, n: int) -> dt.datetime:
    """End (23:59:59 local) of the n-th working day after `start`'s local date. With n == 0:
    the end of the start day when it is a working day, else of the next working day."""
    if n < 0:
        raise ValueError("n must not be negative")
    day = local_date(start)
    if n == 0:
        return _end_of(day if is_working_day(day) else next_working_day(day))
    for _ in range(n):
        day = next_working_day(day)
    return _end_of(day)


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days d with start < d <= end (the same counting as add_working_days);
    negative when end is before start."""
    if end < start:
        return -working_days_between(end, start)
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        count += is_working_day(day)
    return count


def office_hours() -> tuple[tuple[dt.time, dt.time], ...]:
    return tuple(getattr(settings, "OFFICE_HOURS", None) or DEFAULT_OFFICE_HOURS)


def add_working_hours(start: dt.datetime, hours: float) -> dt.datetime:
    """The instant when `hours` of office time on working days have passed since `start`."""
    if hours < 0:
        raise ValueError("hours must not be negative")
    tz = _local_tz()
    remaining = dt.timedelta(hours=hours)
    moment = start.astimezone(tz)
    day = moment.date()
    windows = office_hours()
    for _ in range(MAX_SEARCH_DAYS * 2):
        if is_working_day(day):
            for opens, closes in windows:
                window_start = dt.datetime.combine(day, opens, tzinfo=tz)
                window_end = dt.datetime.combine(day, closes, tzinfo=tz)
                begin = max(window_start, moment)
                if begin >= window_end:
                    continue
                available = window_end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += dt.timedelta(days=1)
        moment = dt.datetime.combine(day, dt.time(0, 0), tzinfo=tz)
    raise ValueError("too many working hours for the calendar data")


def deadline(start: dt.datetime, amount: int | float, unit: str) -> dt.datetime:
    """The deadline `amount` `unit`s after `start` (unit: hours, working_hours, working_days)."""
    if unit == HOURS:
        if amount < 0:
            raise ValueError("hours must not be negative")
        return start + dt.timedelta(hours=amount)
    if unit == WORKING_HOURS:
        return add_working_hours(start, amount)
    if unit == WORKING_DAYS:
        return add_working_days(start, int(amount))
    raise ValueError(f"unknown time unit {unit!r}")
