"""core.bulk: update_rows (one executemany UPDATE, values prepared by their fields, optional
conditions on observed values, and the number of rows it really changed) and insert_row (one new
row stored as save() would, in one statement)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from onecity.core.bulk import insert_row, update_rows
from onecity.core.models import CalendarDay, CalendarDayKind

pytestmark = pytest.mark.django_db
H, W = CalendarDayKind.HOLIDAY, CalendarDayKind.WORKDAY


@pytest.fixture
def days():
    CalendarDay.objects.all().delete()
    return [CalendarDay.objects.create(date=dt.date(2031, 1, d), kind=H, name=f"day {d}") for d in (1, 2, 3)]


def stored():
    return list(CalendarDay.objects.order_by("date").values_list("kind", "name"))


def test_sets_each_rows_own_values_in_one_statement(days):
    with CaptureQueriesContext(connection) as queries:
        changed = update_rows(CalendarDay, ["kind", "name"], [(days[0].pk, W, "补班"), (days[2].pk, H, "元旦")])
    assert changed == 2
    assert len(queries.captured_queries) == 1
    assert stored() == [(W, "补班"), (H, "day 2"), (H, "元旦")]


def test_a_row_whose_observed_value_changed_is_left_alone_and_not_counted(days):
    CalendarDay.objects.filter(pk=days[1].pk).update(kind=W)  # changed by someone else meanwhile
    changed = update_rows(CalendarDay, ["name"], [(day.pk, "checked", H) for day in days], where=("kind",))
    assert changed == 2
    assert stored() == [(H, "checked"), (W, "day 2"), (H, "checked")]


def test_no_rows_no_statement(days):
    with CaptureQueriesContext(connection) as queries:
        assert update_rows(CalendarDay, ["name"], []) == 0
    assert queries.captured_queries == []
    assert stored() == [(H, "day 1"), (H, "day 2"), (H, "day 3")]


def test_insert_row_stores_the_instance_as_save_would(days):
    with CaptureQueriesContext(connection) as queries:
        day = insert_row(CalendarDay(date=dt.date(2031, 1, 4), kind=W, name="补班", name_en="Make-up workday"))
    assert len(queries.captured_queries) == 1
    assert (day.pk, day._state.adding, day._state.db) == (CalendarDay.objects.get(date="2031-01-04").pk, False,
                                                          "default")
    assert list(CalendarDay.objects.filter(pk=day.pk).values_list("date", "kind", "name", "name_en")) == [
        (dt.date(2031, 1, 4), W, "补班", "Make-up workday")]
    assert CalendarDay.objects.count() == 4
