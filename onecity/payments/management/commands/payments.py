"""`onecity payments ...`: clearing jobs from the command line, one JSON line each.

    onecity payments reconcile --channel C --day YYYY-MM-DD --file F
        import channel C's statement file F of that day and reconcile it (decision 0020);
        prints the run: id, channel, day, rows, matched, pending, breaks by kind. Importing the
        same file again prints the same run.
    onecity payments settle --day YYYY-MM-DD
        T+1 settlement of every payee's day (default: yesterday, Beijing time); prints the
        number of settlements and their totals.

Exit status: 0 done, 1 refused (the reason on standard error), 2 usage error.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core.errors import ApplicationError
from onecity.payments.channels.base import CHINA
from onecity.payments.enums import Channel
from onecity.payments.services.reconciliation_runs import reconciliation_import
from onecity.payments.services.settlement import settlement_run

EXIT_REFUSED = 1


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(_("Write the day as YYYY-MM-DD."), returncode=2) from None


class Command(BaseCommand):
    help = "福码 clearing: reconcile a channel's statement file, settle a day."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        rec = actions.add_parser("reconcile", help="Reconcile one channel's daily statement file.")
        rec.add_argument("--channel", required=True, choices=Channel.values)
        rec.add_argument("--day", required=True, help="The statement day, YYYY-MM-DD.")
        rec.add_argument("--file", required=True, help="The statement file as the channel gave it.")
        settle = actions.add_parser("settle", help="T+1 settlement of every payee's day.")
        settle.add_argument("--day", help="YYYY-MM-DD (default: yesterday, Beijing time).")

    def handle(self, *args, **options):
        try:
            return getattr(self, f"do_{options['action']}")(options)
        except ApplicationError as exc:
            raise CommandError(exc.message, returncode=EXIT_REFUSED) from None

    def do_reconcile(self, options):
        path = Path(options["file"])
        try:
            content = path.read_bytes()
        except OSError:
            raise CommandError(_("The file %(name)s cannot be read.") % {"name": path},
                               returncode=EXIT_REFUSED) from None
        run = reconciliation_import(actor=None, channel=options["channel"], day=_day(options["day"]),
                                    filename=path.name, content=content)
        self.stdout.write(json.dumps({
            "run": run.public_id, "channel": run.channel, "day": run.day.isoformat(), "state": run.state,
            "statement_rows": run.statement_rows, "ours_rows": run.ours_rows, "matched": run.matched_count,
            "pending": run.pending_count, "breaks": run.break_count,
            "breaks_by_kind": {k: v["count"] for k, v in run.summary["breaks"].items() if v["count"]},
        }, ensure_ascii=False))

    def do_settle(self, options):
        day = (_day(options["day"]) if options.get("day")
               else timezone.now().astimezone(CHINA).date() - dt.timedelta(days=1))
        settlements = settlement_run(day=day)
        self.stdout.write(json.dumps({
            "day": day.isoformat(), "settlements": len(settlements),
            "gross_fen": sum(s.gross_fen for s in settlements), "fees_fen": sum(s.fees_fen for s in settlements),
            "refunds_fen": sum(s.refunds_fen for s in settlements), "net_fen": sum(s.net_fen for s in settlements),
            "payout_fen": sum(s.payout_fen for s in settlements),
            "deficit_carried_forward_fen": sum(s.carried_out_fen for s in settlements),
        }))
