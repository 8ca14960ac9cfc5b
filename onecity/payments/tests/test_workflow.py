import pytest

from onecity.payments import workflow
from onecity.payments.enums import BillAction, BillState
from onecity.payments.routing import channel_for, scan_app


def test_bill_transitions():
    assert workflow.bill_can(BillAction.CANCEL, BillState.ISSUED)
    assert not workflow.bill_can(BillAction.CANCEL, BillState.PAID)
    assert not workflow.bill_can(BillAction.CANCEL, BillState.PARTIALLY_PAID)
    assert not workflow.bill_can(BillAction.PAY_FULL, BillState.CANCELLED)
    assert workflow.bill_state_after_payment(state="issued", amount_fen=100, paid_fen=40) == "partially_paid"
    assert workflow.bill_state_after_payment(state="overdue", amount_fen=100, paid_fen=40) == "overdue"
    assert workflow.bill_state_after_payment(state="overdue", amount_fen=100, paid_fen=100) == "paid"


def test_attempt_transitions():
    assert workflow.attempt_can("submit", "created")
    assert not workflow.attempt_can("submit", "pending")
    assert workflow.attempt_can("succeed", "expired")
    assert not workflow.attempt_can("fail", "succeeded")
    assert not workflow.attempt_can("cancel", "succeeded")


@pytest.mark.parametrize(("ua", "app", "channel"), [
    ("Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 AlipayClient/10.5.90.8000", "alipay", "alipay"),
    ("Mozilla/5.0 (Linux; Android 14) MicroMessenger/8.0.47.2560(0x28002F30) NetType/WIFI", "wechat", "wechat"),
    ("Mozilla/5.0 (iPhone) UnionPay/1.0 CloudPay", "unionpay", "unionpay"),
    ("Mozilla/5.0 (iPhone) eFuzhou/3.2.0", "city_app", "city_wallet"),
    ("Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36", "browser", None),
    ("", "browser", None),
])
def test_scan_app_by_user_agent(ua, app, channel):
    assert scan_app(ua) == app
    assert channel_for(ua) == channel
