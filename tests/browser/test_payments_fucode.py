"""A bill's 福码 paid from each payment app, end to end in Debian's Chromium.

For each app (Alipay, WeChat, UnionPay 云闪付, the e福州 app) a phone context with that app's
User-Agent opens the bill's code URL, gets that app's payment page, presses pay, confirms on
the channel's sandbox cashier — which signs a real notification and POSTs it to the live
server's /pay/notify/<channel>/ — and returns to the payment page, which shows the bill paid.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from onecity.ledger.enums import AccountKind
from onecity.ledger.selectors import account_find
from onecity.payments.models import Bill, ChannelNotification, PaymentAttempt
from onecity.payments.services.codes import code_dynamic_issue
from onecity.payments.tests.support import Clock, city, fast_hashing, issue  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.live]

SH = ZoneInfo("Asia/Shanghai")
APPS = {
    "alipay": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Mobile/15E148 AlipayClient/10.5.90.8000 Language/zh-Hans",
    "wechat": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
              "Mobile Safari/537.36 MicroMessenger/8.0.47.2560(0x28002F35) NetType/WIFI Language/zh_CN",
    "unionpay": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                "Mobile/15E148 (com.unionpay.chsp) (cordova 4.5.4) UnionPay/1.0 CloudPay",
    "city_wallet": "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
                   "Mobile Safari/537.36 eFuzhou/3.2.0",
}


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """Real time, held still: the sandboxes' certificates are valid from when they were made."""
    c = Clock(dt.datetime.now(SH).replace(microsecond=0))
    monkeypatch.setattr(timezone, "now", lambda: c.now)
    return c


@pytest.fixture
def sandbox(settings, tmp_path):
    settings.PAYMENTS_SANDBOX = True
    settings.PAYMENTS_CHANNEL_KEY_DIR = tmp_path / "channels"


@pytest.mark.parametrize("channel", list(APPS))
def test_bill_code_paid_from_each_app(open_context, city, sandbox, channel):  # noqa: F811
    bill = issue(city, due_date=timezone.now().date() + dt.timedelta(days=30))
    code = code_dynamic_issue(actor=None, bill_id=bill.public_id)

    page = open_context("phone", user_agent=APPS[channel]).new_page()
    page.goto(urlsplit(code.url).path)
    pay = page.locator("form.form button[type=submit]")
    expect(pay).to_contain_text("¥2,500.00")
    pay.click()

    page.wait_for_url(f"**/pay/sandbox/{channel}/**")
    expect(page.get_by_test_id("cashier-amount")).to_have_text("¥2,500.00")
    page.locator(".sandbox-cashier form button[type=submit]").click()
    expect(page.locator(".sandbox-cashier .alert-success")).to_be_visible()
    page.get_by_role("link", name="返回付款页").click()

    expect(page.get_by_test_id("bill-state")).to_have_text("已缴清")
    attempt = PaymentAttempt.objects.get(bill=bill)
    bill.refresh_from_db()
    assert (attempt.channel, attempt.state, attempt.channel_status) == (channel, "succeeded", "paid")
    assert (bill.state, bill.paid_fen) == ("paid", 250000)
    assert list(ChannelNotification.objects.values_list("channel", "verified", "result")) == [
        (channel, True, "processed")]
    payee = account_find(kind=AccountKind.PAYEE_PAYABLE, owner=f"org:{city.school.public_id}")
    assert payee.balance == 250000
    assert Bill.objects.filter(state="paid").count() == 1
