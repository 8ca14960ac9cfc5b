"""Money is integer fen everywhere; this writes it as yuan, exactly (no floats), at the edge."""

from __future__ import annotations


def fen_text(fen: int, *, symbol: str = "", grouping: bool = False) -> str:
    """12345 → "123.45"; with `grouping` "1,234.50", with `symbol` "¥1,234.50"; negative
    amounts put the sign first ("-¥3.00")."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{symbol}{whole:,}.{cents:02d}" if grouping else f"{sign}{symbol}{whole}.{cents:02d}"
