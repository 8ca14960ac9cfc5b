"""bench.hotline_dispatch — the 12345 intake path and the dispatch classifier.

1. Intake path, in-process on SQLite (a throw-away var/ directory, migrated; the demo
   organizations, staff, categories, dispatch matrix, time limits and unit handlers loaded; a
   classifier trained on demo-template requests). Each request goes the whole way a phone call
   goes: validation and registration (`case_register`: tracking number, event, the case marked
   as awaiting the classifier and a smart-dispatch run put on the SQLite task queue after commit
   unless one is queued already), then what the worker's run does with the awaiting cases —
   classification, acceptance and dispatch to the matrix unit (`smart_dispatch_task`, run
   in-process: it clears the run's flag and calls `smart_dispatch_pending`, in batches) with
   the notifications put in the outbox (SMS to the resident, in-app message to the unit's
   handlers). The worker's run takes what arrived since the last one: the timed rounds
   register `--requests / 6` calls, then run it once (a burst); the `_one_by_one` line runs it
   after every single registration instead (a quiet hour: a batch of one each time).
   The same-run baseline is the same case row inserted by the bare ORM in its own transaction,
   timed in rounds interleaved with the path so that other processes slow both alike. Lines in
   requests/s with `ratio` = value / baseline: the baseline itself, registration alone (what
   the caller waits for), the worker's part, and both one after the other on one core (with the
   200 req/s target and whether it is met). `per_cpu_second` is the same rate on this process's
   CPU time (what one core would do with the machine to itself, queue and disk waits aside);
   `queries` counts the queries of one request.
2. The classifier on the fixed split of ../shared/data/hotline/complaints_train.csv (the
   helpers of bench/hotline_classifier.py): accuracy and macro-F1 beside a TF-IDF + LinearSVC
   baseline trained and run in the same process (`ratio` = ours / baseline), and at the
   dispatch threshold (settings.HOTLINE_AUTO_DISPATCH_THRESHOLD) the share of requests that
   would be dispatched automatically and how many of those are right. When the file is
   absent a JSON line says so and this half is skipped.

    .venv/bin/python -m bench.hotline_dispatch [--requests N]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import emit  # noqa: E402

INTAKE_TARGET = 200.0  # requests/s, the full path on one core
ROUNDS = 6  # baseline and path interleaved, so that load from other processes hits both alike


def setup_django() -> None:
    var = tempfile.mkdtemp(prefix="onecity-bench-dispatch-")
    for key in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(key, None)
    os.environ.update({"ONECITY_VAR_DIR": var, "DJANGO_SETTINGS_MODULE": "onecity.settings",
                       "ONECITY_LOG_LEVEL": "WARNING",
                       "ONECITY_HUEY_LOG_LEVEL": "WARNING",
                       # the benchmark decides when the worker's run comes (after every 100
                       # registrations, or after each one): no batching window on top
                       "ONECITY_QUEUE_BATCH_LINGER_MS": "0"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def demo_requests(n: int, seed: int) -> list[tuple[str, str, dict]]:
    """(text, category code, district spec) from the demo request templates."""
    from onecity.demo.hotline import loader

    rng = random.Random(seed)
    templates = loader.load("requests.json")["texts"]
    districts = loader._districts()
    codes = sorted(templates)
    rows = []
    for _ in range(n):
        code = rng.choice(codes)
        district = rng.choice(districts)
        rows.append((rng.choice(templates[code]).format(**loader._places(rng, district)), code, district))
    return rows


def _intake_fixture():
    """The demo city's reference data, a trained classifier and an operator (as the worker and
    the web process see them)."""
    from onecity.demo import seeding
    from onecity.demo.hotline import loader
    from onecity.hotline.services.classifier_versions import classifier_version_create
    from onecity.identity.enums import OrganizationKind
    from onecity.identity.models import Organization, User

    progress = seeding.Progress()
    seeding.organizations_seed(progress)
    seeding.staff_seed(progress)
    loader.categories_seed()
    loader.routes_seed()
    loader.timelimits_seed()
    loader.handlers_seed(random.Random(1))
    training = demo_requests(3000, seed=1)
    classifier_version_create(texts=[t for t, _, _ in training], labels=[c for _, c, _ in training], source="demo")
    operator = User.objects.get(username="operator")
    districts = {o.region_code: o for o in Organization.objects.filter(kind=OrganizationKind.DISTRICT)}
    return operator, districts


def bench_intake(n: int, rounds: int = ROUNDS) -> None:
    """Three timed steps per request batch, interleaved round by round with the same-run
    baseline so that a busy machine slows all of them alike:

    - baseline: the same case row (same fields, encrypted contact number, keyed phone hash)
      inserted by the bare ORM in its own transaction: no validation, no tracking-number
      counter, no event, no job, no classifier, no dispatch, no messages;
    - register: `case_register` (validate, tracking number, case and event rows, a
      smart-dispatch run queued after commit unless one is);
    - smart dispatch: what the worker's run does with the cases registered since the last one
      (`smart_dispatch_task`: classify, accept, dispatch to the matrix unit, messages to the
      outbox, in batches);
    - one by one: both for a quarter as many requests, the run after every registration.
    """
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from huey.contrib.djhuey import HUEY

    from onecity.core.crypto import lookup_hash
    from onecity.hotline.enums import CaseState, Channel, Urgency
    from onecity.hotline.models import Case
    from onecity.hotline.services.intake import case_register
    from onecity.hotline.tasks import smart_dispatch_task
    from onecity.notifications.models import Message

    def smart_dispatch_run() -> int:
        """What the worker runs: the flag cleared (so the next registration queues a run again),
        then every awaiting case, in batches; the number of cases."""
        return smart_dispatch_task.call_local()

    operator, districts = _intake_fixture()
    requests = demo_requests(n + 21 + n // 4, seed=2)
    rng = random.Random(3)

    def address_phone(district: dict) -> tuple[str, str]:
        return f"福州市{district['short_name']}某路{rng.randint(1, 300)}号", f"139{rng.randrange(100_000_000):08d}"

    def register(text: str, district: dict) -> Case:
        address, phone = address_phone(district)
        return case_register(actor=operator, channel=Channel.PHONE, text=text,
                             district=districts[district["region_code"]], address=address, contact_phone=phone)

    baseline_seq = iter(range(1, 10**9))

    def bare_insert(text: str, district: dict) -> None:
        address, phone = address_phone(district)
        now = timezone.now()
        with transaction.atomic():
            Case.objects.create(
                tracking_number=f"BASE-{next(baseline_seq):09d}", channel=Channel.PHONE, state=CaseState.REGISTERED,
                title=text[:29], text=text, district=districts[district["region_code"]], address=address,
                registered_by=operator, contact_phone=phone, contact_phone_hash=lookup_hash(phone, purpose="phone"),
                urgency=Urgency.NORMAL, state_entered_at=now, created_at=now, updated_at=now)

    for text, _code, district in requests[:20]:  # warm-up: model load, caches, compiled queries
        register(text, district)
        smart_dispatch_run()
        bare_insert(text, district)
    text, _code, district = requests[20]
    with CaptureQueriesContext(connection) as registering:
        register(text, district)
    with CaptureQueriesContext(connection) as dispatching:
        smart_dispatch_run()

    timed = requests[21:21 + n]
    first_id = Case.objects.order_by("-id").values_list("id", flat=True).first()
    messages_before, jobs_queued = Message.objects.count(), 0
    seconds = {"baseline": 0.0, "register": 0.0, "dispatch": 0.0, "one_by_one": 0.0}
    cpu = dict(seconds)  # this process's CPU time: what the step costs one core, whoever else runs

    def timed_step(step: str, work):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = work()
        seconds[step] += time.perf_counter() - started
        cpu[step] += time.process_time() - cpu_started
        return result

    size = max(1, -(-len(timed) // rounds))
    batches = []
    for start in range(0, len(timed), size):
        chunk = timed[start:start + size]
        timed_step("baseline", lambda chunk=chunk: [bare_insert(text, district) for text, _code, district in chunk])
        jobs_before = HUEY.pending_count()
        timed_step("register", lambda chunk=chunk: [register(text, district) for text, _code, district in chunk])
        jobs_queued += HUEY.pending_count() - jobs_before
        batches.append(timed_step("dispatch", smart_dispatch_run))

    new = Case.objects.filter(id__gt=first_id).exclude(tracking_number__startswith="BASE-")
    dispatched = new.filter(state=CaseState.DISPATCHED).count()
    messages = Message.objects.count() - messages_before
    one_by_one = requests[21 + n:]
    timed_step("one_by_one", lambda: [(register(text, district), smart_dispatch_run())
                                      for text, _code, district in one_by_one])
    baseline = n / seconds["baseline"]
    register_rps = n / seconds["register"]
    dispatch_rps = n / seconds["dispatch"]
    total = n / (seconds["register"] + seconds["dispatch"])
    common = {"n": n, "database": "sqlite", "cores": 1, "baseline": round(baseline, 1),
              "baseline_step": "bare ORM insert of the same case row in its own transaction"}

    def per_cpu_second(*steps: str) -> float:
        return round(n / sum(cpu[s] for s in steps), 1)

    emit("hotline_intake_baseline", baseline, "req/s", None,
         step="same-run baseline: the same case row inserted by the bare ORM (nothing else)", n=n,
         database="sqlite", cores=1, rounds=rounds, per_cpu_second=per_cpu_second("baseline"))
    emit("hotline_intake_register", register_rps, "req/s", register_rps / baseline,
         step="validate, store, event, smart-dispatch run queued unless one is (what the caller waits for)",
         jobs_queued=jobs_queued, queries=len(registering.captured_queries),
         per_cpu_second=per_cpu_second("register"), **common)
    emit("hotline_intake_smart_dispatch", dispatch_rps, "req/s", dispatch_rps / baseline,
         step="worker: classify, accept, dispatch to the matrix unit, notifications queued (in batches)",
         auto_dispatched_share=round(dispatched / n, 3), messages=messages, batches=batches,
         queries_batch_of_one=len(dispatching.captured_queries), per_cpu_second=per_cpu_second("dispatch"),
         **common)
    emit("hotline_intake_path", total, "req/s", total / baseline,
         step="both, one after the other on one core", target=INTAKE_TARGET, meets_target=total >= INTAKE_TARGET,
         queries=len(registering.captured_queries) + len(dispatching.captured_queries),
         per_cpu_second=per_cpu_second("register", "dispatch"), **common)
    single = len(one_by_one) / seconds["one_by_one"]
    emit("hotline_intake_path_one_by_one", single, "req/s", single / baseline,
         step="both, the worker's run after every single registration (batches of one)", target=INTAKE_TARGET,
         meets_target=single >= INTAKE_TARGET, per_cpu_second=round(len(one_by_one) / cpu["one_by_one"], 1),
         **common | {"n": len(one_by_one)})


def bench_classifier() -> None:
    """Accuracy and macro-F1 beside the TF-IDF + LinearSVC baseline on the fixed split
    (bench/hotline_classifier.py), then what the dispatch threshold means on the same split:
    the share of requests dispatched automatically and how many of those are right."""
    from onecity.hotline.classifier import train
    from onecity.hotline.classifier.baseline import SHARED_CSV, fixed_split

    if not SHARED_CSV.is_file():
        emit("hotline_dispatch.classifier", 0.0, "", None, skipped=True,
             reason=f"the shared labelled data is not at {SHARED_CSV}")
        return
    from django.conf import settings

    from bench import hotline_classifier

    split = fixed_split()
    hotline_classifier.run(split)
    model = train(split.train_texts, split.train_labels)
    predictions = model.predict_many(split.test_texts)
    threshold = float(settings.HOTLINE_AUTO_DISPATCH_THRESHOLD)
    chosen = [p.category == truth for p, truth in zip(predictions, split.test_labels, strict=True)
              if p.confidence >= threshold]
    coverage = len(chosen) / len(predictions)
    precision = sum(chosen) / len(chosen) if chosen else 0.0
    emit("hotline_dispatch.auto_dispatch_precision", precision, "share right", None, threshold=threshold,
         auto_dispatched_share=round(coverage, 3), n_test=len(predictions))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--skip-classifier", action="store_true", help="only the intake path")
    args = parser.parse_args(argv)
    setup_django()
    bench_intake(args.requests)
    if not args.skip_classifier:
        bench_classifier()


if __name__ == "__main__":
    main()
