"""Demo clearing (福码 §6, §7): T+1 settlements of the demo payments' past days, and yesterday's
statement of each channel reconciled, made by that channel's sandbox from the payments it took,
with a few breaks of the kinds that happen:

- Alipay: one payment's row is missing (the channel moved it to the next day's file);
- WeChat Pay: one fee is a fen higher than the 0.6 % we expect (rounding at the channel); the
  demo account finance2 has proposed the adjustment, which awaits finance's approval;
- UnionPay: a payment on the statement that we never heard of (its notification was lost);
- the city wallet: clean.

Idempotent: a day settles once, and a channel whose yesterday is reconciled is not again.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.utils import timezone

from onecity.payments.channels import alipay, unionpay, wallet, wechat
from onecity.payments.channels.base import CHINA, StatementKind, StatementRow
from onecity.payments.clearing import fee_fen, succeeded_attempts_of_day
from onecity.payments.enums import BreakKind, Channel
from onecity.payments.models import ReconciliationRun, Settlement
from onecity.payments.services.reconciliation_runs import break_adjustment_propose, reconciliation_import
from onecity.payments.services.settlement import settlement_run

User = get_user_model()
SANDBOXES = {Channel.ALIPAY: alipay.AlipaySandbox, Channel.WECHAT: wechat.WechatSandbox,
             Channel.UNIONPAY: unionpay.UnionpaySandbox, Channel.CITY_WALLET: wallet.WalletSandbox}
SETTLE_DAYS = 30
FEE_PROPOSER = "finance2"  # a demo staff account (onecity.demo.seeding.STAFF_ACCOUNTS)


def _statement_rows(channel: str, day: dt.date) -> list[StatementRow]:
    attempts = list(succeeded_attempts_of_day(day).filter(channel=channel).exclude(channel_trade_no="")
                    .order_by("finished_at", "id"))
    rows = [StatementRow(trade_no=a.channel_trade_no, out_trade_no=a.public_id, kind=StatementKind.PAYMENT,
                         amount_fen=a.amount_fen, fee_fen=fee_fen(channel, a.amount_fen), occurred_at=a.finished_at)
            for a in attempts]
    if channel == Channel.ALIPAY and rows:
        rows.pop()
    elif channel == Channel.WECHAT and rows:
        first = rows[0]
        rows[0] = StatementRow(trade_no=first.trade_no, out_trade_no=first.out_trade_no, kind=first.kind,
                               amount_fen=first.amount_fen, fee_fen=first.fee_fen + 1, occurred_at=first.occurred_at)
    elif channel == Channel.UNIONPAY:
        at = dt.datetime.combine(day, dt.time(15, 42), tzinfo=CHINA)
        rows.append(StatementRow(trade_no=f"{at:%m%d%H%M%S}90817263544", out_trade_no="01KDEMOLOSTNOTIFICATION00",
                                 kind=StatementKind.PAYMENT, amount_fen=12800, fee_fen=fee_fen(channel, 12800),
                                 occurred_at=at))
    return rows


def clearing_demo_seed() -> tuple[int, int]:
    """Settle the past days and reconcile yesterday; returns (settlements, runs) made now."""
    today = timezone.now().astimezone(CHINA).date()
    before = Settlement.objects.count()
    for back in range(SETTLE_DAYS, 0, -1):
        settlement_run(day=today - dt.timedelta(days=back))
    settled = Settlement.objects.count() - before
    yesterday = today - dt.timedelta(days=1)
    runs = 0
    proposer = User.objects.filter(username=FEE_PROPOSER).first()
    for channel, sandbox in SANDBOXES.items():
        if ReconciliationRun.objects.filter(channel=channel, day=yesterday).exists():
            continue
        content = sandbox().statement(_statement_rows(channel, yesterday), yesterday)
        run = reconciliation_import(actor=None, channel=channel, day=yesterday,
                                    filename=f"{channel}-{yesterday:%Y%m%d}.statement", content=content)
        runs += 1
        fee_break = run.breaks.filter(kind=BreakKind.FEE_MISMATCH).first()
        if proposer is not None and fee_break is not None:
            difference = fee_break.statement_fee_fen - fee_break.ours_fee_fen
            break_adjustment_propose(actor=proposer, break_id=fee_break.public_id, amount_fen=-difference,
                                     note="微信手续费四舍五入差异，已与微信支付商户平台核对，计入暂挂")
    return settled, runs
