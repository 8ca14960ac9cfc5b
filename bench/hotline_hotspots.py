"""bench.hotline_hotspots — duplicate suggestions and hot spots on the demo city.

In-process on SQLite (a throw-away var/ directory, migrated, the full demo city loaded: a year
of 12345 requests and the bursts of the last days). Each measurement is timed in rounds
interleaved with its same-run baseline, so that load from other processes hits both alike; the
median round counts. Lines in milliseconds with `ratio` = value / baseline:

- `similar_page_ms`: the duplicate suggestions of one page of the dispatchers' manual queue
  (queries/similar.py `similar_for_cases`, up to 50 requests: the city's bigram IDF, then per
  district one query and one cosine product). Baseline: loading that page's requests with
  their category and district (the query the page makes anyway).
- `similar_case_ms`: the suggestions of one request (the case page). Same baseline.
- `hotspots_<window>_ms`: the hot-spot report of a window computed without the cache
  (queries/hotspots.py `hotspot_compute`: jieba, TF-IDF, connected components). Baseline: the
  bare ORM query of the same rows (what a page counting them would cost). `hotspots` and
  `requests` give what was found.
- `hotspots_cached_ms`: the report read back from Django's cache (what the page does for
  CACHE_SECONDS after the first visit). Baseline: the 7-day computation.

    .venv/bin/python -m bench.hotline_hotspots
"""

from __future__ import annotations

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

ROUNDS = 5


def setup_django() -> None:
    var = tempfile.mkdtemp(prefix="onecity-bench-hotspots-")
    for key in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(key, None)
    os.environ.update({"ONECITY_VAR_DIR": var, "DJANGO_SETTINGS_MODULE": "onecity.settings",
                       "ONECITY_LOG_LEVEL": "WARNING", "ONECITY_HUEY_LOG_LEVEL": "WARNING"})
    import io

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("seed", demo=True, skip_migrate=True, stdout=io.StringIO())


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def interleaved(measure, baseline) -> tuple[float, float]:
    """Median milliseconds of `measure` and `baseline`, run alternately ROUNDS times."""
    values, bases = [], []
    for _ in range(ROUNDS):
        bases.append(timed(baseline))
        values.append(timed(measure))
    return statistics.median(values), statistics.median(bases)


def main() -> int:
    setup_django()
    from django.core.cache import cache
    from django.utils import timezone

    from onecity.hotline.models import Case
    from onecity.hotline.selectors import desk as q
    from onecity.hotline.selectors import hotspots as hs
    from onecity.hotline.selectors.similar import similar_for_cases, similar_open_cases
    from onecity.identity.models import User

    dispatcher = User.objects.get(username="dispatcher")
    now = timezone.now()

    def page():
        return list(q.dispatch_manual(actor=dispatcher, filters=q.CaseFilters(), now=now)[:50])

    cases = page()
    found = similar_for_cases(actor=dispatcher, cases=cases)
    value, base = interleaved(lambda: similar_for_cases(actor=dispatcher, cases=cases), page)
    emit("similar_page_ms", value, "ms", value / base, baseline_ms=round(base, 3), requests=len(cases),
         with_suggestions=sum(1 for c in cases if found[c.pk]))
    case = max(cases, key=lambda c: len(found[c.pk]))
    value, base = interleaved(lambda: similar_open_cases(actor=dispatcher, case=case), page)
    emit("similar_case_ms", value, "ms", value / base, baseline_ms=round(base, 3),
         suggestions=len(similar_open_cases(actor=dispatcher, case=case)))

    hs.hotspot_compute(window="7d", end=now)  # jieba loads its dictionary once per process
    for window, span in hs.WINDOWS.items():
        def rows(span=span):
            return list(Case.objects.filter(created_at__gte=now - max(2 * span, hs.BACKGROUND), created_at__lte=now)
                        .values("id", "title", "text", "district_id", "created_at", "category__code"))
        report = hs.hotspot_compute(window=window, end=now)
        value, base = interleaved(lambda window=window: hs.hotspot_compute(window=window, end=now), rows)
        emit(f"hotspots_{window}_ms", value, "ms", value / base, baseline_ms=round(base, 3),
             requests=report.total, hotspots=len(report.hotspots), rising=len(report.rising))

    cache.clear()
    hs.hotspot_report(window="7d", now=now)
    value, base = interleaved(lambda: hs.hotspot_report(window="7d", now=now),
                              lambda: hs.hotspot_compute(window="7d", end=now))
    emit("hotspots_cached_ms", value, "ms", value / base, baseline_ms=round(base, 3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
