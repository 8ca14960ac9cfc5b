"""Demo bills (福码 payments): every one of the 32 payee units issues realistic bills to demo
citizens — tuition and boarding at schools, hospital fees, water, electricity and gas, P+R
parking — and about a third of them were paid in the last 30 days through the four channels,
so the payee consoles have collections to show. 林志远 (13800138000) has several bills due.
At 福州第一中学 a few payments were refunded (asked for by `cashier`, approved by `cashier2`,
back through the channel's sandbox): 林志远's paid bill in part, another in full, and one
refund waits for `cashier2`'s approval. Three units also took payments through their static payee
code (扫码收款: the resident enters the amount, no bill) over the last three weeks — uniforms and
exam fees at the school, record copies and parking at the hospital, card fees at the bus company —
a few of them failed, and one paid at the school today was refunded in part. Past days are settled
(T+1) and yesterday's statement of each channel is reconciled, with a few breaks
(onecity.demo.clearing).

Deterministic (a fixed random seed) and idempotent: each bill has an external reference and each
static-code payment an idempotency key, so a second run makes nothing new. Written through the
payments services, as the system.
"""

from __future__ import annotations

import datetime as dt
import random

from django.conf import settings
from django.utils import timezone

from onecity.demo.clearing import clearing_demo_seed
from onecity.identity.enums import OrganizationKind, UserKind
from onecity.identity.models import Organization, User
from onecity.payments.channels.base import mask_payer
from onecity.payments.enums import Channel, FailureCode
from onecity.payments.gateways import sandbox_client
from onecity.payments.models import Bill, PaymentAttempt
from onecity.payments.services.attempts import (
    attempt_create,
    attempt_mark_failed,
    attempt_mark_succeeded,
    attempt_submit,
)
from onecity.payments.services.bills import BillInput, bill_issue
from onecity.payments.services.codes import code_static_issue
from onecity.payments.services.refunds import refund_approve, refund_request

RANDOM_SEED = 20261124
DEMO_PHONE = "13800138000"
TERM = "2026年秋季学期"

# payee type → [(kind, title, amount range in fen, allow part payments)]
CATALOGUE = {
    "school": [("tuition", f"{TERM}学费", (80000, 250000), True), ("boarding", f"{TERM}住宿费", (60000, 120000), False),
               ("other", f"{TERM}教材费", (18000, 42000), False)],
    "hospital": [("hospital", "门诊医疗费", (8600, 68000), False), ("hospital", "住院预交金", (200000, 500000), True),
                 ("hospital", "体检费", (35000, 98000), False)],
    "utility": [("utility", "2026年11月水费", (3600, 16800), False)],
    "transit": [("parking", "P+R 停车场月租（2026年12月）", (15000, 30000), False)],
}
UTILITY_TITLES = {"水务": "2026年11月水费", "电力": "2026年11月电费", "燃气": "2026年11月燃气费"}
#: 林志远's bills: at each of these payee units one is due and one was paid
DEMO_PAYEES = ("福州第一中学", "福建省立医院", "福州水务集团有限公司", "国网福建省电力有限公司福州供电公司",
               "福州公交集团有限公司")
#: the school whose cashiers show refunds, and the refunds: (share of the payment, reason, approved)
REFUND_PAYEE = "福州第一中学"
REFUNDS = ((0.2, "学生申请减免，退还部分学费", True), (1.0, "学生转学，全额退费", True),
           (0.5, "重复缴纳，退还多缴部分", False))
CHANNELS = [Channel.ALIPAY, Channel.WECHAT, Channel.ALIPAY, Channel.UNIONPAY, Channel.CITY_WALLET]
#: payments made with a unit's static code (no bill): the unit, and the amounts residents enter (fen)
CODE_PAYMENTS = {
    "福州第一中学": (18000, 22000, 3500, 4800, 12000, 26000),  # uniforms, exam and club fees
    "福建省立医院": (500, 1000, 2000, 1500, 3000, 15000),  # record copies, parking, a night's attendant
    "福州公交集团有限公司": (2000, 2500, 5000, 10000),  # card replacement, deposits, top-ups
}
CODE_PAYMENTS_PER_PAYEE = 12
#: every CODE_FAILURE_EVERY-th payment fails (the resident gave up, or the account was short)
CODE_FAILURE_EVERY = 6
CODE_FAILURES = (FailureCode.PAYER_CANCELLED, FailureCode.INSUFFICIENT_FUNDS)
CODE_REFUND = (0.5, "校服尺码不合适，退还差价")  # the school's first static-code payment, in part


#: the local hours people pay at (one per random slot): mornings, lunch and evenings
PAY_HOURS = (8, 9, 10, 11, 12, 14, 16, 19, 20, 21)


def _paid_at(today: dt.date, *, days_ago: int, slot: int, minute: int) -> dt.datetime:
    """A payment moment in the daytime, `days_ago` days before today (a day earlier if that
    moment is still to come), so the statistics show when people pay."""
    day = today - dt.timedelta(days=days_ago)
    moment = timezone.make_aware(dt.datetime.combine(day, dt.time(PAY_HOURS[slot], minute)))
    return moment if moment <= timezone.now() else moment - dt.timedelta(days=1)


def _title(payee: Organization, base: str) -> str:
    if payee.payee_type == "utility":
        for word, title in UTILITY_TITLES.items():
            if word in payee.name:
                return title
    return base


def payments_demo_seed(*, progress, bills_per_payee: int) -> int:
    """Issue the demo bills that are missing and pay some of them; returns bills created."""
    rng = random.Random(RANDOM_SEED)
    payees = list(Organization.objects.filter(kind=OrganizationKind.PAYEE, is_active=True).order_by("uscc"))
    citizens = list(User.objects.filter(kind=UserKind.CITIZEN, is_active=True).order_by("date_joined", "id")
                    .only("id", "phone"))
    if not payees or not citizens:
        return 0
    demo = next((c for c in citizens if c.phone == DEMO_PHONE), None)
    others = [c for c in citizens if c is not demo] or citizens
    today = timezone.localdate()
    before = Bill.objects.count()
    existing = set(Bill.objects.filter(external_ref__startswith="DEMO-").values_list("payee_id", "external_ref"))
    progress.start("bills", "Bills (福码)", len(payees) * bills_per_payee)
    to_refund = []  # the first paid attempts at REFUND_PAYEE
    for payee in payees:
        items = CATALOGUE.get(payee.payee_type, [("other", "服务费", (5000, 20000), False)])
        for n in range(bills_per_payee):
            kind, base, (low, high), partial = items[n % len(items)]
            # 林志远 gets the first bill of a school, a hospital, the water company and a transit operator
            citizen = rng.choice(others)
            amount = rng.randrange(low // 100, high // 100) * 100
            due = today + dt.timedelta(days=rng.randrange(5, 45))
            ref = f"DEMO-{payee.uscc[-6:]}-{n:03d}"
            pay = rng.random() < 0.35
            if demo is not None and payee.name in DEMO_PAYEES and n in (0, 1):
                citizen, pay = demo, n == 1  # 林志远: one bill due and one paid at each of these units
            channel = rng.choice(CHANNELS)
            paid_at = _paid_at(today, days_ago=rng.randrange(0, 30), slot=rng.randrange(0, 10),
                               minute=(n * 23 + sum(map(ord, payee.uscc))) % 60)
            progress.advance("bills")
            if (payee.pk, ref) in existing:
                continue
            bill = bill_issue(actor=None, payee_id=payee.pk, data=BillInput(
                kind=kind, title=_title(payee, base), amount_fen=amount, due_date=due, resident_phone=citizen.phone,
                allow_partial=partial, min_partial_fen=(amount // 4 // 100) * 100 if partial else 0,
                external_ref=ref))
            if pay:
                attempt = attempt_create(bill_id=bill.public_id, channel=channel, amount_fen=amount,
                                         idempotency_key=f"demo-{ref}", actor=None)
                attempt_submit(attempt_id=attempt.public_id, channel_trade_no=f"DEMO{ref.replace('-', '')}")
                trade_no = ""
                if payee.name == REFUND_PAYEE and len(to_refund) < len(REFUNDS) and settings.PAYMENTS_SANDBOX:
                    client = sandbox_client(channel)  # the channel must know the trade to refund it
                    client.pay(out_trade_no=attempt.public_id, amount_fen=amount)
                    trade_no = client.trade_no(attempt.public_id)
                    to_refund.append(attempt)  # 林志远's paid bill (n == 1) comes first
                attempt_mark_succeeded(attempt_id=attempt.public_id, amount_fen=amount, channel_trade_no=trade_no,
                                       at=paid_at)
    _refunds_seed(to_refund)
    _code_payments_seed(payees, citizens, today)
    clearing_demo_seed()
    return Bill.objects.count() - before


def _refunds_seed(attempts) -> None:
    """A few refunds at REFUND_PAYEE: one cashier asks, the other approves (or not yet)."""
    cashiers = {u.username: u for u in User.objects.filter(username__in=("cashier", "cashier2"))}
    if len(cashiers) < 2:
        return
    for attempt, (share, reason, approved) in zip(attempts, REFUNDS, strict=False):
        amount = max(100, int(attempt.amount_fen * share) // 100 * 100)
        refund = refund_request(actor=cashiers["cashier"], attempt_id=attempt.public_id, amount_fen=amount,
                                reason=reason, idempotency_key="demo-refund")
        if approved:
            refund_approve(actor=cashiers["cashier2"], refund_id=refund.public_id, note="已核实")


def _payer_account(rng: random.Random, channel: str, citizens) -> str:
    """The payer's account as the channel reports it, masked as we keep it."""
    if channel == Channel.ALIPAY:
        account = "2088" + "".join(rng.choices("0123456789", k=12))
    elif channel == Channel.WECHAT:
        account = "oUpF8" + "".join(rng.choices("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", k=23))
    elif channel == Channel.UNIONPAY:
        account = "6217" + "".join(rng.choices("0123456789", k=15))
    else:
        account = rng.choice(citizens).phone
    return mask_payer(account)


def _code_payments_seed(payees, citizens, today: dt.date) -> None:
    """Payments residents made with the static code of the units in CODE_PAYMENTS, through the
    services as the channels would report them. The school's first is paid now and refunded in
    part: today is not settled, so that payment itself covers its refund whatever the payee's
    earlier refunds took (a refund of a payment of a settled day can find the payable empty)."""
    rng = random.Random(RANDOM_SEED + 1)  # its own sequence: the bills above stay as they were
    done = set(PaymentAttempt.objects.filter(idempotency_key__startswith="demo-qr-")
               .values_list("idempotency_key", flat=True))
    to_refund = None
    for payee in payees:
        amounts = CODE_PAYMENTS.get(payee.name)
        if amounts is None:
            continue
        token = code_static_issue(actor=None, payee_id=payee.pk).token
        for n in range(CODE_PAYMENTS_PER_PAYEE):
            amount, channel = rng.choice(amounts), rng.choice(CHANNELS)
            paid_at = _paid_at(today, days_ago=rng.randrange(0, 21), slot=rng.randrange(0, 10),
                               minute=rng.randrange(0, 60))
            payer = _payer_account(rng, channel, citizens)
            key = f"demo-qr-{payee.uscc[-6:]}-{n:03d}"
            if key in done:
                continue
            attempt = attempt_create(bill_id=None, channel=channel, amount_fen=amount, idempotency_key=key,
                                     actor=None, code_token=token)
            if n % CODE_FAILURE_EVERY == CODE_FAILURE_EVERY - 1:
                attempt_submit(attempt_id=attempt.public_id)
                attempt_mark_failed(attempt_id=attempt.public_id,
                                    failure_code=CODE_FAILURES[n // CODE_FAILURE_EVERY % len(CODE_FAILURES)])
                continue
            trade_no = f"DEMOQR{payee.uscc[-6:]}{n:03d}"
            if settings.PAYMENTS_SANDBOX:  # the channel must know the trade to refund it
                client = sandbox_client(channel)
                client.pay(out_trade_no=attempt.public_id, amount_fen=amount)
                trade_no = client.trade_no(attempt.public_id)
            attempt_submit(attempt_id=attempt.public_id, channel_trade_no=trade_no)
            refund_this = payee.name == REFUND_PAYEE and to_refund is None and settings.PAYMENTS_SANDBOX
            attempt = attempt_mark_succeeded(attempt_id=attempt.public_id, amount_fen=amount, channel_trade_no=trade_no,
                                             payer_account_masked=payer, at=None if refund_this else paid_at)
            if refund_this:
                to_refund = attempt
    if to_refund is not None:
        _code_refund_seed(to_refund)


def _code_refund_seed(attempt) -> None:
    """CODE_REFUND of `attempt`: `cashier` asks from the Code payments list, `cashier2` approves."""
    cashiers = {u.username: u for u in User.objects.filter(username__in=("cashier", "cashier2"))}
    if len(cashiers) < 2:
        return
    share, reason = CODE_REFUND
    refund = refund_request(actor=cashiers["cashier"], attempt_id=attempt.public_id,
                            amount_fen=max(100, int(attempt.amount_fen * share) // 100 * 100), reason=reason,
                            idempotency_key="demo-refund")
    refund_approve(actor=cashiers["cashier2"], refund_id=refund.public_id, note="已核实")
