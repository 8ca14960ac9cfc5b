"""The leaders' 12345 statistics page and its exports (decision 0011).

- `hotline_dashboard`: KPI cards, the monthly trend, the ranking table for one dimension (sorted
  by any column), ranking bars and the channel share, for a date range.
- `hotline_export` (csv / xlsx): exactly the rows and columns of the table on the page, in the
  same order, with the same headings.

- `payments_dashboard` (decision 0018): the city's 福码 payments by scenario, district, channel
  and hour of day, for supervisors and administrators; `payments_export` (csv / xlsx) its table.

Views are thin: the scope (the city, or the handler's own unit) comes from analytics.access,
figures from analytics.selectors, the query string from analytics.queryparams.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from onecity.analytics import charts
from onecity.analytics.access import (
    PAYMENT_STATS_ROLES,
    STATS_ROLES,
    StatsScope,
    payment_stats_allowed,
    stats_scope_for,
)
from onecity.analytics.exports import csv_response, xlsx_response
from onecity.analytics.formatting import display
from onecity.analytics.queryparams import StatsQuery, payment_query_parse, stats_query_parse
from onecity.analytics.selectors import (
    PayRow,
    StatRow,
    columns,
    hotline_stats_by,
    hotline_stats_by_month,
    hotline_stats_totals,
    hotline_stats_updated_at,
    min_cell,
    payment_columns,
    payment_stats_by,
    payment_stats_heat,
    payment_stats_totals,
    payment_stats_updated_at,
    scenario_labels,
    sort_rows,
)
from onecity.core.errors import ApplicationError, PermissionDenied
from onecity.identity.access import forbidden, staff_required

DIMENSION_LABELS = {
    "department": lambda: _("Department"),
    "district": lambda: _("District"),
    "category": lambda: _("Category"),
    "channel": lambda: _("Channel"),
    "month": lambda: _("Month"),
}


def _headers(query: StatsQuery, cols) -> list[dict]:
    """The table's column headings, each a link that sorts by it (again: the other way)."""
    headers = []
    for column in cols:
        if query.sort == column.key:
            order = "asc" if query.descending else "desc"
            aria = "descending" if query.descending else "ascending"
        else:
            order, aria = ("asc" if column.key == "label" else "desc"), ""
        headers.append({"column": column, "aria_sort": aria,
                        "url": "?" + urlencode(query.params(sort=column.key, order=order))})
    return headers


def _export_urls(page: str, query: StatsQuery) -> dict[str, str]:
    """The CSV and Excel exports of exactly the table shown (same period, breakdown and order)."""
    params = "?" + urlencode(query.params())
    return {f"export_{kind}_url": reverse(f"analytics:{page}_export_{kind}") + params for kind in ("csv", "xlsx")}


def _table(scope: StatsScope, query: StatsQuery, rows: list[StatRow] | None = None) -> list[StatRow]:
    """The table's rows in the order shown (`rows`: already fetched for a chart)."""
    if rows is None:
        rows = hotline_stats_by(scope=scope.scope, start=query.start, end=query.end, dimension=query.dimension)
    return sort_rows(rows, column=query.sort, descending=query.descending, label_by_key=query.dimension == "month")


def _scope_or_none(request) -> StatsScope | None:
    try:
        return stats_scope_for(request.user)
    except PermissionDenied:
        return None


@require_GET
@staff_required(*STATS_ROLES)
def hotline_dashboard(request):
    scope = _scope_or_none(request)
    if scope is None:
        return forbidden(request)
    context = {"scope": scope, "dimensions": [(key, label()) for key, label in DIMENSION_LABELS.items()]}
    try:
        query = stats_query_parse(request.GET)
    except ApplicationError as exc:
        context.update(error=exc.message, params=request.GET)
        return render(request, "analytics/hotline.html", context, status=exc.status)
    totals = hotline_stats_totals(scope=scope.scope, start=query.start, end=query.end)
    months = hotline_stats_by_month(scope=scope.scope, start=query.start, end=query.end)
    by_channel = hotline_stats_by(scope=scope.scope, start=query.start, end=query.end, dimension="channel")
    reuse = {"month": months, "channel": by_channel}.get(query.dimension)
    table = _table(scope, query, reuse)
    cols = columns(DIMENSION_LABELS[query.dimension]())
    headers = _headers(query, cols)
    context.update(
        query=query, totals=totals, headers=headers, updated_at=hotline_stats_updated_at(),
        kpis=[(c, display(totals.value(c.key), c.kind)) for c in cols[1:]],
        rows=[{"rank": index, "cells": [display(row.value(c.key), c.kind) for c in cols]}
              for index, row in enumerate(table, start=1)],
        **_export_urls("hotline", query), params=query.params(),
        trend_chart=charts.trend(months), ranking_chart=charts.ranking(table, query, cols),
        channel_chart=charts.channel_share(by_channel),
    )
    return render(request, "analytics/hotline.html", context)


def _hotline_export(request, extension: str) -> HttpResponse:
    scope = _scope_or_none(request)
    if scope is None:
        return forbidden(request)
    try:
        query = stats_query_parse(request.GET)
    except ApplicationError as exc:
        return HttpResponse(str(exc.message), status=exc.status, content_type="text/plain; charset=utf-8")
    heading = DIMENSION_LABELS[query.dimension]()
    cols, rows = columns(heading), _table(scope, query)
    filename = f"hotline-stats-{query.dimension}-{query.start:%Y%m%d}-{query.end:%Y%m%d}.{extension}"
    if extension == "csv":
        return csv_response(filename=filename, cols=cols, rows=rows)
    return xlsx_response(filename=filename, title=heading, cols=cols, rows=rows)


@require_GET
@staff_required(*STATS_ROLES)
def hotline_export_csv(request):
    return _hotline_export(request, "csv")


@require_GET
@staff_required(*STATS_ROLES)
def hotline_export_xlsx(request):
    return _hotline_export(request, "xlsx")


# --- 福码 payments (decision 0018) ---------------------------------------------------------------
PAYMENT_DIMENSION_LABELS = {
    "scenario": lambda: _("Scenario"),
    "district": lambda: _("District"),
    "channel": lambda: _("Channel"),
    "hour": lambda: _("Hour of day"),
}


def _payment_table(query: StatsQuery, rows: list[PayRow]) -> list[PayRow]:
    return sort_rows(rows, column=query.sort, descending=query.descending, label_by_key=query.dimension == "hour")


def _allowed(request) -> bool:
    try:
        payment_stats_allowed(request.user)
    except PermissionDenied:
        return False
    return True


@require_GET
@staff_required(*PAYMENT_STATS_ROLES)
def payments_dashboard(request):
    if not _allowed(request):
        return forbidden(request)
    context = {"dimensions": [(key, label()) for key, label in PAYMENT_DIMENSION_LABELS.items()],
               "min_cell": min_cell()}
    try:
        query = payment_query_parse(request.GET)
    except ApplicationError as exc:
        context.update(error=exc.message, params=request.GET)
        return render(request, "analytics/payments.html", context, status=exc.status)
    span = {"start": query.start, "end": query.end}
    by = {dimension: payment_stats_by(**span, dimension=dimension) for dimension in PAYMENT_DIMENSION_LABELS}
    totals = payment_stats_totals(**span)
    cols = payment_columns(PAYMENT_DIMENSION_LABELS[query.dimension]())
    table = _payment_table(query, by[query.dimension])
    kpis = [(_("Number of payments"), display(totals.value("payments"), "count")),
            (_("Amount (¥)"), display(totals.value("amount_fen"), "money")),
            (_("Refunded (¥)"), display(totals.value("refunded_fen"), "money")),
            (_("Average ticket (¥)"), display(totals.value("average_fen"), "money"))]
    channel_shares = [(row.label, display(row.share, "rate")) for row in by["channel"] if row.payments]
    context.update(
        query=query, totals=totals, headers=_headers(query, cols), updated_at=payment_stats_updated_at(),
        kpis=kpis, channel_shares=channel_shares, params=query.params(), **_export_urls("payments", query),
        rows=[{"rank": index, "suppressed": row.suppressed, "cells": [display(row.value(c.key), c.kind) for c in cols]}
              for index, row in enumerate(table, start=1)],
        suppressed=any(row.suppressed for rows in by.values() for row in rows),
        scenario_chart=charts.amount_bars(by["scenario"]), district_chart=charts.amount_bars(by["district"]),
        channel_chart=charts.payment_channel_share(by["channel"]), hour_chart=charts.by_hour(by["hour"]),
        heat_chart=charts.scenario_hour_heat(payment_stats_heat(**span), scenario_labels()),
    )
    return render(request, "analytics/payments.html", context)


def _payment_export(request, extension: str) -> HttpResponse:
    if not _allowed(request):
        return forbidden(request)
    try:
        query = payment_query_parse(request.GET)
    except ApplicationError as exc:
        return HttpResponse(str(exc.message), status=exc.status, content_type="text/plain; charset=utf-8")
    heading = PAYMENT_DIMENSION_LABELS[query.dimension]()
    cols = payment_columns(heading)
    rows = _payment_table(query, payment_stats_by(start=query.start, end=query.end, dimension=query.dimension))
    filename = f"payment-stats-{query.dimension}-{query.start:%Y%m%d}-{query.end:%Y%m%d}.{extension}"
    if extension == "csv":
        return csv_response(filename=filename, cols=cols, rows=rows)
    return xlsx_response(filename=filename, title=heading, cols=cols, rows=rows)


@require_GET
@staff_required(*PAYMENT_STATS_ROLES)
def payments_export_csv(request):
    return _payment_export(request, "csv")


@require_GET
@staff_required(*PAYMENT_STATS_ROLES)
def payments_export_xlsx(request):
    return _payment_export(request, "xlsx")
