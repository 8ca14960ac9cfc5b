"""Crash test of the channel notifications (issue 4, decision 0017): the real server is killed
during a storm of notifications, restarted, every notification is delivered again (channels
retry whatever they did not see acknowledged, and re-send the rest too) and the job for rows
stored but never processed runs; then every bill is paid exactly once and the ledger balances.

The OneCity instance is a throw-away one: its own var/ directory (SQLite database, channel
sandbox keys) — and, when PostgreSQL answers on 127.0.0.1:5432, the same again on a fresh
database. The steps that need Django (migrate, seed, sign, reprocess, check) run in a
subprocess against that instance: this file run as a script (`python test_payments_crash.py
<step>`), so the test process never touches the instance's database itself.

    seed       migrate; 4 payee units, one resident, N bills each with a pending attempt (the
               four channels in turn); each channel's sandbox signs the "paid" notification of
               each attempt (written to a JSON file); the first one is also stored raw and left
               unprocessed, as a crash between storing and processing leaves it
    serve      `onecity serve` (gunicorn, 2 workers × 4 threads) in its own process group, and
               `onecity worker` (the task queue's consumer, which applies the verified
               notifications the endpoint stored) in the same group
    storm      8 threads POST the notifications; once a third are acknowledged the whole
               process group gets SIGKILL, mid-request for some and mid-batch for the applier
    restart    `onecity serve` and `onecity worker` again (on a fresh port: the old one may
               still hold TIME_WAIT connections), every notification POSTed again, all
               acknowledged
    reprocess  notifications_process_pending for every row still `received`
    check      bills, attempts, notification rows; `onecity ledger verify`

No sleeps: readiness is a bounded loop of connection attempts, paced by waiting on the server
process (which also notices a server that died).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
ONECITY = str(Path(sys.executable).with_name("onecity"))
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
BILLS = 120
AMOUNT = 8_800
PAYEES = 4
CLIENTS = 8


# --- the steps run inside the instance (a subprocess with its environment) -----------------------

def _seed(n: int, out: str) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from onecity.payments.services.notifications import notification_receive
    from onecity.payments.tests.support import pending_attempts_bulk, sandbox_notifications

    attempts = pending_attempts_bulk(n, payees=PAYEES, amount_fen=AMOUNT, tag="C")
    signed = [{"channel": channel, "headers": headers, "body": base64.b64encode(body).decode()}
              for channel, headers, body in sandbox_notifications(
                  [(a.channel, a.public_id) for a in attempts], amount_fen=AMOUNT, tag="C")]
    first = signed[0]
    notification_receive(channel=first["channel"], headers=first["headers"], body=base64.b64decode(first["body"]),
                         remote_addr="127.0.0.1")
    Path(out).write_text(json.dumps(signed))


def _reprocess() -> None:
    import datetime as dt

    from onecity.payments.services.notifications import notifications_process_pending

    print(json.dumps({"reprocessed": notifications_process_pending(older_than=dt.timedelta(0))}))


def _check() -> None:
    from django.db.models import Count, F, Q

    from onecity.ledger.selectors import ledger_trial_balance
    from onecity.payments.models import Bill, ChannelNotification, PaymentAttempt

    trial = ledger_trial_balance()
    per_bill = Bill.objects.annotate(succeeded=Count("attempts", filter=Q(attempts__state="succeeded")))
    results = dict(ChannelNotification.objects.values_list("result").annotate(n=Count("id")).order_by("result"))
    print(json.dumps({
        "bills": Bill.objects.count(),
        "bills_paid_in_full": Bill.objects.filter(state="paid", paid_fen=F("amount_fen")).count(),
        "bills_one_success": per_bill.filter(succeeded=1).count(),
        "attempts_succeeded": PaymentAttempt.objects.filter(state="succeeded").count(),
        "excess_fen": sum(PaymentAttempt.objects.values_list("excess_fen", flat=True)),
        "processed_events": ChannelNotification.objects.filter(result="processed").values("dedupe_key")
        .distinct().count(),
        "results": results,
        "unverified": ChannelNotification.objects.filter(verified=False).count(),
        "balanced": trial.balanced,
        "debits_posted": sum(line.debits_posted for line in trial.lines),
        "credits_posted": sum(line.credits_posted for line in trial.lines),
    }))


def _main(argv: list[str]) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    step = argv[0]
    if step == "seed":
        _seed(int(argv[1]), argv[2])
    elif step == "reprocess":
        _reprocess()
    elif step == "check":
        _check()
    else:
        raise SystemExit(f"unknown step {step}")


# --- the test ----------------------------------------------------------------------------------

def _step(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, __file__, *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          check=False, timeout=300)
    assert done.returncode == 0, f"step {args[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ready(proc: subprocess.Popen, port: int, log: Path) -> None:
    """Bounded: up to 120 connection attempts, each paced by half a second of waiting on the
    server process (which returns at once if it died)."""
    for _attempt in range(120):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        try:
            proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            continue
        break
    raise AssertionError(f"the server did not answer on port {port}:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def _server(env: dict[str, str], port: int) -> Iterator[subprocess.Popen]:
    log = Path(env["ONECITY_VAR_DIR"]) / f"serve-{port}.log"
    with open(log, "w") as out:
        # the applier (a task queue consumer) lives and dies with the server: one process group
        command = f"{shlex.quote(ONECITY)} worker & exec {shlex.quote(ONECITY)} serve --port {port} --workers 2 " \
                  "--no-collectstatic"
        proc = subprocess.Popen(["/bin/sh", "-c", command], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            _ready(proc, port, log)
            yield proc
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def _deliver(base: str, signed: list[dict], *, stop_after: int | None = None,
             on_stop=None) -> tuple[set[int], int]:
    """POST every notification from CLIENTS threads; (indexes acknowledged, transport errors).
    With stop_after, on_stop() runs (once) when that many were acknowledged. Any answer but
    the channel's success fails the test."""
    acknowledged: set[int] = set()
    refused: list[tuple[int, int, str]] = []
    errors = 0
    lock = threading.Lock()
    queue = iter(range(len(signed)))
    stopped = threading.Event()

    def client() -> None:
        nonlocal errors
        with httpx.Client(base_url=base, timeout=60) as http:
            while True:
                with lock:
                    i = next(queue, None)
                if i is None:
                    return
                note = signed[i]
                try:
                    response = http.post(f"/pay/notify/{note['channel']}/", headers=note["headers"],
                                         content=base64.b64decode(note["body"]))
                except httpx.TransportError:
                    with lock:
                        errors += 1
                    continue
                with lock:
                    if response.status_code not in (200, 204):
                        refused.append((i, response.status_code, response.text[:200]))
                        continue
                    acknowledged.add(i)
                    fire = stop_after is not None and len(acknowledged) >= stop_after and not stopped.is_set()
                    if fire:
                        stopped.set()
                if fire:
                    on_stop()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    assert refused == []
    return acknowledged, errors


def _pg_up() -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", 5432)) == 0


ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(not _pg_up(),
                                                                        reason="no PostgreSQL on 127.0.0.1:5432"))]


@pytest.mark.live
@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                    reason="runs its own instances (SQLite, and PostgreSQL when it answers) in `make pytest`")
@pytest.mark.parametrize("engine", ENGINES)
def test_server_killed_mid_storm_then_redelivery_pays_every_bill_once(engine):
    var = tempfile.mkdtemp(prefix="onecity-crash-")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update({"ONECITY_VAR_DIR": var, "DJANGO_SETTINGS_MODULE": "onecity.settings", "ONECITY_LOG_LEVEL": "WARNING",
                "ONECITY_PAYMENTS_SANDBOX": "1", "ONECITY_HUEY_IMMEDIATE": "0", "ONECITY_WEB_WORKERS": "2"})
    database = f"onecity_crash_{uuid.uuid4().hex[:12]}"
    if engine == "postgresql":
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {database}")
        env["DATABASE_URL"] = f"{PG_SERVER}/{database}"
    try:
        signed_path = Path(var) / "signed.json"
        _step(env, "seed", str(BILLS), str(signed_path))
        signed = json.loads(signed_path.read_text())

        port = _free_port()
        with _server(env, port) as first:
            acknowledged, errors = _deliver(f"http://127.0.0.1:{port}", signed, stop_after=BILLS // 3,
                                            on_stop=lambda: os.killpg(first.pid, signal.SIGKILL))
            assert first.wait(timeout=30) == -signal.SIGKILL
        # the kill came mid-storm: some notifications were never acknowledged
        assert BILLS // 3 <= len(acknowledged) < BILLS
        assert errors == BILLS - len(acknowledged)

        port = _free_port()
        with _server(env, port):
            acknowledged_again, errors_again = _deliver(f"http://127.0.0.1:{port}", signed)
        assert (len(acknowledged_again), errors_again) == (BILLS, 0)

        reprocessed = json.loads(_step(env, "reprocess"))["reprocessed"]
        assert reprocessed >= 1  # at least the row stored before the "crash" in seed
        state = json.loads(_step(env, "check"))
        results = state.pop("results")
        assert state == {"bills": BILLS, "bills_paid_in_full": BILLS, "bills_one_success": BILLS,
                         "attempts_succeeded": BILLS, "excess_fen": 0, "processed_events": BILLS, "unverified": 0,
                         "balanced": True, "debits_posted": BILLS * AMOUNT, "credits_posted": BILLS * AMOUNT}
        # every stored row was decided: one processed per event, the other deliveries duplicates
        assert set(results) <= {"processed", "duplicate"}
        assert results["processed"] == BILLS
        assert results.get("duplicate", 0) >= 1 + len(acknowledged)

        verify = subprocess.run([ONECITY, "ledger", "verify"], env=env, cwd=ROOT, capture_output=True, text=True,
                                check=False, timeout=120)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        report = json.loads(verify.stdout)
        assert report["ok"] is True
        assert report["mismatches"] == []
        assert report["trial_balance"]["balanced"] is True
    finally:
        import shutil

        shutil.rmtree(var, ignore_errors=True)
        if engine == "postgresql":
            import psycopg

            with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


if __name__ == "__main__":
    _main(sys.argv[1:])
