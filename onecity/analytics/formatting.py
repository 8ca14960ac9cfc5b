"""How the statistics' figures are written on the page and in the CSV export."""

from __future__ import annotations


def display(value, kind: str, *, grouping: bool = True) -> str:
    """`kind`: text, count (1,234), decimal (1,234.5), rate (99.76%), hours (26.1), money (fen
    written as yuan: 1,234.50); "—" for none.
    Without `grouping` (CSV) numbers have no thousands separators."""
    if kind == "text":
        return str(value)
    if value is None:
        return "—"
    comma = "," if grouping else ""
    if kind == "count":
        return f"{value:{comma}d}"
    if kind == "money":
        return f"{value / 100:{comma}.2f}"
    if kind == "rate":
        return f"{value * 100:.2f}%"
    return f"{value:{comma}.1f}"
