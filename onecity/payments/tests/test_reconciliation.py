"""The reconciliation engine: every break kind, duplicates, keys, cut-off carry-over, empty
inputs, bad inputs, the channel-parser adapter, and a property test against a plain-Python
reference that every input row lands in exactly one outcome."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onecity.payments.channels.base import CHINA, StatementKind, StatementRow
from onecity.payments.channels.wechat import WechatSandbox, parse_statement
from onecity.payments.reconciliation import (
    BREAKS_SCHEMA,
    OURS_SCHEMA,
    STATEMENT_SCHEMA,
    BreakKind,
    BreakRecord,
    OurEntry,
    ReconciliationError,
    Side,
    Totals,
    ours_frame,
    read_ours_parquet,
    read_statement_csv,
    reconcile,
    statement_day_end,
    statement_frame,
    write_ours_parquet,
    write_statement_csv,
)

DAY = date(2026, 11, 23)
DAY_END = statement_day_end(DAY)  # 2026-11-24 00:00 Beijing = 2026-11-23 16:00 UTC
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=CHINA)
ZERO = Totals()
LATE = DAY_END - timedelta(minutes=2)      # 23:58 Beijing: inside the default 5-minute window
EARLIER = DAY_END - timedelta(minutes=6)   # 23:54: outside it


def statement(*rows) -> pl.DataFrame:
    """rows: (trade_no, amount, fee) or (trade_no, amount, fee, kind, refund_no[, occurred_at])."""
    full = [(r + ("payment", "", NOON))[:6] if len(r) == 3 else (r + (NOON,))[:6] for r in rows]
    return pl.DataFrame({
        "channel": ["wechat"] * len(full), "trade_no": [r[0] for r in full], "refund_no": [r[4] for r in full],
        "out_trade_no": [f"o-{r[0].strip('` ')}" for r in full], "kind": [r[3] for r in full],
        "amount_fen": [r[1] for r in full], "fee_fen": [r[2] for r in full], "occurred_at": [r[5] for r in full],
    }, schema=STATEMENT_SCHEMA)


def ours(*rows) -> pl.DataFrame:
    frame = statement(*rows)
    return frame.with_columns(pl.Series("our_id", [f"T{n}" for n in range(frame.height)], pl.Utf8))


def brief(result) -> list[tuple]:
    return result.breaks.select("kind", "side", "key", "statement_amount_fen", "ours_amount_fen",
                                "statement_fee_fen", "ours_fee_fen", "difference_fen", "our_id",
                                "statement_row", "ours_row").rows()


def counts(result) -> dict[str, int]:
    return {kind.value: t.count for kind, t in result.summary.breaks.items() if t.count}


def test_every_break_kind_with_exact_sums():
    result = reconcile(
        statement(("A", 100, 1), ("B", 200, 2), ("C", 300, 3), ("E", 500, 5), ("F", 600, 6)),
        ours(("A", 100, 1), ("B", 250, 2), ("C", 300, 4), ("D", 400, 4), ("F", 600, 6)))
    assert brief(result) == [
        ("missing_here", "statement", "E", 500, None, 5, None, 500, None, 3, None),
        ("missing_there", "ours", "D", None, 400, None, 4, -400, "T3", None, 3),
        ("amount_mismatch", "both", "B", 200, 250, 2, 2, -50, "T1", 1, 1),
        ("fee_mismatch", "both", "C", 300, 300, 3, 4, -1, "T2", 2, 2),
    ]
    s = result.summary
    assert (s.statement_rows, s.ours_rows) == (5, 5)
    assert s.matched == Totals(count=2, statement_fen=700, ours_fen=700, statement_fee_fen=7, ours_fee_fen=7)
    assert s.pending == ZERO
    assert s.breaks == {
        BreakKind.MISSING_HERE: Totals(1, 500, 0, 5, 0),
        BreakKind.MISSING_THERE: Totals(1, 0, 400, 0, 4),
        BreakKind.AMOUNT_MISMATCH: Totals(1, 200, 250, 2, 2),
        BreakKind.FEE_MISMATCH: Totals(1, 300, 300, 3, 4),
        BreakKind.DUPLICATE: ZERO,
    }
    assert s.break_count == 4 and not s.balanced
    assert result.breaks.schema == pl.Schema(BREAKS_SCHEMA)


def test_amount_wins_when_amount_and_fee_both_differ():
    result = reconcile(statement(("A", 100, 1)), ours(("A", 120, 2)))
    assert brief(result) == [("amount_mismatch", "both", "A", 100, 120, 1, 2, -20, "T0", 0, 0)]


def test_a_clean_day_is_balanced():
    result = reconcile(statement(("A", 100, 1), ("B", 200, 2, "refund", "R1")),
                       ours(("A", 100, 1), ("B", 200, 2, "refund", "R1")))
    assert result.breaks.height == 0 and result.summary.balanced
    # refunds count negative in the totals
    assert result.summary.matched == Totals(2, -100, -100, -1, -1)


def test_duplicates_on_the_statement_keep_the_first_row_for_the_match():
    result = reconcile(statement(("A", 100, 1), ("A", 100, 1), ("B", 200, 2), ("A", 100, 1)),
                       ours(("A", 100, 1), ("B", 200, 2)))
    assert brief(result) == [
        ("duplicate", "statement", "A", 100, None, 1, None, 100, None, 1, None),
        ("duplicate", "statement", "A", 100, None, 1, None, 100, None, 3, None),
    ]
    assert result.summary.matched.count == 2  # the duplicated key did not multiply in the join
    assert result.summary.breaks[BreakKind.DUPLICATE] == Totals(2, 200, 0, 2, 0)


def test_duplicates_on_our_side_and_a_duplicate_that_differs():
    result = reconcile(statement(("A", 100, 1), ("B", 200, 2)),
                       ours(("A", 100, 1), ("B", 200, 2), ("B", 999, 9), ("C", 50, 1), ("C", 50, 1)))
    assert brief(result) == [
        ("missing_there", "ours", "C", None, 50, None, 1, -50, "T3", None, 3),
        ("duplicate", "ours", "B", None, 999, None, 9, -999, "T2", None, 2),
        ("duplicate", "ours", "C", None, 50, None, 1, -50, "T4", None, 4),
    ]
    assert result.summary.matched.count == 2


def test_backticks_and_whitespace_around_numbers_are_ignored():
    result = reconcile(statement(("`4200001", 100, 1), (" `4200002\t", 200, 2, "refund", "`5000001")),
                       ours(("4200001", 100, 1), ("4200002", 200, 2, "refund", "5000001 ")))
    assert result.breaks.height == 0 and result.summary.matched.count == 2


def test_a_payment_and_its_partial_refunds_are_separate_keys():
    result = reconcile(
        statement(("A", 1000, 6), ("A", 300, 2, "refund", "R1"), ("A", 200, 1, "refund", "R2")),
        ours(("A", 1000, 6), ("A", 300, 2, "refund", "R1"), ("A", 250, 1, "refund", "R2")))
    assert brief(result) == [("amount_mismatch", "both", "A/R2", 200, 250, 1, 1, -50, "T2", 2, 2)]
    assert result.breaks.row(0, named=True)["txn_kind"] == "refund"
    assert result.summary.breaks[BreakKind.AMOUNT_MISMATCH] == Totals(1, -200, -250, -1, -1)


def test_breaks_are_ordered_by_kind_then_key_whatever_the_input_order():
    rows = [("Z", 1, 0), ("M", 1, 0), ("A", 1, 0), ("Q", 5, 0)]
    ours_rows = [("Q", 6, 0), ("B", 1, 0), ("Y", 1, 0)]
    one = reconcile(statement(*rows), ours(*ours_rows))
    other = reconcile(statement(*reversed(rows)), ours(*reversed(ours_rows)))
    expected = [("missing_here", "A"), ("missing_here", "M"), ("missing_here", "Z"), ("missing_there", "B"),
                ("missing_there", "Y"), ("amount_mismatch", "Q")]
    assert one.breaks.select("kind", "key").rows() == expected
    assert other.breaks.select("kind", "key").rows() == expected


def test_empty_inputs():
    empty_statement, empty_ours = statement(), ours()
    result = reconcile(empty_statement, empty_ours)
    assert result.breaks.height == 0 and result.breaks.schema == pl.Schema(BREAKS_SCHEMA)
    assert result.summary.matched == ZERO and result.summary.balanced
    assert (result.pending_statement.height, result.pending_ours.height) == (0, 0)

    only_channel = reconcile(statement(("A", 100, 1)), empty_ours)
    assert brief(only_channel) == [("missing_here", "statement", "A", 100, None, 1, None, 100, None, 0, None)]
    only_ours = reconcile(empty_statement, ours(("A", 100, 1)))
    assert brief(only_ours) == [("missing_there", "ours", "A", None, 100, None, 1, -100, "T0", None, 0)]


def test_fingerprint_collisions_fall_back_to_the_strings(monkeypatch):
    """Keys of the same length share a fingerprint here: the answers must not change."""
    from onecity.payments import reconciliation

    frames = (statement(("AA", 100, 1), ("BB", 200, 2), ("AA", 100, 1), ("CC", 5, 0)),
              ours(("AA", 100, 1), ("BB", 201, 2), ("DD", 7, 0), ("DD", 7, 0)))
    honest = reconcile(*frames)
    monkeypatch.setattr(reconciliation, "_fingerprint", lambda key: key.str.len_bytes().cast(pl.UInt64))
    colliding = reconcile(*frames)
    assert colliding.breaks.equals(honest.breaks)
    assert colliding.summary == honest.summary
    assert brief(colliding) == [
        ("missing_here", "statement", "CC", 5, None, 0, None, 5, None, 3, None),
        ("missing_there", "ours", "DD", None, 7, None, 0, -7, "T2", None, 2),
        ("amount_mismatch", "both", "BB", 200, 201, 2, 2, -1, "T1", 1, 1),
        ("duplicate", "statement", "AA", 100, None, 1, None, 100, None, 2, None),
        ("duplicate", "ours", "DD", None, 7, None, 0, -7, "T3", None, 3),
    ]
    # a collision across the sides only (no duplicates): the pairs are checked on the strings too
    across = reconcile(statement(("AA", 100, 1)), ours(("BB", 100, 1)))
    assert across.breaks.select("kind", "key").rows() == [("missing_here", "AA"), ("missing_there", "BB")]


def test_times_in_any_zone_are_compared_as_instants():
    beijing = statement(("A", 100, 1, "payment", "", LATE)).with_columns(
        pl.col("occurred_at").dt.convert_time_zone("Asia/Shanghai"))
    result = reconcile(beijing, ours(), day_end=DAY_END)
    assert result.summary.pending.count == 1
    assert result.pending_statement.get_column("occurred_at").to_list() == [LATE.astimezone(UTC)]


# --- cut-off -------------------------------------------------------------------------------------

def test_one_sided_rows_just_before_midnight_are_pending_not_breaks():
    result = reconcile(
        statement(("A", 100, 1), ("S-late", 300, 3, "payment", "", LATE), ("S-early", 400, 4, "payment", "", EARLIER)),
        ours(("A", 100, 1), ("O-late", 500, 5, "payment", "", LATE), ("O-early", 600, 6, "payment", "", EARLIER)),
        day_end=DAY_END)
    assert result.breaks.select("kind", "key").rows() == [("missing_here", "S-early"), ("missing_there", "O-early")]
    assert result.summary.pending == Totals(2, 300, 500, 3, 5)
    assert result.pending_statement.schema == pl.Schema(STATEMENT_SCHEMA)
    assert result.pending_ours.schema == pl.Schema(OURS_SCHEMA)
    assert result.pending_statement.select("trade_no", "amount_fen").rows() == [("S-late", 300)]
    assert result.pending_ours.select("trade_no", "amount_fen", "our_id").rows() == [("O-late", 500, "T1")]

    # without a day end (or with no window) nothing is held back
    assert counts(reconcile(statement(("S-late", 300, 3, "payment", "", LATE)), ours())) == {"missing_here": 1}
    assert counts(reconcile(statement(("S-late", 300, 3, "payment", "", LATE)), ours(), day_end=DAY_END,
                            carry_window=timedelta(0))) == {"missing_here": 1}
    # a wider window holds back more
    wide = reconcile(statement(("S-early", 400, 4, "payment", "", EARLIER)), ours(), day_end=DAY_END,
                     carry_window=timedelta(minutes=10))
    assert wide.breaks.height == 0 and wide.summary.pending.count == 1


def test_pending_rows_are_matched_in_the_next_days_run_or_become_breaks_there():
    day1 = reconcile(statement(("S-late", 300, 3, "payment", "", LATE)),
                     ours(("O-late", 500, 5, "payment", "", LATE), ("O-gone", 700, 7, "payment", "", LATE)),
                     day_end=DAY_END)
    assert day1.breaks.height == 0 and day1.summary.pending.count == 3
    next_morning = DAY_END + timedelta(minutes=1)
    day2 = reconcile(
        statement(("O-late", 500, 5, "payment", "", next_morning), ("B", 100, 1)),
        ours(("S-late", 300, 3, "payment", "", next_morning), ("B", 100, 1)),
        day_end=statement_day_end(DAY + timedelta(days=1)),
        carried_statement=day1.pending_statement, carried_ours=day1.pending_ours)
    # the carried O-late met the channel's row; S-late met ours; O-gone is carried only once
    assert day2.summary.matched.count == 3
    assert day2.breaks.select("kind", "key", "our_id", "ours_row", "carried").rows() == [
        ("missing_there", "O-gone", "T1", 3, True)]
    assert (day2.summary.statement_rows, day2.summary.ours_rows) == (3, 4)
    assert day2.pending_ours.height == 0 and day2.pending_statement.height == 0


def test_day_end_needs_a_time_zone():
    with pytest.raises(ReconciliationError) as caught:
        reconcile(statement(), ours(), day_end=datetime(2026, 11, 24))
    assert caught.value.code == "bad_day_end"


def test_statement_day_end_is_midnight_in_beijing():
    assert statement_day_end(DAY) == datetime(2026, 11, 24, 0, 0, tzinfo=CHINA)
    assert DAY_END.astimezone(UTC) == datetime(2026, 11, 23, 16, 0, tzinfo=UTC)


# --- bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("frames", "code"), [
    (lambda: (statement(("A", 1, 0)).drop("fee_fen"), ours()), "bad_schema"),
    (lambda: (statement(("A", 1, 0)).with_columns(pl.col("amount_fen").cast(pl.Float64)), ours()), "bad_schema"),
    (lambda: (statement(("A", 1, 0)).with_columns(pl.col("occurred_at").dt.replace_time_zone(None)), ours()),
     "bad_schema"),
    (lambda: (statement(("`", 1, 0)), ours()), "empty_key"),
    (lambda: (statement(), ours(("A", 1, 0, "refund", ""))), "empty_key"),
    (lambda: (statement(("A", 1, 0, "chargeback", "")), ours()), "bad_kind"),
    (lambda: (statement(("A", 0, 0)), ours()), "bad_amount"),
    (lambda: (statement(), ours(("A", 5, -1))), "bad_amount"),
    (lambda: (statement(("A", 1, 0)), ours(("A", 1, 0)).with_columns(pl.lit("alipay").alias("channel"))),
     "mixed_channels"),
])
def test_inputs_that_cannot_be_reconciled_are_refused(frames, code):
    with pytest.raises(ReconciliationError) as caught:
        reconcile(*frames())
    assert caught.value.code == code
    assert str(caught.value)


def test_a_statement_file_that_does_not_parse_is_refused(tmp_path):
    path = tmp_path / "statement.csv"
    write_statement_csv(statement(("A", 100, 1)), path)
    path.write_text(path.read_text().replace(",100,1,", ",1.00,1,"))
    with pytest.raises(ReconciliationError) as caught:
        reconcile(read_statement_csv(path), ours())
    assert caught.value.code == "unreadable"


# --- adapters and files ----------------------------------------------------------------------------

def test_a_wechat_trade_bill_through_the_parser_and_the_engine():
    at = datetime(2026, 11, 23, 9, 30, tzinfo=CHINA)
    rows = [
        StatementRow("4200001", "P1", StatementKind.PAYMENT, 10000, 60, at, payer_id="o1"),
        StatementRow("4200002", "P2", StatementKind.PAYMENT, 2500, 15, at, payer_id="o2"),
        StatementRow("4200001", "P1", StatementKind.REFUND, 4000, 24, at, refund_no="5000001", out_refund_no="R1",
                     payer_id="o1"),
    ]
    parsed = parse_statement(WechatSandbox().statement(rows, DAY))
    frame = statement_frame(parsed, channel="wechat")
    assert frame.schema == pl.Schema(STATEMENT_SCHEMA)
    assert frame.select("trade_no", "refund_no", "kind", "amount_fen").rows() == [
        ("4200001", "", "payment", 10000), ("4200002", "", "payment", 2500), ("4200001", "5000001", "refund", 4000)]
    entries = ours_frame([
        OurEntry("wechat", "4200001", "P1", StatementKind.PAYMENT, 10000, 60, at, "A1"),
        OurEntry("wechat", "4200002", "P2", StatementKind.PAYMENT, 2500, 20, at, "A2"),
        OurEntry("wechat", "4200001", "P1", StatementKind.REFUND, 4000, 24, at, "F1", refund_no="5000001"),
    ])
    result = reconcile(frame, entries)
    assert brief(result) == [("fee_mismatch", "both", "4200002", 2500, 2500, 15, 20, -5, "A2", 1, 1)]
    assert result.summary.matched.count == 2
    assert result.break_records() == [BreakRecord(
        kind=BreakKind.FEE_MISMATCH, side=Side.BOTH, key="4200002", channel="wechat", trade_no="4200002",
        refund_no="", out_trade_no="P2", txn_kind=StatementKind.PAYMENT, statement_amount_fen=2500,
        ours_amount_fen=2500, statement_fee_fen=15, ours_fee_fen=20, difference_fen=-5,
        statement_occurred_at=at.astimezone(UTC), ours_occurred_at=at.astimezone(UTC), our_id="A2",
        statement_row=1, ours_row=1, carried=False)]


def test_a_refund_without_a_channel_number_is_keyed_by_our_refund_number():
    at = datetime(2026, 11, 23, 9, 30, tzinfo=CHINA)
    frame = statement_frame([StatementRow("2026112322001", "P1", StatementKind.REFUND, 300, 0, at,
                                          out_refund_no="R1")], channel="alipay")
    assert frame.select("trade_no", "refund_no").rows() == [("2026112322001", "R1")]


def test_files_the_way_they_arrive(tmp_path):
    """The statement as CSV (Beijing time with its offset, a backtick before a number) and ours
    as Parquet, read back with the explicit schemas."""
    st_path, ours_path = tmp_path / "statement.csv", tmp_path / "ours.parquet"
    write_statement_csv(statement(("`A", 100, 1), ("B", 200, 2)).with_columns(
        pl.col("occurred_at").dt.convert_time_zone("Asia/Shanghai")), st_path)
    assert "2026-11-23T12:00:00.000000+0800" in st_path.read_text()
    write_ours_parquet(ours(("A", 100, 1), ("B", 201, 2)), ours_path)
    result = reconcile(read_statement_csv(st_path), read_ours_parquet(ours_path))
    assert brief(result) == [("amount_mismatch", "both", "B", 200, 201, 2, 2, -1, "T1", 1, 1)]
    assert result.breaks.get_column("statement_occurred_at").to_list() == [NOON.astimezone(UTC)]


# --- property: every input row lands in exactly one outcome -----------------------------------------

def reference(st_rows, our_rows, *, day_end, window, carried_st=(), carried_ours=()):
    """Plain Python: Counter of (outcome, key, statement position, ours position)."""
    def keyed(rows, carried):
        out, seen, firsts = [], set(), {}
        for pos, (row, is_carried) in enumerate([(r, False) for r in rows] + [(r, True) for r in carried]):
            key = row[0].strip("` ") + ("/" + row[4].strip("` ") if row[3] == "refund" else "")
            if key in seen:
                out.append(("duplicate", key, pos))
            else:
                seen.add(key)
                firsts[key] = (pos, row, is_carried)
        return out, firsts

    def pending(row, is_carried):
        return day_end is not None and not is_carried and row[5] >= day_end - window

    dup_st, first_st = keyed(st_rows, carried_st)
    dup_ours, first_ours = keyed(our_rows, carried_ours)
    outcomes = Counter((kind, key, pos, None) for kind, key, pos in dup_st)
    outcomes.update((kind, key, None, pos) for kind, key, pos in dup_ours)
    for key in first_st.keys() | first_ours.keys():
        s, o = first_st.get(key), first_ours.get(key)
        if o is None:
            outcomes[("pending" if pending(s[1], s[2]) else "missing_here", key, s[0], None)] += 1
        elif s is None:
            outcomes[("pending" if pending(o[1], o[2]) else "missing_there", key, None, o[0])] += 1
        elif s[1][1] != o[1][1]:
            outcomes[("amount_mismatch", key, s[0], o[0])] += 1
        elif s[1][2] != o[1][2]:
            outcomes[("fee_mismatch", key, s[0], o[0])] += 1
        else:
            outcomes[("matched", key, s[0], o[0])] += 1
    return outcomes


row_strategy = st.tuples(
    st.sampled_from(["A", "B", "`C", " D", "E"]),                    # few keys: duplicates and pairs happen
    st.integers(1, 3), st.integers(0, 2),                             # amounts and fees: mismatches happen
    st.sampled_from(["payment", "refund"]), st.sampled_from(["R1", "`R2"]),
    st.sampled_from([NOON, EARLIER, LATE, DAY_END - timedelta(minutes=5)]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st_rows=st.lists(row_strategy, max_size=8), our_rows=st.lists(row_strategy, max_size=8),
       carried_st=st.lists(row_strategy, max_size=2), carried_ours=st.lists(row_strategy, max_size=2),
       cut=st.booleans())
def test_every_row_lands_in_exactly_one_outcome(st_rows, our_rows, carried_st, carried_ours, cut):
    day_end = DAY_END if cut else None
    window = timedelta(minutes=5)
    result = reconcile(statement(*st_rows), ours(*our_rows), day_end=day_end, carry_window=window,
                       carried_statement=statement(*carried_st), carried_ours=ours(*carried_ours))
    expected = reference(st_rows, our_rows, day_end=day_end, window=window, carried_st=carried_st,
                         carried_ours=carried_ours)

    got = Counter((kind, key, s, o) for kind, key, s, o in
                  result.breaks.select("kind", "key", "statement_row", "ours_row").iter_rows())
    assert got == Counter({k: n for k, n in expected.items() if k[0] not in {"matched", "pending"}})
    by_outcome = Counter()
    for (kind, *_rest), n in expected.items():
        by_outcome[kind] += n
    s = result.summary
    assert s.matched.count == by_outcome["matched"]
    assert s.pending.count == by_outcome["pending"]
    assert {k.value: t.count for k, t in s.breaks.items()} == {k.value: by_outcome[k.value] for k in BreakKind}

    # each input row exactly once: matched and mismatched pairs use one row of each side
    pairs = s.matched.count + s.breaks[BreakKind.AMOUNT_MISMATCH].count + s.breaks[BreakKind.FEE_MISMATCH].count
    statement_side = result.breaks.filter(pl.col("side") == "statement").height
    ours_side = result.breaks.filter(pl.col("side") == "ours").height
    assert pairs + statement_side + result.pending_statement.height == len(st_rows) + len(carried_st) == s.statement_rows
    assert pairs + ours_side + result.pending_ours.height == len(our_rows) + len(carried_ours) == s.ours_rows
    positions = result.breaks.get_column("statement_row").drop_nulls().to_list()
    assert len(positions) == len(set(positions))

    # the same answers when every fingerprint collides (the run falls back to the strings)
    from onecity.payments import reconciliation

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reconciliation, "_fingerprint", lambda key: key.str.len_bytes().cast(pl.UInt64) * 0)
        colliding = reconcile(statement(*st_rows), ours(*our_rows), day_end=day_end, carry_window=window,
                              carried_statement=statement(*carried_st), carried_ours=ours(*carried_ours))
    assert colliding.summary == result.summary
    assert colliding.breaks.equals(result.breaks)
    assert colliding.pending_ours.equals(result.pending_ours)
