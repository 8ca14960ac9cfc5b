"""Refunds a channel accepts "for later" (processing): the amount stays held, the result comes as
a signed refund notification (WeChat Pay REFUND.SUCCESS / .ABNORMAL / .CLOSED, through the
notify endpoint and the real verifier) or from the refund-query job, and only then does the
refund succeed (the effects of an immediate success) or fail (nothing in the ledger, the amount
free again). Repeats, bad signatures and wrong amounts change nothing.

The sandboxes answer "processing" for the channels in settings.PAYMENTS_SANDBOX_REFUND_PROCESSING.
The clock is the real time, fixed for the test: WeChat Pay notifications are refused when signed
more than five minutes from the time they are received."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from onecity.core.errors import ApplicationError
from onecity.core.models import AuditEvent
from onecity.identity.enums import Role
from onecity.notifications.models import Message
from onecity.payments.channels.base import RefundStatus
from onecity.payments.gateways import sandbox_client
from onecity.payments.models import Bill, BillEvent, ChannelNotification, PaymentAttempt, Refund
from onecity.payments.selectors import refund_remaining_fen
from onecity.payments.services.refunds import refund_approve, refunds_query_channel
from onecity.payments.tests.support import Clock, make_staff
from onecity.payments.tests.test_refunds import balances, paid, request, snapshot
from onecity.payments.tests.test_refunds import channel_keys as channel_keys  # noqa: F401 - fixture
from onecity.payments.tests.test_refunds import sandbox_on as sandbox_on  # noqa: F401 - autouse fixture

SH = ZoneInfo("Asia/Shanghai")
CHANNELS = ["city_wallet", "alipay", "wechat", "unionpay"]


@pytest.fixture
def clock(monkeypatch) -> Clock:
    c = Clock(dt.datetime.now(SH).replace(microsecond=0))
    monkeypatch.setattr(timezone, "now", lambda: c.now)
    return c


@pytest.fixture
def second(city):
    """Another cashier of the school: the one who approves."""
    return make_staff(Role.PAYEE_CASHIER, username="cashier3", org=city.school)


@pytest.fixture(autouse=True)
def later(settings):
    """Every sandbox channel answers refunds "processing"."""
    settings.PAYMENTS_SANDBOX_REFUND_PROCESSING = frozenset(CHANNELS)
    settings.PAYMENTS_REFUND_QUERY_AFTER_MINUTES = 10


def processing(city, approver, channel: str, amount: int = 50000) -> tuple[PaymentAttempt, Refund]:
    """A paid bill of ¥2,500 and an approved refund of `amount` that the channel took for later."""
    attempt = paid(city, channel)
    refund = refund_approve(actor=approver, refund_id=request(city, attempt, amount).public_id)
    assert refund.state == "processing"
    return attempt, refund


def post(client, channel: str, headers: dict, body: bytes):
    headers = dict(headers)
    content_type = headers.pop("Content-Type")
    return client.post(reverse("payments:notify", args=[channel]), data=body, content_type=content_type,
                       headers=headers)


def everything():
    return (snapshot(), balances(PaymentAttempt.objects.get()), AuditEvent.objects.count())


def test_processing_holds_the_amount_and_changes_nothing_else(city, clock, second):
    attempt = paid(city, "wechat")
    before = (balances(attempt), Message.objects.count(), BillEvent.objects.count())
    refund = refund_approve(actor=second, refund_id=request(city, attempt, 200000).public_id)
    attempt.refresh_from_db()
    bill = Bill.objects.get(pk=attempt.bill_id)
    assert (refund.state, refund.failure_code, refund.processing_at, refund.finished_at) == (
        "processing", "", clock.now, None)
    assert refund.channel_refund_no != ""  # WeChat Pay's refund_id, given with PROCESSING
    assert (attempt.refunded_fen, bill.refunded_fen, bill.state) == (0, 0, "paid")
    assert (balances(attempt), Message.objects.count(), BillEvent.objects.count()) == before
    assert list(AuditEvent.objects.filter(object_id=refund.public_id).order_by("id")
                .values_list("action", flat=True)) == [
        "payments.refund_requested", "payments.refund_approved", "payments.refund_processing"]
    # no over-refund while processing: ¥2,000 is held, ¥500 remains
    assert refund_remaining_fen(attempt) == 50000
    state = snapshot()
    with pytest.raises(ApplicationError) as caught:
        request(city, attempt, 50001, key="r2")
    assert caught.value.code == "refund_exceeds_remaining"
    assert snapshot() == state
    assert request(city, attempt, 50000, key="r3").state == "requested"
    assert refund_remaining_fen(attempt) == 0
    # the approver repeating the approval does not send it again
    assert refund_approve(actor=second, refund_id=refund.public_id).state == "processing"


def test_processing_then_the_refund_notification_succeeds_it_once(client, city, clock, second,
                                                                   django_capture_on_commit_callbacks):
    attempt, refund = processing(city, second, "wechat")
    clock.advance(minutes=2)
    headers, body = sandbox_client("wechat").refund_finish(out_trade_no=attempt.public_id,
                                                           out_refund_no=refund.public_id)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, "wechat", headers, body)
    assert (response.status_code, response.content) == (204, b"")
    refund.refresh_from_db()
    attempt.refresh_from_db()
    bill = Bill.objects.get(pk=attempt.bill_id)
    assert (refund.state, refund.finished_at, refund.failure_code) == ("succeeded", clock.now, "")
    assert (attempt.refunded_fen, attempt.channel_status, bill.refunded_fen, bill.state) == (
        50000, "refunded", 50000, "paid")
    assert balances(attempt) == (200000, 200000)
    assert list(BillEvent.objects.filter(bill=bill, action="refund_part").values_list("amount_fen", flat=True)) == [
        50000]
    assert Message.objects.get(recipient=city.resident, template="payments_refund").body.startswith(
        "Refunded ¥500.00, back to WeChat Pay")
    audit = AuditEvent.objects.get(object_id=refund.public_id, action="payments.refund_succeeded")
    assert (audit.actor, audit.detail["amount_fen"]) == (None, 50000)
    row = ChannelNotification.objects.get()
    assert (row.kind, row.refund, row.attempt_id, row.result, row.status, row.amount_fen, row.verified,
            row.dedupe_key) == ("refund", refund, attempt.pk, "processed", "succeeded", 50000, True,
                                f"wechat:refund:{refund.channel_refund_no}:succeeded")
    assert refund_remaining_fen(attempt) == 200000
    # the same notification again, and the channel's retry (re-signed, a new notification id)
    before = everything()
    retry = sandbox_client("wechat").refund_finish(out_trade_no=attempt.public_id, out_refund_no=refund.public_id)
    for again in ((headers, body), retry):
        assert post(client, "wechat", *again).status_code == 204
    assert everything() == before
    assert list(ChannelNotification.objects.order_by("id").values_list("result", flat=True)) == [
        "processed", "duplicate", "duplicate"]
    # the query job finds nothing left to settle
    clock.advance(minutes=30)
    assert refunds_query_channel() == 0
    assert everything() == before


def test_bad_signature_and_wrong_amount_change_nothing(client, city, clock, second):
    attempt, refund = processing(city, second, "wechat")
    sandbox = sandbox_client("wechat")
    headers, body = sandbox.refund_finish(out_trade_no=attempt.public_id, out_refund_no=refund.public_id)
    before = everything()
    forged = {**headers, "Wechatpay-Signature": headers["Wechatpay-Signature"][:-8] + "AAAAAAA="}
    assert post(client, "wechat", forged, body).status_code == 400
    tampered = body.replace(b'"REFUND.SUCCESS"', b'"REFUND.CLOSED"')
    assert post(client, "wechat", headers, tampered).status_code == 400
    # signed by the channel, but for another amount than the refund's
    other = sandbox.sandbox.refund_notification(
        trade_no=attempt.channel_trade_no, out_trade_no=attempt.public_id, out_refund_no=refund.public_id,
        refund_id=refund.channel_refund_no, total_fen=250000, refund_fen=50001)
    post(client, "wechat", *other)  # (answered 422 once decided)
    assert everything() == before
    refund.refresh_from_db()
    assert refund.state == "processing"
    assert list(ChannelNotification.objects.order_by("id").values_list("result", "verified")) == [
        ("rejected", False), ("rejected", False), ("amount_mismatch", True)]
    # the genuine one still settles it
    assert post(client, "wechat", headers, body).status_code == 204
    refund.refresh_from_db()
    assert refund.state == "succeeded"


@pytest.mark.parametrize("channel", CHANNELS)
def test_processing_then_the_query_job_succeeds_it(city, clock, second, channel):
    from onecity.payments.tasks import refunds_query_channel_task

    attempt, refund = processing(city, second, channel)
    clock.advance(minutes=9, seconds=59)
    before = everything()
    assert refunds_query_channel_task.call_local() == 0  # not processing long enough yet: not asked
    assert everything() == before
    clock.advance(seconds=1)
    assert refunds_query_channel_task.call_local() == 1
    refund.refresh_from_db()
    attempt.refresh_from_db()
    assert (refund.state, refund.finished_at) == ("succeeded", clock.now)
    assert (attempt.refunded_fen, Bill.objects.get(pk=attempt.bill_id).refunded_fen) == (50000, 50000)
    assert balances(attempt) == (200000, 200000)
    assert AuditEvent.objects.filter(object_id=refund.public_id, action="payments.refund_succeeded").count() == 1
    after = everything()
    clock.advance(minutes=10)
    assert refunds_query_channel_task.call_local() == 0
    assert everything() == after


@pytest.mark.parametrize(("channel", "how"), [("wechat", "abnormal"), ("wechat", "closed"),
                                               ("unionpay", "query"), ("city_wallet", "query")])
def test_processing_then_failed_frees_the_amount(client, city, clock, second, settings, channel, how):
    attempt, refund = processing(city, second, channel, amount=250000)
    assert refund_remaining_fen(attempt) == 0
    before = (balances(attempt), BillEvent.objects.count(), Message.objects.count(),
              list(Bill.objects.values()), PaymentAttempt.objects.values("refunded_fen", "state").get())
    finished = sandbox_client(channel).refund_finish(out_trade_no=attempt.public_id, out_refund_no=refund.public_id,
                                                     status=RefundStatus.CLOSED if how == "closed"
                                                     else RefundStatus.ABNORMAL)
    if how == "query":
        assert finished is None  # these channels do not notify refunds: the query finds the result
        clock.advance(minutes=10)
        assert refunds_query_channel() == 1
    else:
        assert post(client, channel, *finished).status_code == 204
    refund.refresh_from_db()
    assert (refund.state, refund.failure_code, refund.finished_at) == (
        "failed", "refund_closed" if how == "closed" else "refund_abnormal", clock.now)
    assert (balances(attempt), BillEvent.objects.count(), Message.objects.count(),
            list(Bill.objects.values()), PaymentAttempt.objects.values("refunded_fen", "state").get()) == before
    assert AuditEvent.objects.get(object_id=refund.public_id, action="payments.refund_failed").detail[
        "source"] == ("query" if how == "query" else "notify")
    # the whole amount is free again, here and at the channel: asked and refunded anew
    assert refund_remaining_fen(attempt) == 250000
    settings.PAYMENTS_SANDBOX_REFUND_PROCESSING = frozenset()
    again = refund_approve(actor=second, refund_id=request(city, attempt, 250000, key="r2").public_id)
    assert again.state == "succeeded"
    assert Bill.objects.get(pk=attempt.bill_id).state == "refunded"


def test_a_notification_naming_a_refund_that_failed_changes_nothing(client, city, clock, second):
    """The channel says succeeded for a refund it said was closed: an error for a person to look
    at (the channel retries), not a second outcome."""
    attempt, refund = processing(city, second, "wechat")
    sandbox = sandbox_client("wechat")
    assert post(client, "wechat", *sandbox.refund_finish(out_trade_no=attempt.public_id,
                                                          out_refund_no=refund.public_id,
                                                          status=RefundStatus.CLOSED)).status_code == 204
    before = everything()
    post(client, "wechat", *sandbox.refund_finish(out_trade_no=attempt.public_id, out_refund_no=refund.public_id))
    assert everything() == before
    row = ChannelNotification.objects.order_by("-id").first()
    assert (row.result, row.result_detail) == ("error", "refund_state: succeeded for a refund failed")


def test_pages_show_processing(client, city, clock, second):
    attempt, refund = processing(city, second, "wechat")
    client.force_login(second)
    listing = client.get(reverse("payments:console_refunds")).content.decode()
    assert "Processing at the channel" in listing
    assert "¥500.00 accepted by WeChat Pay, which reports the result later" in listing
    client.force_login(city.resident)
    page = client.get(reverse("payments:bill", args=[Bill.objects.get(pk=attempt.bill_id).public_id])).content
    assert "A refund of ¥500.00 is being processed by WeChat Pay" in page.decode()
