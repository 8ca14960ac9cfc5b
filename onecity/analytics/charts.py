"""ECharts options of the statistics page, built from the same rows as the table (the page
passes them with json_script; the shared "onecity" theme draws them)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from onecity.analytics.selectors import StatRow

#: bars shown in the ranking chart
RANKING_BARS = 15


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 2)


def trend(months: list[StatRow]) -> dict:
    """Requests per month (bars) with the on-time handling and satisfaction rates (lines, %).
    The rate axis starts just below the lowest rate shown, so that 98 % and 100 % differ."""
    rates = [r for m in months for r in (m.completed_on_time_rate, m.satisfaction_rate) if r is not None]
    floor = max(0, min(90, int(min(rates) * 100) // 10 * 10 - 10)) if rates else 0
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0, "data": [_("Requests"), _("Handled on time"), _("Satisfaction")]},
        "xAxis": {"type": "category", "data": [m.label for m in months]},
        "yAxis": [{"type": "value", "name": _("Requests")},
                  {"type": "value", "name": "%", "min": floor, "max": 100, "splitLine": {"show": False}}],
        "series": [
            {"name": _("Requests"), "type": "bar", "data": [m.received for m in months]},
            {"name": _("Handled on time"), "type": "line", "yAxisIndex": 1,
             "data": [_pct(m.completed_on_time_rate) for m in months]},
            {"name": _("Satisfaction"), "type": "line", "yAxisIndex": 1,
             "data": [_pct(m.satisfaction_rate) for m in months]},
        ],
    }


def ranking(rows: list[StatRow], query, cols) -> dict:
    """The first rows of the table as horizontal bars of the sorted column (requests when the
    table is sorted by name)."""
    column = next((c for c in cols if c.key == query.sort and c.kind != "text"), cols[1])
    shown = [r for r in rows if r.value(column.key) is not None][:RANKING_BARS]
    values = [r.value(column.key) for r in shown]
    if column.kind == "rate":
        values = [_pct(v) for v in values]
    elif column.kind in ("decimal", "hours"):
        values = [round(v, 1) for v in values]
    return {
        "title": {"text": column.label, "textStyle": {"fontSize": 13}},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"top": 32},
        "xAxis": {"type": "value", **({"max": 100, "name": "%"} if column.kind == "rate" else {})},
        "yAxis": {"type": "category", "inverse": True, "data": [r.label for r in shown],
                  "axisLabel": {"width": 150, "overflow": "truncate"}},
        "series": [{"name": column.label, "type": "bar", "data": values,
                    "itemStyle": {"borderRadius": [0, 3, 3, 0]}}],
    }


def channel_share(rows: list[StatRow]) -> dict:
    """Requests by channel (ring)."""
    return {
        "tooltip": {"trigger": "item", "formatter": "{b}: {c} ({d}%)"},
        "legend": {"bottom": 0, "type": "scroll"},
        "series": [{"name": _("Channel"), "type": "pie", "radius": ["42%", "68%"], "center": ["50%", "45%"],
                    "label": {"formatter": "{b}\n{d}%"},
                    "data": [{"name": r.label, "value": r.received} for r in rows if r.received]}],
    }
