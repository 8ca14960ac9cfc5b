"""The full intake path stays within a fixed number of queries, so that a change that adds
queries to it shows here: registration (validate, tracking number, case and event rows, the
case marked as awaiting the classifier, a smart-dispatch run queued), then the worker's run with
that one case (classify, accept and dispatch to the matrix unit as one change, with the
resident's SMS and the unit's in-app message written to the outbox in the same transaction). The
messages' delivery is a job of its own and not counted. A run with many cases costs the same
statements (test_dispatch.py).

Before the combined transition and the per-process reference data (reference.py) the same path
took 6 + 40 queries; bench/hotline_dispatch.py measures the throughput."""

from __future__ import annotations

import pytest

from onecity.hotline.enums import Action, CaseState
from onecity.hotline.models import CaseEvent, DispatchRoute
from onecity.hotline.services import classifier_versions as versions
from onecity.hotline.tests.support import register
from onecity.hotline.tests.test_dispatch import examples
from onecity.notifications.models import Message

pytestmark = pytest.mark.django_db

#: registration by a resident 6 (its transaction's savepoint and release included) + the run 10
#: (its savepoint and release; the cases, the model's version, the unit, the resident's number read
#: from their account, the UPDATE, the events, the unit's handlers, the messages — no savepoints
#: inside); plus 1 for the check of the shared reference-data version, which runs at most every
#: reference.CHECK_SECONDS
FULL_PATH_MAX_QUERIES = 6 + 10 + 1
TEXT = "鼓楼区五四路路面塌陷出现一个大坑，电动车经过很危险，请尽快处理。"


def intake(city, capture):
    """One request the whole way; returns the case and the delivery jobs left scheduled."""
    with capture() as registered:
        case = register(city, text=TEXT)
    with capture() as dispatched:
        for callback in registered:  # the smart-dispatch run (the queue runs it inline in tests)
            callback()
    return case, dispatched


def test_full_intake_path_query_budget(city, settings, django_assert_max_num_queries,
                                       django_capture_on_commit_callbacks):
    settings.HOTLINE_AUTO_DISPATCH_THRESHOLD = 0.5
    DispatchRoute.objects.create(category=city.potholes, district=city.district, unit=city.unit)
    texts, labels = examples()
    versions.classifier_version_create(texts=texts, labels=labels, source="history")
    intake(city, django_capture_on_commit_callbacks)  # warm: the model and the reference data loaded once

    with django_assert_max_num_queries(FULL_PATH_MAX_QUERIES):
        case, delivery = intake(city, django_capture_on_commit_callbacks)

    case.refresh_from_db()
    assert (case.state, case.category, case.assigned_unit) == (CaseState.DISPATCHED, city.potholes, city.unit)
    assert list(CaseEvent.objects.filter(case=case).order_by("at", "id").values_list("action", flat=True)) == [
        Action.REGISTER, Action.CLASSIFY, Action.ACCEPT, Action.DISPATCH]
    messages = Message.objects.filter(created_at__gte=case.created_at).order_by("id")
    assert [(m.channel, m.template, m.recipient_id) for m in messages] == [
        ("sms", "hotline.accepted", None), ("in_app", "hotline.dispatched", city.handler.pk)]
    assert len(delivery) == 1  # the SMS's delivery job, scheduled after commit
