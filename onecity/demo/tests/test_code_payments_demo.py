"""Demo static-code payments (扫码收款): the units of CODE_PAYMENTS took payments through their
static payee code over the last three weeks, a few failed, one paid at the school today was
refunded in part; the past days settle; a second seed makes nothing new."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Sum

from onecity.demo.payments import payments_demo_seed
from onecity.demo.seeding import Progress
from onecity.identity.enums import PayeeType, Role
from onecity.payments.models import PaymentAttempt, Refund, Settlement
from onecity.payments.tests.support import SH, make_citizen, make_staff, payee
from onecity.payments.tests.support import clock as clock  # noqa: F401 - fixture
from onecity.payments.tests.support import fast_hashing as fast_hashing  # noqa: F401 - fixture


def summary():
    return sorted(PaymentAttempt.objects.filter(bill__isnull=True).values_list("payee__name", "state")
                  .annotate(n=Count("id"), fen=Sum("amount_fen"), refunded=Sum("refunded_fen")))


def test_code_payments_demo(db, clock, settings, tmp_path):
    settings.PAYMENTS_SANDBOX = True
    settings.PAYMENTS_CHANNEL_KEY_DIR = tmp_path
    school, hospital = payee("福州第一中学"), payee("福建省立医院", PayeeType.HOSPITAL)
    payee("福州第三中学")  # no static-code payments in the demo
    for username in ("cashier", "cashier2"):
        make_staff(Role.PAYEE_CASHIER, username=username, org=school)
    make_citizen("13800138000")
    make_citizen("13900139000")

    assert payments_demo_seed(progress=Progress(), bills_per_payee=0) == 0
    # (payee, state, payments, amount, refunded): twelve at each of the two units; every sixth failed
    assert summary() == [("福州第一中学", "failed", 2, 9600, 0), ("福州第一中学", "succeeded", 10, 157000, 9000),
                         ("福建省立医院", "failed", 2, 5000, 0), ("福建省立医院", "succeeded", 10, 54500, 0)]
    attempts = PaymentAttempt.objects.filter(bill__isnull=True)
    assert set(attempts.values_list("code__kind", flat=True)) == {"static"}
    succeeded = attempts.filter(state="succeeded")
    assert not succeeded.filter(channel_trade_no="").exists()
    assert not succeeded.filter(payer_account_masked="").exists()
    assert not succeeded.filter(finished_at__gt=clock.now).exists()
    assert not succeeded.filter(finished_at__lt=clock.now - dt.timedelta(days=22)).exists()
    assert sorted(attempts.filter(state="failed").values_list("failure_code", flat=True)) == [
        "insufficient_funds", "insufficient_funds", "payer_cancelled", "payer_cancelled"]
    # the school's payment of today, half refunded: asked by cashier, approved by cashier2
    refund = Refund.objects.select_related("attempt", "requested_by", "approved_by").get()
    assert (refund.bill, refund.payee, refund.amount_fen, refund.state, refund.reason) == (
        None, school, 9000, "succeeded", "校服尺码不合适，退还差价")
    assert (refund.attempt.amount_fen, refund.attempt.refunded_fen, refund.attempt.finished_at) == (
        18000, 9000, clock.now)
    assert (refund.requested_by.username, refund.approved_by.username) == ("cashier", "cashier2")
    # every past day with payments was settled (the refund drew on today's payments, not a settled day)
    paid_days = {(a.payee_id, a.finished_at.astimezone(SH).date()) for a in succeeded}
    settled = set(Settlement.objects.values_list("payee_id", "day"))
    assert {(p, day) for p, day in paid_days if day < clock.now.date()} == settled
    assert {payee_id for payee_id, _day in settled} == {school.pk, hospital.pk}

    before = (list(attempts.order_by("pk").values()), list(Refund.objects.values()), settled)
    assert payments_demo_seed(progress=Progress(), bills_per_payee=0) == 0
    assert (list(attempts.order_by("pk").values()), list(Refund.objects.values()),
            set(Settlement.objects.values_list("payee_id", "day"))) == before
