"""Reads and rules of clearing (清分) shared by reconciliation runs and settlement (decision 0020).

Channel fees are a rate in basis points of each payment, per channel, from the setting
`PAYMENTS_FEE_RATES_BP` (a dict channel → basis points; missing channels use the defaults
below: Alipay and WeChat Pay 0.6 %, UnionPay 0.5 %, the city wallet nothing). One payment's
fee is rounded half up to the fen (`fee_fen`), and a day's fees are the sum of the rounded
fees — the way the channels charge them, row by row on their statements.

Business days are Beijing days: [00:00, next 00:00) Asia/Shanghai, the channels' cut-off.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
from django.conf import settings
from django.db.models import F, Max, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from onecity.core.errors import NotFound
from onecity.identity.access import has_role
from onecity.payments.access import FINANCE_READER_ROLES, cashier_payee_id
from onecity.payments.channels.base import CHINA, StatementKind
from onecity.payments.enums import AttemptState, BreakState, Channel, RefundState
from onecity.payments.models import (
    DeficitNotice,
    PaymentAttempt,
    ReconciliationBreak,
    ReconciliationRun,
    Refund,
    Settlement,
)
from onecity.payments.reconciliation import OurEntry, ours_frame

DEFAULT_FEE_RATES_BP = {Channel.ALIPAY: 60, Channel.WECHAT: 60, Channel.UNIONPAY: 50, Channel.CITY_WALLET: 0}


def fee_rate_bp(channel: str) -> int:
    rates = {**DEFAULT_FEE_RATES_BP, **getattr(settings, "PAYMENTS_FEE_RATES_BP", {})}
    return int(rates.get(channel, 0))


def fee_fen(channel: str, amount_fen: int) -> int:
    """The channel's fee on one payment of `amount_fen`, rounded half up to the fen."""
    return (amount_fen * fee_rate_bp(channel) + 5_000) // 10_000


def day_window(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(0), tzinfo=CHINA)
    return start, start + dt.timedelta(days=1)


def succeeded_attempts_of_day(day: dt.date) -> QuerySet[PaymentAttempt]:
    start, end = day_window(day)
    return PaymentAttempt.objects.filter(state=AttemptState.SUCCEEDED, finished_at__gte=start, finished_at__lt=end)


def succeeded_refunds_of_day(day: dt.date) -> QuerySet[Refund]:
    start, end = day_window(day)
    return Refund.objects.filter(state=RefundState.SUCCEEDED, finished_at__gte=start, finished_at__lt=end)


def reconciliation_ours(*, channel: str, day: dt.date) -> pl.DataFrame:
    """Our side of `channel`'s statement of `day` (reconciliation.OURS_SCHEMA): the attempts that
    succeeded that day through the channel (out_trade_no is the attempt's public id, the fee the
    one we expect), and the refunds the channel confirmed that day with its refund number."""
    attempts = (succeeded_attempts_of_day(day).filter(channel=channel).order_by("finished_at", "id")
                .values_list("public_id", "channel_trade_no", "amount_fen", "finished_at"))
    refunds = (succeeded_refunds_of_day(day).filter(attempt__channel=channel).exclude(channel_refund_no="")
               .order_by("finished_at", "id")
               .values_list("public_id", "attempt__public_id", "attempt__channel_trade_no", "channel_refund_no",
                            "amount_fen", "finished_at"))
    entries = [OurEntry(channel=channel, trade_no=trade_no, out_trade_no=public_id, kind=StatementKind.PAYMENT,
                        amount_fen=amount, fee_fen=fee_fen(channel, amount), occurred_at=at, our_id=public_id)
               for public_id, trade_no, amount, at in attempts]
    entries += [OurEntry(channel=channel, trade_no=trade_no, out_trade_no=attempt_id, kind=StatementKind.REFUND,
                         amount_fen=amount, fee_fen=0, occurred_at=at, our_id=public_id, refund_no=refund_no)
                for public_id, attempt_id, trade_no, refund_no, amount, at in refunds]
    return ours_frame(entries)


# --- pages' reads -------------------------------------------------------------------------------

def runs_recent() -> QuerySet[ReconciliationRun]:
    return ReconciliationRun.objects.select_related("uploaded_by").order_by("-day", "channel", "-created_at", "-id")


def breaks_of_run(*, run_id: str, kind: str = "", state: str = ""):
    """(run, its breaks filtered by kind and state); NotFound for an unknown run."""
    run = ReconciliationRun.objects.filter(public_id=str(run_id or "")).first()
    if run is None:
        raise NotFound()
    breaks = run.breaks.select_related("resolved_by", "proposed_by").order_by("id")
    if kind:
        breaks = breaks.filter(kind=kind)
    if state:
        breaks = breaks.filter(state=state)
    return run, breaks


def break_get(*, break_id: str) -> ReconciliationBreak:
    found = (ReconciliationBreak.objects.select_related("run", "resolved_by", "proposed_by")
             .filter(public_id=str(break_id or "")).first())
    if found is None:
        raise NotFound()
    return found


def refunds_processing() -> QuerySet[Refund]:
    """Refunds a channel accepted and has not settled yet, the longest waiting first (for the
    platform's clearing page: the ones past the wait can be settled by hand)."""
    return (Refund.objects.filter(state=RefundState.PROCESSING)
            .select_related("attempt", "bill", "payee").order_by("processing_at", "id"))


def _payee_rows_for(actor, rows: QuerySet) -> QuerySet:
    """`rows` (of payees' settlements) as `actor` may read them: the platform's finance staff and
    auditors every payee's, a payee cashier their unit's, anyone else none."""
    if actor is None or has_role(actor, *FINANCE_READER_ROLES):
        return rows
    payee_id = cashier_payee_id(actor)
    return rows.filter(payee_id=payee_id) if payee_id is not None else rows.none()


def settlements_visible_to(actor) -> QuerySet[Settlement]:
    return _payee_rows_for(actor, Settlement.objects.select_related("payee").defer(
        "statement_csv", "statement_xlsx").order_by("-day", "payee_id"))


def owed_now(settlement: Settlement) -> int:
    """What the payee still owes after `settlement`, its latest: the deficit it carried forward
    less the repayments recorded against it."""
    if not settlement.carried_out_fen:
        return 0
    recovered = settlement.recoveries.aggregate(total=Sum("amount_fen"))["total"] or 0
    return settlement.carried_out_fen - recovered


def _owing_settlements() -> QuerySet[Settlement]:
    """Each payee's latest settlement that leaves it owing, annotated with `owed`."""
    latest = Settlement.objects.values("payee_id").annotate(latest=Max("id")).values("latest")
    return (Settlement.objects.filter(id__in=latest, carried_out_fen__gt=0)
            .annotate(owed=F("carried_out_fen") - Coalesce(Sum("recoveries__amount_fen"), 0)).filter(owed__gt=0))


# --- the sidebar's counts of the finance staff's work (core.navigation.count_of) ----------------
def payees_owing_count(*, actor) -> int:
    return _payee_rows_for(actor, _owing_settlements()).count()


def refunds_due_count(*, actor) -> int:
    """Refunds processing at their channel for longer than the wait: to settle by hand."""
    from onecity.payments.services.refunds import refund_resolvable_since  # services import this module

    if not has_role(actor, *FINANCE_READER_ROLES):
        return 0
    return refunds_processing().filter(processing_at__lte=refund_resolvable_since()).count()


def breaks_unresolved_count(*, actor) -> int:
    """Breaks still to work: open, under investigation or with an adjustment awaiting approval."""
    if not has_role(actor, *FINANCE_READER_ROLES):
        return 0
    return ReconciliationBreak.objects.exclude(state=BreakState.RESOLVED).count()


@dataclass(frozen=True)
class Owing:
    """A payee that owes the platform: `owed_fen` after its latest settlement, owing since the
    first day of the run of settlements that carried a deficit, and its latest collection notice."""

    settlement: Settlement
    owed_fen: int
    since: dt.date
    notice: DeficitNotice | None


def payees_owing(actor) -> list[Owing]:
    """The payees owing now, largest first: all of them for the platform's finance staff and
    auditors, a payee cashier's own unit, nobody's for anyone else."""
    rows = _payee_rows_for(actor, _owing_settlements().select_related("payee").defer(
        "statement_csv", "statement_xlsx").order_by("-owed", "payee_id"))
    owing = []
    for row in rows:
        settled = (Settlement.objects.filter(payee_id=row.payee_id, id__lte=row.id, carried_out_fen=0)
                   .order_by("-id").values_list("id", flat=True)[:1])
        since = (Settlement.objects.filter(payee_id=row.payee_id, id__gt=next(iter(settled), 0))
                 .order_by("id").values_list("day", flat=True)[:1])
        notice = DeficitNotice.objects.filter(payee_id=row.payee_id).order_by("-sent_at", "-id").first()
        owing.append(Owing(settlement=row, owed_fen=row.owed, since=since[0], notice=notice))
    return owing


def settlement_chart(settlements: QuerySet[Settlement], *, days: int = 30) -> dict:
    """An ECharts option: net settled per day (yuan), the last `days` days that have any."""
    totals = list(settlements.order_by().values("day").annotate(net=Sum("net_fen")).order_by("-day")[:days])
    totals.reverse()
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 56, "right": 16, "bottom": 32, "top": 24},
        "xAxis": {"type": "category", "data": [f"{t['day']:%m-%d}" for t in totals]},
        "yAxis": {"type": "value", "name": "¥"},
        "series": [{"name": str(_("Net")), "type": "bar", "data": [round(t["net"] / 100, 2) for t in totals]}],
    }
