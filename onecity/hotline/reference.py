"""The hotline's reference data, cached per process: categories, time-limit rules and the dispatch
matrix. Every work order reads them (smart dispatch, acceptance, dispatch, signing), and they
change a few times a year, when an administrator edits them.

The tables are small (hundreds of rows), so each process keeps all three in memory and answers
`category`, `rules` and `routes` without a query. The copy is checked on every use:

- with one cheap query, the count and the largest id of each table (a row added or removed in
  any way, `bulk_create` and other processes included, changes it);
- saving or deleting a row through the model (admin, services, shell) forgets this process's
  copy at once and bumps a version in the shared Django cache, again after commit; other
  processes see the new version within CHECK_SECONDS and reload (the way core/calendar.py
  does), which covers rows edited in place.

Code that changes these tables with `QuerySet.update()` must call `reference_changed()`.
"""

from __future__ import annotations

import contextlib
import threading
import time as _time
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save

from onecity.hotline.models import Category, DispatchRoute, TimeLimitRule

CHECK_SECONDS = 5.0
VERSION_KEY = "hotline:reference:version"


@dataclass(frozen=True)
class Rule:
    sign_within: int
    sign_unit: str
    handle_within: int
    handle_unit: str


@dataclass(frozen=True)
class Reference:
    fingerprint: tuple
    categories: dict[int, Category]  # every category, active or not, by id
    by_code: dict[str, Category]  # active categories by code
    labels: dict[str, Category]  # classifier label → active category (codes, and top-level names)
    rules: dict[tuple[int | None, str], Rule]  # (category id or None, urgency) → rule
    routes: dict[tuple[int, int | None], int]  # (category id, district id or None) → unit id (active rows)


_state: dict = {"reference": None, "version": None, "checked": 0.0}
_lock = threading.Lock()
_pinned = threading.local()

_FINGERPRINT_SQL = " UNION ALL ".join(  # table names from the models, never from input
    f"SELECT COUNT(*), MAX(id) FROM {connection.ops.quote_name(model._meta.db_table)}"  # noqa: S608
    for model in (Category, TimeLimitRule, DispatchRoute))


def _fingerprint() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(_FINGERPRINT_SQL)
        return tuple(tuple(row) for row in cursor.fetchall())


def _shared_version():
    try:
        return cache.get(VERSION_KEY)
    except Exception:  # noqa: BLE001 - the cache table may not exist yet (first migrate)
        return None


def _load(fingerprint: tuple) -> Reference:
    categories = {c.pk: c for c in Category.objects.order_by("sort_order", "code")}
    by_code = {c.code: c for c in categories.values() if c.is_active}
    labels: dict[str, Category] = {}
    for category in by_code.values():  # in the categories' order: the first of a name wins
        if category.parent_id is None:
            labels.setdefault(category.name, category)
    labels.update(by_code)  # a code wins over a name
    rules = {(r.category_id, r.urgency): Rule(r.sign_within, r.sign_unit, r.handle_within, r.handle_unit)
             for r in TimeLimitRule.objects.all()}
    routes = {(r.category_id, r.district_id): r.unit_id
              for r in DispatchRoute.objects.filter(is_active=True).only("category_id", "district_id", "unit_id")}
    return Reference(fingerprint, categories, by_code, labels, rules, routes)


def reference() -> Reference:
    """This process's copy of the reference data, reloaded when it changed (module docstring);
    inside `pinned()`, the copy checked when it began."""
    held = getattr(_pinned, "reference", None)
    if held is not None:
        return held
    state = _state
    now = _time.monotonic()
    if now - state["checked"] >= CHECK_SECONDS:
        with _lock:
            version = _shared_version()
            if version != state["version"]:
                state["reference"], state["version"] = None, version
            state["checked"] = now
    fingerprint = _fingerprint()
    current = state["reference"]
    if current is None or current.fingerprint != fingerprint:
        current = _load(fingerprint)
        state["reference"] = current
    return current


@contextlib.contextmanager
def pinned():
    """Check the copy once for a block of look-ups (one service call): the look-ups inside it
    share one check instead of one query each. A change made inside the block itself forgets
    the pinned copy too."""
    outer = getattr(_pinned, "reference", None)
    _pinned.reference = outer or reference()
    try:
        yield
    finally:
        _pinned.reference = outer


def reference_forget() -> None:
    """Forget this process's copy (the next use loads it again)."""
    _state["reference"] = None
    _pinned.reference = None


def _bump() -> None:
    # No shared cache yet (the first migrate): this process is already up to date.
    with contextlib.suppress(Exception):
        cache.set(VERSION_KEY, _time.time_ns(), timeout=None)


def reference_changed(**_kwargs) -> None:
    """Forget the copy here and tell the other processes, now and again after commit (so that a
    process reloading before the commit, still seeing the old rows, reloads once more)."""
    reference_forget()
    _bump()
    transaction.on_commit(lambda: (reference_forget(), _bump()))


def connect_signals() -> None:
    for model in (Category, TimeLimitRule, DispatchRoute):
        post_save.connect(reference_changed, sender=model, dispatch_uid=f"hotline-reference-save-{model.__name__}")
        post_delete.connect(reference_changed, sender=model,
                            dispatch_uid=f"hotline-reference-delete-{model.__name__}")


# --- look-ups ---------------------------------------------------------------------------------


def category_chain(ref: Reference, category_id: int | None) -> list[int]:
    """The category and its parent (when it has one): most specific first."""
    if category_id is None:
        return []
    category = ref.categories.get(category_id)
    parent_id = category.parent_id if category is not None else None
    return [category_id, parent_id] if parent_id else [category_id]


def rule_for(*, category_id: int | None, urgency: str) -> Rule | None:
    """The time-limit rule of (category, urgency), else (parent, urgency), else (none, urgency)."""
    ref = reference()
    for key in [*category_chain(ref, category_id), None]:
        rule = ref.rules.get((key, urgency))
        if rule is not None:
            return rule
    return None


def route_unit_id(*, category_id: int, district_id: int | None) -> int | None:
    """The responsible unit from the dispatch matrix: (category, district), (parent category,
    district), then the city-wide rows of the category and its parent. None: no route."""
    ref = reference()
    chain = category_chain(ref, category_id)
    for key in [*((c, district_id) for c in chain if district_id), *((c, None) for c in chain)]:
        unit_id = ref.routes.get(key)
        if unit_id is not None:
            return unit_id
    return None


def active_category(code: str) -> Category | None:
    return reference().by_code.get(code)


def category_by_id(category_id: int | None) -> Category | None:
    return reference().categories.get(category_id) if category_id is not None else None


def label_index() -> dict[str, Category]:
    """Classifier label → active category: every code, and the names of top-level categories."""
    return reference().labels
