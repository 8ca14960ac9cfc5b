"""Time limits and the deadlines computed from them (decision 0006).

- The rule for a case is looked up most specific first: (category, urgency), (parent category,
  urgency), (no category, urgency); with no row at all the built-in DEFAULT_LIMITS apply.
- Sign deadline = dispatch time + sign limit (restarts at every dispatch and second-level
  dispatch: the per-state clock).
- Handle deadline = signing time + handle limit (restarts on redo); an approved extension adds
  working days to it.
- Overall deadline = acceptance time + sign limit + handle limit, computed on the rule known at
  acceptance and refined once at the first dispatch (when the category is settled); it is
  anchored at acceptance and never restarts (returns, re-dispatch, redo and reopening leave it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from onecity.core import calendar
from onecity.hotline.enums import TimeUnit, Urgency
from onecity.hotline.models import Category, TimeLimitRule


@dataclass(frozen=True)
class TimeLimit:
    sign_within: int
    sign_unit: str
    handle_within: int
    handle_unit: str

    def sign_deadline(self, start: dt.datetime) -> dt.datetime:
        return calendar.deadline(start, self.sign_within, self.sign_unit)

    def handle_deadline(self, start: dt.datetime) -> dt.datetime:
        return calendar.deadline(start, self.handle_within, self.handle_unit)

    def overall_deadline(self, start: dt.datetime) -> dt.datetime:
        return self.handle_deadline(self.sign_deadline(start))


DEFAULT_LIMITS = {
    Urgency.NORMAL: TimeLimit(1, TimeUnit.WORKING_DAYS, 5, TimeUnit.WORKING_DAYS),
    Urgency.URGENT: TimeLimit(1, TimeUnit.HOURS, 2, TimeUnit.HOURS),
}


def _limit(rule: TimeLimitRule) -> TimeLimit:
    return TimeLimit(rule.sign_within, rule.sign_unit, rule.handle_within, rule.handle_unit)


def time_limit_for(*, category_id: int | None, urgency: str) -> TimeLimit:
    chain: list[int | None] = []
    if category_id is not None:
        chain.append(category_id)
        parent_id = Category.objects.filter(pk=category_id).values_list("parent_id", flat=True).first()
        if parent_id:
            chain.append(parent_id)
    wanted = Q(category__isnull=True)
    if chain:
        wanted |= Q(category_id__in=chain)
    rules = {r.category_id: r for r in TimeLimitRule.objects.filter(wanted, urgency=urgency)}
    for key in [*chain, None]:
        if key in rules:
            return _limit(rules[key])
    return DEFAULT_LIMITS.get(urgency, DEFAULT_LIMITS[Urgency.NORMAL])
