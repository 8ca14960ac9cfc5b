"""The dashboards' query strings, checked: a date range, a dimension and a sort (decisions 0011
and 0018). `stats_query_parse` reads the 12345 page's, `payment_query_parse` the 福码 page's;
both share the date-range rules.

Anything wrong gives an ApplicationError with a sentence for the reader; the page shows it with
status 400 and no figures. Reading statistics changes nothing, whatever the parameters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.analytics.selectors import PAYMENT_DIMENSIONS, PAYMENT_SORT_KEYS, SORT_KEYS, TABLE_DIMENSIONS
from onecity.core.errors import ApplicationError

#: the longest range one page may ask for
MAX_DAYS = 3 * 366
EARLIEST = dt.date(2000, 1, 1)


@dataclass(frozen=True)
class StatsQuery:
    start: dt.date
    end: dt.date
    dimension: str
    sort: str
    descending: bool

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def params(self, **changes) -> dict[str, str]:
        values = {"start": self.start.isoformat(), "end": self.end.isoformat(), "dim": self.dimension,
                  "sort": self.sort, "order": "desc" if self.descending else "asc"}
        values.update(changes)
        return values


def default_range(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last twelve months: from the first day of the month eleven months ago to today."""
    month, year = today.month - 11, today.year
    if month < 1:
        month, year = month + 12, year - 1
    return dt.date(year, month, 1), today


def _date(raw: str, message: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ApplicationError(message, code="date_invalid") from None


def date_range_parse(params, default: tuple[dt.date, dt.date]) -> tuple[dt.date, dt.date]:
    """(start, end) from the `start` and `end` parameters; `default` for what is missing."""
    start, end = default
    raw_start, raw_end = (params.get("start") or "").strip(), (params.get("end") or "").strip()
    if raw_start:
        start = _date(raw_start, _("The start date must be a date such as 2026-01-31."))
    if raw_end:
        end = _date(raw_end, _("The end date must be a date such as 2026-01-31."))
    if start > end:
        raise ApplicationError(_("The start date must not be after the end date."), code="range_reversed")
    if start < EARLIEST:
        raise ApplicationError(_("Statistics start in 2000; please choose a later start date."),
                               code="range_too_early")
    if (end - start).days + 1 > MAX_DAYS:
        raise ApplicationError(_("Please choose a range of at most three years."), code="range_too_long")
    return start, end


def _order(params, sort: str, ascending_by_default: bool) -> bool:
    """True for descending."""
    order = (params.get("order") or ("asc" if ascending_by_default else "desc")).strip()
    if order not in ("asc", "desc"):
        raise ApplicationError(_("The sort order must be ascending or descending."), code="order_invalid")
    return order == "desc"


def stats_query_parse(params) -> StatsQuery:
    """The 12345 page's query from request.GET (or any mapping); defaults for what is missing."""
    start, end = date_range_parse(params, default_range(timezone.localdate()))
    dimension = (params.get("dim") or "department").strip()
    if dimension not in TABLE_DIMENSIONS:
        raise ApplicationError(_("Please choose a breakdown: department, district, category, channel or month."),
                               code="dimension_invalid")
    sort = (params.get("sort") or ("label" if dimension == "month" else "received")).strip()
    if sort not in SORT_KEYS:
        raise ApplicationError(_("The table cannot be sorted by that column."), code="sort_invalid")
    descending = _order(params, sort, sort == "label")
    return StatsQuery(start=start, end=end, dimension=dimension, sort=sort, descending=descending)


#: the 福码 page's default period: the last 30 days, today included
PAYMENT_DEFAULT_DAYS = 30


def payment_query_parse(params) -> StatsQuery:
    """The 福码 page's query: a period (default the last 30 days), a breakdown (scenario,
    district, channel, hour) and a sort."""
    today = timezone.localdate()
    start, end = date_range_parse(params, (today - dt.timedelta(days=PAYMENT_DEFAULT_DAYS - 1), today))
    dimension = (params.get("dim") or "scenario").strip()
    if dimension not in PAYMENT_DIMENSIONS:
        raise ApplicationError(_("Please choose a breakdown: scenario, district, channel or hour of day."),
                               code="dimension_invalid")
    sort = (params.get("sort") or ("label" if dimension == "hour" else "amount_fen")).strip()
    if sort not in PAYMENT_SORT_KEYS:
        raise ApplicationError(_("The table cannot be sorted by that column."), code="sort_invalid")
    descending = _order(params, sort, sort == "label")
    return StatsQuery(start=start, end=end, dimension=dimension, sort=sort, descending=descending)
