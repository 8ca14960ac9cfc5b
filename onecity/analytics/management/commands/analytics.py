"""`onecity analytics ...`: the read models of the analytics app.

    onecity analytics rebuild     rebuild the 12345 statistics from every request and the 福码
                                  statistics from every payment (progress bars)
    onecity analytics refresh     recompute the days whose requests or payments changed since the
                                  last run (the worker does this every ten minutes)

Each prints one JSON line per read model at the end so scripts can read them.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from onecity.analytics.services import (
    hotline_stats_refresh,
    payment_stats_refresh,
    read_models_rebuild,
)


class Command(BaseCommand):
    help = "Rebuild or refresh the analytics read models (the 12345 and 福码 statistics)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("rebuild", help="Rebuild the 12345 and 福码 statistics from every request and payment.")
        sub.add_parser("refresh", help="Recompute the days whose requests or payments changed since the last run.")

    def _print(self, payload) -> None:
        self.stdout.write(json.dumps(payload, ensure_ascii=False, sort_keys=True))

    def handle(self, *args, **options):
        getattr(self, "handle_" + options["subcommand"])(**options)

    def handle_rebuild(self, **options):
        if options["verbosity"] >= 1:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            console = Console(file=self.stderr._out, highlight=False)
            with Progress(TextColumn("{task.description:<30}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console) as bar:
                tasks = {"hotline_stats": bar.add_task("12345 statistics (months)", total=None),
                         "payment_stats": bar.add_task("福码 statistics (steps)", total=None)}

                def progress(name: str, done: int, total: int) -> None:
                    bar.update(tasks[name], completed=done, total=total)

                report = read_models_rebuild(progress=progress)
        else:
            report = read_models_rebuild()
        for name, part in (("hotline_stats", report.hotline), ("payment_stats", report.payments)):
            self._print({"read_model": name, "days": part.days, "rows": part.rows, "seconds": round(part.seconds, 2)})

    def handle_refresh(self, **options):
        for name, refresh in (("hotline_stats", hotline_stats_refresh), ("payment_stats", payment_stats_refresh)):
            report = refresh()
            self._print({"read_model": name, "days": [d.isoformat() for d in report.days], "rows": report.rows})
