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


CHANNEL_MIX = ("city_wallet", "alipay", "wechat", "unionpay")


def pending_attempts_bulk(n: int, *, payees: int, amount_fen: int, tag: str) -> list:
    """`n` bills, each with a pending attempt, spread in turn over `payees` new payee units and
    the four channels; bulk-inserted (not through the services) so that load and crash runs start
    fast. `tag`, one capital letter, keeps credit codes and keys apart between callers."""
    from django.contrib.auth.hashers import make_password

    from onecity.core.ids import new_public_id
    from onecity.identity.enums import UserKind
    from onecity.identity.models import User
    from onecity.payments.models import Bill, PaymentAttempt

    units = [Organization.objects.create(name=f"收款单位{p}", kind=OrganizationKind.PAYEE,
                                         payee_type=PayeeType.SCHOOL, region_code="350102",
                                         uscc=uscc_make("12", "350102", f"{tag}{p:07d}"))
             for p in range(payees)]
    resident = User.objects.create(public_id=(pid := new_public_id()), username="c-" + pid, kind=UserKind.CITIZEN,
                                   password=make_password(None))
    now = timezone.now()
    bills = Bill.objects.bulk_create([
        Bill(payee=units[i % payees], resident=resident, kind="tuition", title=f"学费 {i}", amount_fen=amount_fen,
             due_date=now.date() + dt.timedelta(days=30), issued_at=now, updated_at=now) for i in range(n)])
    return PaymentAttempt.objects.bulk_create([
        PaymentAttempt(payee_id=b.payee_id, bill=b, channel=CHANNEL_MIX[i % len(CHANNEL_MIX)], amount_fen=amount_fen,
                       state="pending", client_key=f"load-{tag}", idempotency_key=f"k{i}", request_hash="-",
                       created_at=now, submitted_at=now, expires_at=now + dt.timedelta(hours=2), updated_at=now)
        for i, b in enumerate(bills)])


def sandbox_notifications(attempts: list[tuple[str, str]], *, amount_fen: int, tag: str) -> list:
    """(channel, headers, body) of a "paid" notification per (channel, attempt id), signed by
    that channel's sandbox exactly as the channel would post it."""
    from onecity.payments.gateways import sandbox_client

    signed = []
    for i, (channel, attempt_id) in enumerate(attempts):
        headers, body = sandbox_client(channel).sandbox.notification(
            trade_no=f"{tag}{i:08d}{attempt_id[-8:]}", out_trade_no=attempt_id, amount_fen=amount_fen)
        signed.append((channel, headers, body))
    return signed
