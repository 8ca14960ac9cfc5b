"""Demo clearing: yesterday's four statements reconciled with the intended breaks (the WeChat fee
break's adjustment proposed by finance2, awaiting a second person), past days settled, and a
second seed makes nothing new."""

from __future__ import annotations

import datetime as dt

from onecity.demo.clearing import clearing_demo_seed
from onecity.identity.enums import Role
from onecity.payments.models import ReconciliationBreak, ReconciliationRun, Settlement
from onecity.payments.services.attempts import attempt_create, attempt_mark_succeeded, attempt_submit
from onecity.payments.tests.support import SH, issue, make_staff
from onecity.payments.tests.support import city as city  # noqa: F401 - fixture
from onecity.payments.tests.support import clock as clock  # noqa: F401 - fixture
from onecity.payments.tests.support import fast_hashing as fast_hashing  # noqa: F401 - fixture


def test_clearing_demo_seed(city, clock):
    make_staff(Role.FINANCE, username="finance2", org=city.school)
    for n, channel in enumerate(["alipay", "alipay", "wechat", "unionpay", "city_wallet"]):
        clock.now = dt.datetime(2026, 11, 22, 9 + n, 0, tzinfo=SH)
        bill = issue(city, amount_fen=10000 + n)
        attempt = attempt_create(bill_id=bill.public_id, channel=channel, amount_fen=10000 + n,
                                 idempotency_key=f"d{n}", actor=city.resident)
        attempt_submit(attempt_id=attempt.public_id)
        attempt_mark_succeeded(attempt_id=attempt.public_id, amount_fen=10000 + n, channel_trade_no=f"DEMO{n:010d}")
    clock.now = dt.datetime(2026, 11, 23, 10, 0, tzinfo=SH)

    assert clearing_demo_seed() == (1, 4)
    assert sorted(ReconciliationBreak.objects.values_list("run__channel", "kind")) == [
        ("alipay", "missing_there"), ("unionpay", "missing_here"), ("wechat", "fee_mismatch")]
    assert list(ReconciliationBreak.objects.order_by("run__channel").values_list(
        "run__channel", "state", "adjustment_fen", "proposed_by__username", "transfer_id")) == [
        ("alipay", "open", None, None, ""), ("unionpay", "open", None, None, ""),
        ("wechat", "pending_approval", -1, "finance2", "")]
    assert Settlement.objects.get().gross_fen == 50010
    assert clearing_demo_seed() == (0, 0)
    assert (ReconciliationRun.objects.count(), Settlement.objects.count()) == (4, 1)
