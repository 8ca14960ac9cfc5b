"""bench.reconcile — reconciliation (对账) of a channel's daily statement against our side.

A fixed-seed day for one channel (WeChat-shaped numbers): N ledger-side rows (payments and
~1% partial refunds) and a statement of about N rows made from them with injected breaks —
0.1% missing on each side, 0.02% amount and 0.02% fee mismatches, a few duplicated rows on
each side, and a few of our rows in the last minutes before midnight that the channel moved
to the next day (pending, not breaks). Written to a temp dir the way they arrive:

- the statement as CSV (STATEMENT_SCHEMA, occurred_at with its +08:00 offset), as a channel
  statement is text, parsed with an explicit schema;
- ours as Parquet (OURS_SCHEMA), the ledger export: we write it ourselves, so we pick the
  typed, columnar, compressed format that needs no parsing (int64 fen stay int64 exactly).

Timed, interleaved, best of 3 each (the machine is shared; interleaving lets other load hit
both alike):

(a) bare join: read both files, one full join on trade_no, materialise;
(b) the engine end to end: read both files, `reconcile`, breaks and summary materialised.

Lines: reconcile_seconds (ratio = engine / bare join), bare_join_seconds, reconcile_rows_per_s
(statement + ours rows per second; ratio against the bare join's), reconcile_breaks_found
(ratio = found / injected; `exact` says the breaks of each kind are exactly the injected trade
numbers and the pending rows exactly the near-midnight ones). Wall seconds are the headline;
`cpu_s` (process CPU time, all threads) is given beside them because the machine is shared.

    .venv/bin/python -m bench.reconcile [--rows N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import emit  # noqa: E402

SEED = 20261124
DAY = date(2026, 11, 23)
ROUNDS = 3
TARGET_SECONDS = 5.0  # for 1,000,000 rows


def setup_django(var: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onecity.settings")
    os.environ.setdefault("ONECITY_VAR_DIR", str(var))
    os.environ.setdefault("ONECITY_LOG_LEVEL", "WARNING")
    import django

    django.setup()


def generate(rows: int, seed: int = SEED):
    """(ours, statement, the injected breaks as {kind: sorted match keys}, pending keys)."""
    import numpy as np
    import polars as pl

    from onecity.payments.reconciliation import OURS_SCHEMA, STATEMENT_SCHEMA, statement_day_end

    rng = np.random.default_rng(seed)
    day_end = statement_day_end(DAY)
    day_start_us = int((day_end - timedelta(days=1)).timestamp() * 1_000_000)
    window_us = 5 * 60 * 1_000_000  # the engine's default carry window

    refunds = max(1, rows // 100)
    payments = rows - refunds
    trade_ids = rng.choice(10**15, size=payments, replace=False)
    trade_no = np.char.add("4200001234", np.char.zfill(trade_ids.astype(str), 18))
    refunded = rng.choice(payments, size=refunds, replace=False)
    amount = rng.integers(100, 500_000, size=rows)
    # a refund gives back part of what was paid, at most the payment
    amount[payments:] = np.maximum(1, amount[refunded] * rng.integers(1, 101, size=refunds) // 100)
    # leave the carry window empty except for the rows put there on purpose below
    occurred = day_start_us + rng.integers(0, 86_400 * 1_000_000 - window_us, size=rows)
    ours = pl.DataFrame({
        "channel": ["wechat"] * rows,
        "trade_no": np.concatenate([trade_no, trade_no[refunded]]),
        "refund_no": [""] * payments + [f"5000{n:024d}" for n in range(refunds)],
        "out_trade_no": [f"P{n:012d}" for n in range(rows)],
        "kind": ["payment"] * payments + ["refund"] * refunds,
        "amount_fen": amount,
        "fee_fen": (amount * 6 + 500) // 1000,  # 0.6%, rounded half up
        "occurred_at": pl.Series(occurred).cast(pl.Datetime("us", "UTC")),
        "our_id": [f"T{n:025d}" for n in range(rows)],
    }, schema=OURS_SCHEMA)

    share = lambda p, floor=1: max(floor, int(rows * p))  # noqa: E731
    n_missing_here, n_missing_there = share(0.001), share(0.001)
    n_amount, n_fee = share(0.0002), share(0.0002)
    n_dup_statement, n_dup_ours, n_pending = share(0.00002, 2), share(0.00001, 1), share(0.00005, 1)
    picks = rng.permutation(rows)
    cut = np.cumsum([n_missing_there, n_amount, n_fee, n_dup_statement, n_dup_ours, n_pending])
    missing_there, amount_off, fee_off, dup_statement, dup_ours, pending = np.split(picks[:cut[-1]], cut[:-1])

    ours = ours.with_columns(  # our rows the channel will list tomorrow: in the last minutes of the day
        pl.when(pl.int_range(pl.len()).is_in(pending))
        .then(pl.lit(day_end.timestamp() * 1_000_000 - window_us // 2).cast(pl.Int64)
              .cast(pl.Datetime("us", "UTC")))
        .otherwise(pl.col("occurred_at")).alias("occurred_at"))
    index = pl.int_range(pl.len())
    changed = ours.with_columns(
        pl.when(index.is_in(amount_off)).then(pl.col("amount_fen") + 1 + index % 99)
        .otherwise(pl.col("amount_fen")).alias("amount_fen"),
        pl.when(index.is_in(fee_off)).then(pl.col("fee_fen") + 1).otherwise(pl.col("fee_fen")).alias("fee_fen"),
    ).select(list(STATEMENT_SCHEMA))
    statement = changed.filter(~index.is_in(np.concatenate([missing_there, pending])))
    extra_amount = rng.integers(100, 500_000, size=n_missing_here)
    strangers = pl.DataFrame({
        "channel": ["wechat"] * n_missing_here,
        "trade_no": [f"4200009999{n:018d}" for n in range(n_missing_here)],
        "refund_no": [""] * n_missing_here,
        "out_trade_no": [f"X{n:012d}" for n in range(n_missing_here)],
        "kind": ["payment"] * n_missing_here,
        "amount_fen": extra_amount,
        "fee_fen": (extra_amount * 6 + 500) // 1000,
        "occurred_at": pl.Series(day_start_us + rng.integers(0, 86_400 * 10**6 - window_us, size=n_missing_here))
        .cast(pl.Datetime("us", "UTC")),
    }, schema=STATEMENT_SCHEMA)
    statement = pl.concat([statement, strangers, changed[dup_statement.tolist()]])
    statement = statement[rng.permutation(statement.height).tolist()]  # the channel's own order
    ours = pl.concat([ours, ours[dup_ours.tolist()]])
    def keys(frame: pl.DataFrame, at) -> list[str]:
        return match_keys(frame[np.asarray(at).tolist()])

    injected = {"missing_here": sorted(keys(strangers, range(n_missing_here))),
                "missing_there": sorted(keys(ours, missing_there)), "amount_mismatch": sorted(keys(ours, amount_off)),
                "fee_mismatch": sorted(keys(ours, fee_off)),
                "duplicate": sorted(keys(ours, dup_statement) + keys(ours, dup_ours))}
    return ours, statement, injected, sorted(keys(ours, pending))


def match_keys(frame):
    import polars as pl

    return frame.select(pl.when(pl.col("kind") == "refund").then(pl.concat_str("trade_no", pl.lit("/"), "refund_no"))
                        .otherwise("trade_no")).to_series().to_list()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="onecity-bench-reconcile-") as directory:
        run(args.rows, Path(directory))


def run(n: int, directory: Path) -> None:
    """Generate, write, time and check; the files live in `directory` (removed afterwards)."""
    setup_django(directory / "var")
    import polars as pl

    from onecity.payments.reconciliation import (
        STATEMENT_SCHEMA,
        read_ours_parquet,
        read_statement_csv,
        reconcile,
        statement_day_end,
        write_ours_parquet,
        write_statement_csv,
    )

    ours, statement, injected, pending_keys = generate(n)
    statement_path, ours_path = directory / "wechat-20261123.csv", directory / "ours-wechat-20261123.parquet"
    write_statement_csv(statement.with_columns(  # as the channel writes it: Beijing time, with offset
        pl.col("occurred_at").dt.convert_time_zone("Asia/Shanghai")), statement_path)
    write_ours_parquet(ours, ours_path)
    statement_rows, ours_rows = statement.height, ours.height
    del ours, statement

    def bare() -> pl.DataFrame:
        return pl.scan_csv(statement_path, schema=STATEMENT_SCHEMA).join(
            pl.scan_parquet(ours_path), on="trade_no", how="full").collect()

    def engine():
        return reconcile(read_statement_csv(statement_path), read_ours_parquet(ours_path),
                         day_end=statement_day_end(DAY))

    bare_times, engine_times, bare_cpu, engine_cpu, result = [], [], [], [], None
    for _round in range(ROUNDS):
        started, cpu = time.perf_counter(), time.process_time()
        bare()
        bare_times.append(time.perf_counter() - started)
        bare_cpu.append(time.process_time() - cpu)
        started, cpu = time.perf_counter(), time.process_time()
        result = engine()
        engine_times.append(time.perf_counter() - started)
        engine_cpu.append(time.process_time() - cpu)
    bare_s, engine_s = min(bare_times), min(engine_times)
    load = os.getloadavg()[0]
    common = {"rows_statement": statement_rows, "rows_ours": ours_rows, "cores": os.cpu_count(),
              "load_avg_1m": round(load, 2), "polars_threads": pl.thread_pool_size()}
    emit("reconcile_seconds", engine_s, "s", engine_s / bare_s, target_s=TARGET_SECONDS * n / 1_000_000,
         all_s=[round(t, 3) for t in engine_times], cpu_s=round(min(engine_cpu), 3),
         cpu_ratio=round(min(engine_cpu) / min(bare_cpu), 3), **common)
    emit("bare_join_seconds", bare_s, "s", None, all_s=[round(t, 3) for t in bare_times],
         cpu_s=round(min(bare_cpu), 3), **common)
    rows = statement_rows + ours_rows
    emit("reconcile_rows_per_s", rows / engine_s, "rows/s", (rows / engine_s) / (rows / bare_s), **common)

    found_keys = {kind: sorted(result.breaks.filter(pl.col("kind") == kind).get_column("key").to_list())
                  for kind in injected}
    pending_found = sorted(match_keys(result.pending_ours))
    found = {kind.value: totals.count for kind, totals in result.summary.breaks.items()}
    found_total, injected_total = result.breaks.height, sum(len(keys) for keys in injected.values())
    exact = found_keys == injected and pending_found == pending_keys and result.pending_statement.height == 0
    emit("reconcile_breaks_found", found_total, "breaks", found_total / injected_total, exact=exact,
         found=found, injected={kind: len(keys) for kind, keys in injected.items()},
         pending=result.summary.pending.count, pending_injected=len(pending_keys),
         matched=result.summary.matched.count)


if __name__ == "__main__":
    main()
