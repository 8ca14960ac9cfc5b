"""bench.payment_notify — verified channel notifications processed per second, end to end.

A throw-away OneCity instance (its own var/: SQLite, keys, channel sandbox keys), migrated; 32
payee units, one resident, N bills (spread over the units) each with a pending payment attempt, the channels mixed evenly
(city wallet, Alipay, WeChat Pay, UnionPay). Just before the load, each channel's sandbox signs a
"paid" notification for each attempt, exactly as that channel posts it (Ed25519 JSON, RSA2 form,
RSA-signed and AES-GCM-encrypted JSON, certificate-chained RSA form) with keys the served
instance verifies against. Then `onecity serve` (gunicorn, as in production) on loopback gets
them all as POST /pay/notify/<channel>/ from concurrent keep-alive clients: every one is
verified, stored raw and answered with the channel's success reply; `onecity worker` (the task
queue's consumer, as in production) applies them in batches (attempt succeeded, bill paid, bill
event, audit row, ledger transfer). The clock runs from the first POST until the last
notification is applied (the database polled every 20 ms). Afterwards the database is checked:
N attempts succeeded, N bills paid, N notifications processed, the ledger balanced with N × amount.

Same-run baselines: (1) GET /healthz on the same server with the same clients (the floor of a
request through gunicorn and the middleware) — `ratio` = notifications/s ÷ that; (2) the
verification alone, in-process, on one core (what the signatures cost).

With `--engine postgresql` the instance runs on a fresh database `onecity_bench_notify` on
127.0.0.1:5432 (ONECITY_BENCH_PG_URL for another server), dropped afterwards: web workers then
write in parallel instead of taking turns on SQLite's one writer. The var/ directory is removed
afterwards.

    .venv/bin/python -m bench.payment_notify [--notifications N] [--concurrency C] [--workers W]
                                             [--threads T]
                                             [--engine sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import emit, free_port, isolated_env, load, run_onecity, served, worker  # noqa: E402

PG_SERVER = os.environ.get("ONECITY_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
PG_DB = "onecity_bench_notify"
TARGET = 500.0  # verified notifications/s
AMOUNT = 12_345
PAYEES = 32  # bills spread over payee units as in the demo city (each has its own ledger payable)


def setup(env: dict[str, str], n: int) -> list[tuple[str, str]]:
    """Migrate, then N bills with a pending attempt each; returns (channel, attempt id)."""
    run_onecity(env, "manage", "migrate", "--verbosity", "0")
    os.environ.update(env)
    import django

    django.setup()
    from onecity.payments.tests.support import pending_attempts_bulk

    attempts = pending_attempts_bulk(n, payees=PAYEES, amount_fen=AMOUNT, tag="N")
    return [(a.channel, a.public_id) for a in attempts]


def sign_all(attempts: list[tuple[str, str]]) -> list[tuple[str, dict[str, str], bytes]]:
    from onecity.payments.tests.support import sandbox_notifications

    return sandbox_notifications(attempts, amount_fen=AMOUNT, tag="B")


def verify_alone(signed) -> float:
    from onecity.payments.gateways import sandbox_client

    started = time.process_time()
    for channel, headers, body in signed:
        sandbox_client(channel).verifier().verify(headers, body)
    return len(signed) / (time.process_time() - started)


def processed() -> int:
    from onecity.payments.models import ChannelNotification

    return ChannelNotification.objects.filter(result="processed").count()


def wait_applied(n: int, timeout: float = 120) -> float:
    """The moment (perf_counter) the N-th notification was applied."""
    from django.db import connection

    deadline = time.perf_counter() + timeout
    while processed() < n:
        connection.close()  # a fresh snapshot each time
        if time.perf_counter() > deadline:
            raise RuntimeError(f"only {processed()} of {n} notifications applied after {timeout:.0f} s")
        time.sleep(0.02)
    return time.perf_counter()


def check(n: int) -> dict:
    from onecity.ledger.selectors import ledger_trial_balance
    from onecity.payments.models import Bill, ChannelNotification, PaymentAttempt

    trial = ledger_trial_balance()
    return {"attempts_succeeded": PaymentAttempt.objects.filter(state="succeeded").count(),
            "bills_paid": Bill.objects.filter(state="paid").count(),
            "notifications_processed": ChannelNotification.objects.filter(result="processed").count(),
            "ledger_balanced": trial.balanced,
            "ledger_posted_fen": sum(line.debits_posted for line in trial.lines),
            "expected": {"rows": n, "fen": n * AMOUNT}}


def pg_database(action: str) -> str:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        if action == "create":
            conn.execute(f"CREATE DATABASE {PG_DB}")
    return f"{PG_SERVER}/{PG_DB}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    n = args.notifications

    extra = {"DATABASE_URL": pg_database("create")} if args.engine == "postgresql" else {}
    env = isolated_env(ONECITY_PAYMENTS_SANDBOX="1", ONECITY_HUEY_IMMEDIATE="0", **extra)
    try:
        measure(args, env, n)
    finally:
        from django.db import connections

        connections.close_all()
        if args.engine == "postgresql":
            pg_database("drop")
        shutil.rmtree(env["ONECITY_VAR_DIR"], ignore_errors=True)


def measure(args, env: dict[str, str], n: int) -> None:
    attempts = setup(env, n)
    with served(env, free_port(), args.workers, args.threads) as base, worker(env):
        healthz = load(base, lambda i: ("GET", "/healthz", {}), total=n, concurrency=args.concurrency)
        signed = sign_all(attempts)
        # warm-up is the first few requests of the run itself: each worker loads its channel keys once
        started = time.perf_counter()
        result = load(base, lambda i: ("POST", f"/pay/notify/{signed[i][0]}/",
                                       {"headers": signed[i][1], "content": signed[i][2]}),
                      total=n, concurrency=args.concurrency, ok=lambda r: r.status_code in (200, 204))
        applied_at = wait_applied(n)
    verified_alone = verify_alone(signed)
    outcome = check(n)
    rate = n / (applied_at - started)
    emit("payment_notify.healthz_baseline", healthz.rps, "req/s", None, concurrency=args.concurrency,
         workers=args.workers, errors=healthz.errors)
    emit("payment_notify.verify_alone", verified_alone, "notifications/s per CPU second", None,
         note="signature checks only, in-process, one core")
    emit("payment_notify.acknowledged", result.rps, "notifications/s", result.rps / healthz.rps,
         note="answered by the endpoint (verified and stored)", p50_ms=round(result.p50, 2),
         p95_ms=round(result.percentile(95), 2), errors=result.errors)
    emit("payment_notify", rate, "notifications/s", rate / healthz.rps, target=TARGET, target_met=rate >= TARGET,
         notifications=n, errors=result.errors, applied_after_last_answer_ms=round(
             (applied_at - started - result.seconds) * 1000, 1),
         mix="even: city_wallet, alipay, wechat, unionpay", payees=PAYEES, database=args.engine,
         concurrency=args.concurrency, workers=args.workers, threads=args.threads, check=outcome)


if __name__ == "__main__":
    main()
