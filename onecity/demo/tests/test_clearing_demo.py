"""Demo clearing: yesterday's four statements reconciled with the intended breaks, past days
settled, and a second seed makes nothing new."""

from __future__ import annotations

import datetime as dt

from onecity.demo.clearing import clearing_demo_seed
from onecity.payments.models import ReconciliationBreak, ReconciliationRun, Settlement
from onecity.payments.services.attempts import attempt_create, attempt_mark_succeeded, attempt_submit
from onecity.payments.tests.support import SH, issue
from onecity.payments.tests.support import city as city  # noqa: F401 - fixture
from onecity.payments.tests.support import clock as clock  # noqa: F401 - fixture
from onecity.payments.tests.support import fast_hashing as fast_hashing  # noqa: F401 - fixture


def test_clearing_demo_seed(city, clock):
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
    assert Settlement.objects.get().gross_fen == 50010
    assert clearing_demo_seed() == (0, 0)
    assert (ReconciliationRun.objects.count(), Settlement.objects.count()) == (4, 1)
