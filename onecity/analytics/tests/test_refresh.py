"""The incremental refresh: only the days whose requests changed, idempotent; the command."""

from __future__ import annotations

import datetime as dt
import io
import json

from django.core.management import call_command

from onecity.analytics.models import CITY, Dimension, HotlineDailyStat, RefreshCursor
from onecity.analytics.services import REFRESH_OVERLAP, hotline_stats_rebuild, hotline_stats_refresh
from onecity.analytics.tests.support import DAY1, DAY2
from onecity.hotline.services import cases as svc
from onecity.hotline.tests.support import at


def rows_of(day):
    return {(r.scope, r.dimension, r.key): (r.pk, r.received, r.reopened)
            for r in HotlineDailyStat.objects.filter(day=day)}


def city_all(day) -> HotlineDailyStat:
    return HotlineDailyStat.objects.get(scope=CITY, dimension=Dimension.ALL, day=day)


def test_refresh_recomputes_only_the_touched_days(stats_city):
    clock = stats_city.clock
    hotline_stats_rebuild()
    assert RefreshCursor.objects.get().since == at(2026, 11, 10, 9) - REFRESH_OVERLAP
    day1_before = rows_of(DAY1)
    day2_before = rows_of(DAY2)
    clock.set(at(2026, 11, 10, 11))
    svc.case_reopen(actor=stats_city.city.operator, case_id=stats_city.ids["F"], reason="又坏了")

    report = hotline_stats_refresh()

    assert report.days == [DAY2]
    assert rows_of(DAY1) == day1_before  # the same rows, not rewritten
    assert {k: v[1:] for k, v in rows_of(DAY2).items()} != {k: v[1:] for k, v in day2_before.items()}
    assert (city_all(DAY2).received, city_all(DAY2).reopened, city_all(DAY2).completed) == (2, 2, 0)
    assert RefreshCursor.objects.get().since == at(2026, 11, 10, 11) - REFRESH_OVERLAP


def test_refresh_is_idempotent(stats_city):
    clock = stats_city.clock
    hotline_stats_rebuild()
    clock.set(at(2026, 11, 10, 11))
    svc.case_reopen(actor=stats_city.city.operator, case_id=stats_city.ids["A"], reason="又坏了")
    assert hotline_stats_refresh().days == [DAY1]
    after_first = sorted(HotlineDailyStat.objects.values_list("scope", "dimension", "day", "key", "received",
                                                              "reopened", "completed"))
    # a change is seen again by the runs of the next REFRESH_OVERLAP, which write the same rows;
    # once a run starts after that, nothing is recomputed
    assert hotline_stats_refresh().days == [DAY1]
    clock.advance(minutes=10)
    assert hotline_stats_refresh().days == [DAY1]
    assert hotline_stats_refresh().days == []
    assert sorted(HotlineDailyStat.objects.values_list("scope", "dimension", "day", "key", "received",
                                                       "reopened", "completed")) == after_first
    # and the refreshed table is what a full rebuild gives
    hotline_stats_rebuild()
    assert sorted(HotlineDailyStat.objects.values_list("scope", "dimension", "day", "key", "received",
                                                       "reopened", "completed")) == after_first


def test_first_refresh_builds_every_day(stats_city):
    report = hotline_stats_refresh()
    assert report.days == [DAY1, DAY2]
    assert city_all(DAY1).received == 4


def test_a_new_request_appears_after_the_refresh(stats_city):
    from onecity.hotline.tests.support import register

    hotline_stats_rebuild()
    stats_city.clock.set(at(2026, 11, 10, 12))
    register(stats_city.city, actor=stats_city.city.operator)
    assert hotline_stats_refresh().days == [dt.date(2026, 11, 10)]
    assert city_all(dt.date(2026, 11, 10)).received == 1


def test_command_rebuild_and_refresh(stats_city):
    out = io.StringIO()
    call_command("analytics", "rebuild", verbosity=0, stdout=out)
    hotline, payments = (json.loads(line) for line in out.getvalue().splitlines())
    assert (hotline["read_model"], hotline["days"], hotline["rows"]) == ("hotline_stats", 2,
                                                                          HotlineDailyStat.objects.count())
    assert (payments["read_model"], payments["days"], payments["rows"]) == ("payment_stats", 0, 0)
    out = io.StringIO()
    call_command("analytics", "refresh", stdout=out)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [
        {"read_model": "hotline_stats", "days": [], "rows": 0},
        {"read_model": "payment_stats", "days": [], "rows": 0}]


def test_periodic_task_refreshes(stats_city):
    from onecity.analytics.tasks import hotline_stats_refresh_task

    assert hotline_stats_refresh_task.call_local() == 2
    assert hotline_stats_refresh_task.call_local() == 0
    assert city_all(DAY2).received == 2
