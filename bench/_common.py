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
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

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
        for child in _children(proc.pid):  # every web worker has loaded the application and warmed up
            _settled(child)
        yield base
    finally:
        _stop(proc)
        log.close()


@contextlib.contextmanager
def worker(env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """`onecity worker` (the task queue's consumer), as in production, for the run's duration.
    Yields once the consumer has started and settled (its start-up — imports, the periodic
    jobs' first turn — takes a core for a few seconds, which would slow whatever is measured
    first)."""
    log = open(Path(env["ONECITY_VAR_DIR"]) / "worker.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([ONECITY, "worker"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        _settled(proc.pid)
        yield proc
    finally:
        _stop(proc)
        log.close()


def _children(pid: int) -> list[int]:
    """The child processes of `pid` (Linux /proc), as pids."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _cpu_ticks(pid: int) -> int:
    """User + system CPU time of process `pid` in clock ticks (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _settled(pid: int, quiet_ticks: int = 2, window: float = 0.5, limit: float = 60.0) -> None:
    """Wait until process `pid` used at most `quiet_ticks` clock ticks of CPU in `window` seconds
    (or `limit` seconds passed, or it exited)."""
    deadline = time.perf_counter() + limit
    try:
        last = _cpu_ticks(pid)
        while time.perf_counter() < deadline:
            time.sleep(window)
            now = _cpu_ticks(pid)
            if now - last <= quiet_ticks:
                return
            last = now
    except FileNotFoundError:  # it exited
        return


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


@dataclass(frozen=True)
class Response:
    """What the load generator read back: the status, the headers (lower-case names) and the body."""

    status_code: int
    headers: dict[str, str]
    content: bytes

    def json(self):
        return json.loads(self.content)


def _request_bytes(method: str, path: str, host: str, kwargs: dict) -> bytes:
    """One HTTP/1.1 keep-alive request as bytes: `kwargs` may hold `headers`, `content` (bytes or
    str) or `data` (a form, URL-encoded)."""
    headers = {"Host": host, "User-Agent": "onecity-bench", "Accept": "*/*", **kwargs.get("headers", {})}
    body = kwargs.get("content", b"")
    if "data" in kwargs:
        body = urllib.parse.urlencode(kwargs["data"])
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    if isinstance(body, str):
        body = body.encode()
    if body or method not in ("GET", "HEAD"):
        headers["Content-Length"] = str(len(body))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[Response, bool]:
    """The next response on a keep-alive connection, and whether the server keeps it open."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        if line:
            name, _sep, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        await reader.readuntil(b"\r\n")
        content = b"".join(chunks)
    else:
        content = await reader.readexactly(int(headers.get("content-length", "0")))
    keep = headers.get("connection", "").lower() != "close"
    return Response(int(status_line.split(" ", 2)[1]), headers, content), keep


def load(base: str, make_request: Callable[[int], tuple[str, str, dict]], total: int, concurrency: int,
         ok: Callable[[Response], bool] = lambda r: r.status_code == 200,
         rate: float | None = None) -> LoadResult:
    """Send `total` requests with `concurrency` clients, each on its own keep-alive
    connection; request i is make_request(i) = (method, path, keyword arguments: `headers`,
    `content` or `data`). Bounded in count, stops by itself.

    The clients speak HTTP/1.1 over asyncio streams with requests built as bytes, not through
    an HTTP library: on a 2-core machine httpx's client took a whole core for 480 requests/s,
    so it measured itself as much as the server; h11's state machine alone still cost twice the
    client CPU of this parser (0.32–0.36 against 0.15–0.19 ms a request on GET /healthz).

    Without `rate` the clients are closed-loop: each sends its next request as soon as the
    last one answers, which saturates the server (throughput; latency then is only
    concurrency / throughput). With `rate` (requests/s in all) each client sends on its own
    schedule, 1/(rate/concurrency) s apart, late or not: the latency users see at that load."""
    address = urllib.parse.urlsplit(base)
    host, port = address.hostname, address.port or 80
    host_header = address.netloc

    async def run() -> LoadResult:
        latencies: list[float] = []
        errors = 0
        counter = iter(range(total))
        interval = concurrency / rate if rate else 0.0

        async def worker(offset: float) -> None:
            nonlocal errors
            due = time.perf_counter() + offset
            connection = None
            for i in counter:
                if interval:
                    delay = due - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    due += interval
                method, path, kwargs = make_request(i)
                request = _request_bytes(method, path, host_header, kwargs)
                started = time.perf_counter()
                try:
                    if connection is None:
                        connection = await asyncio.open_connection(host, port)
                    reader, writer = connection
                    writer.write(request)
                    response, keep = await asyncio.wait_for(_read_response(reader), timeout=30)
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
                    errors += 1  # dropped connection or garbled answer: an error, not a crash
                    if connection is not None:
                        connection[1].close()
                    connection = None
                    continue
                latencies.append((time.perf_counter() - started) * 1000)
                if not keep:
                    writer.close()
                    connection = None
                if not ok(response):
                    errors += 1
            if connection is not None:
                connection[1].close()

        started = time.perf_counter()
        await asyncio.gather(*(worker(interval * n / concurrency) for n in range(concurrency)))
        return LoadResult(total, errors, time.perf_counter() - started, latencies)

    return asyncio.run(run())
