"""A hand-built set of requests whose every figure is known (test_figures.py lists them), made
through the real hotline services with the clock set to each step's moment.

Day 1 (Monday 2 Nov 2026), district 1, all filed 10:00 unless said:
  A  phone, roads  → the unit; signed at once, replied 2 h after filing, satisfied, closed
  B  app,   roads  → the unit; signed 3 days later (late), replied then (on time), not satisfied,
                     closed by the supervisor
  C  phone, none   not accepted
  D  phone, none   answered directly 30 min after filing
Day 2 (Tuesday 3 Nov 2026), the other district, water (limits: sign 2 h, handle 24 h):
  E  phone → the other unit; closed basically satisfied, then reopened (back to the dispatchers)
  F  phone → the other unit; signed after 1 h, replied 30 h after filing (late), basically
             satisfied, closed
  G  phone, merged into F (counted nowhere)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from onecity.hotline.enums import Satisfaction
from onecity.hotline.services import cases as svc
from onecity.hotline.tests.support import at, register

DAY1 = dt.date(2026, 11, 2)
DAY2 = dt.date(2026, 11, 3)


@dataclass
class StatsCity:
    city: object
    clock: object
    ids: dict


def _walk(city, clock, case, *, unit, category, sign_after=None, reply_after, satisfaction, closer=None):
    pid = case.public_id
    start = clock.now
    svc.case_accept(actor=city.operator, case_id=pid, category_code=category.code)
    svc.case_dispatch(actor=city.dispatcher, case_id=pid, unit=unit)
    handler = city.handler if unit == city.unit else city.other_handler
    if sign_after is not None:
        clock.set(start + sign_after)
    svc.case_sign(actor=handler, case_id=pid)
    clock.set(start + reply_after)
    svc.case_reply(actor=handler, case_id=pid, reply="已处理完毕。")
    svc.case_visit(actor=city.operator, case_id=pid, satisfaction=satisfaction)
    svc.case_close(actor=closer or city.operator, case_id=pid)


@pytest.fixture
def stats_city(city, clock) -> StatsCity:
    ids = {}
    clock.set(at(2026, 11, 2, 10))
    a = register(city, actor=city.operator)
    ids["A"] = a.public_id
    _walk(city, clock, a, unit=city.unit, category=city.potholes, reply_after=dt.timedelta(hours=2),
          satisfaction=Satisfaction.SATISFIED)

    clock.set(at(2026, 11, 2, 10))
    b = register(city)  # the resident, in the app
    ids["B"] = b.public_id
    _walk(city, clock, b, unit=city.unit, category=city.potholes, sign_after=dt.timedelta(days=3),
          reply_after=dt.timedelta(days=3), satisfaction=Satisfaction.NOT_SATISFIED, closer=city.supervisor)

    clock.set(at(2026, 11, 2, 10))
    c = register(city, actor=city.operator)
    ids["C"] = c.public_id
    svc.case_reject(actor=city.operator, case_id=c.public_id, reason="不属于12345受理范围")

    clock.set(at(2026, 11, 2, 10))
    d = register(city, actor=city.operator)
    ids["D"] = d.public_id
    clock.set(at(2026, 11, 2, 10, 30))
    svc.case_answer(actor=city.operator, case_id=d.public_id, answer="已根据知识库答复。")

    clock.set(at(2026, 11, 3, 9))
    e = register(city, actor=city.operator, district=city.other_district)
    ids["E"] = e.public_id
    _walk(city, clock, e, unit=city.other_unit, category=city.water, reply_after=dt.timedelta(hours=3),
          satisfaction=Satisfaction.BASICALLY_SATISFIED)
    svc.case_reopen(actor=city.operator, case_id=e.public_id, reason="问题再次出现")

    clock.set(at(2026, 11, 3, 10))
    f = register(city, actor=city.operator, district=city.other_district)
    ids["F"] = f.public_id
    g = register(city, actor=city.operator, district=city.other_district)
    ids["G"] = g.public_id
    svc.case_merge(actor=city.dispatcher, case_id=g.public_id, into_case_id=f.public_id)
    clock.set(at(2026, 11, 3, 10))
    _walk(city, clock, f, unit=city.other_unit, category=city.water, sign_after=dt.timedelta(hours=1),
          reply_after=dt.timedelta(hours=30), satisfaction=Satisfaction.BASICALLY_SATISFIED)
    clock.set(at(2026, 11, 10, 9))
    return StatsCity(city=city, clock=clock, ids=ids)
