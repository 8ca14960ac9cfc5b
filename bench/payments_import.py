"""bench.payments_import — issuing bills in bulk from a CSV file, in-process on SQLite.

A throw-away var/ directory, migrated; one payee unit with a cashier and 300 registered
residents. Each round imports a fresh CSV of N bills (`bills_import`: parse, validate every
row, look the payer up by keyed phone hash, check the references, then write the batch, the
bills and their events in one transaction, and an audit row). The same-run baseline inserts
the same bill rows (encrypted phone, keyed hash) with the bare ORM in one transaction: no
parsing, no validation, no look-ups, no events. Rounds of both are interleaved so that other
processes on a busy machine slow both alike. Lines in bills/s with `ratio` = value /
baseline, and the queries per imported bill.

    .venv/bin/python -m bench.payments_import [--bills N] [--rounds R]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import emit  # noqa: E402

RESIDENTS = 300


def setup_django() -> None:
    var = tempfile.mkdtemp(prefix="onecity-bench-payments-")
    for key in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(key, None)
    os.environ.update({"ONECITY_VAR_DIR": var, "DJANGO_SETTINGS_MODULE": "onecity.settings",
                       "ONECITY_LOG_LEVEL": "WARNING"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def fixture():
    from django.contrib.auth.hashers import make_password

    from onecity.core.crypto import lookup_hash
    from onecity.core.ids import new_public_id
    from onecity.core.validators import uscc_make
    from onecity.identity.enums import OrganizationKind, PayeeType, Role, UserKind
    from onecity.identity.models import Organization, User
    from onecity.identity.services.accounts import staff_create

    school = Organization.objects.create(name="福州第一中学", kind=OrganizationKind.PAYEE, payee_type=PayeeType.SCHOOL,
                                         region_code="350102", uscc=uscc_make("12", "350102", "B0000001"))
    cashier = staff_create(actor=None, username="bench-cashier", password="Bench-password-2026",
                           display_name="收款员", organization=school, roles=[Role.PAYEE_CASHIER])
    password = make_password(None)
    phones = [f"139{n:08d}" for n in range(RESIDENTS)]
    User.objects.bulk_create([User(public_id=(pid := new_public_id()), username="c-" + pid, kind=UserKind.CITIZEN,
                                   phone=p, phone_hash=lookup_hash(p, purpose="phone"), password=password)
                              for p in phones])
    return school, cashier, phones


def csv_for(round_no: int, n: int, phones: list[str]) -> bytes:
    due = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    lines = ["编号,手机号,类型,项目,金额,截止日期"]
    lines += [f"R{round_no}-{i:06d},{phones[i % len(phones)]},学费,2026年秋季学期学费,{1000 + i % 900}.50,{due}"
              for i in range(n)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def baseline_insert(round_no: int, n: int, school, phones: list[str]) -> None:
    from django.db import transaction
    from django.utils import timezone

    from onecity.core.crypto import lookup_hash
    from onecity.payments.models import Bill

    due = dt.date.today() + dt.timedelta(days=30)
    now = timezone.now()
    with transaction.atomic():
        for i in range(n):
            phone = phones[i % len(phones)]
            Bill.objects.create(payee=school, payer_name="基准", payer_name_masked="基*", payer_phone=phone,
                                payer_phone_hash=lookup_hash(phone, purpose="phone"), kind="tuition",
                                title="2026年秋季学期学费", amount_fen=100050 + (i % 900) * 100, due_date=due,
                                external_ref=f"B{round_no}-{i:06d}", issued_at=now, updated_at=now)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bills", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    setup_django()
    from django.db import connection

    from onecity.payments.services.imports import bills_import

    school, cashier, phones = fixture()
    base_rates, import_rates, queries = [], [], 0
    for r in range(args.rounds):
        content = csv_for(r, args.bills, phones)
        start = time.perf_counter()
        baseline_insert(r, args.bills, school, phones)
        base_rates.append(args.bills / (time.perf_counter() - start))
        start = time.perf_counter()
        counted = [0]

        def count(execute, sql, params, many, context, counted=counted):
            counted[0] += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            result = bills_import(actor=cashier, filename=f"r{r}.csv", content=content)
        import_rates.append(args.bills / (time.perf_counter() - start))
        queries = counted[0]
        if not result.ok or result.created != args.bills:
            raise SystemExit(f"import failed: {result.errors[:3]}")
    base, imp = statistics.median(base_rates), statistics.median(import_rates)
    emit("payments_import.baseline_orm_insert", base, "bills/s", 1.0, bills=args.bills, rounds=args.rounds)
    emit("payments_import.bills_import", imp, "bills/s", imp / base, bills=args.bills, rounds=args.rounds,
         queries_per_bill=round(queries / args.bills, 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
