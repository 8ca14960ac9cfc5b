"""A small city for the payments tests: two payee units with cashiers, residents, a clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from onecity.core.validators import uscc_make
from onecity.identity.enums import OrganizationKind, PayeeType, Role
from onecity.identity.models import Organization
from onecity.identity.tests.accounts_support import fast_hashing, make_citizen, make_staff  # noqa: F401
from onecity.payments.services.bills import BillInput, bill_issue

SH = ZoneInfo("Asia/Shanghai")
_seq = iter(range(1, 10_000))


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    c = Clock(dt.datetime(2026, 11, 23, 10, 0, tzinfo=SH))
    monkeypatch.setattr(timezone, "now", lambda: c.now)
    return c


def payee(name: str, payee_type=PayeeType.SCHOOL) -> Organization:
    return Organization.objects.create(name=name, name_en=name, kind=OrganizationKind.PAYEE, payee_type=payee_type,
                                       region_code="350102", uscc=uscc_make("12", "350102", f"P{next(_seq):07d}"))


@dataclass
class PayCity:
    school: Organization
    hospital: Organization
    cashier: object  # of school
    other_cashier: object  # of hospital
    resident: object  # 13800138000
    other_resident: object  # 13900139000


@pytest.fixture
def city(db, clock) -> PayCity:
    school, hospital = payee("福州第一中学"), payee("福建省立医院", PayeeType.HOSPITAL)
    return PayCity(
        school=school, hospital=hospital,
        cashier=make_staff(Role.PAYEE_CASHIER, username="cashier", org=school),
        other_cashier=make_staff(Role.PAYEE_CASHIER, username="cashier2", org=hospital),
        resident=make_citizen("13800138000", display_name="林志远"),
        other_resident=make_citizen("13900139000", display_name="王芳"),
    )


def bill_data(**overrides) -> BillInput:
    values = {"kind": "tuition", "title": "2026年秋季学期学费", "amount_fen": 250000,
              "due_date": dt.date(2026, 12, 31), "resident_phone": "13800138000"}
    values.update(overrides)
    return BillInput(**values)


def issue(city: PayCity, **overrides):
    return bill_issue(actor=city.cashier, data=bill_data(**overrides))
