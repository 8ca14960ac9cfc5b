"""The 福码 statistics: exact figures of the hand-made payments (payments_support.py), the
refresh (idempotent, only the touched days) and the desensitised facts."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.utils import translation

from onecity.analytics.models import PaymentHourlyStat, RefreshCursor
from onecity.analytics.selectors import payment_stats_by, payment_stats_heat, payment_stats_totals
from onecity.analytics.services import PAYMENT_CURSOR, payment_stats_rebuild, payment_stats_refresh
from onecity.analytics.tests.payments_support import DAY1, DAY2, pay
from onecity.payments.models import PaymentAttempt
from onecity.payments.selectors import PaymentFact, payment_facts
from onecity.payments.tests.support import SH

SPAN = {"start": dt.date(2026, 11, 1), "end": dt.date(2026, 11, 30)}


@pytest.fixture
def built(pay_stats_city):
    payment_stats_rebuild()
    return pay_stats_city


def table(rows):
    return [(r.key, r.label, r.value("payments"), r.value("amount_fen"), r.value("refunded_fen"),
             r.value("average_fen")) for r in rows]


def test_read_model_rows(built):
    rows = sorted(PaymentHourlyStat.objects.values_list("day", "hour", "scenario", "district", "channel",
                                                        "payments", "amount_fen", "refunded_fen"))
    assert rows == [(DAY1, 9, "education", "350102", "alipay", 5, 500000, 50000),
                    (DAY2, 14, "health", "350111", "unionpay", 2, 40000, 0),
                    (DAY2, 20, "parking", "350102", "wechat", 1, 3000, 0)]


def test_totals_and_breakdowns(built):
    totals = payment_stats_totals(**SPAN)
    assert (totals.payments, totals.amount_fen, totals.refunded_fen, totals.average_fen) == (8, 543000, 50000, 67875.0)
    with translation.override("en"):
        assert table(payment_stats_by(**SPAN, dimension="scenario")) == [
            ("education", "Education", 5, 500000, 50000, 100000.0),
            ("health", "Health care", None, None, None, None),  # 2 payments: below the minimum cell
            ("parking", "Parking", None, None, None, None)]
        district = payment_stats_by(**SPAN, dimension="district")
        assert table(district) == [("350102", "Gulou District", 6, 503000, 50000, 503000 / 6),
                                   ("350111", "福建省福州市晋安区", None, None, None, None)]
        assert district[0].share == 503000 / 543000
        assert [(r.key, r.value("payments")) for r in payment_stats_by(**SPAN, dimension="channel")] == [
            ("alipay", 5), ("unionpay", None), ("wechat", None)]
    hours = payment_stats_by(**SPAN, dimension="hour")
    assert [r.key for r in hours] == [f"{h:02d}" for h in range(24)]
    assert {r.key: (r.payments, r.suppressed) for r in hours if r.payments} == {
        "09": (5, False), "14": (2, True), "20": (1, True)}
    assert hours[9].label == "09:00–10:00"
    assert payment_stats_heat(**SPAN) == {("education", 9): 5, ("health", 14): None, ("parking", 20): None}


def test_minimum_cell_is_a_setting(built, settings):
    settings.ANALYTICS_PAYMENTS_MIN_CELL = 1
    assert [(r.key, r.value("payments")) for r in payment_stats_by(**SPAN, dimension="scenario")] == [
        ("education", 5), ("health", 2), ("parking", 1)]


def test_range_limits_the_days(built):
    assert payment_stats_totals(start=DAY2, end=DAY2).payments == 3
    assert payment_stats_totals(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31)).payments == 0


def test_refresh_is_idempotent_and_recomputes_only_touched_days(pay_stats_city, clock):
    clock.advance(minutes=10)  # past the refresh's overlap with the moment the payments were made
    first = payment_stats_refresh()  # no cursor yet: every day
    assert (first.days, first.rows) == ([DAY1, DAY2], 3)
    before = sorted(PaymentHourlyStat.objects.values_list("day", "hour", "scenario", "payments", "amount_fen"))
    clock.advance(minutes=10)
    again = payment_stats_refresh()
    assert (again.days, again.rows) == ([], 0)
    assert sorted(PaymentHourlyStat.objects.values_list("day", "hour", "scenario", "payments", "amount_fen")) == before
    day1_ids = set(PaymentHourlyStat.objects.filter(day=DAY1).values_list("id", flat=True))
    clock.advance(minutes=10)
    pay(pay_stats_city.hospital, kind="hospital", amount_fen=7000, channel="unionpay",
        at=dt.datetime(2026, 11, 21, 14, 30, tzinfo=SH), ref="H9")
    touched = payment_stats_refresh()
    assert (touched.days, touched.rows) == ([DAY2], 2)
    assert set(PaymentHourlyStat.objects.filter(day=DAY1).values_list("id", flat=True)) == day1_ids  # not rewritten
    assert PaymentHourlyStat.objects.get(day=DAY2, hour=14).payments == 3
    cursor = RefreshCursor.objects.get(name=PAYMENT_CURSOR)
    assert cursor.last_days == 1


def test_refresh_sees_a_refund_on_the_day_of_the_payment(pay_stats_city, clock):
    clock.advance(minutes=10)
    payment_stats_rebuild()
    clock.advance(minutes=10)
    PaymentAttempt.objects.filter(pk=pay_stats_city.attempts[-1].pk).update(refunded_fen=20000, updated_at=clock.now)
    assert payment_stats_refresh().days == [DAY2]
    assert PaymentHourlyStat.objects.get(day=DAY2, hour=14).refunded_fen == 20000


def test_rebuild_equals_refresh_from_nothing(pay_stats_city):
    payment_stats_rebuild()
    rebuilt = sorted(PaymentHourlyStat.objects.values_list("day", "hour", "scenario", "district", "channel",
                                                           "payments", "amount_fen", "refunded_fen"))
    RefreshCursor.objects.filter(name=PAYMENT_CURSOR).delete()
    payment_stats_refresh()
    assert sorted(PaymentHourlyStat.objects.values_list("day", "hour", "scenario", "district", "channel",
                                                        "payments", "amount_fen", "refunded_fen")) == rebuilt


def test_facts_carry_no_personal_fields(pay_stats_city):
    assert {f.name for f in dataclasses.fields(PaymentFact)} == {
        "succeeded_at", "day", "hour", "amount_fen", "refunded_fen", "channel", "scenario", "district_code",
        "district_name", "payee_public_id"}
    facts = list(payment_facts())
    assert len(facts) == 8
    text = repr(facts)
    for personal in ("13800138000", "138****8000", "林志远", "TRADE", "t-T1"):
        assert personal not in text
    assert facts[0] == PaymentFact(
        succeeded_at=dt.datetime(2026, 11, 20, 9, 10, tzinfo=SH), day=DAY1, hour=9, amount_fen=100000,
        refunded_fen=50000, channel="alipay", scenario="education", district_code="350102", district_name="鼓楼区",
        payee_public_id=pay_stats_city.school.public_id)
    assert [f.scenario for f in facts[5:]] == ["health", "health", "parking"]
    assert [f.day for f in payment_facts(days=[DAY2])] == [DAY2, DAY2, DAY2]


def test_district_labels(pay_stats_city):
    from onecity.analytics.selectors import _payment_labels

    with translation.override("en"):
        assert _payment_labels("district", ["350102", "350111", "350100", ""]) == {
            "350102": "Gulou District", "350111": "福建省福州市晋安区", "350100": "City-level units", "": "No district"}
    with translation.override("zh-hans"):
        assert _payment_labels("district", ["350102", "350100"]) == {"350102": "鼓楼区", "350100": "市级单位"}


def test_periodic_task_refreshes(pay_stats_city, clock):
    from onecity.analytics.tasks import payment_stats_refresh_task

    clock.advance(minutes=10)  # past the overlap with the moment the payments were made
    assert payment_stats_refresh_task.call_local() == 2
    clock.advance(minutes=10)
    assert payment_stats_refresh_task.call_local() == 0
    assert PaymentHourlyStat.objects.count() == 3
