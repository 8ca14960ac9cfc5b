"""Channel notifications through /pay/notify/<channel>/: stored raw first, verified, applied once.

Every channel's notification is signed by its sandbox (onecity.payments.channels) with the keys
the notify endpoint verifies against, so these tests run the real verification code. The clock
is the real time, fixed for the test: the sandboxes' certificates are valid from "now" (when
they were made), so a clock far from it would make them not yet valid.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from onecity.core.models import AuditEvent
from onecity.ledger.enums import AccountKind
from onecity.ledger.selectors import account_find, ledger_trial_balance
from onecity.payments.channels.base import PaymentStatus
from onecity.payments.gateways import sandbox_client
from onecity.payments.models import Bill, BillEvent, ChannelNotification, PaymentAttempt
from onecity.payments.services.attempts import attempt_create, attempt_submit
from onecity.payments.services.notifications import (
    attempts_query_channel,
    notification_process,
    notification_receive,
    notifications_process_pending,
)
from onecity.payments.tests.support import Clock, issue

SH = ZoneInfo("Asia/Shanghai")
CHANNELS = ["city_wallet", "alipay", "wechat", "unionpay"]
REPLY_OK = {"alipay": (200, b"success"), "unionpay": (200, b"ok"), "wechat": (204, b""), "city_wallet": (204, b"")}


@pytest.fixture(scope="session")
def channel_keys(tmp_path_factory):
    return tmp_path_factory.mktemp("channels")


@pytest.fixture
def clock(monkeypatch) -> Clock:
    c = Clock(dt.datetime.now(SH).replace(microsecond=0))
    monkeypatch.setattr(timezone, "now", lambda: c.now)
    return c


@pytest.fixture(autouse=True)
def sandbox_on(settings, channel_keys):
    settings.PAYMENTS_SANDBOX = True
    settings.PAYMENTS_CHANNEL_KEY_DIR = channel_keys
    settings.LANGUAGE_CODE = "en"


def pending_attempt(city, channel: str, **bill) -> PaymentAttempt:
    b = issue(city, due_date=timezone.now().date() + dt.timedelta(days=30), **bill)
    a = attempt_create(bill_id=b.public_id, channel=channel, amount_fen=b.amount_fen, idempotency_key=f"k-{b.pk}",
                       actor=city.resident)
    return attempt_submit(attempt_id=a.public_id)


def post(client, channel: str, headers: dict, body: bytes):
    headers = dict(headers)
    content_type = headers.pop("Content-Type")
    return client.post(reverse("payments:notify", args=[channel]), data=body, content_type=content_type,
                       headers=headers)


def signed(channel: str, attempt: PaymentAttempt, **kwargs):
    sandbox = sandbox_client(channel).sandbox
    values = {"trade_no": kwargs.pop("trade_no", f"T{attempt.public_id}"), "out_trade_no": attempt.public_id,
              "amount_fen": attempt.amount_fen}
    values.update(kwargs)
    return sandbox.notification(**values)


def snapshot():
    """Everything a notification could change, apart from the notification rows themselves."""
    return (list(Bill.objects.order_by("pk").values()), list(PaymentAttempt.objects.order_by("pk").values()),
            BillEvent.objects.count(), ledger_trial_balance())


def trial_totals() -> tuple[bool, int, int]:
    trial = ledger_trial_balance()
    return (trial.balanced, sum(line.debits_posted for line in trial.lines),
            sum(line.credits_posted for line in trial.lines))


def balances(attempt: PaymentAttempt) -> tuple[int, int]:
    clearing = account_find(kind=AccountKind.CHANNEL_CLEARING, owner=f"channel:{attempt.channel}")
    payee = account_find(kind=AccountKind.PAYEE_PAYABLE, owner=f"org:{attempt.payee.public_id}")
    return (clearing.balance if clearing else 0, payee.balance if payee else 0)


@pytest.mark.parametrize("channel", CHANNELS)
def test_good_notification_pays_the_bill_once_and_posts_the_ledger(client, city, channel):
    attempt = pending_attempt(city, channel)
    headers, body = signed(channel, attempt)
    response = post(client, channel, headers, body)
    assert (response.status_code, response.content) == REPLY_OK[channel]
    attempt.refresh_from_db()
    bill = attempt.bill
    bill.refresh_from_db()
    assert (attempt.state, attempt.channel_trade_no, attempt.channel_status, attempt.excess_fen) == (
        "succeeded", f"T{attempt.public_id}", "paid", 0)
    assert (bill.state, bill.paid_fen) == ("paid", 250000)
    row = ChannelNotification.objects.get()
    assert (row.channel, row.source, row.verified, row.result, row.attempt_id, row.status, row.out_trade_no,
            row.amount_fen, row.channel_trade_no) == (
        channel, "notify", True, "processed", attempt.pk, "paid", attempt.public_id, 250000, f"T{attempt.public_id}")
    assert row.body.encode() == body and row.body_sha256 == hashlib.sha256(body).hexdigest()
    signing_headers = {k.lower(): v for k, v in headers.items() if k.lower().startswith(("wechatpay-", "onecity-wallet-"))}
    assert row.headers == {"content-type": headers["Content-Type"], **signing_headers}
    assert (channel in ("wechat", "city_wallet")) == bool(signing_headers)
    assert row.dedupe_key == f"{'wallet' if channel == 'city_wallet' else channel}:T{attempt.public_id}:paid"
    assert balances(attempt) == (250000, 250000)
    assert trial_totals() == (True, 250000, 250000)

    # the channel delivers the same event again, re-signed: acknowledged, nothing changes
    before = snapshot()
    again_headers, again_body = signed(channel, attempt)
    response = post(client, channel, again_headers, again_body)
    assert (response.status_code, response.content) == REPLY_OK[channel]
    assert snapshot() == before
    assert list(ChannelNotification.objects.order_by("id").values_list("result", flat=True)) == [
        "processed", "duplicate"]
    assert BillEvent.objects.filter(bill=bill, action="pay_full").count() == 1
    assert AuditEvent.objects.filter(action="payments.attempt_succeeded").count() == 1


@pytest.mark.parametrize("channel", CHANNELS)
def test_bad_signature_is_stored_unverified_and_changes_nothing(client, city, channel):
    attempt = pending_attempt(city, channel)
    headers, body = signed(channel, attempt)
    if channel in ("alipay", "unionpay"):  # form-encoded: change the amount after signing
        tampered = body.replace(b"total_amount=2500.00", b"total_amount=0.01").replace(b"txnAmt=250000",
                                                                                        b"txnAmt=1")
    else:  # JSON: the signature covers the exact bytes
        tampered = body.replace(b'"id":"', b'"id":"X', 1)
    assert tampered != body
    before = snapshot()
    response = post(client, channel, headers, tampered)
    assert response.status_code == 400
    assert response.content == b"fail" if channel in ("alipay", "unionpay") else \
        json.loads(response.content)["code"] in ("FAIL", "bad_signature")
    assert snapshot() == before
    row = ChannelNotification.objects.get()
    assert (row.verified, row.result, row.attempt_id, row.dedupe_key) == (False, "rejected", None, "")
    assert row.result_detail.startswith("bad_signature: ")
    assert row.body.encode() == tampered


@pytest.mark.parametrize("channel", ["city_wallet", "wechat"])
def test_stale_timestamp_is_refused(client, city, clock, channel):
    attempt = pending_attempt(city, channel)
    headers, body = signed(channel, attempt, sent_at=timezone.now() - dt.timedelta(minutes=6))
    before = snapshot()
    response = post(client, channel, headers, body)
    assert response.status_code == 400
    assert snapshot() == before
    row = ChannelNotification.objects.get()
    assert (row.verified, row.result) == (False, "rejected") and row.result_detail.startswith("stale: ")


@pytest.mark.parametrize("channel", CHANNELS)
def test_wrong_amount_is_recorded_not_applied(client, city, channel):
    """Verified, so acknowledged (the row is ours; resending would not change the amount); the
    applier records the mismatch on the row for the payee's staff and applies nothing."""
    attempt = pending_attempt(city, channel)
    headers, body = signed(channel, attempt, amount_fen=249999)
    before = snapshot()
    response = post(client, channel, headers, body)
    assert (response.status_code, response.content) == REPLY_OK[channel]
    assert snapshot() == before
    attempt.refresh_from_db()
    assert (attempt.state, attempt.channel_status) == ("pending", "")
    row = ChannelNotification.objects.get()
    assert (row.verified, row.result, row.amount_fen, row.attempt_id) == (True, "amount_mismatch", 249999, attempt.pk)
    assert row.result_detail.startswith("amount_mismatch: ")


@pytest.mark.parametrize("channel", CHANNELS)
def test_unknown_order_is_an_error_and_changes_nothing(client, city, channel):
    attempt = pending_attempt(city, channel)
    other = "alipay" if channel != "alipay" else "wechat"
    headers, body = signed(other, attempt)  # signed by another channel: the order is not that channel's
    before = snapshot()
    response = post(client, other, headers, body)
    assert (response.status_code, response.content) == REPLY_OK[other]
    assert snapshot() == before
    row = ChannelNotification.objects.get()
    assert (row.verified, row.result, row.attempt_id) == (True, "error", None)
    assert row.result_detail == f"unknown_order: {attempt.public_id}"


@pytest.mark.parametrize("channel", ["alipay", "wechat", "unionpay", "city_wallet"])
def test_refund_before_paid_then_paid_is_out_of_order(client, city, channel):
    """The refund's notification overtakes the payment's: the payment is old news and is not
    applied (the money came and went back; the bill stays unpaid)."""
    attempt = pending_attempt(city, channel)
    refund_headers, refund_body = signed(channel, attempt, status=PaymentStatus.REFUNDED)
    assert post(client, channel, refund_headers, refund_body).status_code in (200, 204)
    attempt.refresh_from_db()
    assert (attempt.state, attempt.channel_status) == ("pending", "refunded")
    before = snapshot()
    paid_headers, paid_body = signed(channel, attempt)
    response = post(client, channel, paid_headers, paid_body)
    assert (response.status_code, response.content) == REPLY_OK[channel]
    assert snapshot() == before
    assert list(ChannelNotification.objects.order_by("id").values_list("status", "result")) == [
        ("refunded", "processed"), ("paid", "out_of_order")]


@pytest.mark.parametrize("channel", ["alipay", "wechat", "unionpay", "city_wallet"])
def test_closed_before_paid(client, city, channel):
    """A "closed" that arrives first fails the attempt; the "paid" that follows is out of order."""
    attempt = pending_attempt(city, channel)
    headers, body = signed(channel, attempt, status=PaymentStatus.CLOSED)
    assert post(client, channel, headers, body).status_code in (200, 204)
    attempt.refresh_from_db()
    assert (attempt.state, attempt.failure_code, attempt.channel_status) == ("failed", "timeout", "closed")
    before = snapshot()
    paid_headers, paid_body = signed(channel, attempt)
    assert post(client, channel, paid_headers, paid_body).status_code in (200, 204)
    assert snapshot() == before
    assert ChannelNotification.objects.order_by("-id").first().result == "out_of_order"


def test_unionpay_failure_then_paid_succeeds(client, city):
    """UnionPay reports a failed try; the payer then pays: the payment is money received."""
    attempt = pending_attempt(city, "unionpay")
    headers, body = signed("unionpay", attempt, status=PaymentStatus.FAILED)
    assert post(client, "unionpay", headers, body).content == b"ok"
    attempt.refresh_from_db()
    assert (attempt.state, attempt.failure_code) == ("failed", "declined")
    headers, body = signed("unionpay", attempt)
    assert post(client, "unionpay", headers, body).content == b"ok"
    attempt.refresh_from_db()
    attempt.bill.refresh_from_db()
    assert (attempt.state, attempt.failure_code, attempt.bill.state) == ("succeeded", "", "paid")


def test_paid_after_the_bill_was_paid_another_way_keeps_the_excess_in_suspense(client, city):
    """A late success of a superseded attempt: the bill is paid already, so the whole amount is
    excess, posted to suspense."""
    first = pending_attempt(city, "alipay")
    second = attempt_submit(attempt_id=attempt_create(
        bill_id=first.bill.public_id, channel="wechat", amount_fen=250000, idempotency_key="k-second",
        actor=city.resident).public_id)
    assert post(client, "wechat", *signed("wechat", second)).status_code == 204
    assert post(client, "alipay", *signed("alipay", first)).content == b"success"
    first.refresh_from_db()
    assert (first.state, first.excess_fen) == ("succeeded", 250000)
    suspense = account_find(kind=AccountKind.SUSPENSE, owner="platform")
    assert suspense.credits_posted == 250000 and suspense.debits_posted == 0
    # each channel owes what it took; the payee is owed the bill once
    assert balances(first) == (250000, 250000) and balances(second) == (250000, 250000)
    assert trial_totals() == (True, 500000, 500000)


def test_stored_but_unprocessed_rows_are_processed_by_the_job(city, clock):
    attempt = pending_attempt(city, "wechat")
    headers, body = signed("wechat", attempt)
    row = notification_receive(channel="wechat", headers=headers, body=body)  # then the process stopped
    assert notifications_process_pending() == 0  # younger than a minute: the request may still be running
    clock.advance(minutes=10)  # well past the freshness window: verified against when it was received
    assert notifications_process_pending() == 1
    row.refresh_from_db()
    attempt.refresh_from_db()
    assert (row.result, row.verified, attempt.state) == ("processed", True, "succeeded")
    assert notification_process(notification_id=row.public_id).reply.status == 204  # re-run: same answer
    assert notifications_process_pending() == 0


@pytest.mark.parametrize("channel", CHANNELS)
def test_query_job_finds_a_payment_whose_notification_never_came(city, clock, channel):
    attempt = pending_attempt(city, channel)
    unpaid = pending_attempt(city, channel)
    sandbox_client(channel).pay(out_trade_no=attempt.public_id, amount_fen=attempt.amount_fen)  # notification lost
    assert attempts_query_channel() == 0  # not pending long enough yet
    clock.advance(minutes=4)
    assert attempts_query_channel() == 1
    attempt.refresh_from_db()
    unpaid.refresh_from_db()
    assert (attempt.state, attempt.bill.state, unpaid.state) == ("succeeded", "paid", "pending")
    row = ChannelNotification.objects.get()
    assert (row.source, row.result, row.attempt_id) == ("query", "processed", attempt.pk)
    assert attempts_query_channel() == 0  # answered once: the attempt has its notification now


def test_unknown_channel_is_404_and_get_is_refused(client, city):
    assert client.post("/pay/notify/paypal/", data=b"x", content_type="text/plain").status_code == 404
    assert client.get(reverse("payments:notify", args=["alipay"])).status_code == 405
    assert ChannelNotification.objects.count() == 0


def test_periodic_jobs_call_the_services(city, clock):
    from onecity.payments.tasks import (
        attempts_expire_task,
        attempts_query_channel_task,
        bills_mark_overdue_task,
        notifications_process_pending_task,
    )

    paid, lost = pending_attempt(city, "alipay"), pending_attempt(city, "wechat")
    sandbox_client("alipay").pay(out_trade_no=paid.public_id, amount_fen=paid.amount_fen)
    clock.advance(minutes=5)
    assert attempts_query_channel_task.call_local() == 1
    assert notifications_process_pending_task.call_local() == 0
    clock.advance(minutes=15)
    assert attempts_expire_task.call_local() == 1
    assert bills_mark_overdue_task.call_local() == 0
    paid.refresh_from_db()
    lost.refresh_from_db()
    assert (paid.state, lost.state, lost.failure_code) == ("succeeded", "expired", "timeout")


def test_sandbox_cashier_only_with_the_sandbox_on(client, city, settings):
    attempt = pending_attempt(city, "alipay")
    url = reverse("payments:sandbox_cashier", args=["alipay", attempt.public_id])
    page = client.get(url, {"next": f"/pay/attempts/{attempt.public_id}/"})
    assert page.status_code == 200
    assert page.context["next"] == f"/pay/attempts/{attempt.public_id}/"
    assert client.get(url, {"next": "https://evil.example/pay/"}).context["next"] == ""
    assert client.get(reverse("payments:sandbox_cashier", args=["wechat", attempt.public_id])).status_code == 404
    headers, body = signed("alipay", attempt)
    settings.PAYMENTS_SANDBOX = False
    before = snapshot()
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    # and without the sandbox no channel is configured: a notification is kept raw, answered 503
    assert post(client, "alipay", headers, body).status_code == 503
    assert snapshot() == before
    assert list(ChannelNotification.objects.values_list("result", "verified")) == [("received", None)]
