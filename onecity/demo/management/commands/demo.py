"""`onecity demo`: run the demo city on this machine.

Migrates the database, loads the demo city when it holds no organizations yet, collects
static files, then runs the gunicorn web server and the Huey worker as child processes (with
the development SMS inbox switched on), prints the demo accounts and the addresses to try,
and stops both children cleanly on Ctrl-C or SIGTERM. If either child dies, the other is
stopped too and the command exits with an error.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.urls import NoReverseMatch, reverse

from onecity.demo import seeding
from onecity.demo.processes import (
    browser_host,
    child_start,
    gunicorn_argv,
    port_free,
    static_collect,
    wait_listening,
    worker_argv,
)

STOP_TIMEOUT = 20  # seconds a child gets to finish before it is killed


class Command(BaseCommand):
    help = "Run the demo city: web server and worker on http://127.0.0.1:8000/ with demo accounts."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--small", action="store_true",
                            help="Seed a small population when the database is empty (faster).")

    def handle(self, *args, **options):
        host, port = options["host"], options["port"]
        if not 0 < port < 65536:
            raise CommandError(f"{port} is not a TCP port number.")
        if not port_free(host, port):
            raise CommandError(f"Port {port} on {host} is already in use. Stop what runs there, or choose "
                               f"another port: `make demo PORT=8001` or `onecity demo --port 8001`.")
        self.console = self._console()
        self.console.print("[bold]OneCity demo[/bold]: preparing the database…")
        call_command("migrate", interactive=False, verbosity=0)
        from onecity.identity.models import Organization

        if not Organization.objects.exists():
            call_command("seed", demo=True, small=options["small"], skip_migrate=True, stdout=self.stdout)
        static_collect()

        base_url = os.environ.get("ONECITY_BASE_URL") or f"http://{browser_host(host)}:{port}"
        env = {**os.environ, "ONECITY_DEV_INBOX": "1", "ONECITY_BASE_URL": base_url, "PYTHONUNBUFFERED": "1"}
        log_dir = Path(settings.VAR_DIR) / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        access_log = str(log_dir / "access.log")

        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        children: dict[str, subprocess.Popen] = {}
        exit_message = ""
        try:
            children["web"] = child_start(gunicorn_argv(host=host, port=port, workers=2, access_log=access_log),
                                          env=env)
            children["worker"] = child_start(worker_argv(quiet=True), env=env)
            if not wait_listening(host, port, timeout=60, alive=lambda: children["web"].poll() is None):
                exit_message = "The web server did not start; see its messages above."
            else:
                self._welcome(base_url, access_log)
                while not stop.wait(0.5):
                    dead = [name for name, child in children.items() if child.poll() is not None]
                    if dead:
                        exit_message = f"The {' and '.join(dead)} process stopped unexpectedly; stopping the demo."
                        break
        finally:
            self.console.print("Stopping the web server and the worker…")
            _stop_children(children)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if exit_message:
            raise CommandError(exit_message)
        self.console.print("OneCity demo stopped.")

    # --- output ------------------------------------------------------------------------------------
    def _console(self):
        from rich.console import Console

        console = Console(file=self.stdout._out, highlight=False)
        if not console.is_terminal:  # piped or logged: do not squeeze the tables into 80 columns
            console = Console(file=self.stdout._out, highlight=False, width=140)
        return console

    def _welcome(self, base_url: str, access_log: str) -> None:
        from rich.table import Table

        password = seeding.DEMO_PASSWORD
        accounts = Table(title=f"Demo accounts (the password of every account is {password})", title_justify="left")
        accounts.add_column("Role")
        accounts.add_column("Sign in as", style="bold")
        accounts.add_column("Password")
        accounts.add_column("Organization")
        accounts.add_column("What to try")
        accounts.add_row("Citizen 市民", seeding.DEMO_CITIZEN.phone, password, "—",
                         f"Real-name verified ({seeding.DEMO_CITIZEN.legal_name}): account, identity code, "
                         "partner-app consents, SSO")
        for account in seeding.STAFF_ACCOUNTS:
            accounts.add_row(_role_label(account.role), account.username, password, account.organization,
                             account.try_this)
        self.console.print(accounts)

        links = Table(title="Where to go", title_justify="left", show_header=False)
        links.add_column("What")
        links.add_column("Address", style="cyan")
        for label, name in (
            ("Resident portal", "identity:home"),
            ("Staff console", "identity:staff_home"),
            ("Development SMS inbox (one-time codes)", "notifications:dev_inbox"),
            ("API documentation", "api-v1:openapi-view"),
            ("OIDC discovery", "oauth2_provider:oidc-connect-discovery-info"),
            ("Django admin (admin)", "admin:index"),
        ):
            path = _url(name)
            if path:
                links.add_row(label, base_url + path)
        self.console.print(links)

        client = seeding.local_client_credentials()
        if client:
            authorize = _url("oauth2_provider:authorize")
            self.console.print(
                "Try single sign-on with the local demo app: client_id [bold]" + client["client_id"]
                + "[/bold], client_secret in " + str(seeding.local_client_file())
                + ", redirect URI " + client["redirect_uri"]
                + (f", authorize at {base_url}{authorize}" if authorize else "") + " (see README)."
            )
        self.console.print(f"Access log: {access_log}. Press [bold]Ctrl-C[/bold] to stop.")


def _url(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


def _role_label(role: str) -> str:
    from django.utils import translation

    from onecity.identity.enums import Role

    with translation.override("en"):
        english = str(Role(role).label)
    with translation.override("zh-hans"):
        chinese = str(Role(role).label)
    return english if english == chinese else f"{english} {chinese}"


def _stop_children(children: dict[str, subprocess.Popen]) -> None:
    """SIGTERM stops gunicorn and the Huey consumer gracefully (running requests and jobs
    finish). Children that do not stop within STOP_TIMEOUT seconds are killed."""
    for child in children.values():
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)
    for child in children.values():
        try:
            child.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
