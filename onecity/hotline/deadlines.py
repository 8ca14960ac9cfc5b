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

from onecity.core import calendar
from onecity.hotline import reference
from onecity.hotline.enums import TimeUnit, Urgency


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


def time_limit_for(*, category_id: int | None, urgency: str) -> TimeLimit:
    """The rule for (category, urgency), its parent's, the default row's, else DEFAULT_LIMITS.
    Read from the per-process copy of the reference data (reference.py): no query beyond its
    check."""
    rule = reference.rule_for(category_id=category_id, urgency=urgency)
    if rule is None:
        return DEFAULT_LIMITS.get(urgency, DEFAULT_LIMITS[Urgency.NORMAL])
    return TimeLimit(rule.sign_within, rule.sign_unit, rule.handle_within, rule.handle_unit)
