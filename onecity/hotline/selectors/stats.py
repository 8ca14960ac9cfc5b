"""Facts of the work orders for the statistics of the analytics app (read-only; decision 0011).

The analytics app never reads the case table directly: it asks for `CaseStatGroup` rows, each the
additive counts of the cases filed on one local day (Asia/Shanghai) that share a responsible
unit, sub-unit, district, top-level category and channel. Every rate of the statistics is a ratio
of these sums, so groups can be added up in any way (a day, a month, a department, the city).

What is counted (every case except the ones merged into another request: a duplicate counts
once, in the request it was merged into):

- received            every request filed that day;
- rejected            not accepted (不予受理);
- signed              signed for by a unit, with a sign deadline in force;
- signed_on_time      ... no later than that deadline (签收及时);
- completed           handled: the unit replied with the outcome, or the hotline answered it
                      directly (replied_at is set; a redo or a reopening clears it until the
                      next reply);
- completed_on_time   ... no later than the handling deadline (extensions included); a request
                      answered directly has no handling deadline and is on time (及时办理);
- rated               the follow-up visit reached the resident (satisfied, basically satisfied
                      or not satisfied; "could not be reached" is not a rating);
- satisfied           satisfied or basically satisfied (满意, 基本满意);
- resolved            concluded (closed, or answered directly) and not rated "not satisfied";
- handling_seconds    for completed requests, the seconds from filing to the reply;
- reopened            reopened at least once after being concluded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.models import BigIntegerField, Count, DurationField, ExpressionWrapper, F, Q, Sum, When
from django.db.models import Case as CaseWhen
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from onecity.hotline.enums import CaseState, Satisfaction
from onecity.hotline.models import Case, Category

RATED = (Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED, Satisfaction.NOT_SATISFIED)
SATISFIED = (Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED)
CONCLUDED = (CaseState.CLOSED, CaseState.ANSWERED)

#: the additive measures of a group, in this order everywhere (analytics stores the same columns)
MEASURES = ("received", "rejected", "signed", "signed_on_time", "completed", "completed_on_time", "rated",
            "satisfied", "resolved", "handling_seconds", "reopened")


@dataclass(frozen=True)
class CaseStatGroup:
    day: dt.date
    unit_id: int | None  # the first-level responsible unit (None: never dispatched)
    subunit_id: int | None
    district_id: int
    category_id: int | None  # top-level category (None: not categorised)
    channel: str
    received: int
    rejected: int
    signed: int
    signed_on_time: int
    completed: int
    completed_on_time: int
    rated: int
    satisfied: int
    resolved: int
    handling_seconds: int
    reopened: int

    def measures(self) -> tuple[int, ...]:
        return tuple(getattr(self, name) for name in MEASURES)


def _count(condition: Q) -> Count:
    return Count("id", filter=condition)


def _aggregates() -> dict:
    completed = Q(replied_at__isnull=False)
    handling = ExpressionWrapper(F("replied_at") - F("created_at"), output_field=DurationField())
    return {
        "received": Count("id"),
        "rejected": _count(Q(state=CaseState.REJECTED)),
        "signed": _count(Q(signed_at__isnull=False, sign_due_at__isnull=False)),
        "signed_on_time": _count(Q(signed_at__isnull=False, sign_due_at__isnull=False,
                                   signed_at__lte=F("sign_due_at"))),
        "completed": _count(completed),
        "completed_on_time": _count(completed & (Q(handle_due_at__isnull=True)
                                                 | Q(replied_at__lte=F("handle_due_at")))),
        "rated": _count(Q(satisfaction__in=RATED)),
        "satisfied": _count(Q(satisfaction__in=SATISFIED)),
        "resolved": _count(Q(state__in=CONCLUDED) & ~Q(satisfaction=Satisfaction.NOT_SATISFIED)),
        "handling": Sum(CaseWhen(When(completed, then=handling), default=None, output_field=DurationField())),
        "reopened": _count(Q(reopened_count__gt=0)),
    }


def _seconds(value) -> int:
    if value is None:
        return 0
    if isinstance(value, dt.timedelta):
        return int(value.total_seconds())
    return int(value) // 1_000_000  # SQLite may hand back microseconds


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_default_timezone()
    start = dt.datetime.combine(day, dt.time(0, 0), tzinfo=tz)
    return start, start + dt.timedelta(days=1)


def case_stat_groups(*, start: dt.date, end: dt.date) -> Iterator[CaseStatGroup]:
    """The groups of the requests filed from local day `start` to `end` (both included), streamed
    in day order. One aggregate query over the case table."""
    since, _ = _day_bounds(start)
    _, until = _day_bounds(end)
    cases = (Case.objects.filter(created_at__gte=since, created_at__lt=until).exclude(state=CaseState.MERGED)
             .annotate(day=TruncDate("created_at", tzinfo=timezone.get_default_timezone()),
                       top_category=Coalesce("category__parent_id", "category_id",
                                             output_field=BigIntegerField()))
             .values("day", "assigned_unit_id", "assigned_subunit_id", "district_id", "top_category", "channel")
             .annotate(**_aggregates())
             .order_by("day", "assigned_unit_id", "assigned_subunit_id", "district_id", "top_category", "channel"))
    for row in cases.iterator(chunk_size=5000):
        yield CaseStatGroup(
            day=row["day"], unit_id=row["assigned_unit_id"], subunit_id=row["assigned_subunit_id"],
            district_id=row["district_id"], category_id=row["top_category"], channel=row["channel"],
            received=row["received"], rejected=row["rejected"], signed=row["signed"],
            signed_on_time=row["signed_on_time"], completed=row["completed"],
            completed_on_time=row["completed_on_time"], rated=row["rated"], satisfied=row["satisfied"],
            resolved=row["resolved"], handling_seconds=_seconds(row["handling"]), reopened=row["reopened"])


def case_stat_groups_for_days(*, days: Iterable[dt.date]) -> Iterator[CaseStatGroup]:
    """The groups of the given local days only (the incremental refresh): one query per run of
    consecutive days."""
    runs: list[list[dt.date]] = []
    for day in sorted(set(days)):
        if runs and day - runs[-1][1] == dt.timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    for start, end in runs:
        yield from case_stat_groups(start=start, end=end)


def case_days_updated_since(*, since: dt.datetime) -> set[dt.date]:
    """The local days on which the requests changed at or after `since` were filed (the days
    whose statistics a change can move). Merged requests count too: merging removes a request
    from its day."""
    rows = (Case.objects.filter(updated_at__gte=since)
            .annotate(day=TruncDate("created_at", tzinfo=timezone.get_default_timezone()))
            .values_list("day", flat=True).distinct())
    return set(rows)


def case_day_span() -> tuple[dt.date, dt.date] | None:
    """The first and the last local day on which a request was filed, or None when none was."""
    first = Case.objects.order_by("created_at").values_list("created_at", flat=True).first()
    last = Case.objects.order_by("-created_at").values_list("created_at", flat=True).first()
    if first is None or last is None:
        return None
    return timezone.localdate(first), timezone.localdate(last)


@dataclass(frozen=True)
class CategoryLabel:
    id: int
    name: str
    name_en: str


def category_top_labels() -> list[CategoryLabel]:
    """The top-level categories, in their display order."""
    return [CategoryLabel(c.pk, c.name, c.name_en)
            for c in Category.objects.filter(parent__isnull=True).order_by("sort_order", "code")]


__all__ = ["MEASURES", "CaseStatGroup", "CategoryLabel", "case_day_span", "case_days_updated_since",
           "case_stat_groups", "case_stat_groups_for_days", "category_top_labels"]
