"""`onecity serve`: production-style web server (gunicorn + WhiteNoise static files).

Collects static files, then replaces this process with gunicorn serving onecity.wsgi, so
signals from a process supervisor (systemd, a container runtime) reach gunicorn directly.
Migrations are a separate release step: `onecity manage migrate`.
"""

from __future__ import annotations

import os
import sys

from django.core.management.base import BaseCommand, CommandError

from onecity.demo.processes import default_web_workers, gunicorn_argv, port_free, static_collect


class Command(BaseCommand):
    help = "Serve OneCity with gunicorn (static files through WhiteNoise). Run the worker separately."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default="127.0.0.1",
                            help="Address to bind (default 127.0.0.1; 0.0.0.0 behind a load balancer).")
        parser.add_argument("--workers", type=int, default=None,
                            help="gunicorn worker processes (default: ONECITY_WEB_WORKERS or 2 × cores + 1, "
                                 "at most 3 on SQLite).")
        parser.add_argument("--threads", type=int, default=4, help="Threads per worker process (default 4).")
        parser.add_argument("--no-collectstatic", action="store_true",
                            help="Skip collectstatic (static files were collected at build time).")

    def handle(self, *args, **options):
        host, port = options["host"], options["port"]
        if not 0 < port < 65536:
            raise CommandError(f"{port} is not a TCP port number.")
        if not port_free(host, port):
            raise CommandError(f"Port {port} on {host} is already in use. Stop what runs there or pass --port.")
        if not options["no_collectstatic"]:
            static_collect()
        workers = options["workers"] or default_web_workers()
        argv = gunicorn_argv(host=host, port=port, workers=workers, threads=options["threads"])
        self.stdout.write(f"OneCity web server on http://{host}:{port}/ ({workers} worker processes × "
                          f"{options['threads']} threads); stop with Ctrl-C.")
        self.stdout.flush()
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, argv)  # noqa: S606 (fixed argument list, no shell)
