"""bench.hotline_stats — the 12345 statistics page's queries over a year of requests.

On SQLite (a throw-away var/ directory, migrated), then on PostgreSQL when 127.0.0.1:5432
answers (its own database, bench_stats, dropped and created again, dropped at the end):

1. generate N requests (default 1,000,000, about 2,740 a day) over the last 365 days, bulk
   inserted into the case table (SQLite: executemany; PostgreSQL: COPY) with realistic shares:
   the demo city's 13 districts, its two-level categories and dispatch matrix (district matters
   to the district government and its bureau, city matters to the department), channels
   (phone 56 %, app 14 % ...), weekdays busier than weekends, 2 % not accepted, 10 % answered
   directly, 1.5 % merged, ~0.5 % signed late, ~0.3 % handled late, satisfaction 86 %
   satisfied / 12 % basically / 1.5 % not / 0.5 % unreached, 0.5 % reopened, the newest days
   still open. Lines: generation time (ratio: none, informational) and the read-model build
   (`hotline_stats_rebuild`; ratio = build time / one live computation of the whole page);
2. every query the statistics page runs, for the last twelve months (KPI cards, monthly
   trend, the table by department, district, category and channel) and a department
   handler's page (their unit's KPI and districts), each timed ROUNDS times: p95 in ms.
   Baseline, measured in the same run: the year's aggregate query over the raw case table
   (`case_stat_groups`, the least any live query of the page would run), median of LIVE_ROUNDS
   runs; ratio = read-model p95 / that median. `live_page_ms`: the whole page computed live
   once (`hotline_stats_live`: that query plus the fold), also the build line's baseline. The target is p95 < 300 ms per query at
   1,000,000 requests (`target_ms`, `meets_target` in each line);
3. the periodic refresh after TOUCHED requests of the last fortnight changed (about ten
   minutes of a city's work; ratio = refresh time / full rebuild time).

    .venv/bin/python -m bench.hotline_stats [--cases N] [--rounds R] [--skip-postgres]

The machine is shared and busy: absolute times are pessimistic; the ratios hold better.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import emit  # noqa: E402

TARGET_MS = 300.0
ROUNDS = 40
LIVE_ROUNDS = 3
TOUCHED = 500
PG_HOST, PG_PORT, PG_DB = "127.0.0.1", 5432, "bench_stats"
CHANNELS = (("phone", 56), ("app", 14), ("wechat", 12), ("web", 9), ("mayor_mailbox", 5), ("open311", 4))
SATISFACTION = (("satisfied", 86), ("basically_satisfied", 12), ("not_satisfied", 1.5), ("not_reached", 0.5))


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def setup_django(backend: str) -> None:
    var = tempfile.mkdtemp(prefix="onecity-bench-stats-")
    for key in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(key, None)
    os.environ.update({"ONECITY_VAR_DIR": var, "DJANGO_SETTINGS_MODULE": "onecity.settings",
                       "ONECITY_LOG_LEVEL": "WARNING", "ONECITY_HUEY_LOG_LEVEL": "WARNING"})
    if backend == "postgres":
        os.environ["DATABASE_URL"] = f"postgres://postgres@{PG_HOST}:{PG_PORT}/{PG_DB}"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


# --- 1. a year of requests ----------------------------------------------------------------------
def _reference():
    """Organizations, categories and the (leaf category, district) → (unit, bureau) matrix of the
    demo city."""
    from onecity.demo import seeding
    from onecity.demo.hotline import loader
    from onecity.hotline.models import Category
    from onecity.identity.enums import OrganizationKind
    from onecity.identity.models import Organization

    seeding.organizations_seed(seeding.Progress())
    loader.categories_seed()
    districts = {o.region_code: o.pk for o in Organization.objects.filter(kind=OrganizationKind.DISTRICT)}
    leaves = {c.code: c.pk for c in Category.objects.filter(parent__isnull=False)}
    routes = {(code, region): (unit.pk, bureau.pk if bureau else None)
              for (code, region), (unit, bureau) in loader._route_units().items()}
    weights = [loader.DISTRICT_WEIGHTS.get(region, 4) for region in districts]
    return districts, weights, leaves, routes


def generate(n: int, reference, seed: int = 20261124):
    """Yield (column → value) dicts of n requests, oldest first, ids 1..n. `reference` is what
    _reference() returned (read before the insert starts: no query may run during a COPY)."""
    from django.utils import timezone

    rng = random.Random(seed)
    districts, district_weights, leaves, routes = reference
    regions = list(districts)
    codes = sorted(leaves)
    code_weights = [3 if c.startswith(("environment.noise", "construction", "labour.wages", "transport.parking"))
                    else 2 for c in codes]
    now = timezone.now().replace(microsecond=0)
    first_day = timezone.localdate(now) - dt.timedelta(days=364)
    days = [first_day + dt.timedelta(days=i) for i in range(365)]
    day_weights = [1.0 if d.weekday() < 5 else 0.7 for d in days]
    day_of = sorted(rng.choices(range(365), day_weights, k=n))
    tz = timezone.get_default_timezone()
    hours = list(range(7, 23))
    hour_weights = [2, 6, 9, 10, 9, 6, 7, 9, 9, 8, 6, 5, 5, 4, 3, 2]
    channel_names, channel_weights = zip(*CHANNELS, strict=True)
    sat_names, sat_weights = zip(*SATISFACTION, strict=True)
    minute = dt.timedelta(minutes=1)
    hour = dt.timedelta(hours=1)
    for index, day_index in enumerate(day_of, start=1):
        day = days[day_index]
        created = dt.datetime.combine(day, dt.time(rng.choices(hours, hour_weights)[0], rng.randrange(60),
                                                   rng.randrange(60)), tzinfo=tz)
        if created > now:
            created = now - rng.uniform(1, 120) * minute
        region = rng.choices(regions, district_weights)[0]
        code = rng.choices(codes, code_weights)[0]
        row = {"id": index, "channel": rng.choices(channel_names, channel_weights)[0], "district_id": districts[region],
               "category_id": leaves[code], "created_at": created, "state": "closed"}
        roll = rng.random()
        if roll < 0.02:
            row.update(state="rejected", category_id=None, closed_at=created + rng.uniform(5, 40) * minute)
        elif roll < 0.12:
            answered = created + rng.uniform(3, 30) * minute
            row.update(state="answered", accepted_at=created, replied_at=answered, closed_at=answered)
        elif roll < 0.135 and index > 1:
            row.update(state="merged", merged_into_id=index - 1)
        else:
            unit, bureau = routes[(code, region)]
            accepted = created + rng.uniform(2, 20) * minute
            dispatched = accepted + rng.uniform(2, 40) * minute
            sign_due = dispatched + 24 * hour
            signed = dispatched + (rng.uniform(25, 60) * hour if rng.random() < 0.005
                                   else min(rng.expovariate(1 / 2.5), 23.5) * hour)
            handle_due = signed + 5 * 24 * hour
            replied = signed + (rng.uniform(121, 200) * hour if rng.random() < 0.003
                                else min(rng.expovariate(1 / 40), 119) * hour)
            closed = replied + rng.uniform(12, 72) * hour
            row.update(assigned_unit_id=unit, assigned_subunit_id=bureau, accepted_at=accepted,
                       dispatched_at=dispatched, sign_due_at=sign_due, signed_at=signed, handle_due_at=handle_due,
                       replied_at=replied, closed_at=closed, satisfaction=rng.choices(sat_names, sat_weights)[0],
                       reopened_count=1 if rng.random() < 0.005 else 0)
            if closed > now:  # still open: stop where the clock is
                row.update(state="visited", closed_at=None)
                if replied + 12 * hour > now:
                    row.update(state="replied", satisfaction="")
                if replied > now:
                    row.update(state="in_progress", replied_at=None)
                if signed > now:
                    row.update(state="dispatched", signed_at=None, handle_due_at=None)
        row["updated_at"] = row.get("closed_at") or row.get("replied_at") or created
        yield row


def insert(n: int) -> float:
    """Bulk insert n requests; returns the seconds it took."""
    from django.db import connection, transaction

    from onecity.hotline.models import Case

    fields = list(Case._meta.concrete_fields)
    columns = [f.column for f in fields]
    constant = {}
    for f in fields:
        default = f.get_default()
        constant[f.attname] = default
    constant.update(title="路灯不亮", text="福州市某区某路路灯不亮，晚上出行不便，请尽快维修。", address="福州市某区某路1号",
                    urgency="normal", anonymous=False, contact_name="", contact_phone="", contact_phone_hash="",
                    classifier_suggestions=[], extended_days=0, redo_count=0, reopened_count=0, satisfaction="",
                    satisfaction_note="", reply="", state_reason="")
    prepared_constant = {f.attname: f.get_db_prep_save(constant[f.attname], connection) for f in fields
                         if f.attname in constant and not isinstance(constant[f.attname], dt.datetime)}
    vendor = connection.vendor
    adapt = connection.ops.adapt_datetimefield_value
    started = time.perf_counter()
    reference = _reference()

    def rows():
        for row in generate(n, reference):
            values = []
            for f in fields:
                name = f.attname
                if name in row:
                    value = row[name]
                    if isinstance(value, dt.datetime):
                        value = adapt(value) if vendor == "sqlite" else value
                elif name == "public_id":
                    value = f"B{row['id']:025d}"
                elif name == "tracking_number":
                    value = f"FZ12345-{row['created_at']:%Y%m%d}-{row['id']:07d}"
                elif name == "state_entered_at":
                    value = row.get("closed_at") or row["created_at"]
                    value = adapt(value) if vendor == "sqlite" else value
                else:
                    value = prepared_constant.get(name)
                values.append(value)
            yield values

    with transaction.atomic():
        if vendor == "postgresql":
            raw = connection.connection.cursor()
            with raw.copy(f"COPY {Case._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
                for values in rows():
                    copy.write_row(values)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{Case._meta.db_table}', 'id'), %s)", [n])
        else:
            sql = (f"INSERT INTO {Case._meta.db_table} ({', '.join(columns)}) "
                   f"VALUES ({', '.join(['%s'] * len(columns))})")
            with connection.cursor() as cursor:
                batch = []
                for values in rows():
                    batch.append(values)
                    if len(batch) == 20_000:
                        cursor.executemany(sql, batch)
                        batch = []
                if batch:
                    cursor.executemany(sql, batch)
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Case._meta.db_table}")
    return time.perf_counter() - started


# --- 2. the page's queries ----------------------------------------------------------------------
def bench(backend: str, n: int, rounds: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from onecity.analytics import selectors as s
    from onecity.analytics.models import CITY, HotlineDailyStat
    from onecity.analytics.queryparams import default_range
    from onecity.analytics.services import hotline_stats_rebuild, hotline_stats_refresh
    from onecity.hotline.models import Case
    from onecity.hotline.selectors.stats import case_stat_groups

    seconds = insert(n)
    emit(f"hotline_stats.{backend}.generate", seconds, "s", None, cases=n,
         per_day=round(n / 365), rows_per_s=round(n / seconds))
    start, end = default_range(timezone.localdate())

    # baselines: the year's aggregate query over the raw case table (what every live query of the
    # page would run at least), and the whole page computed live (that query plus the fold)
    live_times = []
    for _ in range(LIVE_ROUNDS):
        began = time.perf_counter()
        groups = list(case_stat_groups(start=start, end=end))
        live_times.append((time.perf_counter() - began) * 1000)
    live_ms = statistics.median(live_times)
    began = time.perf_counter()
    live = s.hotline_stats_live(scope=CITY, start=start, end=end)
    page_ms = (time.perf_counter() - began) * 1000

    report = hotline_stats_rebuild()
    if backend == "postgres":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {HotlineDailyStat._meta.db_table}")
    emit(f"hotline_stats.{backend}.build", report.seconds, "s", report.seconds * 1000 / page_ms,
         cases=Case.objects.count(), rows=report.rows, days=report.days, groups=len(groups),
         baseline="the whole page computed live once", baseline_ms=round(page_ms, 1))

    # the busiest unit's handler page
    unit = max(live.by["department"], key=lambda r: r.received if r.key != "0" else -1)
    queries = {
        "kpi": lambda: s.hotline_stats_totals(scope=CITY, start=start, end=end),
        "trend": lambda: s.hotline_stats_by_month(scope=CITY, start=start, end=end),
        "by_department": lambda: s.hotline_stats_by(scope=CITY, start=start, end=end, dimension="department"),
        "by_district": lambda: s.hotline_stats_by(scope=CITY, start=start, end=end, dimension="district"),
        "by_category": lambda: s.hotline_stats_by(scope=CITY, start=start, end=end, dimension="category"),
        "by_channel": lambda: s.hotline_stats_by(scope=CITY, start=start, end=end, dimension="channel"),
        "unit_kpi": lambda: s.hotline_stats_totals(scope=int(unit.key), start=start, end=end),
        "unit_by_district": lambda: s.hotline_stats_by(scope=int(unit.key), start=start, end=end,
                                                       dimension="district"),
    }
    assert queries["kpi"]() == live.totals, "the read model disagrees with the live computation"
    for name, query in queries.items():
        times = []
        for _ in range(rounds):
            began = time.perf_counter()
            query()
            times.append((time.perf_counter() - began) * 1000)
        value = p95(times)
        emit(f"hotline_stats.{backend}.{name}.p95", value, "ms", value / live_ms, cases=n, rounds=rounds,
             median_ms=round(statistics.median(times), 2), speedup=round(live_ms / value),
             baseline="the year's aggregate query over the raw case table (median)",
             baseline_ms=round(live_ms, 1), live_page_ms=round(page_ms, 1), target_ms=TARGET_MS,
             meets_target=value < TARGET_MS)

    # the periodic refresh after TOUCHED requests changed: ten minutes of a city's work, on
    # requests of the last fortnight (the ones still moving), as the worker meets it
    recent = range(max(1, n - n * 15 // 365), n + 1)
    touched = random.Random(7).sample(recent, min(TOUCHED, len(recent)))
    Case.objects.filter(pk__in=touched).update(updated_at=timezone.now())
    began = time.perf_counter()
    refreshed = hotline_stats_refresh()
    seconds = time.perf_counter() - began
    emit(f"hotline_stats.{backend}.refresh", seconds, "s", seconds / report.seconds, cases=n, changed=len(touched),
         days=len(refreshed.days), rows=refreshed.rows, baseline="the full rebuild")


# --- PostgreSQL ---------------------------------------------------------------------------------
def postgres_answers() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=2):
            return True
    except OSError:
        return False


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def run_postgres(n: int, rounds: int) -> None:
    if not postgres_answers():
        emit("hotline_stats.postgres.skipped", 0, "", None, reason=f"nothing answers on {PG_HOST}:{PG_PORT}")
        return
    _pg_admin(f"DROP DATABASE IF EXISTS {PG_DB}")
    _pg_admin(f"CREATE DATABASE {PG_DB}")
    try:
        done = subprocess.run([sys.executable, "-m", "bench.hotline_stats", "--backend", "postgres", "--cases", str(n),
                               "--rounds", str(rounds)], cwd=ROOT, check=False)
        if done.returncode:
            raise SystemExit(done.returncode)
    finally:
        _pg_admin(f"DROP DATABASE IF EXISTS {PG_DB}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default=None,
                        help="run one backend in this process (the PostgreSQL run uses it)")
    args = parser.parse_args(argv)
    if args.backend:
        setup_django(args.backend)
        bench(args.backend, args.cases, args.rounds)
        return
    done = subprocess.run([sys.executable, "-m", "bench.hotline_stats", "--backend", "sqlite", "--cases",
                           str(args.cases), "--rounds", str(args.rounds)], cwd=ROOT, check=False)
    if done.returncode:
        raise SystemExit(done.returncode)
    if not args.skip_postgres:
        run_postgres(args.cases, args.rounds)


if __name__ == "__main__":
    main()
