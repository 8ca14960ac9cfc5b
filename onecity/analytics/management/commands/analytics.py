"""`onecity analytics ...`: the read models of the analytics app.

    onecity analytics rebuild     rebuild the 12345 statistics from every request (progress bar)
    onecity analytics refresh     recompute the days whose requests changed since the last run
                                  (the worker does this every ten minutes)

Each prints one JSON line at the end so scripts can read it.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from onecity.analytics.services import hotline_stats_rebuild, hotline_stats_refresh


class Command(BaseCommand):
    help = "Rebuild or refresh the analytics read models (the 12345 statistics)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("rebuild", help="Rebuild the 12345 statistics from every request.")
        sub.add_parser("refresh", help="Recompute the days whose requests changed since the last run.")

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
                task = bar.add_task("12345 statistics (months)", total=None)

                def progress(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                report = hotline_stats_rebuild(progress=progress)
        else:
            report = hotline_stats_rebuild()
        self._print({"read_model": "hotline_stats", "days": report.days, "rows": report.rows,
                     "seconds": round(report.seconds, 2)})

    def handle_refresh(self, **options):
        report = hotline_stats_refresh()
        self._print({"read_model": "hotline_stats", "days": [d.isoformat() for d in report.days],
                     "rows": report.rows})
