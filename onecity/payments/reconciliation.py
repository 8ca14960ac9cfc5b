"""Reconciliation (对账): one channel's daily statement against our side, by trade number.

Pure and model-free: Polars frames in, a typed result out. The payments app persists the
breaks and works them (decision 0016); this module never touches the database.

Input frames (`STATEMENT_SCHEMA`, `OURS_SCHEMA`; LazyFrame or DataFrame, extra columns ignored):

    channel        Utf8          one channel per run ("wechat", "alipay", ...)
    trade_no       Utf8          the channel's transaction number (backticks/whitespace stripped)
    refund_no      Utf8          refunds: the channel's refund number, or our out_refund_no when
                                 the channel gives none (Alipay); "" for payments
    out_trade_no   Utf8          our order number as sent to the channel
    kind           Utf8          "payment" or "refund"
    amount_fen     Int64         positive fen; `kind` gives the direction
    fee_fen        Int64         the channel's fee (statement) / the fee we expect (ours)
    occurred_at    Datetime      with a time zone (compared as instants, returned in UTC): when
                                 the channel says the money moved (may be null on ours)
    our_id         Utf8          ours only: payment attempt / refund / ledger transfer id

Match key: a payment matches on `trade_no`; a refund on `trade_no + "/" + refund_no` (a trade
can have a payment and several partial refunds on one statement). A key seen more than once on
one side keeps its first row (frame order) for the match; every further row is a `duplicate`
break, so a duplicated key never multiplies rows in the join.

Every input row lands in exactly one outcome: matched (pairs), pending (near-midnight rows
carried to the next day's run), or one break kind — missing_here (on the channel, not here),
missing_there (here, not on the channel), amount_mismatch, fee_mismatch (pairs; amount wins
when both differ), duplicate.

Cut-off: with `day_end` (the statement day's midnight, `statement_day_end(day)`), a row found on
one side only whose `occurred_at` lies at or after `day_end - carry_window` is *pending*, not a
break: it is returned in `pending_statement` / `pending_ours` (input schema) and passed to the
next day's run as `carried_statement` / `carried_ours`. A carried row is carried once: if the
next day's run does not match it either, it is a break there.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import polars as pl
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from onecity.core.errors import ApplicationError
from onecity.payments.channels.base import CHINA, StatementKind, StatementRow

UTC_DATETIME = pl.Datetime("us", "UTC")

STATEMENT_SCHEMA: dict[str, pl.DataType] = {
    "channel": pl.Utf8(), "trade_no": pl.Utf8(), "refund_no": pl.Utf8(), "out_trade_no": pl.Utf8(),
    "kind": pl.Utf8(), "amount_fen": pl.Int64(), "fee_fen": pl.Int64(), "occurred_at": UTC_DATETIME,
}
OURS_SCHEMA: dict[str, pl.DataType] = {**STATEMENT_SCHEMA, "our_id": pl.Utf8()}

# Characters stripped from both ends of trade and refund numbers: WeChat's trade bill prefixes
# every cell with a backtick so spreadsheets keep long numbers as text.
KEY_STRIP = "` \t\r\n\u3000"
DEFAULT_CARRY_WINDOW = timedelta(minutes=5)


class BreakKind(enum.StrEnum):
    MISSING_HERE = "missing_here"        # on the channel's statement, not on ours
    MISSING_THERE = "missing_there"      # on ours, not on the channel's statement
    AMOUNT_MISMATCH = "amount_mismatch"  # both sides, different amounts (fees may differ too)
    FEE_MISMATCH = "fee_mismatch"        # both sides, same amount, different fee
    DUPLICATE = "duplicate"              # a further row for a key already seen on the same side


class Side(enum.StrEnum):
    STATEMENT = "statement"
    OURS = "ours"
    BOTH = "both"


# Outcome codes while classifying (UInt8 is cheaper than strings over a million rows).
_MATCHED, _PENDING = 0, 1
_BREAK_CODES = {BreakKind.MISSING_HERE: 2, BreakKind.MISSING_THERE: 3, BreakKind.AMOUNT_MISMATCH: 4,
                BreakKind.FEE_MISMATCH: 5, BreakKind.DUPLICATE: 6}
BREAK_KIND_DTYPE = pl.Enum([k.value for k in BreakKind])
SIDE_DTYPE = pl.Enum([s.value for s in Side])

BREAKS_SCHEMA: dict[str, pl.DataType] = {
    "kind": BREAK_KIND_DTYPE,             # BreakKind
    "side": SIDE_DTYPE,                   # where the row(s) behind the break are
    "key": pl.Utf8(),                     # the match key (trade_no, or trade_no/refund_no)
    "channel": pl.Utf8(),
    "trade_no": pl.Utf8(),                # normalised
    "refund_no": pl.Utf8(),
    "out_trade_no": pl.Utf8(),            # the statement's, else ours
    "txn_kind": pl.Utf8(),                # "payment" / "refund"
    "statement_amount_fen": pl.Int64(),   # null when the statement has no row
    "ours_amount_fen": pl.Int64(),        # null when ours has no row
    "statement_fee_fen": pl.Int64(),
    "ours_fee_fen": pl.Int64(),
    "difference_fen": pl.Int64(),         # see `_difference`
    "statement_occurred_at": UTC_DATETIME,
    "ours_occurred_at": UTC_DATETIME,
    "our_id": pl.Utf8(),
    "statement_row": pl.Int64(),          # position in the statement input (carried rows after it)
    "ours_row": pl.Int64(),               # position in the ours input (carried rows after it)
    "carried": pl.Boolean(),              # a row of it was carried from the previous day's run
}


class ReconciliationError(ApplicationError):
    """The inputs cannot be reconciled as given; nothing was decided. Codes: bad_schema,
    empty_key, bad_kind, mixed_channels, bad_amount, bad_day_end, unreadable."""


@dataclass(frozen=True)
class Totals:
    """Rows and money behind one outcome. Amounts and fees are signed like the money: payments
    count positive, refunds negative."""

    count: int = 0
    statement_fen: int = 0
    ours_fen: int = 0
    statement_fee_fen: int = 0
    ours_fee_fen: int = 0


@dataclass(frozen=True)
class ReconciliationSummary:
    statement_rows: int          # today's statement plus carried statement rows
    ours_rows: int               # today's ours plus carried ours rows
    matched: Totals              # pairs (count = pairs; one row on each side)
    pending: Totals              # rows carried to the next run (either side)
    breaks: Mapping[BreakKind, Totals]

    @property
    def break_count(self) -> int:
        return sum(t.count for t in self.breaks.values())

    @property
    def balanced(self) -> bool:
        return self.break_count == 0


@dataclass(frozen=True)
class BreakRecord:
    """One row of the breaks frame as a typed value (for persisting a break)."""

    kind: BreakKind
    side: Side
    key: str
    channel: str
    trade_no: str
    refund_no: str
    out_trade_no: str
    txn_kind: StatementKind
    statement_amount_fen: int | None
    ours_amount_fen: int | None
    statement_fee_fen: int | None
    ours_fee_fen: int | None
    difference_fen: int
    statement_occurred_at: datetime | None
    ours_occurred_at: datetime | None
    our_id: str | None
    statement_row: int | None
    ours_row: int | None
    carried: bool


@dataclass(frozen=True)
class ReconciliationResult:
    summary: ReconciliationSummary
    breaks: pl.DataFrame             # BREAKS_SCHEMA, ordered by kind, key, statement_row, ours_row
    pending_statement: pl.DataFrame  # STATEMENT_SCHEMA: pass as the next run's carried_statement
    pending_ours: pl.DataFrame       # OURS_SCHEMA: pass as the next run's carried_ours

    def break_records(self) -> list[BreakRecord]:
        return [BreakRecord(**{**row, "kind": BreakKind(row["kind"]), "side": Side(row["side"]),
                               "txn_kind": StatementKind(row["txn_kind"])})
                for row in self.breaks.iter_rows(named=True)]


# --- reading and building inputs ----------------------------------------------------------------

def read_statement_csv(path: str | Path) -> pl.LazyFrame:
    """A statement CSV in STATEMENT_SCHEMA (header row, occurred_at ISO 8601 with offset)."""
    return pl.scan_csv(path, schema=STATEMENT_SCHEMA)


def write_statement_csv(frame: pl.DataFrame, path: str | Path) -> None:
    frame.select(list(STATEMENT_SCHEMA)).write_csv(path)


def read_ours_parquet(path: str | Path) -> pl.LazyFrame:
    """Our side as exported for reconciliation: Parquet in OURS_SCHEMA."""
    return pl.scan_parquet(path)


def write_ours_parquet(frame: pl.DataFrame, path: str | Path) -> None:
    frame.select(list(OURS_SCHEMA)).write_parquet(path)


def statement_frame(rows: Iterable[StatementRow], *, channel: str) -> pl.DataFrame:
    """A channel parser's rows as a statement frame (refunds keyed by the channel's refund
    number, or our out_refund_no when the channel gives none)."""
    rows = list(rows)
    return pl.DataFrame({
        "channel": [channel] * len(rows),
        "trade_no": [r.trade_no for r in rows],
        "refund_no": [(r.refund_no or r.out_refund_no) if r.kind == StatementKind.REFUND else "" for r in rows],
        "out_trade_no": [r.out_trade_no for r in rows],
        "kind": [r.kind.value for r in rows],
        "amount_fen": [r.amount_fen for r in rows],
        "fee_fen": [r.fee_fen for r in rows],
        "occurred_at": [r.occurred_at for r in rows],
    }, schema=STATEMENT_SCHEMA)


@dataclass(frozen=True)
class OurEntry:
    """One row of our side: a succeeded payment attempt or refund (or its ledger transfer)."""

    channel: str
    trade_no: str
    out_trade_no: str
    kind: StatementKind
    amount_fen: int
    fee_fen: int
    occurred_at: datetime | None
    our_id: str
    refund_no: str = ""


def ours_frame(entries: Iterable[OurEntry]) -> pl.DataFrame:
    entries = list(entries)
    data = {name: [getattr(e, name) for e in entries] for name in OURS_SCHEMA}
    data["kind"] = [StatementKind(e.kind).value for e in entries]
    return pl.DataFrame(data, schema=OURS_SCHEMA)


def statement_day_end(day: date) -> datetime:
    """Midnight after `day` in Beijing time: where the channels cut their daily statements."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=CHINA)


# --- the engine ---------------------------------------------------------------------------------

def _fingerprint(key: pl.Expr) -> pl.Expr:
    """A 64-bit hash of the match key. Duplicate search and the join run on it: over a million
    rows both are about five times cheaper than on the strings (decision 0016). Every decision
    it makes is checked against the strings (`_first_rows`, `_pairs_agree`); on a collision the
    run is redone on the strings."""
    return key.hash(seed=0x0C17)


def _prepared(frame: pl.LazyFrame | pl.DataFrame, schema: Mapping[str, pl.DataType], what: str,
              carried: pl.LazyFrame | pl.DataFrame | None) -> pl.DataFrame:
    parts = [frame] + ([carried] if carried is not None else [])
    lazies = []
    for flag, part in enumerate(parts):
        lf = part.lazy()
        have = lf.collect_schema()
        missing = [c for c in schema if c not in have]
        if missing:
            raise ReconciliationError(_("The %(what)s frame lacks the columns %(columns)s.")
                                      % {"what": what, "columns": ", ".join(missing)}, code="bad_schema")
        wrong = [c for c, dtype in schema.items()
                 if not (have[c] == dtype or have[c] == pl.Null
                         or (c == "occurred_at" and isinstance(have[c], pl.Datetime)
                             and have[c].time_zone is not None))]
        if wrong:
            raise ReconciliationError(_("The %(what)s frame has the wrong type in the columns %(columns)s.")
                                      % {"what": what, "columns": ", ".join(wrong)}, code="bad_schema")
        lazies.append(lf.select(
            *(pl.col(c).cast(dtype) for c, dtype in schema.items() if c != "occurred_at"),
            pl.col("occurred_at").cast(UTC_DATETIME),
            pl.lit(bool(flag)).alias("carried")))
    trade_no = pl.col("trade_no").str.strip_chars(KEY_STRIP)
    refund_no = pl.col("refund_no").fill_null("").str.strip_chars(KEY_STRIP)
    is_refund = pl.col("kind") == StatementKind.REFUND.value
    prepared = pl.concat(lazies, how="vertical").with_row_index("row").with_columns(
        trade_no.alias("trade_no"), refund_no.alias("refund_no"), is_refund.alias("is_refund"),
    ).with_columns(
        pl.when(pl.col("is_refund")).then(pl.concat_str("trade_no", pl.lit("/"), "refund_no"))
        .otherwise(pl.col("trade_no")).alias("key"),
    ).with_columns(_fingerprint(pl.col("key")).alias("fp"))
    try:
        prepared = prepared.collect()
    except pl.exceptions.PolarsError as error:  # a file whose cells do not parse as the schema says
        raise ReconciliationError(_("The %(what)s could not be read with the expected columns and types.")
                                  % {"what": what}, code="unreadable") from error
    _check(prepared, what)
    return prepared


def _check(prepared: pl.DataFrame, what: str) -> None:
    empty, bad_kind, negative = prepared.select(
        ((pl.col("trade_no").fill_null("") == "")
         | (pl.col("is_refund") & (pl.col("refund_no") == ""))).sum(),
        (~pl.col("kind").is_in([k.value for k in StatementKind]) | pl.col("kind").is_null()).sum(),
        ((pl.col("amount_fen") <= 0) | (pl.col("fee_fen") < 0)
         | pl.col("amount_fen").is_null() | pl.col("fee_fen").is_null()).sum(),
    ).row(0)
    if empty:
        raise ReconciliationError(ngettext(
            "%(count)d row of the %(what)s has no trade number (or, for a refund, no refund number).",
            "%(count)d rows of the %(what)s have no trade number (or, for a refund, no refund number).", empty)
            % {"count": empty, "what": what}, code="empty_key")
    if bad_kind:
        raise ReconciliationError(ngettext(
            "%(count)d row of the %(what)s is neither a payment nor a refund.",
            "%(count)d rows of the %(what)s are neither a payment nor a refund.", bad_kind)
            % {"count": bad_kind, "what": what}, code="bad_kind")
    if negative:
        raise ReconciliationError(ngettext(
            "%(count)d row of the %(what)s has an amount that is not positive or a fee that is negative or missing.",
            "%(count)d rows of the %(what)s have an amount that is not positive or a fee that is negative or "
            "missing.", negative) % {"count": negative, "what": what}, code="bad_amount")


def _first_rows(prepared: pl.DataFrame, on: str) -> pl.Series | None:
    """True on the first row of each key (frame order); None when two different keys share a
    fingerprint. Rows whose fingerprint is unique have a unique key; only the rest (the
    duplicates, a handful) are checked on the strings."""
    first = prepared.get_column(on).is_first_distinct()
    if on == "key" or first.all():
        return first
    shared = prepared.get_column("fp").filter(~first).implode()
    suspects = prepared.filter(pl.col("fp").is_in(shared))
    if not suspects.get_column("fp").is_first_distinct().equals(suspects.get_column("key").is_first_distinct()):
        return None
    return first


def _pairs_agree(joined: pl.DataFrame, st: pl.DataFrame, us: pl.DataFrame) -> bool:
    pairs = joined.filter(pl.col("s_row").is_not_null() & pl.col("o_row").is_not_null())
    return bool((st.get_column("key").gather(pairs.get_column("s_row"))
                 == us.get_column("key").gather(pairs.get_column("o_row"))).all())


_NARROW = ("row", "amount_fen", "fee_fen", "occurred_at", "carried", "is_refund")


def _outcomes(st: pl.DataFrame, us: pl.DataFrame, code: pl.Expr, on: str) -> pl.DataFrame | None:
    """One row per outcome: a pair or a one-sided row, with `code`; narrow columns only (the
    strings of the few breaks are fetched afterwards by row). None on a fingerprint collision."""
    first_st, first_us = _first_rows(st, on), _first_rows(us, on)
    if first_st is None or first_us is None:
        return None
    s = st.lazy().filter(first_st).select(on, *(pl.col(c).alias("s_" + c) for c in _NARROW))
    o = us.lazy().filter(first_us).select(on, *(pl.col(c).alias("o_" + c) for c in _NARROW))
    joined = s.join(o, on=on, how="full", coalesce=True).with_columns(code).collect()
    if on == "fp" and not _pairs_agree(joined, st, us):
        return None
    # every row after the first of its key, on either side, is a duplicate; it never enters the join
    duplicates = pl.concat([
        st.lazy().filter(~first_st).select(*(pl.col(c).alias("s_" + c) for c in _NARROW)),
        us.lazy().filter(~first_us).select(*(pl.col(c).alias("o_" + c) for c in _NARROW)),
    ], how="diagonal").with_columns(pl.lit(_BREAK_CODES[BreakKind.DUPLICATE], pl.UInt8).alias("code")).collect()
    return pl.concat([joined.drop(on), duplicates], how="diagonal")


def _signed(column: str, is_refund: str) -> pl.Expr:
    return pl.when(pl.col(is_refund)).then(-pl.col(column)).otherwise(pl.col(column))


def reconcile(statement: pl.LazyFrame | pl.DataFrame, ours: pl.LazyFrame | pl.DataFrame, *,
              day_end: datetime | None = None, carry_window: timedelta = DEFAULT_CARRY_WINDOW,
              carried_statement: pl.LazyFrame | pl.DataFrame | None = None,
              carried_ours: pl.LazyFrame | pl.DataFrame | None = None) -> ReconciliationResult:
    """Match one channel's statement for one day against ours; see the module docstring.

    Without `day_end` nothing is pending: every one-sided row is a break."""
    if day_end is not None and day_end.tzinfo is None:
        raise ReconciliationError(_("The end of the statement day must carry a time zone."), code="bad_day_end")
    st = _prepared(statement, STATEMENT_SCHEMA, _("statement"), carried_statement)
    us = _prepared(ours, OURS_SCHEMA, _("our side"), carried_ours)
    channels = pl.concat([st.get_column("channel"), us.get_column("channel")])
    if len(channels) and (channels.is_null().any() or (channels != channels[0]).any()):
        raise ReconciliationError(_("A reconciliation covers one channel; the rows name several. Reconcile each "
                                    "channel's statement against that channel's rows."), code="mixed_channels")

    def pending_if(prefix: str) -> pl.Expr:
        if day_end is None:
            return pl.lit(False)
        pending_from = pl.lit((day_end - carry_window).astimezone(UTC)).cast(UTC_DATETIME)
        return (~pl.col(prefix + "carried")) & (pl.col(prefix + "occurred_at") >= pending_from).fill_null(False)

    code = (pl.when(pl.col("s_row").is_null())
            .then(pl.when(pending_if("o_")).then(_PENDING).otherwise(_BREAK_CODES[BreakKind.MISSING_THERE]))
            .when(pl.col("o_row").is_null())
            .then(pl.when(pending_if("s_")).then(_PENDING).otherwise(_BREAK_CODES[BreakKind.MISSING_HERE]))
            .when(pl.col("s_amount_fen") != pl.col("o_amount_fen")).then(_BREAK_CODES[BreakKind.AMOUNT_MISMATCH])
            .when(pl.col("s_fee_fen") != pl.col("o_fee_fen")).then(_BREAK_CODES[BreakKind.FEE_MISMATCH])
            .otherwise(_MATCHED).cast(pl.UInt8).alias("code"))
    outcomes = _outcomes(st, us, code, "fp")
    if outcomes is None:
        outcomes = _outcomes(st, us, code, "key")

    pending = outcomes.filter(pl.col("code") == _PENDING)
    return ReconciliationResult(
        summary=_summary(outcomes, statement_rows=st.height, ours_rows=us.height),
        breaks=_breaks(outcomes.filter(pl.col("code") >= min(_BREAK_CODES.values())), st, us),
        pending_statement=st.select(pl.col(c).gather(pending.get_column("s_row").drop_nulls().sort())
                                    for c in STATEMENT_SCHEMA),
        pending_ours=us.select(pl.col(c).gather(pending.get_column("o_row").drop_nulls().sort())
                               for c in OURS_SCHEMA))


def _summary(outcomes: pl.DataFrame, *, statement_rows: int, ours_rows: int) -> ReconciliationSummary:
    totals = outcomes.lazy().group_by("code").agg(
        pl.len().alias("count"),
        _signed("s_amount_fen", "s_is_refund").sum().alias("statement_fen"),
        _signed("o_amount_fen", "o_is_refund").sum().alias("ours_fen"),
        _signed("s_fee_fen", "s_is_refund").sum().alias("statement_fee_fen"),
        _signed("o_fee_fen", "o_is_refund").sum().alias("ours_fee_fen"),
    ).collect()
    by_code = {row.pop("code"): Totals(**row) for row in totals.iter_rows(named=True)}
    return ReconciliationSummary(
        statement_rows=statement_rows, ours_rows=ours_rows, matched=by_code.get(_MATCHED, Totals()),
        pending=by_code.get(_PENDING, Totals()),
        breaks={kind: by_code.get(code, Totals()) for kind, code in _BREAK_CODES.items()})


def _difference() -> pl.Expr:
    """Statement minus ours, on what the break is about: the amount (amount_mismatch, and the
    missing side counting as 0 for missing_here / missing_there / duplicate) or the fee
    (fee_mismatch)."""
    s_amount, o_amount = pl.col("s_amount_fen").fill_null(0), pl.col("o_amount_fen").fill_null(0)
    return (pl.when(pl.col("code") == _BREAK_CODES[BreakKind.FEE_MISMATCH])
            .then(pl.col("s_fee_fen") - pl.col("o_fee_fen"))
            .otherwise(s_amount - o_amount))


_DETAILS = ("channel", "trade_no", "refund_no", "out_trade_no", "kind")


def _breaks(found: pl.DataFrame, st: pl.DataFrame, us: pl.DataFrame) -> pl.DataFrame:
    """The breaks frame: the few break rows, with their strings fetched from both sides by row."""
    s_rows, o_rows = found.get_column("s_row"), found.get_column("o_row")
    found = found.with_columns(
        *(st.get_column(c).gather(s_rows).alias("s_" + c) for c in _DETAILS),
        *(us.get_column(c).gather(o_rows).alias("o_" + c) for c in (*_DETAILS, "our_id")))
    kinds = {code: kind.value for kind, code in _BREAK_CODES.items()}
    side = (pl.when(pl.col("s_row").is_null()).then(pl.lit(Side.OURS.value))
            .when(pl.col("o_row").is_null()).then(pl.lit(Side.STATEMENT.value))
            .otherwise(pl.lit(Side.BOTH.value)))
    trade_no, refund_no = pl.coalesce("s_trade_no", "o_trade_no"), pl.coalesce("s_refund_no", "o_refund_no")
    return found.lazy().select(
        pl.col("code").replace_strict(kinds, return_dtype=BREAK_KIND_DTYPE).alias("kind"),
        side.cast(SIDE_DTYPE).alias("side"),
        pl.when(pl.coalesce("s_is_refund", "o_is_refund")).then(pl.concat_str(trade_no, pl.lit("/"), refund_no))
        .otherwise(trade_no).alias("key"),
        pl.coalesce("s_channel", "o_channel").alias("channel"),
        trade_no.alias("trade_no"),
        refund_no.alias("refund_no"),
        pl.coalesce("s_out_trade_no", "o_out_trade_no").alias("out_trade_no"),
        pl.coalesce("s_kind", "o_kind").alias("txn_kind"),
        pl.col("s_amount_fen").alias("statement_amount_fen"),
        pl.col("o_amount_fen").alias("ours_amount_fen"),
        pl.col("s_fee_fen").alias("statement_fee_fen"),
        pl.col("o_fee_fen").alias("ours_fee_fen"),
        _difference().alias("difference_fen"),
        pl.col("s_occurred_at").alias("statement_occurred_at"),
        pl.col("o_occurred_at").alias("ours_occurred_at"),
        pl.col("o_our_id").alias("our_id"),
        pl.col("s_row").cast(pl.Int64).alias("statement_row"),
        pl.col("o_row").cast(pl.Int64).alias("ours_row"),
        (pl.col("s_carried").fill_null(False) | pl.col("o_carried").fill_null(False)).alias("carried"),
    ).sort(["kind", "key", "statement_row", "ours_row"], nulls_last=True).collect().cast(BREAKS_SCHEMA)
