"""Reads of the 12345 statistics (decision 0011): the figures the dashboard and its exports show.

Each figure is computed from sums of the read model's additive columns:

- volume              received (every request filed in the range, duplicates merged away);
- daily average       received / calendar days in the range;
- on-time signing     signed_on_time / signed;
- on-time completion  completed_on_time / completed (及时办理率);
- satisfaction        satisfied / rated (满意率: satisfied or basically satisfied, among the
                      residents the follow-up visit reached);
- resolution          resolved / (received − rejected) (requests concluded and not rated
                      "not satisfied", among the accepted ones);
- handling time       handling_seconds / completed, in hours (filing to reply);
- reopen rate         reopened / received.

A rate with an empty denominator is None ("—" on the page). `hotline_stats_live` computes the
same rows from the hotline's facts without the read model (tests compare both; the benchmark
times both).

The 福码 figures (decision 0018, end of this module) are sums of `PaymentHourlyStat`: payments,
amount, refunded, average ticket (amount / payments) and share of the amount. Any cell shown
with fewer than `min_cell()` payments (settings.ANALYTICS_PAYMENTS_MIN_CELL, 5 by default) is
suppressed: its figures are None ("—") on the page, in the charts and in the exports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Sum
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from onecity.analytics.models import Dimension, HotlineDailyStat, PaymentHourlyStat, RefreshCursor
from onecity.analytics.rollup import fold
from onecity.analytics.services import CURSOR, PAYMENT_CURSOR
from onecity.core.validators import region_name
from onecity.hotline.enums import Channel
from onecity.hotline.selectors.stats import MEASURES, case_stat_groups, category_top_labels
from onecity.identity.enums import OrganizationKind
from onecity.identity.selectors.accounts import organization_list_active
from onecity.payments.enums import Channel as PaymentChannel
from onecity.payments.selectors import SCENARIOS

#: the dimensions of the ranking table ("month" comes from the "all" rows)
TABLE_DIMENSIONS = ("department", "district", "category", "channel", "month")


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class StatRow:
    key: str
    label: str
    days: int
    received: int = 0
    rejected: int = 0
    signed: int = 0
    signed_on_time: int = 0
    completed: int = 0
    completed_on_time: int = 0
    rated: int = 0
    satisfied: int = 0
    resolved: int = 0
    handling_seconds: int = 0
    reopened: int = 0

    @property
    def daily_average(self) -> float | None:
        return _ratio(self.received, self.days)

    @property
    def signed_on_time_rate(self) -> float | None:
        return _ratio(self.signed_on_time, self.signed)

    @property
    def completed_on_time_rate(self) -> float | None:
        return _ratio(self.completed_on_time, self.completed)

    @property
    def satisfaction_rate(self) -> float | None:
        return _ratio(self.satisfied, self.rated)

    @property
    def resolution_rate(self) -> float | None:
        return _ratio(self.resolved, self.received - self.rejected)

    @property
    def handling_hours(self) -> float | None:
        return _ratio(self.handling_seconds, self.completed * 3600)

    @property
    def reopen_rate(self) -> float | None:
        return _ratio(self.reopened, self.received)

    def value(self, column: str):
        return self.label if column == "label" else getattr(self, column)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str  # "text", "count", "decimal", "rate", "hours"


def columns(heading: str) -> list[Column]:
    """The columns of the ranking table and of its exports, in this order; `heading` names the
    first one (the dimension: department, district ...)."""
    return [
        Column("label", heading, "text"),
        Column("received", _("Requests"), "count"),
        Column("daily_average", _("Daily average"), "decimal"),
        Column("signed_on_time_rate", _("Signed on time"), "rate"),
        Column("completed_on_time_rate", _("Handled on time"), "rate"),
        Column("satisfaction_rate", _("Satisfaction"), "rate"),
        Column("resolution_rate", _("Resolution"), "rate"),
        Column("handling_hours", _("Average handling time (h)"), "hours"),
        Column("reopen_rate", _("Reopen rate"), "rate"),
    ]


SORT_KEYS = ("label", "received", "daily_average", "signed_on_time_rate", "completed_on_time_rate",
             "satisfaction_rate", "resolution_rate", "handling_hours", "reopen_rate")


def _days(start: dt.date, end: dt.date) -> int:
    return (end - start).days + 1


def _row(key: str, label: str, days: int, sums: dict) -> StatRow:
    return StatRow(key=key, label=label, days=days, **{m: int(sums.get(m) or 0) for m in MEASURES})


# --- labels -------------------------------------------------------------------------------------
def _month_label(month: dt.date) -> str:
    if (get_language() or "zh-hans").startswith("en"):
        return month.strftime("%b %Y")
    return f"{month.year}年{month.month}月"


def _labels(dimension: str, keys: Iterable[str]) -> dict[str, str]:
    keys = list(keys)
    english = (get_language() or "zh-hans").startswith("en")
    if dimension in ("department", "district"):
        ids = [int(k) for k in keys if k.isdigit() and k != "0"]
        names = {str(o.pk): o.display_name() for o in organization_list_active().filter(pk__in=ids)}
        fallback = _("Organization no longer active")
        labels = {k: names.get(k, fallback) for k in keys}
        if "0" in labels:
            labels["0"] = _("Not dispatched (the hotline)")
        return labels
    if dimension == "category":
        names = {str(c.id): (c.name_en if english and c.name_en else c.name) for c in category_top_labels()}
        return {k: names.get(k, _("Not categorised")) if k != "0" else _("Not categorised") for k in keys}
    if dimension == "channel":
        return {k: str(Channel(k).label) if k in Channel.values else k for k in keys}
    return {k: k for k in keys}


# --- the read model -----------------------------------------------------------------------------
def _sums():
    return {m: Sum(m) for m in MEASURES}


def _rows_for(scope: int, start: dt.date, end: dt.date):
    return HotlineDailyStat.objects.filter(scope=scope, day__gte=start, day__lte=end)


def hotline_stats_totals(*, scope: int, start: dt.date, end: dt.date) -> StatRow:
    """The KPI cards: every figure over the whole range."""
    sums = _rows_for(scope, start, end).filter(dimension=Dimension.ALL).aggregate(**_sums())
    return _row("", _("All requests"), _days(start, end), sums)


def hotline_stats_by_month(*, scope: int, start: dt.date, end: dt.date) -> list[StatRow]:
    """One row per month of the range (months without requests included), oldest first; the
    daily average of a month counts its days inside the range."""
    found = {row["month"]: row for row in _rows_for(scope, start, end).filter(dimension=Dimension.ALL)
             .values("month").annotate(**_sums()).order_by("month")}
    return _month_rows(found, start, end)


def _month_rows(found: dict, start: dt.date, end: dt.date) -> list[StatRow]:
    rows = []
    month = start.replace(day=1)
    while month <= end:
        following = (month + dt.timedelta(days=32)).replace(day=1)
        first, last = max(month, start), min(following - dt.timedelta(days=1), end)
        rows.append(_row(month.isoformat(), _month_label(month), _days(first, last), found.get(month, {})))
        month = following
    return rows


def hotline_stats_by(*, scope: int, start: dt.date, end: dt.date, dimension: str) -> list[StatRow]:
    """The ranking table's rows for `dimension` (one of TABLE_DIMENSIONS), busiest first."""
    if dimension == "month":
        return hotline_stats_by_month(scope=scope, start=start, end=end)
    found = {row["key"]: row for row in _rows_for(scope, start, end).filter(dimension=dimension)
             .values("key").annotate(**_sums()).order_by()}
    labels = _labels(dimension, found)
    days = _days(start, end)
    rows = [_row(key, labels[key], days, sums) for key, sums in found.items()]
    return sorted(rows, key=lambda r: (-r.received, r.label))


def hotline_stats_updated_at() -> dt.datetime | None:
    """When the read model was last rebuilt or refreshed (None: never)."""
    return RefreshCursor.objects.filter(name=CURSOR).values_list("last_run_at", flat=True).first()


# --- the same, live from the hotline's facts ----------------------------------------------------
@dataclass
class LiveStats:
    totals: StatRow
    months: list[StatRow] = field(default_factory=list)
    by: dict[str, list[StatRow]] = field(default_factory=dict)


def hotline_stats_live(*, scope: int, start: dt.date, end: dt.date) -> LiveStats:
    """Every figure of the dashboard computed from the hotline's facts, without the read model."""
    folded = fold(case_stat_groups(start=start, end=end))
    per: dict[tuple[str, str], dict] = {}
    months: dict[dt.date, dict] = {}
    for (row_scope, dimension, day, key), measures in folded.items():
        if row_scope != scope:
            continue
        target = months.setdefault(day.replace(day=1), {}) if dimension == Dimension.ALL else None
        for bucket in (per.setdefault((dimension, key), {}), target):
            if bucket is None:
                continue
            for name, value in zip(MEASURES, measures, strict=True):
                bucket[name] = bucket.get(name, 0) + value
    days = _days(start, end)
    live = LiveStats(totals=_row("", _("All requests"), days, per.get((Dimension.ALL.value, ""), {})))
    live.months = _month_rows(months, start, end)
    for dimension in TABLE_DIMENSIONS[:-1]:
        keys = [key for (d, key) in per if d == dimension]
        labels = _labels(dimension, keys)
        rows = [_row(key, labels[key], days, per[(dimension, key)]) for key in keys]
        live.by[dimension] = sorted(rows, key=lambda r: (-r.received, r.label))
    live.by["month"] = live.months
    return live


def sort_rows(rows: list[StatRow], *, column: str, descending: bool, label_by_key: bool = False) -> list[StatRow]:
    """Rows sorted by a column; empty figures (None) always last. `label_by_key`: sort the label
    column by key (months, whose keys are ISO dates)."""

    def value(row: StatRow):
        return row.key if column == "label" and label_by_key else row.value(column)

    present = sorted((r for r in rows if value(r) is not None), key=lambda r: (r.label, r.key))
    missing = sorted((r for r in rows if value(r) is None), key=lambda r: (r.label, r.key))
    present.sort(key=value, reverse=descending)  # stable: equal figures stay in name order
    return present + missing


# --- 福码 payments (decision 0018) ---------------------------------------------------------------
PAYMENT_DIMENSIONS = ("scenario", "district", "channel", "hour")
PAYMENT_SORT_KEYS = ("label", "payments", "amount_fen", "refunded_fen", "average_fen", "share")
DEFAULT_MIN_CELL = 5


def min_cell() -> int:
    """The smallest number of payments a figure may count to be shown (privacy)."""
    return int(getattr(settings, "ANALYTICS_PAYMENTS_MIN_CELL", DEFAULT_MIN_CELL))


def scenario_labels() -> dict[str, str]:
    labels = {"education": _("Education"), "health": _("Health care"), "transit": _("Transit"),
              "utilities": _("Utilities"), "parking": _("Parking"), "fines": _("Fines"),
              "other": pgettext("payment scenario", "Other")}
    return {key: labels[key] for key in SCENARIOS}


def _district_name(district) -> str:
    """A district government's area name: its short name (鼓楼区), in English its English name
    without "People's Government of … , Fuzhou"."""
    if (get_language() or "zh-hans").startswith("en") and district.name_en:
        return district.name_en.removeprefix("People's Government of ").removesuffix(", Fuzhou")
    return district.short_name or district.name


def _payment_labels(dimension: str, keys: Iterable[str]) -> dict[str, str]:
    keys = list(keys)
    if dimension == "scenario":
        names = scenario_labels()
        return {k: names.get(k, k) for k in keys}
    if dimension == "channel":
        return {k: str(PaymentChannel(k).label) if k in PaymentChannel.values else k for k in keys}
    if dimension == "district":
        districts = {o.region_code: _district_name(o)
                     for o in organization_list_active(kinds=(OrganizationKind.DISTRICT,)).filter(region_code__in=keys)}
        return {k: districts.get(k) or (_("City-level units") if k.endswith("00") else region_name(k) if k else "")
                or _("No district") for k in keys}
    return {k: f"{int(k):02d}:00–{int(k) + 1:02d}:00" for k in keys}


@dataclass(frozen=True)
class PayRow:
    """The figures of one cell of the 福码 statistics. `suppressed`: fewer than min_cell()
    payments; every figure is then None."""

    key: str
    label: str
    payments: int = 0
    amount_fen: int = 0
    refunded_fen: int = 0
    total_fen: int = 0  # the amount of the whole table, for the share
    suppressed: bool = False

    def _shown(self, value):
        return None if self.suppressed else value

    @property
    def average_fen(self) -> float | None:
        return self._shown(_ratio(self.amount_fen, self.payments))

    @property
    def share(self) -> float | None:
        return self._shown(_ratio(self.amount_fen, self.total_fen))

    def value(self, column: str):
        if column == "label":
            return self.label
        if column in ("average_fen", "share"):
            return getattr(self, column)
        return self._shown(getattr(self, column))


def payment_columns(heading: str) -> list[Column]:
    """The columns of the 福码 ranking table and its exports, in this order."""
    return [
        Column("label", heading, "text"),
        Column("payments", _("Number of payments"), "count"),
        Column("amount_fen", _("Amount (¥)"), "money"),
        Column("refunded_fen", _("Refunded (¥)"), "money"),
        Column("average_fen", _("Average ticket (¥)"), "money"),
        Column("share", _("Share of amount"), "rate"),
    ]


def _payment_rows(start: dt.date, end: dt.date):
    return PaymentHourlyStat.objects.filter(day__gte=start, day__lte=end)


def _pay_sums():
    return {"n": Sum("payments"), "a": Sum("amount_fen"), "r": Sum("refunded_fen")}


def _pay_row(key: str, label: str, sums: dict, total_fen: int, threshold: int) -> PayRow:
    payments = int(sums.get("n") or 0)
    return PayRow(key=key, label=label, payments=payments, amount_fen=int(sums.get("a") or 0),
                  refunded_fen=int(sums.get("r") or 0), total_fen=total_fen,
                  suppressed=0 < payments < threshold)


def payment_stats_totals(*, start: dt.date, end: dt.date) -> PayRow:
    """The KPI cards: the whole city over the range."""
    sums = _payment_rows(start, end).aggregate(**_pay_sums())
    return _pay_row("", _("All payments"), sums, int(sums.get("a") or 0), min_cell())


def payment_stats_by(*, start: dt.date, end: dt.date, dimension: str) -> list[PayRow]:
    """The rows of `dimension` (one of PAYMENT_DIMENSIONS), largest amount first; "hour" has all
    24 hours of the day in order, empty ones included."""
    found = {str(row[dimension]): row for row in _payment_rows(start, end).values(dimension)
             .annotate(**_pay_sums()).order_by()}
    if dimension == "hour":
        found = {f"{hour:02d}": found.get(str(hour), {}) for hour in range(24)}
    total = sum(int(r.get("a") or 0) for r in found.values())
    labels = _payment_labels(dimension, found)
    threshold = min_cell()
    rows = [_pay_row(key, labels[key], sums, total, threshold) for key, sums in found.items()]
    if dimension == "hour":
        return rows
    return sorted(rows, key=lambda r: (r.suppressed, -r.amount_fen, r.label))


def payment_stats_heat(*, start: dt.date, end: dt.date) -> dict[tuple[str, int], int | None]:
    """Payments per (scenario, hour of day); None for a suppressed cell; empty cells absent."""
    threshold = min_cell()
    cells = {}
    for row in _payment_rows(start, end).values("scenario", "hour").annotate(n=Sum("payments")).order_by():
        cells[(row["scenario"], row["hour"])] = row["n"] if row["n"] >= threshold else None
    return cells


def payment_stats_updated_at() -> dt.datetime | None:
    """When the payments read model was last rebuilt or refreshed (None: never)."""
    return RefreshCursor.objects.filter(name=PAYMENT_CURSOR).values_list("last_run_at", flat=True).first()
