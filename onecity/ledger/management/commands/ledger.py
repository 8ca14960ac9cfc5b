"""`onecity ledger ...`: checks an auditor or an operator runs on the ledger.

    onecity ledger trial-balance     per currency: the sums of debits and credits (posted and
                                     pending) over all accounts, which must be equal
    onecity ledger verify            recompute every account's balances from the transfers and
                                     compare them with the stored ones

Each prints one JSON line. Exit status: 0 sound, 1 a mismatch or an unbalanced ledger (the
details are in the JSON line).
"""

from __future__ import annotations

import json
from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandError

from onecity.ledger.dto import TrialBalance
from onecity.ledger.selectors import ledger_trial_balance, ledger_verify


def _trial(trial: TrialBalance) -> dict:
    return {"balanced": trial.balanced,
            "currencies": [{**asdict(line), "balanced": line.balanced} for line in trial.lines]}


class Command(BaseCommand):
    help = "Ledger checks: the trial balance, and a verification of every balance against the transfers."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("trial-balance", help="Sums of debits and credits over all accounts, per currency.")
        sub.add_parser("verify", help="Recompute balances from the transfers and compare them with the stored ones.")

    def handle(self, *args, **options):
        if options["subcommand"] == "trial-balance":
            trial = ledger_trial_balance()
            self.stdout.write(json.dumps(_trial(trial)))
            if not trial.balanced:
                raise CommandError("The ledger does not balance.", returncode=1)
            return
        report = ledger_verify()
        self.stdout.write(json.dumps({"ok": report.ok, "accounts": report.accounts, "transfers": report.transfers,
                                      "mismatches": [asdict(m) for m in report.mismatches],
                                      "trial_balance": _trial(report.trial_balance)}))
        if not report.ok:
            raise CommandError(f"{len(report.mismatches)} stored balance(s) differ from the transfers.", returncode=1)
