"""A small city for the hotline tests: a district, departments with a sub-unit, staff in every
hotline role, a resident, categories with time limits, a controllable clock, and a helper that
brings a case to any state through the real services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from onecity.core.validators import uscc_make
from onecity.hotline.enums import CaseState, Channel, Satisfaction, TimeUnit, Urgency
from onecity.hotline.models import Case, Category, ExtensionRequest, TimeLimitRule
from onecity.hotline.services import cases as svc
from onecity.hotline.services.extensions import case_extension_request
from onecity.hotline.services.intake import case_register
from onecity.identity.enums import OrganizationKind
from onecity.identity.models import Organization
from onecity.identity.tests.accounts_support import fast_hashing, make_citizen, make_staff  # noqa: F401

SH = ZoneInfo("Asia/Shanghai")
S = CaseState


def at(y, m, d, hh=10, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH)


def eod(y, m, d) -> dt.datetime:
    return dt.datetime(y, m, d, 23, 59, 59, tzinfo=SH)


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def set(self, moment: dt.datetime) -> None:
        self.now = moment

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    c = Clock(at(2026, 11, 23, 10))
    monkeypatch.setattr(timezone, "now", lambda: c.now)
    return c


_seq = iter(range(1, 10_000))


def org(name, kind, parent=None, region="350102") -> Organization:
    return Organization.objects.create(name=name, name_en=name, kind=kind, parent=parent, region_code=region,
                                       uscc=uscc_make("11", region, f"H{next(_seq):07d}"))


@dataclass
class City:
    district: Organization
    other_district: Organization
    unit: Organization  # a city department
    subunit: Organization  # its sub-unit
    other_unit: Organization
    operator: object
    dispatcher: object
    supervisor: object
    handler: object  # of `unit`
    sub_handler: object  # of `subunit`
    other_handler: object  # of `other_unit`
    resident: object
    other_resident: object
    roads: Category
    potholes: Category
    water: Category

    def actor(self, role: str, case: Case | None = None):
        """A person acting in `role` on `case` (department_handler: the current holder's)."""
        if role == "department_handler":
            if case is not None and case.state == S.SUB_DISPATCHED or (
                    case is not None and case.assigned_subunit_id and case.state != S.DISPATCHED):
                return self.sub_handler
            return self.handler
        return {"hotline_operator": self.operator, "dispatcher": self.dispatcher, "supervisor": self.supervisor,
                "reporter": self.resident, "system": None}[role]


@pytest.fixture
def city(db, fast_hashing) -> City:  # noqa: F811
    hotline_org = org("福州市12345便民服务平台", OrganizationKind.DEPARTMENT, region="350100")
    district = org("鼓楼区人民政府", OrganizationKind.DISTRICT)
    other_district = org("台江区人民政府", OrganizationKind.DISTRICT, region="350103")
    unit = org("福州市城市管理委员会", OrganizationKind.DEPARTMENT, region="350100")
    subunit = org("市政工程管理处", OrganizationKind.SUBUNIT, parent=unit, region="350100")
    other_unit = org("福州市水务局", OrganizationKind.DEPARTMENT, region="350100")
    roads = Category.objects.create(code="urban", name="城市管理", name_en="Urban management")
    potholes = Category.objects.create(code="urban.roads", name="道路破损", name_en="Damaged roads", parent=roads)
    water = Category.objects.create(code="utility.water", name="供水", name_en="Water supply")
    TimeLimitRule.objects.create(category=water, urgency=Urgency.NORMAL, sign_within=2, sign_unit=TimeUnit.HOURS,
                                 handle_within=24, handle_unit=TimeUnit.HOURS)
    return City(
        district=district, other_district=other_district, unit=unit, subunit=subunit, other_unit=other_unit,
        operator=make_staff("hotline_operator", username="operator", org=hotline_org),
        dispatcher=make_staff("dispatcher", username="dispatcher", org=hotline_org),
        supervisor=make_staff("supervisor", username="supervisor", org=hotline_org),
        handler=make_staff("department_handler", username="handler", org=unit),
        sub_handler=make_staff("department_handler", username="subhandler", org=subunit),
        other_handler=make_staff("department_handler", username="waterhandler", org=other_unit),
        resident=make_citizen(phone="13800138000", display_name="林小明"),
        other_resident=make_citizen(phone="13900139000", display_name="王芳"),
        roads=roads, potholes=potholes, water=water,
    )


def register(city: City, *, actor=None, category=None, anonymous=False, **extra) -> Case:
    actor = actor or city.resident
    kwargs = {"actor": actor, "channel": Channel.APP if actor == city.resident else Channel.PHONE,
                  "text": "鼓楼区五四路与湖东路交叉口有一个大坑，电动车经过很危险。", "district": city.district,
                  "address": "五四路与湖东路交叉口", "category": category, "anonymous": anonymous}
    if actor != city.resident:
        kwargs.setdefault("contact_phone", "13700137000")
    kwargs.update(extra)
    return case_register(**kwargs)


def advance(city: City, case: Case, target: str, *, sub: bool = False, satisfaction: str = Satisfaction.SATISFIED,
            category=None) -> Case:
    """Bring `case` (registered) to `target` through the services. `sub`: via a sub-unit."""
    pid = case.public_id
    if target == S.REGISTERED:
        return case
    if target == S.REJECTED:
        return svc.case_reject(actor=city.operator, case_id=pid, reason="不属于12345受理范围")
    if target == S.MERGED:
        other = register(city)
        return svc.case_merge(actor=city.dispatcher, case_id=pid, into_case_id=other.public_id)
    if target == S.ANSWERED:
        return svc.case_answer(actor=city.operator, case_id=pid, answer="已根据知识库答复。")
    case = svc.case_accept(actor=city.operator, case_id=pid,
                           category_code=(category or city.potholes).code)
    if target == S.ACCEPTED:
        return case
    case = svc.case_dispatch(actor=city.dispatcher, case_id=pid, unit=city.unit)
    if target == S.RETURNED:
        return svc.case_return(actor=city.handler, case_id=pid, reason="不属于本单位职责")
    if target == S.DISPATCHED:
        return case
    if sub or target == S.SUB_DISPATCHED:
        case = svc.case_sub_dispatch(actor=city.handler, case_id=pid, subunit=city.subunit)
        if target == S.SUB_DISPATCHED:
            return case
    holder = city.sub_handler if case.assigned_subunit_id else city.handler
    case = svc.case_sign(actor=holder, case_id=pid)
    if target == S.SIGNED:
        return case
    case = svc.case_start(actor=holder, case_id=pid)
    if target == S.IN_PROGRESS:
        return case
    case = svc.case_reply(actor=holder, case_id=pid, reply="已安排修补，路面已恢复。")
    if target == S.REPLIED:
        return case
    case = svc.case_visit(actor=city.operator, case_id=pid, satisfaction=satisfaction)
    if target == S.VISITED:
        return case
    case = svc.case_close(actor=city.supervisor, case_id=pid)
    assert target == S.CLOSED
    return case


def pending_extension(city: City, case: Case) -> ExtensionRequest:
    holder = city.sub_handler if case.assigned_subunit_id else city.handler
    return case_extension_request(actor=holder, case_id=case.public_id, days=3, reason="需协调燃气管线迁改")
