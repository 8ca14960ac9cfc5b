"""`onecity demo` as a developer meets it: it prepares an empty database, serves the city with
a worker beside it, and stops both cleanly on SIGTERM."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import urllib.request

import pytest

from onecity.demo.processes import port_free

STARTUP_TIMEOUT = 240  # migrations, the small seed and collectstatic on a busy 2-core machine


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30) as response:  # loopback only
        return response.status, response.read().decode("utf-8")


@pytest.mark.live
@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                    reason="the demo runs on its own SQLite file; the SQLite pass covers it")
def test_demo_serves_the_city_and_stops_cleanly(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "ONECITY_HUEY_IMMEDIATE", "ONECITY_DEV_INBOX",
                        "ONECITY_BASE_URL"}}
    env.update(ONECITY_VAR_DIR=str(tmp_path / "var"), ONECITY_PLAIN_STATIC="1", PYTHONUNBUFFERED="1")
    demo = subprocess.Popen([sys.executable, "-m", "onecity.cli", "demo", "--port", str(port), "--small"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in demo.stdout], daemon=True).start()
    output: list[str] = []
    try:
        while not any("Press Ctrl-C" in line for line in output):
            try:
                output.append(lines.get(timeout=STARTUP_TIMEOUT))
            except queue.Empty:
                pytest.fail("the demo did not start:\n" + "".join(output))
            assert demo.poll() is None, "".join(output)
        text = "".join(output)
        assert "13800138000" in text and "Demo@2026" in text
        for account in ("operator", "dispatcher", "handler", "supervisor", "reviewer", "cashier", "auditor",
                        "admin"):
            assert f" {account} " in text
        assert f"http://127.0.0.1:{port}/notifications/dev/sms/" in text

        status, body = _get(f"http://127.0.0.1:{port}/")
        assert status == 200 and 'lang="zh-Hans"' in body
        status, body = _get(f"http://127.0.0.1:{port}/api/v1/openapi.json")
        assert status == 200 and '"openapi"' in body
        status, _ = _get(f"http://127.0.0.1:{port}/notifications/dev/sms/")  # the demo turns the inbox on
        assert status == 200
        assert (tmp_path / "var" / "demo" / "oidc-local-client.json").exists()
    finally:
        if demo.poll() is None:
            demo.send_signal(signal.SIGTERM)
        returncode = demo.wait(timeout=60)
    assert returncode == 0, "".join(output)
    assert port_free("127.0.0.1", port)


def test_demo_refuses_a_port_in_use():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "onecity.cli", "demo", "--port", str(port)],
                                capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
