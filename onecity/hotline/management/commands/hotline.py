"""`onecity hotline ...`: operations on the 12345 hotline.

    onecity hotline escalate                 flag overdue work orders and escalate them now
                                             (the worker does this every five minutes)
    onecity hotline deadline --from 2026-09-30T16:00 --amount 5 --unit working_days
                                             show a deadline as the hotline computes it
    onecity hotline timelimits               the time-limit table in force
    onecity hotline train --csv FILE         train the dispatch classifier on a CSV (text,category)
                                             and make it the active version
    onecity hotline evaluate --train A.csv --test B.csv
                                             train on A, predict B: accuracy, macro_f1, n_train, n_test
    onecity hotline retrain [--min-new N]    train on the closed requests (the worker does this weekly)

Each prints one JSON line (several for timelimits) so scripts can read it.
"""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from onecity.core import calendar
from onecity.hotline.deadlines import DEFAULT_LIMITS
from onecity.hotline.models import TimeLimitRule
from onecity.hotline.services.escalation import case_escalate_overdue


class Command(BaseCommand):
    help = "Operations on the 12345 hotline: escalate overdue requests, inspect deadlines and time limits."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("escalate", help="Escalate overdue requests to supervisors now.")
        deadline = sub.add_parser("deadline", help="Compute a deadline on the working-day calendar.")
        deadline.add_argument("--from", dest="start", required=True,
                              help="start, ISO 8601 (local time Asia/Shanghai when no offset is given)")
        deadline.add_argument("--amount", type=float, required=True)
        deadline.add_argument("--unit", choices=calendar.UNITS, required=True)
        sub.add_parser("timelimits", help="List the time-limit rules in force.")
        train = sub.add_parser("train", help="Train the dispatch classifier on a CSV and activate it.")
        train.add_argument("--csv", required=True, help="CSV file with a header and the columns text,category")
        evaluate = sub.add_parser("evaluate", help="Train on one CSV, predict another, print the scores.")
        evaluate.add_argument("--train", dest="train_csv", required=True)
        evaluate.add_argument("--test", dest="test_csv", required=True)
        retrain = sub.add_parser("retrain", help="Train the dispatch classifier on the closed requests.")
        retrain.add_argument("--min-new", type=int, default=None,
                             help="only when at least this many requests were closed since the active version")

    def _print(self, payload) -> None:
        self.stdout.write(json.dumps(payload, ensure_ascii=False, sort_keys=True))

    def handle(self, *args, **options):
        getattr(self, "handle_" + options["subcommand"])(**options)

    def handle_escalate(self, **options):
        result = case_escalate_overdue()
        self._print({"escalated": len(result.escalated), "tracking_numbers": result.escalated})

    def handle_deadline(self, *, start, amount, unit, **options):
        try:
            moment = dt.datetime.fromisoformat(start)
        except ValueError:
            raise CommandError("--from must be an ISO 8601 date and time, e.g. 2026-09-30T16:00") from None
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        if amount < 0:
            raise CommandError("--amount must not be negative")
        due = calendar.deadline(moment, amount, unit)
        self._print({"from": timezone.localtime(moment).isoformat(), "amount": amount, "unit": unit,
                     "deadline": timezone.localtime(due).isoformat(),
                     "calendar_covers_deadline": calendar.covered(timezone.localtime(due).date())})

    def handle_timelimits(self, **options):
        rules = TimeLimitRule.objects.select_related("category").order_by("category__code", "urgency")
        for rule in rules:
            self._print({"category": rule.category.code if rule.category_id else None, "urgency": rule.urgency,
                         "sign": [rule.sign_within, rule.sign_unit], "handle": [rule.handle_within, rule.handle_unit]})
        if not rules:
            for urgency, limit in DEFAULT_LIMITS.items():
                self._print({"category": None, "urgency": str(urgency), "built_in": True,
                             "sign": [limit.sign_within, str(limit.sign_unit)],
                             "handle": [limit.handle_within, str(limit.handle_unit)]})

    def _version(self, version) -> dict:
        return {"version": version.version, "source": version.source, "n_train": version.n_train,
                "labels": len(version.labels), "active": version.is_active, "file": version.file}

    def handle_train(self, *, csv, **options):
        from onecity.core.errors import ApplicationError
        from onecity.hotline.services.classifier_versions import classifier_train_from_csv

        try:
            version = classifier_train_from_csv(path=csv)
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from None
        self._print(self._version(version))

    def handle_evaluate(self, *, train_csv, test_csv, **options):
        from onecity.core.errors import ApplicationError
        from onecity.hotline.services.classifier_versions import classifier_evaluate_csv

        try:
            self._print(classifier_evaluate_csv(train_path=train_csv, test_path=test_csv))
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from None

    def handle_retrain(self, *, min_new, **options):
        from onecity.core.errors import ApplicationError
        from onecity.hotline.services.classifier_versions import classifier_train_from_history

        try:
            version = classifier_train_from_history(min_new=min_new)
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from None
        self._print(self._version(version) if version is not None else {"trained": False})
