"""Reads of the payments app: a resident's bills, a payee's bills with filters, the payments made
with a payee's static code, collections by channel and day, exports. Personal data leaves here masked only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from onecity.core.errors import PermissionDenied
from onecity.payments import workflow
from onecity.payments.access import bills_visible_to, cashier_payee_id
from onecity.payments.enums import AttemptState, BillState, Channel, CodeKind, RefundState
from onecity.payments.models import Bill, BillBatch, BillEvent, PartnerClient, PaymentAttempt, Refund


def bills_for_resident(*, actor) -> tuple[list[Bill], list[Bill]]:
    """(due bills by due date, settled bills newest first) of a resident."""
    bills = bills_visible_to(actor).select_related("payee")
    due = list(bills.filter(state__in=workflow.OPEN_STATES).order_by("due_date", "id"))
    done = list(bills.exclude(state__in=workflow.OPEN_STATES).order_by("-updated_at", "-id")[:50])
    return due, done


def bill_events(*, bill: Bill) -> list[BillEvent]:
    return list(bill.events.all())


def bill_attempts(*, bill: Bill) -> list[PaymentAttempt]:
    return list(bill.attempts.order_by("-created_at", "-id")[:20])


@dataclass(frozen=True)
class BillFilters:
    q: str = ""
    state: str = ""
    kind: str = ""
    due_from: dt.date | None = None
    due_to: dt.date | None = None


def bill_list_for_payee(*, actor, filters: BillFilters) -> QuerySet[Bill]:
    payee_id = cashier_payee_id(actor)
    if payee_id is None:
        raise PermissionDenied()
    bills = Bill.objects.filter(payee_id=payee_id).select_related("resident", "batch")
    if filters.q:
        q = filters.q.strip()
        bills = bills.filter(Q(title__icontains=q) | Q(external_ref__iexact=q) | Q(public_id=q.lower()))
    if filters.state:
        bills = bills.filter(state=filters.state)
    if filters.kind:
        bills = bills.filter(kind=filters.kind)
    if filters.due_from:
        bills = bills.filter(due_date__gte=filters.due_from)
    if filters.due_to:
        bills = bills.filter(due_date__lte=filters.due_to)
    return bills.order_by("-issued_at", "-id")


@dataclass(frozen=True)
class PayeeTotals:
    open_count: int
    open_fen: int
    overdue_count: int
    collected_fen: int


def payee_totals(*, actor) -> PayeeTotals:
    payee_id = cashier_payee_id(actor)
    if payee_id is None:
        raise PermissionDenied()
    bills = Bill.objects.filter(payee_id=payee_id)
    open_rows = bills.filter(state__in=workflow.OPEN_STATES).aggregate(n=Count("id"), a=Sum("amount_fen"),
                                                                         p=Sum("paid_fen"))
    return PayeeTotals(open_count=open_rows["n"] or 0, open_fen=(open_rows["a"] or 0) - (open_rows["p"] or 0),
                       overdue_count=bills.filter(state=BillState.OVERDUE).count(),
                       collected_fen=bills.aggregate(p=Sum("paid_fen"))["p"] or 0)


@dataclass(frozen=True)
class CollectionDay:
    day: dt.date
    by_channel: dict[str, int]  # channel → fen
    count: int

    @property
    def total_fen(self) -> int:
        return sum(self.by_channel.values())


def collections_by_channel_and_day(*, actor, days: int = 30, today: dt.date | None = None) -> list[CollectionDay]:
    """Money received (succeeded attempts) per day (Asia/Shanghai) and channel, oldest first,
    one row per day of the window including days with nothing."""
    payee_id = cashier_payee_id(actor)
    if payee_id is None:
        raise PermissionDenied()
    today = today or timezone.localdate()
    start = today - dt.timedelta(days=days - 1)
    since = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    rows = (PaymentAttempt.objects.filter(payee_id=payee_id, state=AttemptState.SUCCEEDED, finished_at__gte=since)
            .annotate(day=TruncDate("finished_at", tzinfo=timezone.get_current_timezone()))
            .values("day", "channel").annotate(fen=Sum("amount_fen"), n=Count("id")))
    table: dict[dt.date, dict[str, int]] = {}
    counts: dict[dt.date, int] = {}
    for row in rows:
        table.setdefault(row["day"], {})[row["channel"]] = row["fen"]
        counts[row["day"]] = counts.get(row["day"], 0) + row["n"]
    return [CollectionDay(day=start + dt.timedelta(days=i),
                          by_channel={c: table.get(start + dt.timedelta(days=i), {}).get(c, 0) for c in Channel.values},
                          count=counts.get(start + dt.timedelta(days=i), 0)) for i in range(days)]


def collections_chart(days: list[CollectionDay]) -> dict:
    """An ECharts option: stacked bars per channel (yuan), one bar per day."""
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [str(label) for label in Channel.labels], "top": 0},
        "grid": {"left": 56, "right": 16, "bottom": 32, "top": 48},
        "xAxis": {"type": "category", "data": [f"{d.day:%m-%d}" for d in days]},
        "yAxis": {"type": "value", "name": "¥"},
        "series": [{"name": str(label), "type": "bar", "stack": "total",
                    "data": [round(d.by_channel[value] / 100, 2) for d in days]}
                   for value, label in Channel.choices],
    }


def batches_for_payee(*, actor, limit: int = 10) -> list[BillBatch]:
    payee_id = cashier_payee_id(actor)
    if payee_id is None:
        raise PermissionDenied()
    return list(BillBatch.objects.filter(payee_id=payee_id)[:limit])


EXPORT_HEADER = ("bill_id", "reference", "kind", "title", "payer", "payer_number", "amount", "paid", "refunded",
                 "due_date", "state", "issued_at")


def bill_export_rows(*, actor, filters: BillFilters) -> list[tuple]:
    """Rows for the CSV/XLSX export (amounts in yuan as text with two decimals, payer masked)."""
    rows = []
    for bill in bill_list_for_payee(actor=actor, filters=filters).iterator():
        rows.append((bill.public_id, bill.external_ref, bill.get_kind_display(), bill.title, bill.payer_label, bill.payer_masked,
                     f"{bill.amount_fen / 100:.2f}", f"{bill.paid_fen / 100:.2f}", f"{bill.refunded_fen / 100:.2f}",
                     bill.due_date.isoformat(), bill.get_state_display(),
                     timezone.localtime(bill.issued_at).strftime("%Y-%m-%d %H:%M")))
    return rows


# --- payments made with the payee's static code (no bill) ------------------------------------------

#: the states the console lists: money received, and tries that did not complete (for context);
#: open tries (created, pending) are still on their way and cancelled ones were given up by the payer
CODE_PAYMENT_STATES = (AttemptState.SUCCEEDED, AttemptState.FAILED, AttemptState.EXPIRED)


@dataclass(frozen=True)
class CodePaymentFilters:
    state: str = ""
    channel: str = ""
    day: dt.date | None = None  # local (Asia/Shanghai) day of the payment's time


def code_payment_list_for_payee(*, actor, filters: CodePaymentFilters) -> QuerySet[PaymentAttempt]:
    """A payee cashier's payments made with the unit's static code (any of its codes, revoked
    ones too), newest first. Each row's `at` is when it finished (paid, failed, expired), else
    when it started (others: PermissionDenied)."""
    payee_id = cashier_payee_id(actor)
    if payee_id is None:
        raise PermissionDenied()
    states = [filters.state] if filters.state in CODE_PAYMENT_STATES else list(CODE_PAYMENT_STATES)
    attempts = (PaymentAttempt.objects.filter(payee_id=payee_id, bill__isnull=True, code__kind=CodeKind.STATIC,
                                              state__in=states)
                .annotate(at=Coalesce("finished_at", "created_at")))
    if filters.channel:
        attempts = attempts.filter(channel=filters.channel)
    if filters.day:
        zone = timezone.get_current_timezone()
        start = dt.datetime.combine(filters.day, dt.time.min, tzinfo=zone)
        attempts = attempts.filter(at__gte=start, at__lt=start + dt.timedelta(days=1))
    return attempts.order_by("-at", "-id")


CODE_PAYMENT_EXPORT_HEADER = ("payment_id", "time", "channel", "channel_trade_no", "payer_account", "amount",
                              "refunded", "state")


def code_payment_export_rows(*, actor, filters: CodePaymentFilters) -> list[tuple]:
    """Rows for the CSV/XLSX export of the static-code payments (amounts in yuan as text with two
    decimals; the payer's account only as the channel masked it)."""
    return [(a.public_id, timezone.localtime(a.at).strftime("%Y-%m-%d %H:%M:%S"), a.get_channel_display(),
             a.channel_trade_no, a.payer_account_masked, f"{a.amount_fen / 100:.2f}", f"{a.refunded_fen / 100:.2f}",
             a.get_state_display())
            for a in code_payment_list_for_payee(actor=actor, filters=filters).iterator()]


def attempt_for_code(*, code, attempt_id: str) -> PaymentAttempt | None:
    """An attempt made with a code (its status page for whoever holds the code)."""
    return PaymentAttempt.objects.filter(public_id=str(attempt_id or ""), code=code).select_related("bill").first()


def attempt_for_sandbox(*, channel: str, attempt_id: str) -> PaymentAttempt | None:
    """An attempt as the channel's sandbox cashier sees it: by its order number (our public id)."""
    return (PaymentAttempt.objects.filter(public_id=str(attempt_id or ""), channel=channel)
            .select_related("bill", "payee").first())


def bill_for_client(*, client_id: str, bill_id: str) -> Bill | None:
    """A bill of the payee a partner API client acts for (None: unknown, or another payee's)."""
    partner = PartnerClient.objects.filter(client_id=client_id).first()
    if partner is None:
        return None
    return Bill.objects.filter(public_id=str(bill_id or ""), payee_id=partner.payee_id).first()


# --- desensitised payment facts for the analytics read models (issue 4 §8, §9) ------------------
#: the public-service scenario of a payment: from the bill's kind, else from the payee's type
#: (payments made with a static payee code have no bill); the only place this mapping lives
SCENARIOS = ("education", "health", "transit", "utilities", "parking", "fines", "other")
SCENARIO_BY_BILL_KIND = {"tuition": "education", "boarding": "education", "hospital": "health",
                         "utility": "utilities", "parking": "parking", "fine": "fines"}
SCENARIO_BY_PAYEE_TYPE = {"school": "education", "hospital": "health", "transit": "transit",
                          "utility": "utilities"}


@dataclass(frozen=True, slots=True)
class PaymentFact:
    """One succeeded payment, with nothing that points at the payer: no name, phone, ID number,
    channel account or trade number. Times are local (Asia/Shanghai)."""

    succeeded_at: dt.datetime
    day: dt.date
    hour: int
    amount_fen: int
    refunded_fen: int
    channel: str
    scenario: str
    district_code: str  # the payee's region code (GB/T 2260)
    district_name: str
    payee_public_id: str


def payment_facts(*, start: dt.date | None = None, end: dt.date | None = None,
                  days: list[dt.date] | None = None, updated_since: dt.datetime | None = None):
    """Stream the succeeded payments (oldest first) whose local day is within [start, end] and,
    when given, in `days`; `updated_since`: only attempts changed at or after that moment (the
    analytics refresh asks which days to recompute)."""
    zone = timezone.get_current_timezone()
    attempts = PaymentAttempt.objects.filter(state=AttemptState.SUCCEEDED, finished_at__isnull=False)
    wanted = set(days) if days is not None else None
    if wanted is not None:
        if not wanted:
            return
        start, end = max(filter(None, (start, min(wanted)))), min(filter(None, (end, max(wanted))))
    if start is not None:
        attempts = attempts.filter(finished_at__gte=dt.datetime.combine(start, dt.time.min, tzinfo=zone))
    if end is not None:
        attempts = attempts.filter(finished_at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min,
                                                                       tzinfo=zone))
    if updated_since is not None:
        attempts = attempts.filter(updated_at__gte=updated_since)
    from onecity.identity.enums import OrganizationKind
    from onecity.identity.selectors.accounts import organization_list_active

    districts = dict(organization_list_active(kinds=(OrganizationKind.DISTRICT,)).values_list("region_code", "name"))
    rows = attempts.order_by("finished_at", "id").values_list(
        "finished_at", "amount_fen", "refunded_fen", "channel", "bill__kind", "payee__payee_type",
        "payee__region_code", "payee__public_id")
    for at, amount, refunded, channel, kind, payee_type, region, payee in rows.iterator(chunk_size=2000):
        local = at.astimezone(zone)
        if wanted is not None and local.date() not in wanted:
            continue
        scenario = SCENARIO_BY_BILL_KIND.get(kind or "") or SCENARIO_BY_PAYEE_TYPE.get(payee_type or "", "other")
        yield PaymentFact(succeeded_at=local, day=local.date(), hour=local.hour, amount_fen=amount,
                          refunded_fen=refunded, channel=channel, scenario=scenario, district_code=region or "",
                          district_name=districts.get(region or "", ""), payee_public_id=payee)


# --- refunds (services/refunds.py, decision 0019) --------------------------------------------------

#: refunds that hold part of an attempt's amount until they are decided (processing: the money is
#: committed at the channel, its result still to come)
REFUND_OPEN_STATES = ("requested", "approved", "processing")


def refund_remaining_fen(attempt: PaymentAttempt) -> int:
    """What can still be asked back from an attempt: its amount less what was refunded and what
    refunds not yet decided hold."""
    if attempt.state != AttemptState.SUCCEEDED:
        return 0
    held = Refund.objects.filter(attempt=attempt, state__in=REFUND_OPEN_STATES).aggregate(
        s=Sum("amount_fen"))["s"] or 0
    return attempt.amount_fen - attempt.refunded_fen - held


def bill_refunds(*, bill: Bill) -> list[Refund]:
    return list(bill.refunds.select_related("attempt", "requested_by", "approved_by").order_by("created_at", "id"))


def refunds_for_payee(*, actor) -> QuerySet[Refund]:
    """A payee cashier's refunds, newest first (others: PermissionDenied)."""
    payee_id = cashier_payee_id(actor)
    if payee_id is None:
        raise PermissionDenied()
    return (Refund.objects.filter(payee_id=payee_id)
            .select_related("attempt", "bill", "requested_by", "approved_by").order_by("-created_at", "-id"))


def refunds_awaiting(*, actor) -> QuerySet[Refund]:
    """The refunds a colleague asked for that this payee cashier may approve or reject."""
    return refunds_for_payee(actor=actor).filter(state=RefundState.REQUESTED).exclude(requested_by=actor)


def refunds_awaiting_count(*, actor) -> int:
    """The sidebar's count of `refunds_awaiting`; 0 for anyone who is not a payee cashier."""
    return refunds_awaiting(actor=actor).count() if cashier_payee_id(actor) is not None else 0
