"""Smart dispatch (智能派单): classify new requests and route them, in batches.

A request registered without a category while a classifier is trained is marked
`awaiting_classifier` in its own INSERT, and after commit intake makes sure a smart-dispatch run
is queued (tasks.smart_dispatch_soon: at most one queued at a time, so a burst of calls queues a
handful of runs, not one per call). The run, in the worker (`smart_dispatch_pending`), takes the
awaiting cases in batches of BATCH, oldest first, each batch in one transaction:

1. The active classifier version (services/classifier_versions.py) reads every request of the
   batch at once (`predict_many`) and gives each a category, a confidence and its top-3
   suggestions. With no trained version, nothing happens: the requests simply wait for the
   dispatchers (manual queue).
2. The category, confidence and suggestions are stored on the case (by the system; an event
   row "categorised").
3. When the confidence reaches settings.HOTLINE_AUTO_DISPATCH_THRESHOLD and the
   category × district matrix names a unit, the system accepts the request and dispatches it
   to that unit (events by the system with the note "smart dispatch"). Otherwise it waits in
   the manual queue with the suggestions shown to the dispatcher.

Steps 2 and 3 for the whole batch are `cases.cases_classify_and_dispatch`: a fixed number of
statements per batch, whatever its size. Every case taken is no longer awaiting afterwards,
whatever happened to it. A periodic job runs the same drain every minute, for a run lost in a
crash between a registration's commit and its queueing.

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
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.utils import translation
from django.utils.translation import gettext as _

from onecity.hotline import reference
from onecity.hotline.enums import CaseState
from onecity.hotline.models import Case, Category
from onecity.hotline.services import cases as case_services
from onecity.hotline.services.classifier_versions import active_model, classifier_available, example_text
from onecity.identity.selectors.accounts import organization_list_active

log = logging.getLogger(__name__)
TOP_N = 3
BATCH = 200  # cases classified and applied in one transaction
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


def smart_dispatch_wanted(category: Category | None) -> bool:
    """Whether a request being registered with `category` is for the classifier: it has no
    category yet and a classifier is trained. (The web process only asks whether a version is
    active; the worker loads the model.)"""
    return category is None and classifier_available()


def smart_dispatch_pending() -> list[DispatchOutcome]:
    """The worker's run: every case awaiting the classifier, in batches (module docstring).
    Returns what happened to each, oldest first."""
    outcomes: list[DispatchOutcome] = []
    while True:
        with reference.pinned():
            batch = _dispatch_batch()
        outcomes += batch
        if len(batch) < BATCH:  # a case registered after this batch was read queues a run of its own
            return outcomes


@transaction.atomic
def _dispatch_batch() -> list[DispatchOutcome]:
    """One batch, in one transaction: the awaiting cases locked (rows another run holds are
    skipped), classified together, applied together, and no longer awaiting."""
    cases = list(Case.objects.select_for_update(skip_locked=True).filter(awaiting_classifier=True)
                 .order_by("id").only(*CASE_FIELDS)[:BATCH])
    if not cases:
        return []
    outcomes = {case.pk: DispatchOutcome(case_id=case.public_id, reason="not_pending") for case in cases}
    pending = [case for case in cases if case.state in CLASSIFIABLE_STATES and case.category_id is None]
    loaded = active_model() if pending else None
    readings = []
    if loaded is None:
        for case in pending:
            outcomes[case.pk] = DispatchOutcome(case_id=case.public_id, reason="no_model")
    else:
        readings = _readings(pending, loaded, outcomes)
    if readings:  # each of these is no longer awaiting through the change itself
        _reporters_loaded([reading.case for reading in readings if reading.unit is not None])
        case_services.cases_classify_and_dispatch(actor=None, readings=readings)
    read = {reading.case.pk for reading in readings}
    if len(read) < len(cases):
        Case.objects.filter(pk__in=[case.pk for case in cases if case.pk not in read]).update(
            awaiting_classifier=False)
    return [outcomes[case.pk] for case in cases]


def _readings(cases: list[Case], loaded, outcomes: dict[int, DispatchOutcome]) -> list[case_services.Reading]:
    """The classifier's readings of `cases`, with the matrix unit where the confidence reaches
    the threshold (the units loaded with one query); `outcomes` records each case's."""
    predictions = loaded.model.predict_many([example_text(case.title, case.text) for case in cases])
    index = reference.label_index()
    bar = threshold()
    readings = []
    for case, prediction in zip(cases, predictions, strict=True):
        category = index.get(prediction.category)
        confidence = round(float(prediction.confidence), 4)
        if category is None:
            log.warning("classifier %s predicted %r, which is no active category", loaded.version,
                        prediction.category)
            outcomes[case.pk] = DispatchOutcome(case_id=case.public_id, reason="unknown_category",
                                                confidence=confidence)
            continue
        unit_id = reference.route_unit_id(category_id=category.pk, district_id=case.district_id) \
            if confidence >= bar else None
        readings.append((case, category, confidence, _suggestions(prediction, index), unit_id))
    wanted = {unit_id for *_rest, unit_id in readings if unit_id}
    units = {unit.pk: unit for unit in organization_list_active().filter(pk__in=wanted).order_by()
             .only(*UNIT_FIELDS)} if wanted else {}
    result = []
    with translation.override(settings.LANGUAGE_CODE):
        for case, category, confidence, suggestions, unit_id in readings:
            unit = units.get(unit_id)
            note = _("Smart dispatch: %(category)s, confidence %(confidence)d%%") % {
                "category": category.name, "confidence": round(confidence * 100)} if unit is not None else ""
            result.append(case_services.Reading(case=case, category_code=category.code, confidence=confidence,
                                                suggestions=suggestions, unit=unit, note=note))
            outcomes[case.pk] = DispatchOutcome(
                case_id=case.public_id, classified=True, dispatched=unit is not None, category=category.code,
                confidence=confidence, suggestions=suggestions, unit_id=unit.pk if unit is not None else None,
                reason="" if unit is not None else "no_route" if confidence >= bar else "low_confidence")
    return result


def _reporters_loaded(cases: list[Case]) -> None:
    """The reporters' numbers of the cases that have no contact number of their own (whom the
    acceptance SMS goes to), with one query."""
    missing = [case for case in cases if not case.contact_phone and case.reporter_id]
    if missing:
        prefetch_related_objects(missing, Prefetch("reporter", queryset=get_user_model().objects.only("pk", "phone")))
