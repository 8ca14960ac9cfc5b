"""core.bulk: update_rows (one statement for many rows — an executemany on SQLite, a joined
UPDATE on PostgreSQL —, values prepared by their fields, optional conditions on observed values,
and the number of rows it really changed) and insert_row (one new row stored as save() would,
in one statement), and copy_in (PostgreSQL's COPY through Django's cursor)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from onecity.core.bulk import copy_in, insert_row, update_rows
from onecity.core.models import AuditEvent, CalendarDay, CalendarDayKind

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


def test_values_of_every_type_and_nulls_land_as_their_columns_types(django_user_model):
    """A timestamp, a nullable foreign key, an inet, JSON and text, set to values and to NULL:
    on PostgreSQL the joined UPDATE casts each VALUES column to its column's type."""
    user = django_user_model.objects.create(username="bulk-typed")
    first, second = (AuditEvent.objects.create(action="x", actor=user, ip="10.0.0.1", detail={"n": i})
                     for i in (1, 2))
    at = dt.datetime(2031, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    changed = update_rows(AuditEvent, ["at", "actor", "ip", "detail", "reason"],
                          [(first.pk, at, None, None, {"k": ["中", 1]}, "改", "x"),
                           (second.pk, at, user.pk, "2001:db8::1", {}, "", "x")], where=("action",))
    assert changed == 2
    assert list(AuditEvent.objects.order_by("pk").values_list("at", "actor", "ip", "detail", "reason")) == [
        (at, None, None, {"k": ["中", 1]}, "改"), (at, user.pk, "2001:db8::1", {}, "")]


def test_one_row_per_primary_key(days):
    with pytest.raises(ValueError, match="one row per primary key"):
        update_rows(CalendarDay, ["name"], [(days[0].pk, "a"), (days[0].pk, "b")])
    assert stored() == [(H, "day 1"), (H, "day 2"), (H, "day 3")]


COPY_DAYS = "COPY core_calendarday (date, kind, name, name_en) FROM STDIN"
needs_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")


@needs_postgresql
def test_copy_in_stores_the_rows_in_one_logged_statement(days):
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        copy_in(cursor, COPY_DAYS, [(dt.date(2031, 1, 4), W, "补班", "Make-up workday"),
                                    (dt.date(2031, 1, 5), H, "春节\t除夕", "")])
    assert [q["sql"] for q in queries.captured_queries] == [COPY_DAYS]
    assert list(CalendarDay.objects.filter(date__gte="2031-01-04").values_list("date", "kind", "name", "name_en")) == [
        (dt.date(2031, 1, 4), W, "补班", "Make-up workday"), (dt.date(2031, 1, 5), H, "春节\t除夕", "")]


@needs_postgresql
def test_copy_in_raises_djangos_integrity_error_and_stores_nothing(days):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        copy_in(cursor, COPY_DAYS, [(dt.date(2031, 1, 4), W, "补班", ""), (dt.date(2031, 1, 1), W, "taken", "")])
    assert stored() == [(H, "day 1"), (H, "day 2"), (H, "day 3")]
