"""ECharts options of the statistics pages (12345 and 福码), built from the same rows as the table (the page
passes them with json_script; the shared "onecity" theme draws them)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from onecity.analytics.selectors import PayRow, StatRow

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


# --- 福码 payments (decision 0018) ---------------------------------------------------------------
def _yuan(fen) -> float | None:
    return None if fen is None else round(fen / 100, 2)


def amount_bars(rows: list[PayRow], *, horizontal: bool = True) -> dict:
    """The amount (¥) of each row as bars, largest first; suppressed rows are left out."""
    shown = [r for r in rows if not r.suppressed and r.payments]
    category = {"type": "category", "data": [r.label for r in shown], "inverse": horizontal,
                "axisLabel": {"width": 120, "overflow": "truncate"}}
    value = {"type": "value", "name": "¥"}
    return {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"top": 28, "left": 8, "right": 24, "containLabel": True},
        "xAxis": value if horizontal else category,
        "yAxis": category if horizontal else value,
        "series": [{"name": _("Amount (¥)"), "type": "bar", "data": [_yuan(r.amount_fen) for r in shown],
                    "itemStyle": {"borderRadius": [0, 3, 3, 0] if horizontal else [3, 3, 0, 0]}}],
    }


def payment_channel_share(rows: list[PayRow]) -> dict:
    """The amount by channel (ring)."""
    return {
        "tooltip": {"trigger": "item", "formatter": "{b}: ¥{c} ({d}%)"},
        "legend": {"bottom": 0, "type": "scroll"},
        "series": [{"name": _("Channel"), "type": "pie", "radius": ["42%", "68%"], "center": ["50%", "45%"],
                    "label": {"formatter": "{b}\n{d}%"},
                    "data": [{"name": r.label, "value": _yuan(r.amount_fen)} for r in rows
                             if r.payments and not r.suppressed]}],
    }


def by_hour(rows: list[PayRow]) -> dict:
    """When people pay: payments (line) and amount (bars) for each hour of the day, 0–23."""
    return {
        "animation": False,  # the line is drawn at once (a suppressed hour leaves a gap)
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0, "data": [_("Number of payments"), _("Amount (¥)")]},
        "xAxis": {"type": "category", "name": _("Hour"), "data": [str(int(r.key)) for r in rows]},
        "yAxis": [{"type": "value", "minInterval": 1},
                  {"type": "value", "name": "¥", "splitLine": {"show": False}}],
        "series": [
            {"name": _("Amount (¥)"), "type": "bar", "yAxisIndex": 1, "data": [_yuan(r.value("amount_fen")) for r in rows],
             "itemStyle": {"opacity": 0.45}},
            {"name": _("Number of payments"), "type": "line", "smooth": True, "showSymbol": True,
             "symbolSize": 6, "data": [r.value("payments") for r in rows]},
        ],
    }


def scenario_hour_heat(cells: dict[tuple[str, int], int | None], labels: dict[str, str]) -> dict:
    """Payments per scenario (rows) and hour of day (columns); suppressed cells stay blank."""
    scenarios = list(labels)
    data = [[hour, scenarios.index(scenario), count] for (scenario, hour), count in sorted(cells.items())
            if count is not None and scenario in labels]
    top = max((d[2] for d in data), default=1)
    return {
        "tooltip": {"position": "top"},
        "grid": {"top": 8, "bottom": 64, "left": 8, "right": 16, "containLabel": True},
        "xAxis": {"type": "category", "name": _("Hour"), "data": [str(h) for h in range(24)], "splitArea": {"show": True}},
        "yAxis": {"type": "category", "data": [labels[s] for s in scenarios], "splitArea": {"show": True}},
        "visualMap": {"min": 0, "max": top, "calculable": True, "orient": "horizontal", "left": "center",
                      "bottom": 0, "itemHeight": 160},
        "series": [{"name": _("Number of payments"), "type": "heatmap", "data": data, "label": {"show": True},
                    "emphasis": {"itemStyle": {"shadowBlur": 6}}}],
    }
