"""Child processes of `onecity serve` and `onecity demo`: the gunicorn web server and the
Huey worker, started with the same Python interpreter as the parent."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

#: Addresses that mean "every interface"; a browser on this machine reaches them on loopback.
WILDCARD_HOSTS = frozenset({"0.0.0.0", "", "::", "[::]"})  # noqa: S104 (names them, binds nothing)


def default_web_workers() -> int:
    """gunicorn's rule of thumb (2 × cores + 1), kept small on SQLite, which has one writer."""
    configured = os.environ.get("ONECITY_WEB_WORKERS")
    if configured:
        return max(1, int(configured))
    cores = os.cpu_count() or 1
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return min(2 * cores + 1, 3)
    return 2 * cores + 1


def gunicorn_argv(*, host: str, port: int, workers: int, threads: int = 4,
                  access_log: str | None = "-") -> list[str]:
    argv = [
        sys.executable, "-m", "gunicorn", "onecity.wsgi:application",
        "--bind", f"{host_for_bind(host)}:{port}",
        "--workers", str(workers),
        "--worker-class", "gthread",
        "--threads", str(threads),
        "--timeout", "60",
        "--graceful-timeout", "20",
        "--error-logfile", "-",
        "--no-control-socket",  # one fixed socket path per user would clash between instances
        # each worker listens on its own SO_REUSEPORT socket and the kernel spreads new
        # connections over them; on one shared socket the first worker to wake accepts every
        # connection of a burst and serves all their keep-alive requests on one core (the GIL)
        "--reuse-port",
    ]
    if access_log:
        argv += ["--access-logfile", access_log]
    return argv


def worker_argv(*, quiet: bool = False) -> list[str]:
    """The Huey consumer, finishing its running jobs on SIGTERM (like gunicorn's workers)."""
    return [sys.executable, "-m", "onecity.cli", "run_huey", "--graceful-signal", "TERM",
            *(["--quiet"] if quiet else [])]


def child_start(argv: list[str], *, env: dict[str, str]) -> subprocess.Popen:
    """Start a child in its own process group, so a Ctrl-C in the terminal reaches only the
    parent, which then stops its children in order. On Linux the child also gets SIGTERM
    should the parent die without stopping it (no orphaned servers)."""
    return subprocess.Popen(argv, env=env, process_group=0, preexec_fn=_die_with_parent)


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def host_for_bind(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def loopback_for(host: str) -> str:
    if host in WILDCARD_HOSTS:
        return "::1" if ":" in host else "127.0.0.1"
    return host.strip("[]")


def browser_host(host: str) -> str:
    """How a browser on this machine writes the host in a URL."""
    if host in WILDCARD_HOSTS:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def wait_listening(host: str, port: int, *, timeout: float, alive) -> bool:
    """Wait until the server answers an HTTP request (any status) on host:port; give up early
    when `alive()` says the server process has died. A full request, not a bare connection:
    a connection left without a request would hold a worker's graceful shutdown."""
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return False
        connection = http.client.HTTPConnection(loopback_for(host), port, timeout=5)
        try:
            connection.request("GET", "/healthz", headers={"Connection": "close"})
            connection.getresponse().read()
            return True
        except OSError:
            time.sleep(0.3)
        finally:
            connection.close()
    return False


STATIC_FINGERPRINT = ".onecity-sources"


def static_sources_fingerprint() -> str:
    """A digest of every static source file's path, size and modification time."""
    from django.contrib.staticfiles.finders import get_finders

    digest = hashlib.sha256()
    for finder in get_finders():
        for path, storage in finder.list(["CVS", ".*", "*~"]):
            stat = os.stat(storage.path(path))
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def static_collect() -> bool:
    """collectstatic, skipped when no static source changed since the last collection
    (hashing and compressing thousands of icon files takes a while). Returns True when it ran."""
    root = Path(settings.STATIC_ROOT)
    marker = root / STATIC_FINGERPRINT
    fingerprint = static_sources_fingerprint()
    manifest_present = (root / "staticfiles.json").exists() or not hasattr(
        _static_storage(), "manifest_name")
    if manifest_present and marker.exists() and marker.read_text() == fingerprint:
        return False
    call_command("collectstatic", interactive=False, verbosity=0)
    root.mkdir(parents=True, exist_ok=True)
    marker.write_text(fingerprint)
    return True


def _static_storage():
    from django.contrib.staticfiles.storage import staticfiles_storage

    return staticfiles_storage
