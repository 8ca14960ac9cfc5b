"""The overdue job: each overdue clock escalated once to the supervisors (and the unit), again
only when a moved deadline passes too."""

from __future__ import annotations

import pytest

from onecity.hotline.enums import CaseState, Clock
from onecity.hotline.models import CaseEvent, Escalation
from onecity.hotline.services import cases as svc
from onecity.hotline.services import extensions
from onecity.hotline.services.escalation import case_escalate_overdue
from onecity.hotline.tasks import case_escalate_overdue_task
from onecity.hotline.tests.support import advance, at, eod, pending_extension, register
from onecity.notifications.models import Message

pytestmark = pytest.mark.django_db
S = CaseState


def test_escalates_each_overdue_clock_once(city, clock, django_capture_on_commit_callbacks):
    clock.set(at(2026, 11, 23, 10))
    unsigned = advance(city, register(city), S.DISPATCHED)  # sign by 24 Nov
    handling = advance(city, register(city), S.IN_PROGRESS)  # handle by 30 Nov
    waiting = advance(city, register(city), S.ACCEPTED)  # overall by 1 Dec
    advance(city, register(city), S.REPLIED)  # replied: no clock left
    clock.set(at(2026, 11, 25, 0, 1))
    with django_capture_on_commit_callbacks(execute=True):
        result = case_escalate_overdue()
    assert result.escalated == [unsigned.tracking_number]
    row = Escalation.objects.get()
    assert (row.case_id, row.clock, row.state, row.due_at, row.unit_id) == (
        unsigned.pk, Clock.SIGN, S.DISPATCHED, eod(2026, 11, 24), city.unit.pk)
    event = CaseEvent.objects.get(case=unsigned, action="escalate")
    assert (event.actor, event.data["clock"]) == (None, "sign")
    to_supervisor = Message.objects.filter(recipient=city.supervisor, template="hotline.overdue")
    assert [(m.subject, m.body) for m in to_supervisor] == [(
        f"工单超期：{unsigned.tracking_number}",
        "“鼓楼区五四路与湖东路交叉口有一个大坑，电动车经过很危险。”已超过签收期限（2026-11-24 23:59）。")]
    assert to_supervisor.count() == 1
    assert Message.objects.filter(recipient=city.handler, template="hotline.overdue").count() == 1

    # idempotent: a second run (or the periodic task) escalates nothing again
    with django_capture_on_commit_callbacks(execute=True):
        assert case_escalate_overdue().escalated == []
        assert case_escalate_overdue_task.call_local() == 0
    assert Escalation.objects.count() == 1
    assert Message.objects.filter(template="hotline.overdue").count() == 2

    clock.set(at(2026, 12, 2, 0, 1))
    escalated = sorted(case_escalate_overdue().escalated)
    assert escalated == sorted([handling.tracking_number, waiting.tracking_number])
    assert set(Escalation.objects.values_list("case_id", "clock")) == {
        (unsigned.pk, "sign"), (handling.pk, "handle"), (waiting.pk, "overall")}
    assert case_escalate_overdue().escalated == []


def test_a_moved_deadline_is_a_new_clock(city, clock):
    clock.set(at(2026, 11, 23, 10))
    case = advance(city, register(city), S.IN_PROGRESS)  # handle by 30 Nov
    clock.set(at(2026, 12, 1, 9))
    assert case_escalate_overdue().escalated == [case.tracking_number]
    extensions.case_extension_approve(actor=city.dispatcher, request_id=pending_extension(city, case).public_id)
    assert case_escalate_overdue().escalated == []  # new deadline 3 Dec not passed
    clock.set(at(2026, 12, 4, 9))
    assert case_escalate_overdue().escalated == [case.tracking_number]
    assert list(Escalation.objects.filter(case=case).order_by("due_at").values_list("due_at", flat=True)) == [
        eod(2026, 11, 30), eod(2026, 12, 3)]
    svc.case_reply(actor=city.handler, case_id=case.public_id, reply="已处理")
    clock.set(at(2026, 12, 30, 9))
    assert case_escalate_overdue().escalated == []
