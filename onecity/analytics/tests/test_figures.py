"""Every figure on the hand-built requests of support.py, from the read model and live."""

from __future__ import annotations

import pytest

from onecity.analytics.models import CITY, HotlineDailyStat
from onecity.analytics.selectors import (
    hotline_stats_by,
    hotline_stats_by_month,
    hotline_stats_live,
    hotline_stats_totals,
)
from onecity.analytics.services import hotline_stats_rebuild
from onecity.analytics.tests.support import DAY1, DAY2

MEASURES = ("received", "rejected", "signed", "signed_on_time", "completed", "completed_on_time", "rated",
            "satisfied", "resolved", "handling_seconds", "reopened")


def sums(row) -> dict:
    return {m: getattr(row, m) for m in MEASURES}


CITY_TOTALS = {"received": 6, "rejected": 1, "signed": 3, "signed_on_time": 2, "completed": 4,
               "completed_on_time": 3, "rated": 3, "satisfied": 2, "resolved": 3,
               "handling_seconds": 7200 + 3 * 86400 + 1800 + 30 * 3600, "reopened": 1}


@pytest.fixture
def built(stats_city):
    hotline_stats_rebuild()
    return stats_city


def test_city_totals_and_every_rate(built):
    totals = hotline_stats_totals(scope=CITY, start=DAY1, end=DAY2)
    assert sums(totals) == CITY_TOTALS
    assert totals.daily_average == 3.0
    assert totals.signed_on_time_rate == 2 / 3
    assert totals.completed_on_time_rate == 3 / 4
    assert totals.satisfaction_rate == 2 / 3
    assert totals.resolution_rate == 3 / 5
    assert totals.handling_hours == 376200 / 4 / 3600
    assert totals.reopen_rate == 1 / 6


def test_breakdowns(built):
    city = built.city
    by = {d: {r.key: r for r in hotline_stats_by(scope=CITY, start=DAY1, end=DAY2, dimension=d)}
          for d in ("department", "district", "category", "channel")}
    assert {k: r.received for k, r in by["department"].items()} == {
        str(city.unit.pk): 2, str(city.other_unit.pk): 1, "0": 3}
    assert {k: r.received for k, r in by["district"].items()} == {
        str(city.district.pk): 4, str(city.other_district.pk): 2}
    assert {k: r.received for k, r in by["category"].items()} == {
        str(city.roads.pk): 2, str(city.water.pk): 2, "0": 2}
    assert {k: r.received for k, r in by["channel"].items()} == {"phone": 5, "app": 1}
    unit = by["department"][str(city.unit.pk)]
    assert unit.label == "福州市城市管理委员会"
    assert sums(unit) == {"received": 2, "rejected": 0, "signed": 2, "signed_on_time": 1, "completed": 2,
                          "completed_on_time": 2, "rated": 2, "satisfied": 1, "resolved": 1,
                          "handling_seconds": 7200 + 3 * 86400, "reopened": 0}
    other = by["department"][str(city.other_unit.pk)]
    assert (other.signed_on_time_rate, other.completed_on_time_rate, other.satisfaction_rate) == (1.0, 0.0, 1.0)
    hotline = by["department"]["0"]
    assert (hotline.received, hotline.rejected, hotline.completed, hotline.reopened) == (3, 1, 1, 1)
    assert hotline.signed_on_time_rate is None
    assert by["category"]["0"].label == "未分类"


def test_days_and_months(built):
    day1 = hotline_stats_totals(scope=CITY, start=DAY1, end=DAY1)
    day2 = hotline_stats_totals(scope=CITY, start=DAY2, end=DAY2)
    assert (day1.received, day2.received) == (4, 2)
    months = hotline_stats_by_month(scope=CITY, start=DAY1.replace(month=10, day=15), end=DAY2)
    assert [(m.key, m.received, m.days) for m in months] == [("2026-10-01", 0, 17), ("2026-11-01", 6, 3)]


def test_unit_scope_counts_only_what_the_unit_held(built):
    city = built.city
    unit = hotline_stats_totals(scope=city.unit.pk, start=DAY1, end=DAY2)
    assert (unit.received, unit.signed_on_time, unit.satisfied) == (2, 1, 1)
    other = hotline_stats_totals(scope=city.other_unit.pk, start=DAY1, end=DAY2)
    assert (other.received, other.completed, other.completed_on_time) == (1, 1, 0)


def test_a_sub_unit_and_its_parent_unit_both_count_a_case_passed_on(stats_city):
    from onecity.hotline.tests.support import advance, register

    city = stats_city.city
    advance(city, register(city, actor=city.operator), "closed", sub=True)
    hotline_stats_rebuild()
    day = stats_city.clock.now.date()
    assert hotline_stats_totals(scope=city.subunit.pk, start=day, end=day).received == 1
    assert hotline_stats_totals(scope=city.unit.pk, start=day, end=day).received == 1
    assert hotline_stats_totals(scope=CITY, start=day, end=day).received == 1


@pytest.mark.parametrize("scope_name", ["city", "unit", "other_unit"])
def test_read_model_equals_live_computation(built, scope_name):
    scope = CITY if scope_name == "city" else getattr(built.city, scope_name).pk
    start, end = DAY1.replace(day=1), DAY2
    live = hotline_stats_live(scope=scope, start=start, end=end)
    assert live.totals == hotline_stats_totals(scope=scope, start=start, end=end)
    assert live.months == hotline_stats_by_month(scope=scope, start=start, end=end)
    for dimension in ("department", "district", "category", "channel"):
        assert live.by[dimension] == hotline_stats_by(scope=scope, start=start, end=end, dimension=dimension)


def test_rebuild_twice_writes_the_same_rows(built):
    def snapshot():
        return sorted(HotlineDailyStat.objects.values_list("scope", "dimension", "day", "key", *MEASURES))

    first = snapshot()
    report = hotline_stats_rebuild()
    assert snapshot() == first
    assert (report.days, report.rows) == (2, len(first))
