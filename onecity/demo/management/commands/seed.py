"""`onecity seed --demo`: migrate, then load the demo city of Fuzhou (idempotent)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from onecity.demo import seeding


class RichProgress(seeding.Progress):
    def __init__(self, progress) -> None:
        self.progress = progress
        self.tasks: dict[str, int] = {}

    def start(self, key: str, label: str, total: int) -> None:
        self.tasks[key] = self.progress.add_task(label, total=total)

    def advance(self, key: str, amount: int = 1) -> None:
        self.progress.advance(self.tasks[key], amount)


class Command(BaseCommand):
    help = "Migrate the database, then load the demo city of Fuzhou (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("--demo", action="store_true",
                            help="Load the demo city: departments, districts, payees, residents, citizens, "
                                 "staff and partner apps.")
        parser.add_argument("--small", action="store_true",
                            help=f"A small population ({seeding.SMALL.residents} residents, "
                                 f"{seeding.SMALL.citizens} citizens) for tests and quick trials.")
        parser.add_argument("--skip-migrate", action="store_true", help="Do not run migrations first.")
        parser.add_argument("--allow-public", action="store_true",
                            help="Load the demo city even though ONECITY_BASE_URL is a public https:// address "
                                 "(the demo accounts have a published password).")

    def handle(self, *args, **options):
        if not options["demo"]:
            raise CommandError("Nothing to seed. Use `onecity seed --demo` to load the demo city.")
        if settings.BASE_URL.startswith("https://") and not options["allow_public"]:
            raise CommandError(
                f"ONECITY_BASE_URL is {settings.BASE_URL}: this looks like a public deployment, and every demo "
                "account has the published password. Pass --allow-public if this really is a demo site.")
        verbosity = options["verbosity"]
        if not options["skip_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        size = seeding.SMALL if options["small"] else seeding.FULL
        started = time.monotonic()
        if verbosity >= 1:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            console = Console(file=self.stdout._out, highlight=False)
            columns = (TextColumn("{task.description:<30}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=console, transient=False) as bar:
                report = seeding.demo_city_seed(size=size, progress=RichProgress(bar))
        else:
            report = seeding.demo_city_seed(size=size)
        if verbosity < 1:
            return
        elapsed = time.monotonic() - started
        database = connection.settings_dict["NAME"]
        if report.created_anything:
            self.stdout.write(self.style.SUCCESS(
                f"Demo city loaded into {connection.vendor} database {database} in {elapsed:.1f} s: "
                f"{report.organizations} organizations, {report.residents} registry residents, "
                f"{report.citizens} citizens ({report.verified} real-name verified), {report.staff} staff, "
                f"{report.clients} partner apps"
                + (f", {report.hotline.cases} hotline requests" if report.hotline and report.hotline.cases else "")
                + "."))
        else:
            self.stdout.write(f"The demo city was already loaded into {database}; nothing to add.")
        for credentials in report.credentials:
            self.stdout.write(f"  OIDC client {credentials.name}: client_id={credentials.client_id} "
                              f"client_secret={credentials.client_secret} (shown once)")
