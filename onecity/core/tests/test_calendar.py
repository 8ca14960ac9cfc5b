"""The working-day calendar: seeded State Council schedules, make-up workdays, deadline rules,
and the per-process cache that follows edits."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from onecity.core import calendar
from onecity.core.models import CalendarDay, CalendarDayKind

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def at(y, m, d, hh=10, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH)


def eod(y, m, d):
    return dt.datetime(y, m, d, 23, 59, 59, tzinfo=SH)


@pytest.fixture(autouse=True)
def fresh_cache():
    calendar.calendar_changed()
    yield
    calendar.calendar_changed()


def test_seed_covers_2025_and_2026_exactly():
    assert CalendarDay.objects.filter(date__year=2025, kind=CalendarDayKind.HOLIDAY).count() == 28
    assert CalendarDay.objects.filter(date__year=2025, kind=CalendarDayKind.WORKDAY).count() == 5
    assert CalendarDay.objects.filter(date__year=2026, kind=CalendarDayKind.HOLIDAY).count() == 33
    assert CalendarDay.objects.filter(date__year=2026, kind=CalendarDayKind.WORKDAY).count() == 6
    assert sorted(CalendarDay.objects.filter(date__year=2026, kind=CalendarDayKind.WORKDAY)
                  .values_list("date", flat=True)) == [
        dt.date(2026, 1, 4), dt.date(2026, 2, 14), dt.date(2026, 2, 28), dt.date(2026, 5, 9),
        dt.date(2026, 9, 20), dt.date(2026, 10, 10)]
    assert CalendarDay.objects.get(date=dt.date(2026, 2, 17)).name == "春节"
    assert calendar.covered(dt.date(2026, 12, 31)) is True
    assert calendar.covered(dt.date(2027, 1, 4)) is False


@pytest.mark.parametrize(("day", "working"), [
    (dt.date(2026, 11, 23), True),   # Monday
    (dt.date(2026, 11, 28), False),  # Saturday
    (dt.date(2026, 10, 1), False),   # National Day
    (dt.date(2026, 10, 10), True),   # Saturday, make-up workday
    (dt.date(2026, 10, 11), False),  # Sunday after it
    (dt.date(2026, 2, 14), True),    # Saturday before Spring Festival, make-up workday
    (dt.date(2026, 2, 16), False),   # Spring Festival eve (Monday)
    (dt.date(2026, 2, 23), False),   # last day of the break (Monday)
    (dt.date(2026, 2, 24), True),
    (dt.date(2025, 1, 26), True),    # Sunday make-up workday of 2025
    (dt.date(2025, 10, 6), False),   # Mid-autumn inside the 2025 National Day break
    (dt.date(2027, 1, 1), True),     # Friday of a year with no data yet: only weekends count
])
def test_is_working_day(day, working):
    assert calendar.is_working_day(day) is working


def test_five_working_days_across_national_day_2026():
    # Wed 30 Sep; 1-7 Oct holidays; Thu 8, Fri 9, Sat 10 (make-up), Mon 12, Tue 13
    assert calendar.add_working_days(at(2026, 9, 30, 16), 5) == eod(2026, 10, 13)
    assert calendar.working_days_between(dt.date(2026, 9, 30), dt.date(2026, 10, 13)) == 5


def test_five_working_days_across_spring_festival_2026():
    # Thu 12 Feb; Fri 13, Sat 14 (make-up), 15-23 break, Tue 24, Wed 25, Thu 26
    assert calendar.add_working_days(at(2026, 2, 12), 5) == eod(2026, 2, 26)
    assert calendar.add_working_days(at(2026, 2, 12), 2) == eod(2026, 2, 14)
    assert calendar.working_days_between(dt.date(2026, 2, 12), dt.date(2026, 2, 26)) == 5


def test_start_day_not_counted_and_holiday_start_counts_from_next_working_day():
    assert calendar.add_working_days(at(2026, 11, 23, 8), 1) == eod(2026, 11, 24)
    assert calendar.add_working_days(at(2026, 10, 3), 1) == eod(2026, 10, 8)
    assert calendar.add_working_days(at(2026, 10, 3), 0) == eod(2026, 10, 8)
    assert calendar.add_working_days(at(2026, 11, 23), 0) == eod(2026, 11, 23)
    # local date decides: 23:30 UTC on Sunday is Monday morning in Fuzhou
    sunday_utc = dt.datetime(2026, 11, 22, 23, 30, tzinfo=dt.UTC)
    assert calendar.add_working_days(sunday_utc, 1) == eod(2026, 11, 24)
    with pytest.raises(ValueError):
        calendar.add_working_days(at(2026, 11, 23), -1)
    with pytest.raises(ValueError):
        calendar.add_working_days(dt.datetime(2026, 11, 23, 10), 1)


def test_working_days_between_is_signed_and_counts_make_up_days():
    assert calendar.working_days_between(dt.date(2026, 11, 23), dt.date(2026, 11, 23)) == 0
    assert calendar.working_days_between(dt.date(2026, 11, 20), dt.date(2026, 11, 23)) == 1
    assert calendar.working_days_between(dt.date(2026, 11, 23), dt.date(2026, 11, 20)) == -1
    assert calendar.working_days_between(dt.date(2026, 9, 30), dt.date(2026, 10, 10)) == 3


def test_calendar_hours_run_through_holidays():
    assert calendar.deadline(at(2026, 9, 30, 20), 24, calendar.HOURS) == at(2026, 10, 1, 20)
    assert calendar.deadline(at(2026, 9, 30, 23), 2, calendar.HOURS) == at(2026, 10, 1, 1)


def test_working_hours_count_office_time_only():
    # Mon 10:00 + 3 h: 10-12 (2 h), lunch break, 14:30-15:30
    assert calendar.add_working_hours(at(2026, 11, 23, 10), 3) == at(2026, 11, 23, 15, 30)
    # Fri 17:00 + 1 h: 30 min on Friday, then Monday 08:00-08:30
    assert calendar.add_working_hours(at(2026, 11, 27, 17), 1) == at(2026, 11, 30, 8, 30)
    # starting at night on a holiday: first office minute after the break is 8 Oct 08:00
    assert calendar.deadline(at(2026, 10, 2, 22), 2, calendar.WORKING_HOURS) == at(2026, 10, 8, 10)
    # the make-up Saturday is a full office day
    assert calendar.add_working_hours(at(2026, 10, 9, 17), 2) == at(2026, 10, 10, 9, 30)
    assert calendar.add_working_hours(at(2026, 11, 23, 12, 30), 0) == at(2026, 11, 23, 14, 30)


def test_office_hours_come_from_settings(settings):
    settings.OFFICE_HOURS = ((dt.time(9, 0), dt.time(17, 0)),)
    assert calendar.add_working_hours(at(2026, 11, 23, 16), 2) == at(2026, 11, 24, 10)


def test_deadline_units():
    assert calendar.deadline(at(2026, 9, 30), 5, calendar.WORKING_DAYS) == eod(2026, 10, 13)
    with pytest.raises(ValueError):
        calendar.deadline(at(2026, 9, 30), 5, "fortnights")


def test_edit_is_seen_at_once_in_this_process_and_by_others_via_the_version():
    monday = dt.date(2026, 11, 30)
    assert calendar.is_working_day(monday) is True
    row = CalendarDay.objects.create(date=monday, kind=CalendarDayKind.HOLIDAY, name="测试假日")
    assert calendar.is_working_day(monday) is False
    row.delete()
    assert calendar.is_working_day(monday) is True

    # Another process changed the table: the version moves; this process reloads on its next check.
    calendar.table()
    CalendarDay.objects.filter(date=dt.date(2026, 10, 10)).update(kind=CalendarDayKind.HOLIDAY)
    assert calendar.is_working_day(dt.date(2026, 10, 10)) is True  # still the cached table
    from django.core.cache import cache

    cache.set(calendar.VERSION_KEY, "another-process", timeout=None)
    calendar._state["checked"] = 0.0  # the check interval has passed
    assert calendar.is_working_day(dt.date(2026, 10, 10)) is False
