"""A hand-made set of 福码 payments whose every figure is known, made through the payments
services (bill issued, attempt created, submitted, succeeded at a set moment):

  school  (福州第一中学, education payee, 鼓楼区 350102, a district organization exists)
    5 tuition bills of ¥1,000.00, Alipay, succeeded 20 Nov 2026 at 09:10, 09:20 … 09:50
    1 parking bill of ¥30.00, WeChat Pay, succeeded 21 Nov 2026 at 20:30 (scenario: parking)
  hospital (福建省立医院, 350111 — no district organization: named from the region code)
    2 hospital bills of ¥200.00, UnionPay, succeeded 21 Nov 2026 at 14:00 and 14:05
  the first tuition payment is then refunded ¥500.00 (on the attempt, as refunds record it).

Totals: 8 payments, ¥5,430.00, refunded ¥500.00. With the minimum cell of 5, only education /
鼓楼区 / Alipay / 09h is shown; health (2) and parking (1) are suppressed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from onecity.core.validators import uscc_make
from onecity.identity.enums import OrganizationKind, PayeeType, Role
from onecity.identity.models import Organization
from onecity.identity.tests.accounts_support import make_citizen, make_staff
from onecity.payments.models import PaymentAttempt
from onecity.payments.services.attempts import attempt_create, attempt_mark_succeeded, attempt_submit
from onecity.payments.services.bills import BillInput, bill_issue
from onecity.payments.tests.support import SH

DAY1 = dt.date(2026, 11, 20)
DAY2 = dt.date(2026, 11, 21)
PHONE = "13800138000"
NAME = "林志远"


@dataclass
class PayStatsCity:
    school: Organization
    hospital: Organization
    supervisor: object
    administrator: object
    auditor: object
    handler: object
    cashier: object
    attempts: list


def org(name: str, kind: str, region: str, n: int, payee_type: str = "", name_en: str = "") -> Organization:
    return Organization.objects.create(name=name, name_en=name_en or name, kind=kind, payee_type=payee_type, region_code=region,
                                       uscc=uscc_make("12", region, f"A{n:07d}"))


def pay(payee: Organization, *, kind: str, amount_fen: int, channel: str, at: dt.datetime, ref: str) -> PaymentAttempt:
    bill = bill_issue(actor=None, payee_id=payee.pk, data=BillInput(
        kind=kind, title="测试账单", amount_fen=amount_fen, due_date=dt.date(2026, 12, 31), resident_phone=PHONE,
        external_ref=ref))
    attempt = attempt_create(bill_id=bill.public_id, channel=channel, amount_fen=amount_fen,
                             idempotency_key=f"t-{ref}", actor=None)
    attempt_submit(attempt_id=attempt.public_id, channel_trade_no=f"TRADE{ref}")
    return attempt_mark_succeeded(attempt_id=attempt.public_id, amount_fen=amount_fen, at=at,
                                  payer_account_masked="138****8000")


@pytest.fixture
def pay_stats_city(db, clock) -> PayStatsCity:
    district = org("鼓楼区", OrganizationKind.DISTRICT, "350102", 1, name_en="Gulou District")
    school = org("福州第一中学", OrganizationKind.PAYEE, "350102", 2, PayeeType.SCHOOL)
    hospital = org("福建省立医院", OrganizationKind.PAYEE, "350111", 3, PayeeType.HOSPITAL)
    make_citizen(PHONE, display_name=NAME)
    attempts = [pay(school, kind="tuition", amount_fen=100000, channel="alipay",
                    at=dt.datetime(2026, 11, 20, 9, 10 * n, tzinfo=SH), ref=f"T{n}") for n in range(1, 6)]
    attempts.append(pay(school, kind="parking", amount_fen=3000, channel="wechat",
                        at=dt.datetime(2026, 11, 21, 20, 30, tzinfo=SH), ref="P1"))
    attempts += [pay(hospital, kind="hospital", amount_fen=20000, channel="unionpay",
                     at=dt.datetime(2026, 11, 21, 14, 5 * n, tzinfo=SH), ref=f"H{n}") for n in range(2)]
    PaymentAttempt.objects.filter(pk=attempts[0].pk).update(refunded_fen=50000)
    return PayStatsCity(
        school=school, hospital=hospital, attempts=attempts,
        supervisor=make_staff(Role.SUPERVISOR, username="supervisor", org=district),
        administrator=make_staff(Role.ADMINISTRATOR, username="admin", org=district),
        auditor=make_staff(Role.AUDITOR, username="auditor", org=district),
        handler=make_staff(Role.DEPARTMENT_HANDLER, username="handler", org=district),
        cashier=make_staff(Role.PAYEE_CASHIER, username="cashier", org=school),
    )
