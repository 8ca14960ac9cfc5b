import datetime as dt

import pytest
from django.db import IntegrityError

from onecity.core.crypto import lookup_hash
from onecity.core.errors import ApplicationError, NotFound, PermissionDenied
from onecity.core.models import AuditEvent
from onecity.payments.models import Bill, BillEvent, PaymentAttempt
from onecity.payments.services.attempts import (
    attempt_create,
    attempt_mark_failed,
    attempt_mark_succeeded,
    attempt_submit,
    attempts_expire,
)
from onecity.payments.services.bills import bill_cancel, bill_issue, bills_mark_overdue
from onecity.payments.services.common import yuan_to_fen
from onecity.payments.tests.support import bill_data, issue


@pytest.mark.parametrize(("text", "fen"), [("1280.5", 128050), ("¥1,280.50", 128050), ("0.01", 1), ("2500", 250000)])
def test_yuan_to_fen(text, fen):
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize("text", ["1.234", "-5", "0", "abc", "", "1e3", "0.00"])
def test_yuan_to_fen_refuses(text):
    with pytest.raises(ApplicationError):
        yuan_to_fen(text)


def test_issue_to_registered_resident(city):
    bill = issue(city)
    assert (bill.resident_id, bill.payee_id, bill.amount_fen, bill.paid_fen, bill.state) == (
        city.resident.pk, city.school.pk, 250000, 0, "issued")
    assert bill.payer_masked == "138****8000"
    assert list(bill.events.values_list("action", "to_state")) == [("issue", "issued")]
    assert AuditEvent.objects.filter(action="payments.bill_issue", object_id=bill.public_id).count() == 1


def test_issue_to_unregistered_person_is_encrypted_and_masked(city):
    bill = issue(city, resident_phone="13700137000", payer_name="陈小明")
    assert bill.resident_id is None
    assert (bill.payer_name_masked, bill.payer_masked) == ("陈**", "137****7000")
    assert bill.payer_phone_hash == lookup_hash("13700137000", purpose="phone")
    from django.db import connection
    with connection.cursor() as cursor:
        cursor.execute("select payer_name, payer_phone from payments_bill where id = %s", [bill.pk])
        raw_name, raw_phone = cursor.fetchone()
    assert "陈小明" not in raw_name and "13700137000" not in raw_phone


def test_issue_unknown_number_without_name_is_refused(city):
    with pytest.raises(ApplicationError) as exc:
        issue(city, resident_phone="13700137000")
    assert exc.value.code == "payer_not_found"
    assert Bill.objects.count() == 0


def test_issue_by_external_ref_is_idempotent(city):
    first = issue(city, external_ref="T-1")
    again = issue(city, external_ref="T-1")
    assert again.pk == first.pk and Bill.objects.count() == 1
    with pytest.raises(ApplicationError) as exc:
        issue(city, external_ref="T-1", amount_fen=1)
    assert exc.value.code == "external_ref_conflict" and Bill.objects.count() == 1


def test_issue_needs_a_payee_cashier(city):
    with pytest.raises(PermissionDenied):
        bill_issue(actor=city.resident, data=bill_data())
    assert Bill.objects.count() == 0


@pytest.mark.parametrize(("overrides", "code"), [
    ({"amount_fen": 0}, "amount_positive"), ({"kind": "bribe"}, "kind_invalid"), ({"title": " "}, "title_required"),
    ({"due_date": dt.date(2026, 11, 1)}, "due_date_past"), ({"min_partial_fen": 100}, "min_partial_without_partial"),
    ({"allow_partial": True, "min_partial_fen": 300000}, "min_partial_range"),
    ({"resident_phone": "", "payer_id_number": ""}, "payer_required"),
])
def test_issue_refuses_bad_input(city, overrides, code):
    with pytest.raises(ApplicationError) as exc:
        issue(city, **overrides)
    assert exc.value.code == code
    assert Bill.objects.count() == 0


def test_database_rejects_paid_above_amount(city):
    bill = issue(city)
    with pytest.raises(IntegrityError):
        Bill.objects.filter(pk=bill.pk).update(paid_fen=250001)


def test_cancel_by_own_cashier_only(city):
    bill = issue(city)
    with pytest.raises(NotFound):
        bill_cancel(actor=city.other_cashier, bill_id=bill.public_id, reason="错误")
    bill.refresh_from_db()
    assert bill.state == "issued"
    bill = bill_cancel(actor=city.cashier, bill_id=bill.public_id, reason="重复开具")
    assert (bill.state, bill.cancel_reason) == ("cancelled", "重复开具")


def _pay(city, bill, amount, key="k1", channel="alipay"):
    attempt = attempt_create(bill_id=bill.public_id, channel=channel, amount_fen=amount, idempotency_key=key,
                             actor=city.resident)
    return attempt_submit(attempt_id=attempt.public_id)


def test_full_payment(city):
    bill = issue(city)
    attempt = _pay(city, bill, 250000)
    assert (attempt.state, attempt.channel, attempt.payer_id) == ("pending", "alipay", city.resident.pk)
    attempt = attempt_mark_succeeded(attempt_id=attempt.public_id, amount_fen=250000, channel_trade_no="2026112322001")
    bill.refresh_from_db()
    assert (attempt.state, attempt.excess_fen, bill.paid_fen, bill.state) == ("succeeded", 0, 250000, "paid")
    # replayed notification: same result, nothing added
    again = attempt_mark_succeeded(attempt_id=attempt.public_id, amount_fen=250000, channel_trade_no="2026112322001")
    bill.refresh_from_db()
    assert again.pk == attempt.pk and bill.paid_fen == 250000
    assert list(bill.events.values_list("action", "amount_fen")) == [("issue", 250000), ("pay_full", 250000)]


def test_partial_payments_accumulate(city):
    bill = issue(city, allow_partial=True, min_partial_fen=50000)
    with pytest.raises(ApplicationError) as exc:
        _pay(city, bill, 49999)
    assert exc.value.code == "amount_too_small"
    a1 = _pay(city, bill, 100000, key="p1")
    attempt_mark_succeeded(attempt_id=a1.public_id, amount_fen=100000)
    bill.refresh_from_db()
    assert (bill.paid_fen, bill.state, bill.outstanding_fen) == (100000, "partially_paid", 150000)
    with pytest.raises(ApplicationError) as exc:
        _pay(city, bill, 150001, key="p2")
    assert exc.value.code == "amount_too_large"
    a2 = _pay(city, bill, 150000, key="p3")
    attempt_mark_succeeded(attempt_id=a2.public_id, amount_fen=150000)
    bill.refresh_from_db()
    assert (bill.paid_fen, bill.state) == (250000, "paid")


def test_partial_refused_when_not_allowed(city):
    bill = issue(city)
    with pytest.raises(ApplicationError) as exc:
        _pay(city, bill, 1000)
    assert exc.value.code == "partial_not_allowed"
    assert PaymentAttempt.objects.count() == 0


def test_amount_mismatch_changes_nothing(city):
    bill = issue(city)
    attempt = _pay(city, bill, 250000)
    with pytest.raises(ApplicationError) as exc:
        attempt_mark_succeeded(attempt_id=attempt.public_id, amount_fen=1)
    assert exc.value.code == "amount_mismatch"
    attempt.refresh_from_db()
    bill.refresh_from_db()
    assert (attempt.state, bill.paid_fen) == ("pending", 0)


def test_new_attempt_supersedes_open_one_and_late_success_is_excess(city):
    bill = issue(city)
    first = _pay(city, bill, 250000, key="a")
    second = _pay(city, bill, 250000, key="b", channel="wechat")
    first.refresh_from_db()
    assert (first.state, first.failure_code, second.state) == ("cancelled", "superseded", "pending")
    attempt_mark_succeeded(attempt_id=second.public_id, amount_fen=250000)
    late = attempt_mark_succeeded(attempt_id=first.public_id, amount_fen=250000)
    bill.refresh_from_db()
    assert (late.state, late.excess_fen, bill.paid_fen) == ("succeeded", 250000, 250000)


def test_attempt_idempotency(city):
    bill = issue(city)
    a = _pay(city, bill, 250000, key="same")
    again = attempt_create(bill_id=bill.public_id, channel="alipay", amount_fen=250000, idempotency_key="same",
                           actor=city.resident)
    assert again.pk == a.pk and PaymentAttempt.objects.count() == 1
    with pytest.raises(ApplicationError) as exc:
        attempt_create(bill_id=bill.public_id, channel="wechat", amount_fen=250000, idempotency_key="same",
                       actor=city.resident)
    assert (exc.value.code, exc.value.status) == ("idempotency_mismatch", 422)
    assert PaymentAttempt.objects.count() == 1


def test_other_resident_cannot_pay_or_see(city):
    bill = issue(city)
    with pytest.raises(NotFound):
        attempt_create(bill_id=bill.public_id, channel="alipay", amount_fen=250000, idempotency_key="x",
                       actor=city.other_resident)
    assert PaymentAttempt.objects.count() == 0


def test_failure_and_expiry(city, clock):
    bill = issue(city)
    a = _pay(city, bill, 250000, key="f")
    a = attempt_mark_failed(attempt_id=a.public_id, failure_code="insufficient_funds", detail="card 6222021234567890")
    assert (a.state, a.failure_code) == ("failed", "insufficient_funds")
    b = _pay(city, bill, 250000, key="g")
    clock.advance(minutes=16)
    assert attempts_expire() == 1
    b.refresh_from_db()
    assert (b.state, b.failure_code) == ("expired", "timeout")


def test_overdue_job(city, clock):
    bill = issue(city, due_date=dt.date(2026, 11, 25))
    assert bills_mark_overdue(today=dt.date(2026, 11, 25)) == 0
    assert bills_mark_overdue(today=dt.date(2026, 11, 26)) == 1
    assert bills_mark_overdue(today=dt.date(2026, 11, 26)) == 0
    bill.refresh_from_db()
    assert bill.state == "overdue"
    assert BillEvent.objects.filter(bill=bill, action="overdue").count() == 1


def test_collections_by_channel_and_day(city, clock):
    from onecity.payments.selectors import collections_by_channel_and_day

    b1, b2, b3 = issue(city, external_ref="c1"), issue(city, external_ref="c2"), issue(city, external_ref="c3")
    for bill, channel, key in ((b1, "alipay", "x1"), (b2, "wechat", "x2")):
        a = attempt_create(bill_id=bill.public_id, channel=channel, amount_fen=250000, idempotency_key=key,
                           actor=city.resident)
        attempt_mark_succeeded(attempt_id=a.public_id, amount_fen=250000)
    clock.advance(hours=14)  # 2026-11-24 00:00 in Shanghai: the next day
    a = attempt_create(bill_id=b3.public_id, channel="alipay", amount_fen=250000, idempotency_key="x3",
                       actor=city.resident)
    attempt_mark_succeeded(attempt_id=a.public_id, amount_fen=250000)
    days = collections_by_channel_and_day(actor=city.cashier, days=2, today=dt.date(2026, 11, 24))
    assert [(d.day, d.by_channel["alipay"], d.by_channel["wechat"], d.count) for d in days] == [
        (dt.date(2026, 11, 23), 250000, 250000, 2), (dt.date(2026, 11, 24), 250000, 0, 1)]
    assert collections_by_channel_and_day(actor=city.other_cashier, days=2,
                                          today=dt.date(2026, 11, 24))[0].total_fen == 0
