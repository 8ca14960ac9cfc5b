"""Refunds: requested by a cashier, approved by another, sent back through the original channel
(its sandbox, in each channel's own request and answer shapes), reflected in the attempt, the
bill and the ledger. Bad input and refused decisions change nothing."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from onecity.core.errors import ApplicationError, NotFound
from onecity.core.models import AuditEvent
from onecity.identity.enums import Role
from onecity.ledger.enums import AccountKind
from onecity.ledger.selectors import account_find, ledger_trial_balance, transfer_remaining
from onecity.notifications.models import Message
from onecity.payments.gateways import sandbox_client
from onecity.payments.models import Bill, BillEvent, PaymentAttempt, Refund
from onecity.payments.services.attempts import attempt_create, attempt_mark_succeeded, attempt_submit
from onecity.payments.services.refunds import refund_approve, refund_reject, refund_request
from onecity.payments.services.settlement import settlement_run
from onecity.payments.tests.support import SH, issue, make_staff

CHANNELS = ["city_wallet", "alipay", "wechat", "unionpay"]


@pytest.fixture(scope="session")
def channel_keys(tmp_path_factory):
    return tmp_path_factory.mktemp("refund-channels")


@pytest.fixture(autouse=True)
def sandbox_on(settings, channel_keys):
    settings.PAYMENTS_SANDBOX = True
    settings.PAYMENTS_CHANNEL_KEY_DIR = channel_keys
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def second(city):
    """Another cashier of the school: the one who approves."""
    return make_staff(Role.PAYEE_CASHIER, username="cashier3", org=city.school)


def paid(city, channel="alipay", *, amount=250000, through_sandbox=True, **bill) -> PaymentAttempt:
    """A bill paid in full by the resident, the trade known to the channel's sandbox."""
    b = issue(city, amount_fen=amount, **bill)
    a = attempt_create(bill_id=b.public_id, channel=channel, amount_fen=amount, idempotency_key=f"k-{b.pk}",
                       actor=city.resident)
    attempt_submit(attempt_id=a.public_id)
    trade_no = ""
    if through_sandbox:
        client = sandbox_client(channel)
        client.pay(out_trade_no=a.public_id, amount_fen=amount)
        trade_no = client.trade_no(a.public_id)
    return attempt_mark_succeeded(attempt_id=a.public_id, amount_fen=amount, channel_trade_no=trade_no)


def balances(attempt) -> tuple[int, int]:
    clearing = account_find(kind=AccountKind.CHANNEL_CLEARING, owner=f"channel:{attempt.channel}")
    payee = account_find(kind=AccountKind.PAYEE_PAYABLE, owner=f"org:{attempt.payee.public_id}")
    return clearing.balance, payee.balance


def snapshot():
    return (list(Bill.objects.order_by("pk").values()), list(PaymentAttempt.objects.order_by("pk").values()),
            list(Refund.objects.order_by("pk").values()), BillEvent.objects.count(), ledger_trial_balance(),
            Message.objects.count())


def request(city, attempt, amount, key="r1", reason="学生转学，退还学费"):
    return refund_request(actor=city.cashier, attempt_id=attempt.public_id, amount_fen=amount, reason=reason,
                          idempotency_key=key)


@pytest.mark.parametrize("channel", CHANNELS)
def test_full_refund_through_each_channel(city, second, channel, django_capture_on_commit_callbacks):
    attempt = paid(city, channel)
    assert balances(attempt) == (250000, 250000)
    refund = request(city, attempt, 250000)
    assert (refund.state, refund.amount_fen, refund.requested_by, refund.bill_id) == (
        "requested", 250000, city.cashier, attempt.bill_id)
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_approve(actor=second, refund_id=refund.public_id, note="已核实")
    assert (refund.state, refund.approved_by, refund.failure_code, refund.decision_note) == (
        "succeeded", second, "", "已核实")
    assert refund.channel_refund_no != ""
    attempt.refresh_from_db()
    bill = Bill.objects.get(pk=attempt.bill_id)
    assert (attempt.refunded_fen, bill.refunded_fen, bill.paid_fen, bill.state) == (250000, 250000, 250000,
                                                                                   "refunded")
    assert balances(attempt) == (0, 0)
    assert transfer_remaining(transfer_id=f"pay:{attempt.public_id}") == 0
    assert ledger_trial_balance().balanced
    event = BillEvent.objects.filter(bill=bill).last()
    assert (event.action, event.from_state, event.to_state, event.amount_fen, event.actor) == (
        "refund_full", "paid", "refunded", 250000, second)
    message = Message.objects.get(recipient=city.resident, template="payments_refund")
    label = {"city_wallet": "e-Fuzhou wallet", "alipay": "Alipay", "wechat": "WeChat Pay",
             "unionpay": "UnionPay"}[channel]
    assert message.body == f"Refunded ¥2,500.00, back to {label} the way it was paid: 2026年秋季学期学费"
    assert list(AuditEvent.objects.filter(object_id=refund.public_id).order_by("id").values_list(
        "action", flat=True)) == ["payments.refund_requested", "payments.refund_approved", "payments.refund_succeeded"]


def test_partial_refunds_add_up_and_the_last_one_refunds_the_bill(city, second):
    attempt = paid(city, "wechat")
    first = refund_approve(actor=second, refund_id=request(city, attempt, 50000).public_id)
    assert first.state == "succeeded"
    attempt.refresh_from_db()
    bill = Bill.objects.get(pk=attempt.bill_id)
    assert (attempt.refunded_fen, bill.refunded_fen, bill.state) == (50000, 50000, "paid")
    assert balances(attempt) == (200000, 200000)
    assert transfer_remaining(transfer_id=f"pay:{attempt.public_id}") == 200000
    rest = refund_approve(actor=second, refund_id=request(city, attempt, 200000, key="r2").public_id)
    assert rest.state == "succeeded"
    attempt.refresh_from_db()
    bill.refresh_from_db()
    assert (attempt.refunded_fen, bill.refunded_fen, bill.state) == (250000, 250000, "refunded")
    assert balances(attempt) == (0, 0)
    assert ledger_trial_balance().balanced
    assert list(BillEvent.objects.filter(bill=bill, action__startswith="refund").values_list(
        "action", "amount_fen")) == [("refund_part", 50000), ("refund_full", 200000)]


def test_refund_above_the_remaining_amount_is_refused(city, second):
    attempt = paid(city, "alipay")
    refund_approve(actor=second, refund_id=request(city, attempt, 100000).public_id)
    request(city, attempt, 100000, key="r2")  # requested, not decided: holds ¥1,000.00
    before = snapshot()
    with pytest.raises(ApplicationError) as exc:
        request(city, attempt, 50001, key="r3")
    assert exc.value.code == "refund_exceeds_remaining"
    assert str(exc.value.message) == ("Only ¥500.00 of this payment can still be refunded (¥2,500.00 paid, the rest "
                                      "refunded or waiting for approval).")
    assert snapshot() == before
    assert request(city, attempt, 50000, key="r4").amount_fen == 50000  # exactly what is left


def test_two_requests_together_cannot_exceed_the_payment(city):
    """Two cashiers ask at once for more than is left between them: the second is refused."""
    attempt = paid(city, "alipay")
    other = make_staff(Role.PAYEE_CASHIER, username="cashier4", org=city.school)
    refund_request(actor=city.cashier, attempt_id=attempt.public_id, amount_fen=150000, reason="多收",
                   idempotency_key="a")
    with pytest.raises(ApplicationError) as exc:
        refund_request(actor=other, attempt_id=attempt.public_id, amount_fen=150000, reason="多收",
                       idempotency_key="b")
    assert exc.value.code == "refund_exceeds_remaining"
    assert list(Refund.objects.values_list("amount_fen", flat=True)) == [150000]


@pytest.mark.parametrize(("amount", "reason", "key", "code"), [
    (0, "退费", "k", "amount_positive"), (-5, "退费", "k", "amount_positive"), ("100", "退费", "k", "amount_positive"),
    (100, "  ", "k", "reason_required"), (100, "x" * 301, "k", "reason_too_long"),
    (100, "退费", "", "idempotency_key_invalid"),
])
def test_bad_requests_change_nothing(city, amount, reason, key, code):
    attempt = paid(city, "alipay")
    before = snapshot()
    with pytest.raises(ApplicationError) as exc:
        refund_request(actor=city.cashier, attempt_id=attempt.public_id, amount_fen=amount, reason=reason,
                       idempotency_key=key)
    assert exc.value.code == code
    assert snapshot() == before


def test_only_a_succeeded_payment_can_be_refunded(city):
    b = issue(city)
    a = attempt_create(bill_id=b.public_id, channel="alipay", amount_fen=250000, idempotency_key="p",
                       actor=city.resident)
    with pytest.raises(ApplicationError) as exc:
        request(city, a, 100)
    assert exc.value.code == "attempt_not_succeeded"
    assert Refund.objects.count() == 0


def test_four_eyes_the_requester_cannot_approve_or_reject(city):
    attempt = paid(city, "alipay")
    refund = request(city, attempt, 100000)
    before = snapshot()
    for decide in (lambda: refund_approve(actor=city.cashier, refund_id=refund.public_id),
                   lambda: refund_reject(actor=city.cashier, refund_id=refund.public_id, note="撤回")):
        with pytest.raises(ApplicationError) as exc:
            decide()
        assert exc.value.code == "four_eyes"
    assert snapshot() == before


def test_another_payees_cashier_and_a_resident_get_nowhere(city, second):
    attempt = paid(city, "alipay")
    with pytest.raises(NotFound):
        refund_request(actor=city.other_cashier, attempt_id=attempt.public_id, amount_fen=100, reason="x",
                       idempotency_key="k")
    refund = request(city, attempt, 100000)
    before = snapshot()
    with pytest.raises(NotFound):
        refund_approve(actor=city.other_cashier, refund_id=refund.public_id)
    with pytest.raises(NotFound):
        refund_reject(actor=city.other_cashier, refund_id=refund.public_id, note="不批")
    with pytest.raises(ApplicationError) as exc:
        refund_approve(actor=city.resident, refund_id=refund.public_id)
    assert exc.value.code == "forbidden"
    assert snapshot() == before


def test_reject_needs_a_note_and_frees_the_amount(city, second):
    attempt = paid(city, "alipay")
    refund = request(city, attempt, 250000)
    before = snapshot()
    with pytest.raises(ApplicationError) as exc:
        refund_reject(actor=second, refund_id=refund.public_id, note=" ")
    assert exc.value.code == "note_required"
    assert snapshot() == before
    refund = refund_reject(actor=second, refund_id=refund.public_id, note="家长已撤回申请")
    assert (refund.state, refund.approved_by, refund.decision_note) == ("rejected", second, "家长已撤回申请")
    assert refund_reject(actor=second, refund_id=refund.public_id, note="again").decision_note == "家长已撤回申请"
    with pytest.raises(ApplicationError) as exc:
        refund_approve(actor=second, refund_id=refund.public_id)
    assert exc.value.code == "refund_state"
    assert request(city, attempt, 250000, key="r2").state == "requested"  # the whole amount is free again


def test_channel_failure_changes_only_the_refund(city, second):
    attempt = paid(city, "unionpay", through_sandbox=False)  # the channel never saw this trade
    refund = request(city, attempt, 100000)
    before = snapshot()
    refund = refund_approve(actor=second, refund_id=refund.public_id)
    assert (refund.state, refund.failure_code, refund.channel_refund_no) == ("failed", "trade_not_found", "")
    bills, attempts, refunds, events, trial, messages = before
    assert snapshot()[:2] == (bills, attempts)
    assert snapshot()[3:] == (events, trial, messages)
    # a failed refund holds nothing: the amount can be asked for again
    assert request(city, attempt, 250000, key="r2").state == "requested"


def test_repeats_are_idempotent(city, second):
    attempt = paid(city, "city_wallet")
    refund = request(city, attempt, 100000)
    assert request(city, attempt, 100000).pk == refund.pk
    with pytest.raises(ApplicationError) as exc:
        request(city, attempt, 100001)
    assert exc.value.code == "idempotency_mismatch"
    done = refund_approve(actor=second, refund_id=refund.public_id)
    before = snapshot()
    again = refund_approve(actor=second, refund_id=refund.public_id)
    assert (again.pk, again.state, again.channel_refund_no) == (done.pk, "succeeded", done.channel_refund_no)
    assert snapshot() == before
    assert request(city, attempt, 100000).pk == refund.pk  # the request key still names it


def test_the_sandbox_refuses_more_than_the_trade(city):
    """The channel's own check, in each channel's answer shape (the platform never asks for it)."""
    from onecity.payments.channels.refunds import RefundRequest
    for channel in CHANNELS:
        attempt = paid(city, channel)
        client = sandbox_client(channel)
        ask = RefundRequest(out_trade_no=attempt.public_id, trade_no=attempt.channel_trade_no, out_refund_no="X1",
                            amount_fen=250001, total_fen=250000, reason="r")
        answer = client.refund(ask)
        assert (answer.ok, answer.failure_code) == (False, "amount_exceeded"), channel
        ok = client.refund(RefundRequest(**{**ask.__dict__, "amount_fen": 250000}))
        assert ok.ok and ok.refund_no, channel
        assert client.refund(RefundRequest(**{**ask.__dict__, "amount_fen": 250000})) == ok, channel


def test_excess_of_a_late_payment_is_refunded_from_suspense_first(city, second):
    """A payment the bill could not absorb (it was paid already) waits in suspense; its refund
    reverses that part and leaves the bill alone."""
    first = paid(city, "alipay")
    bill = Bill.objects.get(pk=first.bill_id)
    a = PaymentAttempt.objects.create(payee=city.school, bill=bill, payer=city.resident, channel="alipay",
                                      amount_fen=30000, client_key="t", idempotency_key="late", request_hash="x",
                                      created_at=bill.issued_at, expires_at=bill.issued_at, updated_at=bill.issued_at,
                                      state="expired", failure_code="timeout")
    client = sandbox_client("alipay")
    client.pay(out_trade_no=a.public_id, amount_fen=30000)
    a = attempt_mark_succeeded(attempt_id=a.public_id, amount_fen=30000, channel_trade_no=client.trade_no(a.public_id))
    assert a.excess_fen == 30000
    suspense = account_find(kind=AccountKind.SUSPENSE, owner="platform")
    assert suspense.credits_posted - suspense.debits_posted == 30000  # owed back to the payer
    refund = refund_approve(actor=second, refund_id=request(city, a, 30000).public_id)
    assert refund.state == "succeeded"
    bill.refresh_from_db()
    assert (bill.refunded_fen, bill.state) == (0, "paid")
    assert account_find(kind=AccountKind.SUSPENSE, owner="platform").balance == 0
    assert ledger_trial_balance().balanced


@pytest.mark.django_db(transaction=True)
def test_parallel_requests_on_postgresql(city):
    if connection.vendor != "postgresql":
        pytest.skip("real parallel writers need PostgreSQL (SQLite serialises every write)")
    attempt = paid(city, "alipay")
    cashiers = [city.cashier] + [make_staff(Role.PAYEE_CASHIER, username=f"par{n}", org=city.school)
                                 for n in range(3)]
    barrier = threading.Barrier(len(cashiers))
    codes: list[str] = []

    def work(actor, n):
        try:
            barrier.wait()
            refund_request(actor=actor, attempt_id=attempt.public_id, amount_fen=100000, reason="并发",
                           idempotency_key=f"p{n}")
            codes.append("ok")
        except ApplicationError as exc:
            codes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(c, n)) for n, c in enumerate(cashiers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == ["ok", "ok", "refund_exceeds_remaining", "refund_exceeds_remaining"]
    assert sum(Refund.objects.filter(attempt=attempt).values_list("amount_fen", flat=True)) == 200000


# --- pages ----------------------------------------------------------------------------------------

def test_console_refund_form_approval_and_the_residents_bill(client, city, second):
    from django.urls import reverse
    attempt = paid(city, "alipay")
    bill = Bill.objects.get(pk=attempt.bill_id)
    client.force_login(city.cashier)
    page = client.get(reverse("payments:console_bill", args=[bill.public_id])).content.decode()
    form_url = reverse("payments:console_refund_new", args=[attempt.public_id])
    assert form_url in page
    assert client.get(form_url).status_code == 200
    before = snapshot()
    bad = client.post(form_url, {"amount": "2500.01", "reason": "转学", "idem": "form-1"})
    assert bad.status_code == 422
    assert "Only ¥2,500.00 of this payment can still be refunded" in bad.content.decode()
    assert snapshot() == before
    response = client.post(form_url, {"amount": "500.00", "reason": "转学退费", "idem": "form-1"})
    assert response.status_code == 302
    refund = Refund.objects.get()
    assert (refund.amount_fen, refund.reason, refund.requested_by, refund.state) == (50000, "转学退费", city.cashier,
                                                                                    "requested")
    decide = reverse("payments:console_refund_decide", args=[refund.public_id])
    # the requester sees it listed but not waiting for them, and cannot approve it
    listing = client.get(reverse("payments:console_refunds")).content.decode()
    assert decide not in listing and "nav-badge" not in listing  # nothing awaits the requester
    client.post(decide, {"action": "approve"})
    assert Refund.objects.get().state == "requested"
    # a cashier of another payee: 404
    client.force_login(city.other_cashier)
    assert client.get(form_url).status_code == 404
    assert client.post(decide, {"action": "approve"}).status_code == 404
    # the second cashier approves
    client.force_login(second)
    listing = client.get(reverse("payments:console_refunds")).content.decode()
    assert decide in listing
    assert '<span class="nav-badge">1<span class="visually-hidden"> refunds to approve</span></span>' in listing
    assert client.post(decide, {"action": "approve", "note": "核实无误"}).status_code == 302
    refund.refresh_from_db()
    assert (refund.state, refund.approved_by) == ("succeeded", second)
    listing = client.get(reverse("payments:console_refunds")).content.decode()
    assert "¥500.00 refunded to the payer through Alipay, the way it was paid." in listing
    assert "nav-badge" not in listing
    # the resident's bill page
    client.force_login(city.resident)
    page = client.get(reverse("payments:bill", args=[bill.public_id])).content.decode()
    assert "Refunded ¥500.00, back to Alipay the way it was paid." in page


# --- partner API ----------------------------------------------------------------------------------

def test_partner_api_asks_for_a_refund_idempotently(client, city, second, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher",
                                 "onecity.core.hashers.ClientSecretHasher"]  # the token endpoint checks secrets
    from onecity.identity.services.api_clients import api_client_create
    from onecity.payments.services.partners import partner_client_link
    from onecity.payments.tests.test_api import _token, post
    attempt = paid(city, "wechat")
    school = api_client_create(actor=None, name="一中收费系统")
    partner_client_link(actor=None, client_id=school.client_id, payee_public_id=city.school.public_id)
    hospital = api_client_create(actor=None, name="省立医院HIS")
    partner_client_link(actor=None, client_id=hospital.client_id, payee_public_id=city.hospital.public_id)
    auth, other = _token(client, school), _token(client, hospital)
    body = {"attempt_id": attempt.public_id, "amount_fen": 30000, "reason": "重复缴费"}
    first = post(client, "/api/v1/payments/refunds", body, auth, key="rf-1")
    assert first.status_code == 201, first.content
    data = first.json()
    assert (data["attempt_id"], data["bill_id"], data["amount_fen"], data["state"], data["failure_code"]) == (
        attempt.public_id, Bill.objects.get(pk=attempt.bill_id).public_id, 30000, "requested", None)
    again = post(client, "/api/v1/payments/refunds", body, auth, key="rf-1")
    assert (again.status_code, again.json()["id"]) == (201, data["id"])
    before = snapshot()
    assert post(client, "/api/v1/payments/refunds", {**body, "amount_fen": 30001}, auth, key="rf-1").status_code == 422
    assert post(client, "/api/v1/payments/refunds", body, auth, key="").status_code == 400
    too_much = post(client, "/api/v1/payments/refunds", {**body, "amount_fen": 220001}, auth, key="rf-2")
    assert (too_much.status_code, too_much.json()["code"]) == (409, "refund_exceeds_remaining")
    assert post(client, "/api/v1/payments/refunds", body, other, key="rf-3").status_code == 404
    assert snapshot() == before
    refund = refund_approve(actor=second, refund_id=data["id"])  # any cashier of the payee approves
    assert (refund.state, refund.requested_by, refund.approved_by) == ("succeeded", None, second)



def test_refund_of_a_payment_already_settled_takes_the_payable_below_zero_and_the_deficit_is_carried(
        city, second, monkeypatch, django_capture_on_commit_callbacks):
    """Refunds come days after the payment, when its day was settled and the payee paid out: the
    channel returns the money, so the ledger must record it — the payee's payable goes below zero
    (the payee owes it), and the next settlement, a deficit, carries that forward to be taken
    from the payee's later payouts (test_settlement.py follows it to zero)."""
    now = timezone.now()
    yesterday = now - dt.timedelta(days=1)
    monkeypatch.setattr(timezone, "now", lambda: yesterday)
    attempt = paid(city, "wechat", amount=250000)
    monkeypatch.setattr(timezone, "now", lambda: now)
    [first] = settlement_run(day=yesterday.astimezone(SH).date())
    assert (first.gross_fen, first.refunds_fen, first.net_fen + first.fees_fen) == (250000, 0, 250000)
    assert balances(attempt) == (250000, 0)  # all of it paid out to the school
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_approve(actor=second, refund_id=request(city, attempt, 100000).public_id)
    assert (refund.state, refund.failure_code) == ("succeeded", "")
    assert balances(attempt) == (150000, -100000)
    assert ledger_trial_balance().balanced
    monkeypatch.setattr(timezone, "now", lambda: now + dt.timedelta(days=1))
    [second_day] = settlement_run(day=now.astimezone(SH).date())
    assert (second_day.gross_fen, second_day.fees_fen, second_day.refunds_fen, second_day.net_fen,
            second_day.state) == (0, 0, 100000, -100000, "deficit")
    assert (second_day.payout_fen, second_day.carried_out_fen, second_day.transfer_ids) == (0, 100000, [])
    assert balances(attempt)[1] == -100000
    assert ledger_trial_balance().balanced
    # the next day's collections cover what the school owes: only the rest is paid out
    monkeypatch.setattr(timezone, "now", lambda: now + dt.timedelta(days=1))
    paid(city, "wechat", amount=150000, title="住宿费")
    monkeypatch.setattr(timezone, "now", lambda: now + dt.timedelta(days=2))
    [third_day] = settlement_run(day=(now + dt.timedelta(days=1)).astimezone(SH).date())
    assert (third_day.gross_fen, third_day.fees_fen, third_day.net_fen, third_day.carried_in_fen,
            third_day.payout_fen, third_day.carried_out_fen, third_day.state) == (
        150000, 900, 149100, 100000, 49100, 0, "settled")
    assert balances(attempt)[1] == 0
    assert ledger_trial_balance().balanced
