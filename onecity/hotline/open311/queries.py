"""Reads behind the Open311 endpoints: the services offered, districts, and requests by filter.

Requests are read per key: only the cases filed with the client's key (`Case.open311_key`)
are ever found, never those from the portal, the phone or another client (decision 0008)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from onecity.hotline.models import Case, Category, Open311Key
from onecity.identity.enums import OrganizationKind
from onecity.identity.selectors.accounts import organization_list_active

DEFAULT_SPAN = dt.timedelta(days=90)
MAX_RESULTS = 1000


def services_offered() -> list[Category]:
    """Active categories without active sub-categories, under an active parent (if any)."""
    leaves = (Category.objects.filter(is_active=True)
              .filter(Q(parent__isnull=True) | Q(parent__is_active=True))
              .exclude(children__is_active=True).select_related("parent").distinct())

    def order(c: Category):  # grouped under their parent; top-level leaves as their own group
        group = c.parent or c
        return group.sort_order, group.code, c.sort_order, c.code

    return sorted(leaves, key=order)


def service_by_code(code: str) -> Category | None:
    return next((c for c in services_offered() if c.code == code), None)


def _districts():
    return organization_list_active(kinds=(OrganizationKind.DISTRICT,))


def districts_offered() -> list:
    """Active district and county governments (identity Organizations), by region code."""
    return list(_districts().order_by("region_code", "id"))


def district_by_region(code: str):
    return _districts().filter(region_code=code).order_by("id").first()


def _cases(key: Open311Key) -> QuerySet[Case]:
    """The requests filed with `key`."""
    return (Case.objects.filter(open311_key=key)
            .select_related("category", "assigned_unit", "assigned_subunit", "merged_into"))


def requests_by_ids(ids: list[str], *, key: Open311Key) -> list[Case]:
    """Requests filed with `key` by tracking number, in the order asked (unknown numbers and
    requests filed otherwise are left out alike)."""
    found = {c.tracking_number: c for c in _cases(key).filter(tracking_number__in=ids)}
    return [found[i] for i in dict.fromkeys(ids) if i in found]


def requests_search(*, key: Open311Key, service_codes: list[str], start: dt.datetime | None,
                    end: dt.datetime | None, statuses: set[str], closed_states: frozenset[str]) -> list[Case]:
    """Requests filed with `key` registered in [start, end] (90 days up to now by default, and at most 90 days
    after `start` when only it is given), newest first, at most 1000."""
    if start is None and end is None:
        end = timezone.now()
    if start is None:
        start = end - DEFAULT_SPAN
    if end is None:
        end = start + DEFAULT_SPAN
    cases = _cases(key).filter(created_at__gte=start, created_at__lte=end)
    if service_codes:
        cases = cases.filter(category__code__in=service_codes)
    if statuses == {"open"}:
        cases = cases.exclude(state__in=closed_states)
    elif statuses == {"closed"}:
        cases = cases.filter(state__in=closed_states)
    return list(cases.order_by("-created_at", "-id")[:MAX_RESULTS])
