"""bench.ledger — transfers posted per second, single and bulk, on SQLite and on PostgreSQL.

For each engine, in one run and one database:

1. single: `transfer_post` through the service, one transfer per call (each its own
   transaction: idempotency check by unique id, conditional balance UPDATEs of both accounts,
   the integrity triggers), beside a plain single-row INSERT of the same rows, one per
   transaction, into an unconstrained table (`ratio` = service / plain INSERT).
2. bulk: `transfers_post_bulk` (the fast path) over N transfers in batches, beside a plain
   executemany INSERT of the same rows in the same batches into the unconstrained table
   (`ratio` = bulk / plain INSERT). Target: at least 30,000 transfers/s on SQLite and a ratio of
   at least 0.3; the `target_met` field says whether this run met it.

The unconstrained table is an ordinary table (no key, index, constraint or trigger) in the same
database, so both sides pay the same durability (WAL, fsync); a TEMP table would skip the
write-ahead log on PostgreSQL and compare durability rather than ledger work. The rows are
transit-like: fares from 1,000 resident wallets (topped up first) to 20 payees.

SQLite runs in a throw-away var/ directory (WAL, synchronous=NORMAL, as deployed). PostgreSQL
runs when 127.0.0.1:5432 answers, in a database of its own (`bench_ledger`, dropped and created
again; ONECITY_BENCH_PG_URL overrides the server), in a child process.

    .venv/bin/python -m bench.ledger [--transfers 100000] [--batch 10000] [--single 2000] [--engine sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import emit  # noqa: E402

BULK_TARGET = 30_000.0  # transfers/s on SQLite
RATIO_TARGET = 0.3
PG_SERVER = os.environ.get("ONECITY_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
PG_DB = "bench_ledger"
WALLETS, PAYEES = 1_000, 20

PLAIN_TABLE = """CREATE TABLE bench_plain_transfer (
    transfer_id varchar(64), kind varchar(16), debit_account_id bigint, credit_account_id bigint, amount bigint,
    currency varchar(3), code varchar(32), batch_id varchar(64), memo varchar(200), metadata {json},
    actor varchar(80), created_at {ts})"""
PLAIN_INSERT = ("INSERT INTO bench_plain_transfer (transfer_id, kind, debit_account_id, credit_account_id, amount, "
                "currency, code, batch_id, memo, metadata, actor, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")


def setup_django(database_url: str | None) -> None:
    var = tempfile.mkdtemp(prefix="onecity-bench-ledger-")
    for key in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(key, None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.update({"ONECITY_VAR_DIR": var, "DJANGO_SETTINGS_MODULE": "onecity.settings",
                       "ONECITY_LOG_LEVEL": "WARNING"})
    import django

    django.setup()
    from django.core.management import call_command

    for app in ("core", "ledger"):  # the ledger and the audit table it writes to
        call_command("migrate", app, interactive=False, verbosity=0)


def pg_answers() -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", 5432)) == 0


def pg_recreate() -> str:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
        conn.execute(f"CREATE DATABASE {PG_DB}")
    return f"{PG_SERVER}/{PG_DB}"


def run(engine: str, transfers: int, batch: int, single: int) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from onecity.ledger import services
    from onecity.ledger.dto import TransferRow
    from onecity.ledger.enums import AccountKind
    from onecity.ledger.models import Account

    clearing = services.account_open(kind=AccountKind.CHANNEL_CLEARING, owner="channel:bench").public_id
    wallets = [services.account_open(kind=AccountKind.RESIDENT_WALLET, owner=f"user:w{i}").public_id
               for i in range(WALLETS)]
    payees = [services.account_open(kind=AccountKind.PAYEE_PAYABLE, owner=f"org:p{i}").public_id
              for i in range(PAYEES)]
    services.transfers_post_bulk([TransferRow(transfer_id=f"topup-{i}", debit=clearing, credit=w,
                                              amount=10**9, code="wallet_topup") for i, w in enumerate(wallets)])
    pks = dict(Account.objects.values_list("public_id", "pk"))
    json_type, ts_type = ("jsonb", "timestamptz") if connection.vendor == "postgresql" else ("text", "datetime")
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_plain_transfer")
        cursor.execute(PLAIN_TABLE.format(json=json_type, ts=ts_type))

    def rows(prefix: str, n: int) -> list[TransferRow]:
        return [TransferRow(transfer_id=f"{prefix}-{i}", debit=wallets[i % WALLETS], credit=payees[i % PAYEES],
                            amount=200 + i % 300, code="transit_fare") for i in range(n)]

    def plain(batch_rows: list[TransferRow], batch_id: str) -> list[tuple]:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        return [(r.transfer_id, "posted", pks[r.debit], pks[r.credit], r.amount, "CNY", r.code, batch_id, r.memo,
                 connection.ops.adapt_json_value(r.metadata, None), "", now) for r in batch_rows]

    # 1. single transfers
    one_by_one = rows("single", single)
    started = time.perf_counter()
    for r in one_by_one:
        services.transfer_post(transfer_id=r.transfer_id, debit=r.debit, credit=r.credit, amount=r.amount,
                               code=r.code)
    service_rate = single / (time.perf_counter() - started)
    baseline_rows = rows("single-plain", single)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for params in plain(baseline_rows, ""):
            with transaction.atomic():
                cursor.execute(PLAIN_INSERT, params)
    plain_rate = single / (time.perf_counter() - started)
    emit(f"ledger_single_plain_insert_{engine}", plain_rate, "transfers/s", None, transfers=single)
    emit(f"ledger_single_post_{engine}", service_rate, "transfers/s", service_rate / plain_rate, transfers=single)

    # 2. bulk
    bulk_rows = rows("bulk", transfers)
    batches = [bulk_rows[i:i + batch] for i in range(0, transfers, batch)]
    started = time.perf_counter()
    for n, chunk in enumerate(batches):
        result = services.transfers_post_bulk(chunk, batch_id=f"bench-{n}")
        assert result.posted == len(chunk)
    bulk_rate = transfers / (time.perf_counter() - started)
    plain_batches = [[TransferRow(transfer_id=f"plain-{r.transfer_id}", debit=r.debit, credit=r.credit,
                                  amount=r.amount, code=r.code) for r in chunk] for chunk in batches]
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for n, chunk in enumerate(plain_batches):
            with transaction.atomic():
                cursor.executemany(PLAIN_INSERT, plain(chunk, f"plain-{n}"))
    plain_bulk_rate = transfers / (time.perf_counter() - started)
    ratio = bulk_rate / plain_bulk_rate
    emit(f"ledger_bulk_plain_insert_{engine}", plain_bulk_rate, "transfers/s", None, transfers=transfers,
         batch=batch)
    extra = {"target_met": bulk_rate >= BULK_TARGET and ratio >= RATIO_TARGET} if engine == "sqlite" else {
        "ratio_target_met": ratio >= RATIO_TARGET}
    emit(f"ledger_bulk_post_{engine}", bulk_rate, "transfers/s", ratio, transfers=transfers, batch=batch, **extra)

    from onecity.ledger.selectors import ledger_verify

    report = ledger_verify()
    emit(f"ledger_verify_{engine}", float(report.transfers), "transfers", None, ok=report.ok,
         mismatches=len(report.mismatches))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_plain_transfer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transfers", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=2_000)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default=None,
                        help="one engine only (default: SQLite, then PostgreSQL when it answers)")
    args = parser.parse_args()
    sizes = ["--transfers", str(args.transfers), "--batch", str(args.batch), "--single", str(args.single)]
    if args.engine == "postgresql":
        setup_django(os.environ.get("ONECITY_BENCH_DATABASE_URL") or pg_recreate())
        run("postgresql", args.transfers, args.batch, args.single)
        return
    setup_django(None)
    run("sqlite", args.transfers, args.batch, args.single)
    if args.engine == "sqlite":
        return
    if not pg_answers():
        emit("ledger_postgresql", 0.0, "skipped", None, reason="PostgreSQL is not answering on 127.0.0.1:5432")
        return
    env = {**os.environ, "ONECITY_BENCH_DATABASE_URL": pg_recreate()}
    done = subprocess.run([sys.executable, "-m", "bench.ledger", "--engine", "postgresql", *sizes], env=env,
                          cwd=ROOT, check=False)
    if done.returncode:
        raise SystemExit(done.returncode)


if __name__ == "__main__":
    main()
