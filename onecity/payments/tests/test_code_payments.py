"""The console's list of payments made with the payee's static code (no bill): what it lists and
in which order, its filters, paging and exports, refunding one from it, and who gets nothing."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from onecity.identity.enums import Role
from onecity.ledger.selectors import ledger_trial_balance
from onecity.payments.gateways import sandbox_client
from onecity.payments.models import Bill, PaymentAttempt, Refund
from onecity.payments.selectors import CodePaymentFilters, code_payment_list_for_payee
from onecity.payments.services.attempts import (
    attempt_create,
    attempt_mark_failed,
    attempt_mark_succeeded,
    attempt_submit,
    attempts_expire,
)
from onecity.payments.services.codes import code_static_issue
from onecity.payments.services.refunds import refund_approve
from onecity.payments.tests.support import SH, issue, make_staff

LIST = "payments:console_code_payments"
EXPORT = "payments:console_code_payments_export"


@pytest.fixture(scope="session")
def channel_keys(tmp_path_factory):
    return tmp_path_factory.mktemp("code-payment-channels")


@pytest.fixture(autouse=True)
def english_sandbox(settings, channel_keys):
    settings.PAYMENTS_SANDBOX = True
    settings.PAYMENTS_CHANNEL_KEY_DIR = channel_keys
    settings.LANGUAGE_CODE = "en"


def code_attempt(payee_cashier, channel: str, amount: int, *, key: str):
    """A resident scans the payee's static code and enters `amount` (the attempt is pending)."""
    token = code_static_issue(actor=payee_cashier).token
    attempt = attempt_create(bill_id=None, channel=channel, amount_fen=amount, idempotency_key=key, actor=None,
                             code_token=token)
    return attempt_submit(attempt_id=attempt.public_id)


def code_paid(payee_cashier, channel: str, amount: int, *, key: str, at: dt.datetime, payer: str = "",
              trade_no: str = "") -> PaymentAttempt:
    attempt = code_attempt(payee_cashier, channel, amount, key=key)
    return attempt_mark_succeeded(attempt_id=attempt.public_id, amount_fen=amount, payer_account_masked=payer,
                                  channel_trade_no=trade_no or f"T{key.upper()}", at=at)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SH)


@pytest.fixture
def payments(city, clock):
    """At the school: four static-code payments (two succeeded, one failed, one expired), one still
    pending, and a bill's payment; at the hospital: one static-code payment. The clock ends at
    10:20 on 23 November."""
    wechat = code_paid(city.cashier, "wechat", 800, key="w1", at=at(22, 23, 30), payer="o***A")
    alipay = code_paid(city.cashier, "alipay", 1550, key="a1", at=at(23, 0, 10), payer="2088********1234")
    expired = code_attempt(city.cashier, "city_wallet", 990, key="e1")  # 10:00, never paid
    assert attempts_expire(now=at(23, 10, 15)) == 1
    clock.advance(minutes=20)  # 10:20
    failed = attempt_mark_failed(attempt_id=code_attempt(city.cashier, "unionpay", 2000, key="u1").public_id,
                                 failure_code="insufficient_funds")
    code_attempt(city.cashier, "alipay", 300, key="p1")  # pending: not listed
    bill = issue(city)
    paid_bill = attempt_create(bill_id=bill.public_id, channel="alipay", amount_fen=250000, idempotency_key="b1",
                               actor=city.resident)
    attempt_submit(attempt_id=paid_bill.public_id)
    attempt_mark_succeeded(attempt_id=paid_bill.public_id, amount_fen=250000, channel_trade_no="TBILL1")
    hospital = code_paid(city.other_cashier, "alipay", 4200, key="h1", at=at(23, 8, 0))
    expired.refresh_from_db()
    return {"wechat": wechat, "alipay": alipay, "failed": failed, "expired": expired, "hospital": hospital}


def ids(rows) -> list[str]:
    return [a.public_id for a in rows]


def test_lists_own_finished_static_code_payments_newest_first(city, payments):
    rows = code_payment_list_for_payee(actor=city.cashier, filters=CodePaymentFilters())
    assert ids(rows) == [payments[k].public_id for k in ("failed", "expired", "alipay", "wechat")]
    assert [r.at for r in rows] == [at(23, 10, 20), at(23, 10, 15), at(23, 0, 10), at(22, 23, 30)]
    assert ids(code_payment_list_for_payee(actor=city.other_cashier, filters=CodePaymentFilters())) == [
        payments["hospital"].public_id]


@pytest.mark.parametrize(("filters", "expected"), [
    (CodePaymentFilters(state="succeeded"), ["alipay", "wechat"]),
    (CodePaymentFilters(state="failed"), ["failed"]),
    (CodePaymentFilters(state="expired"), ["expired"]),
    (CodePaymentFilters(state="pending"), ["failed", "expired", "alipay", "wechat"]),  # not a listed state
    (CodePaymentFilters(channel="wechat"), ["wechat"]),
    (CodePaymentFilters(day=dt.date(2026, 11, 22)), ["wechat"]),  # 23:30 Shanghai is still the 22nd
    (CodePaymentFilters(day=dt.date(2026, 11, 23)), ["failed", "expired", "alipay"]),
    (CodePaymentFilters(day=dt.date(2026, 11, 21)), []),
    (CodePaymentFilters(state="succeeded", channel="alipay", day=dt.date(2026, 11, 23)), ["alipay"]),
])
def test_filters(city, payments, filters, expected):
    rows = code_payment_list_for_payee(actor=city.cashier, filters=filters)
    assert ids(rows) == [payments[k].public_id for k in expected]


def test_page_shows_each_payment_with_refund_only_where_refundable(client, city, payments):
    client.force_login(city.cashier)
    response = client.get(reverse(LIST))
    body = response.content.decode()
    assert response.status_code == 200
    tab = f'<a class="btn btn-sm btn-primary" href="{reverse(LIST)}">'
    assert tab in body and "4 payments" in body
    # newest first, with channel, trade number, masked payer, amount and time
    rows = body[body.index("<tbody>"):]
    positions = [rows.index(text) for text in ("not enough money", "Expired", "TA1", "TW1")]
    assert positions == sorted(positions)
    for text in ("TA1", "2088********1234", "¥15.50", "23 Nov 2026, 00:10", "WeChat Pay", "o***A", "¥8.00",
                 "22 Nov 2026, 23:30", "UnionPay", "¥20.00", "e-Fuzhou wallet", "¥9.90"):
        assert text in body, text
    refund_links = {a.public_id for a in PaymentAttempt.objects.all()
                    if reverse("payments:console_refund_new", args=[a.public_id]) in body}
    assert refund_links == {payments["wechat"].public_id, payments["alipay"].public_id}
    for absent in ("TH1", "TBILL1", "¥3.00", "¥42.00"):
        assert absent not in body, absent
    filtered = client.get(reverse(LIST), {"state": "failed", "channel": "", "day": ""}).content.decode()
    assert "1 payment<" in filtered and "TA1" not in filtered and "¥20.00" in filtered


def test_page_in_chinese(client, city, payments, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    client.force_login(city.cashier)
    body = client.get(reverse(LIST), headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "扫码收款" in body and "4 笔收款" in body and "渠道交易号" in body


def test_pages_of_25_keep_the_filters(client, city, clock):
    for n in range(26):
        code_paid(city.cashier, "alipay", 100 + n, key=f"n{n}", at=at(23, 9, n))
    client.force_login(city.cashier)
    first = client.get(reverse(LIST), {"channel": "alipay"}).content.decode()
    assert first.count(">Refund<") == 25 and "¥1.25" in first and "¥1.00" not in first and "1 / 2" in first
    assert "?channel=alipay&amp;page=2" in first
    second = client.get(reverse(LIST), {"channel": "alipay", "page": 2}).content.decode()
    assert second.count(">Refund<") == 1 and "¥1.00" in second and "2 / 2" in second


def test_csv_and_xlsx_export_with_the_filters(client, city, payments):
    client.force_login(city.cashier)
    response = client.get(reverse(EXPORT, args=["csv"]))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="code-payments-20261123-1020.csv"'
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines == [
        "payment_id,time,channel,channel_trade_no,payer_account,amount,refunded,state",
        f"{payments['failed'].public_id},2026-11-23 10:20:00,UnionPay,,,20.00,0.00,Failed",
        f"{payments['expired'].public_id},2026-11-23 10:15:00,e-Fuzhou wallet,,,9.90,0.00,Expired",
        f"{payments['alipay'].public_id},2026-11-23 00:10:00,Alipay,TA1,2088********1234,15.50,0.00,Succeeded",
        f"{payments['wechat'].public_id},2026-11-22 23:30:00,WeChat Pay,TW1,o***A,8.00,0.00,Succeeded",
    ]
    filtered = client.get(reverse(EXPORT, args=["csv"]), {"state": "succeeded", "channel": "wechat"})
    assert filtered.content.decode("utf-8-sig").splitlines()[1:] == [lines[4]]
    xlsx = client.get(reverse(EXPORT, args=["xlsx"]), {"day": "2026-11-22"})
    assert xlsx["Content-Disposition"] == 'attachment; filename="code-payments-20261123-1020.xlsx"'
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ["payment_id", "time", "channel", "channel_trade_no", "payer_account", "amount", "refunded", "state"],
        [payments["wechat"].public_id, "2026-11-22 23:30:00", "WeChat Pay", "TW1", "o***A", "8.00", "0.00",
         "Succeeded"]]
    assert client.get(reverse(EXPORT, args=["pdf"])).status_code == 404


def test_bills_export_still_names_its_file_and_rows(client, city, payments):
    client.force_login(city.cashier)
    response = client.get(reverse("payments:console_export", args=["csv"]))
    assert response["Content-Disposition"] == 'attachment; filename="bills-20261123-1020.csv"'
    lines = response.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and lines[0].startswith("bill_id,reference,kind,")


def snapshot():
    return (list(PaymentAttempt.objects.order_by("pk").values()), list(Refund.objects.order_by("pk").values()),
            list(Bill.objects.order_by("pk").values()), ledger_trial_balance())


def test_refund_from_the_list_returns_to_it(client, city, clock):
    trade = sandbox_client("alipay")
    attempt = code_attempt(city.cashier, "alipay", 1550, key="r1")
    trade.pay(out_trade_no=attempt.public_id, amount_fen=1550)
    attempt = attempt_mark_succeeded(attempt_id=attempt.public_id, amount_fen=1550,
                                     channel_trade_no=trade.trade_no(attempt.public_id))
    form_url = reverse("payments:console_refund_new", args=[attempt.public_id])
    client.force_login(city.cashier)
    assert form_url in client.get(reverse(LIST)).content.decode()
    form = client.get(form_url).content.decode()
    assert f'<a href="{reverse(LIST)}">Code payments</a>' in form
    response = client.post(form_url, {"amount": "5.00", "reason": "多收了，退还差额", "idem": "f1"})
    assert (response.status_code, response["Location"]) == (302, reverse(LIST))
    refund = Refund.objects.get()
    assert (refund.attempt, refund.bill, refund.amount_fen, refund.state) == (attempt, None, 500, "requested")
    approver = make_staff(Role.PAYEE_CASHIER, username="cashier3", org=city.school)
    refund_approve(actor=approver, refund_id=refund.public_id, note="")
    body = client.get(reverse(LIST)).content.decode()
    assert "¥5.00" in body and form_url in body  # ¥10.50 can still be refunded
    response = client.post(form_url, {"amount": "10.50", "reason": "全部退还", "idem": "f2"})
    assert response["Location"] == reverse(LIST)
    refund_approve(actor=approver, refund_id=Refund.objects.get(idempotency_key="f2").public_id, note="")
    attempt.refresh_from_db()
    assert attempt.refunded_fen == 1550
    body = client.get(reverse(LIST)).content.decode()
    assert "¥15.50</td><td class=\"num\">¥15.50" in body and form_url not in body
    listing = client.get(reverse("payments:console_refunds")).content.decode()
    assert listing.count(f'<a href="{reverse(LIST)}">Code payment</a>') == 2


def test_other_payee_cashier_gets_nothing_and_nothing_changes(client, city, payments):
    attempt = payments["alipay"]
    form_url = reverse("payments:console_refund_new", args=[attempt.public_id])
    before = snapshot()
    client.force_login(city.other_cashier)
    body = client.get(reverse(LIST)).content.decode()
    assert "TA1" not in body and "TH1" in body and "1 payment<" in body
    assert client.get(form_url).status_code == 404
    assert client.post(form_url, {"amount": "1.00", "reason": "x", "idem": "o1"}).status_code == 404
    csv = client.get(reverse(EXPORT, args=["csv"])).content.decode("utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in csv[1:]] == [payments["hospital"].public_id]
    assert snapshot() == before


@pytest.mark.parametrize("who", ["resident", "anonymous"])
def test_residents_and_anonymous_get_nothing_and_nothing_changes(client, city, payments, who):
    form_url = reverse("payments:console_refund_new", args=[payments["alipay"].public_id])
    before = snapshot()
    if who == "resident":
        client.force_login(city.resident)
    urls = (reverse(LIST), reverse(EXPORT, args=["csv"]), reverse(EXPORT, args=["xlsx"]), form_url)
    for url in urls:
        response = client.get(url)
        expected = 403 if who == "resident" else 302
        assert response.status_code == expected, url
        assert b"TA1" not in response.content and b"15.50" not in response.content
        if who == "anonymous":
            assert response["Location"] == f"{reverse('identity:login')}?next={url}"
    response = client.post(form_url, {"amount": "1.00", "reason": "x", "idem": "x1"})
    assert response.status_code == (403 if who == "resident" else 302)
    assert snapshot() == before

