"""Shared benchmark plumbing: JSON result lines, an isolated OneCity instance, a production-
style server on loopback and a bounded concurrent HTTP load generator."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
ONECITY = str(Path(sys.executable).with_name("onecity"))


def emit(name: str, value: float, unit: str, ratio: float | None, **extra) -> None:
    line = {"name": name, "value": round(value, 3), "unit": unit,
            "ratio": None if ratio is None else round(ratio, 3), **extra}
    print(json.dumps(line, ensure_ascii=False), flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def isolated_env(**overrides: str) -> dict[str, str]:
    """Environment for a throw-away OneCity instance: its own var/ (SQLite, keys, queue)."""
    var = tempfile.mkdtemp(prefix="onecity-bench-")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({"ONECITY_VAR_DIR": var, "DJANGO_SETTINGS_MODULE": "onecity.settings",
                "ONECITY_LOG_LEVEL": "WARNING"})
    env.update(overrides)
    return env


def run_onecity(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([ONECITY, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"onecity {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@contextlib.contextmanager
def served(env: dict[str, str], port: int, workers: int, threads: int = 4) -> Iterator[str]:
    """`onecity serve` (gunicorn + WhiteNoise, as in production) on 127.0.0.1:port, `workers`
    processes × `threads` threads."""
    log = open(Path(env["ONECITY_VAR_DIR"]) / "serve.log", "w")  # noqa: SIM115 - closed below
    run_onecity(env, "manage", "collectstatic", "--noinput", "--verbosity", "0")
    proc = subprocess.Popen([ONECITY, "serve", "--port", str(port), "--workers", str(workers), "--threads", str(threads),
                             "--no-collectstatic"],
                            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=60) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("server did not start; see " + log.name) from None
                time.sleep(0.2)
        yield base
    finally:
        _stop(proc)
        log.close()


@contextlib.contextmanager
def worker(env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """`onecity worker` (the task queue's consumer), as in production, for the run's duration."""
    log = open(Path(env["ONECITY_VAR_DIR"]) / "worker.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([ONECITY, "worker"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        _stop(proc)
        log.close()


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    @classmethod
    def merge(cls, parts: list[LoadResult]) -> LoadResult:
        return cls(sum(p.requests for p in parts), sum(p.errors for p in parts), sum(p.seconds for p in parts),
                   [ms for p in parts for ms in p.latencies_ms])

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)


def load(base: str, make_request: Callable[[int], tuple[str, str, dict]], total: int, concurrency: int,
         ok: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200,
         rate: float | None = None) -> LoadResult:
    """Send `total` requests with `concurrency` clients, each on its own keep-alive
    connection; request i is make_request(i) = (method, path, httpx keyword arguments).
    Bounded in count, stops by itself.

    Without `rate` the clients are closed-loop: each sends its next request as soon as the
    last one answers, which saturates the server (throughput; latency then is only
    concurrency / throughput). With `rate` (requests/s in all) each client sends on its own
    schedule, 1/(rate/concurrency) s apart, late or not: the latency users see at that load."""

    async def run() -> LoadResult:
        latencies: list[float] = []
        errors = 0
        counter = iter(range(total))
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

            interval = concurrency / rate if rate else 0.0

            async def worker(offset: float) -> None:
                nonlocal errors
                due = time.perf_counter() + offset
                for i in counter:
                    if interval:
                        delay = due - time.perf_counter()
                        if delay > 0:
                            await asyncio.sleep(delay)
                        due += interval
                    method, path, kwargs = make_request(i)
                    started = time.perf_counter()
                    try:
                        response = await client.request(method, path, **kwargs)
                    except httpx.TransportError:  # dropped connection: an error, not a crash
                        errors += 1
                        continue
                    latencies.append((time.perf_counter() - started) * 1000)
                    if not ok(response):
                        errors += 1

            started = time.perf_counter()
            await asyncio.gather(*(worker(interval * n / concurrency) for n in range(concurrency)))
            return LoadResult(total, errors, time.perf_counter() - started, latencies)

    return asyncio.run(run())
