"""Smart dispatch (智能派单): classify a new request and route it.

After a request is registered (`case_register` schedules it after commit, so intake stays
fast), `case_smart_dispatch` runs in the worker:

1. The active classifier version (services/classifier_versions.py) reads the request and
   gives a category, a confidence and its top-3 suggestions. With no trained version, nothing
   happens: the request simply waits for the dispatchers (manual queue).
2. The category, confidence and suggestions are stored on the case (`case_classify` by the
   system; an event row "categorised").
3. When the confidence reaches settings.HOTLINE_AUTO_DISPATCH_THRESHOLD and the
   category × district matrix names a unit, the system accepts the request and dispatches it
   to that unit (events by the system with the note "smart dispatch"). Otherwise it waits in
   the manual queue with the suggestions shown to the dispatcher.

A request registered with a category already chosen by a person (an operator, an Open311
service code) is not re-categorised: the person's choice stands and dispatchers route it.

The classifier's labels are category codes (trained on history) or, for a model trained on
the shared 7-label data, the names of top-level categories (劳动和社会保障, 城乡建设 ...):
`category_for_label` accepts both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from onecity.core.errors import NotFound
from onecity.hotline import reference
from onecity.hotline.access import access_case_by_id
from onecity.hotline.enums import CaseState
from onecity.hotline.models import Case, Category
from onecity.hotline.services import cases as case_services
from onecity.hotline.services.classifier_versions import active_model, classifier_available, example_text
from onecity.identity.selectors.accounts import organization_list_active

log = logging.getLogger(__name__)
TOP_N = 3
CLASSIFIABLE_STATES = frozenset({CaseState.REGISTERED})
#: the columns smart dispatch reads: the checks, the classifier's text, the route, the deadlines
#: and the messages (tests/test_intake_queries.py fails when the path touches another one)
CASE_FIELDS = ("id", "public_id", "tracking_number", "state", "title", "text", "category_id", "district_id",
               "urgency", "reporter_id", "contact_phone")
#: the unit's columns the dispatch checks and records
UNIT_FIELDS = ("id", "public_id", "kind", "is_active")


def threshold() -> float:
    return float(getattr(settings, "HOTLINE_AUTO_DISPATCH_THRESHOLD", 0.85))


@dataclass(frozen=True)
class DispatchOutcome:
    """What smart dispatch did with a case."""

    case_id: str
    classified: bool = False
    dispatched: bool = False
    category: str = ""
    confidence: float | None = None
    unit_id: int | None = None
    reason: str = ""  # why it went to the manual queue
    suggestions: list = field(default_factory=list)


def category_for_label(label: str, index: dict[str, Category] | None = None) -> Category | None:
    """The active category a classifier label names: a category code, else a top-level
    category's Chinese name (models trained on the shared 7-label data)."""
    return (index if index is not None else reference.label_index()).get(label)


def _suggestions(prediction, index: dict[str, Category]) -> list[dict]:
    rows = []
    for label, score in list(prediction.top)[:TOP_N]:
        category = index.get(label)
        if category is not None:
            rows.append({"category": category.code, "score": round(float(score), 4)})
    return rows


def smart_dispatch_schedule(case: Case) -> None:
    """Called by intake inside the registering transaction: after commit, hand the case to
    the worker — only when a classifier is trained and the case has no category yet. (The web
    process only asks whether a version is active; the worker loads the model.)"""
    if case.category_id is not None or not classifier_available():
        return
    from onecity.hotline.tasks import case_smart_dispatch_task

    public_id = case.public_id
    transaction.on_commit(lambda: case_smart_dispatch_task(public_id))


@transaction.atomic
def case_smart_dispatch(*, case_id: str) -> DispatchOutcome:
    """Classify the registered case `case_id` and dispatch it when the classifier is confident
    (module docstring). Idempotent: a case no longer registered, or already categorised, is
    left alone. The category, acceptance and dispatch are one change
    (`case_classify_and_dispatch`); the reference data comes from the per-process copy
    (reference.py), checked once for the whole call."""
    with reference.pinned():
        return _smart_dispatch(case_id)


def _smart_dispatch(case_id: str) -> DispatchOutcome:
    try:
        case = access_case_by_id(None, case_id, fields=CASE_FIELDS)
    except NotFound:
        case = None
    if case is None or case.state not in CLASSIFIABLE_STATES or case.category_id is not None:
        return DispatchOutcome(case_id=case_id, reason="not_pending")
    loaded = active_model()
    if loaded is None:
        return DispatchOutcome(case_id=case_id, reason="no_model")
    prediction = loaded.model.predict(example_text(case.title, case.text))
    index = reference.label_index()
    category = index.get(prediction.category)
    suggestions = _suggestions(prediction, index)
    confidence = round(float(prediction.confidence), 4)
    if category is None:
        log.warning("classifier %s predicted %r, which is no active category", loaded.version, prediction.category)
        return DispatchOutcome(case_id=case_id, reason="unknown_category", confidence=confidence)
    outcome = {"case_id": case_id, "classified": True, "category": category.code, "confidence": confidence,
               "suggestions": suggestions}
    unit = None
    reason = ""
    if confidence < threshold():
        reason = "low_confidence"
    else:
        unit_id = reference.route_unit_id(category_id=category.pk, district_id=case.district_id)
        unit = next(iter(organization_list_active().filter(pk=unit_id).order_by().only(*UNIT_FIELDS)[:1]),
                    None) if unit_id else None
        reason = "" if unit is not None else "no_route"
    note = ""
    if unit is not None:
        with translation.override(settings.LANGUAGE_CODE):
            note = _("Smart dispatch: %(category)s, confidence %(confidence)d%%") % {
                "category": category.name, "confidence": round(confidence * 100)}
    case_services.case_classify_and_dispatch(actor=None, case=case, category_code=category.code,
                                             confidence=confidence, suggestions=suggestions, unit=unit, note=note)
    if unit is None:
        return DispatchOutcome(**outcome, reason=reason)
    return DispatchOutcome(**outcome, dispatched=True, unit_id=unit.pk)
