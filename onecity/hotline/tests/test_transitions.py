"""Every transition of the table through its service: allowed for each role the table names,
refused for every other role and in every other state — and a refusal changes nothing."""

from __future__ import annotations

import pytest

from onecity.core.errors import ApplicationError, NotFound, PermissionDenied
from onecity.hotline import workflow
from onecity.hotline.enums import Action, CaseState, Satisfaction
from onecity.hotline.models import Case, CaseEvent, ExtensionRequest
from onecity.hotline.services import cases as svc
from onecity.hotline.services import extensions, supervision
from onecity.hotline.tests.support import advance, pending_extension, register

pytestmark = pytest.mark.django_db
A = Action
S = CaseState
ROLES = ["hotline_operator", "dispatcher", "department_handler", "supervisor", "reporter", "system"]
TABLE = [t for t in workflow.TRANSITIONS if t.action != A.ESCALATE]


def call(city, action: str, case: Case, actor):
    pid = case.public_id
    if action == A.ACCEPT:
        return svc.case_accept(actor=actor, case_id=pid)
    if action == A.REJECT:
        return svc.case_reject(actor=actor, case_id=pid, reason="不属于受理范围")
    if action == A.ANSWER:
        return svc.case_answer(actor=actor, case_id=pid, answer="已答复")
    if action == A.MERGE:
        return svc.case_merge(actor=actor, case_id=pid, into_case_id=register(city).public_id)
    if action == A.DISPATCH:
        return svc.case_dispatch(actor=actor, case_id=pid, unit=city.unit, category_code="urban.roads")
    if action == A.SUB_DISPATCH:
        return svc.case_sub_dispatch(actor=actor, case_id=pid, subunit=city.subunit)
    if action in (A.RETURN, A.SUB_RETURN):
        return svc.case_return(actor=actor, case_id=pid, reason="非本单位职责")
    if action == A.SIGN:
        return svc.case_sign(actor=actor, case_id=pid)
    if action == A.START:
        return svc.case_start(actor=actor, case_id=pid)
    if action == A.REPLY:
        return svc.case_reply(actor=actor, case_id=pid, reply="已处理")
    if action == A.VISIT:
        return svc.case_visit(actor=actor, case_id=pid, satisfaction=Satisfaction.SATISFIED)
    if action == A.CLOSE:
        return svc.case_close(actor=actor, case_id=pid)
    if action == A.REDO:
        return svc.case_redo(actor=actor, case_id=pid, reason="路面仍有坑洼")
    if action == A.REOPEN:
        return svc.case_reopen(actor=actor, case_id=pid, reason="问题再次出现")
    if action == A.CLASSIFY:
        return svc.case_classify(actor=actor, case_id=pid, category_code="urban.roads")
    if action == A.EXTENSION_REQUEST:
        return extensions.case_extension_request(actor=actor, case_id=pid, days=3, reason="需协调")
    if action == A.EXTENSION_APPROVE:
        request = ExtensionRequest.objects.get(case=case, state="pending")
        return extensions.case_extension_approve(actor=actor, request_id=request.public_id)
    if action == A.EXTENSION_REFUSE:
        request = ExtensionRequest.objects.get(case=case, state="pending")
        return extensions.case_extension_refuse(actor=actor, request_id=request.public_id, note="理由不充分")
    if action == A.SUPERVISE:
        return supervision.case_supervise(actor=actor, case_id=pid, note="请加快办理")
    if action == A.REMIND:
        return supervision.case_remind(actor=actor, case_id=pid, note="市民来电催办")
    raise AssertionError(action)


def case_in(city, transition) -> Case:
    satisfaction = Satisfaction.NOT_SATISFIED if transition.condition == workflow.NOT_SATISFIED \
        else Satisfaction.SATISFIED
    case = advance(city, register(city), transition.source, satisfaction=satisfaction)
    if transition.action in (A.EXTENSION_APPROVE, A.EXTENSION_REFUSE):
        pending_extension(city, case)
    return Case.objects.get(pk=case.pk)


def snapshot(case: Case):
    case = Case.objects.get(pk=case.pk)
    return (case.state, case.updated_at, case.assigned_unit_id, case.assigned_subunit_id, case.due_at,
            case.handle_due_at, CaseEvent.objects.filter(case=case).count(), ExtensionRequest.objects.count())


def label(t):
    return f"{t.action}:{t.source}" + (f":{t.condition}" if t.condition else "")


@pytest.mark.parametrize("transition", TABLE, ids=label)
def test_allowed_for_each_role_in_the_table(city, clock, transition):
    for role in sorted(transition.roles):
        case = case_in(city, transition)
        events_before = CaseEvent.objects.filter(case=case, action=transition.action).count()
        clock.advance(minutes=1)
        actor = city.actor(role, case)
        call(city, transition.action, case, actor)
        case.refresh_from_db()
        assert case.state == (transition.target or transition.source), role
        assert CaseEvent.objects.filter(case=case, action=transition.action).count() == events_before + 1, role
        event = CaseEvent.objects.filter(case=case, action=transition.action).latest("id")
        assert event.actor == actor
        if transition.target:
            assert (event.from_state, event.to_state) == (transition.source, transition.target)
            assert case.state_entered_at == clock.now


@pytest.mark.parametrize("transition", TABLE, ids=label)
def test_refused_for_every_other_role(city, clock, transition):
    case = case_in(city, transition)
    before = snapshot(case)
    for role in ROLES:
        if role in transition.roles:
            continue
        actor = city.actor(role, case)
        with pytest.raises((PermissionDenied, NotFound)):
            call(city, transition.action, case, actor)
        assert snapshot(case) == before, role
    # a handler of another unit cannot even see it
    with pytest.raises(NotFound):
        call(city, transition.action, case, city.other_handler)
    # nor can another resident
    with pytest.raises(NotFound):
        call(city, transition.action, case, city.other_resident)
    assert snapshot(case) == before


STATE_ACTIONS = sorted({t.action for t in TABLE} - {A.EXTENSION_APPROVE, A.EXTENSION_REFUSE})


@pytest.mark.parametrize("state", list(CaseState.values))
def test_refused_in_every_state_the_table_does_not_list(city, clock, state):
    case = advance(city, register(city), state)
    before = snapshot(case)
    refused = 0
    for action in STATE_ACTIONS:
        if workflow.transition_for(action, state, workflow.SATISFIED) is not None:
            continue
        if action == A.SUB_RETURN or (action == A.RETURN and state == S.SUB_DISPATCHED):
            continue  # one service (case_return) serves both; its state is covered by RETURN
        with pytest.raises(ApplicationError) as caught:
            call(city, action, case, city.dispatcher)
        assert (caught.value.code, caught.value.status) == ("invalid_state", 409), action
        assert snapshot(case) == before, action
        refused += 1
    assert refused > 0


def test_not_satisfied_can_be_closed_only_by_a_supervisor(city, clock):
    case = advance(city, register(city), S.VISITED, satisfaction=Satisfaction.NOT_SATISFIED)
    before = snapshot(case)
    for actor in (city.operator, city.dispatcher, None):
        with pytest.raises(PermissionDenied):
            svc.case_close(actor=actor, case_id=case.public_id)
    assert snapshot(case) == before
    assert svc.case_close(actor=city.supervisor, case_id=case.public_id).state == S.CLOSED


def test_first_level_handler_sees_but_cannot_act_for_its_sub_unit(city, clock):
    case = advance(city, register(city), S.SUB_DISPATCHED)
    before = snapshot(case)
    with pytest.raises(PermissionDenied):
        svc.case_sign(actor=city.handler, case_id=case.public_id)
    assert snapshot(case) == before
    signed = svc.case_sign(actor=city.sub_handler, case_id=case.public_id)
    assert (signed.state, signed.assigned_unit_id, signed.assigned_subunit_id) == (
        S.SIGNED, city.unit.pk, city.subunit.pk)
    with pytest.raises(PermissionDenied):
        svc.case_reply(actor=city.handler, case_id=case.public_id, reply="x")


def test_sub_unit_return_goes_back_to_the_first_level_unit(city, clock):
    case = advance(city, register(city), S.SUB_DISPATCHED)
    clock.advance(hours=1)
    case = svc.case_return(actor=city.sub_handler, case_id=case.public_id, reason="不在本处辖区")
    assert (case.state, case.assigned_unit_id, case.assigned_subunit_id) == (S.DISPATCHED, city.unit.pk, None)
    assert CaseEvent.objects.filter(case=case).latest("id").action == A.SUB_RETURN
    case = svc.case_return(actor=city.handler, case_id=case.public_id, reason="非城管职责")
    assert (case.state, case.assigned_unit_id, case.sign_due_at, case.state_reason) == (
        S.RETURNED, None, None, "非城管职责")
    # the unit no longer sees it; the dispatcher re-dispatches
    with pytest.raises(NotFound):
        svc.case_sign(actor=city.handler, case_id=case.public_id)
    case = svc.case_dispatch(actor=city.dispatcher, case_id=case.public_id, unit=city.other_unit)
    assert (case.state, case.assigned_unit_id) == (S.DISPATCHED, city.other_unit.pk)


def test_concurrent_change_is_detected_not_overwritten(city, clock):
    case = advance(city, register(city), S.ACCEPTED)
    stale = Case.objects.get(pk=case.pk)
    svc.case_dispatch(actor=city.dispatcher, case_id=case.public_id, unit=city.unit)
    from onecity.hotline.services.base import apply

    with pytest.raises(ApplicationError) as caught:
        apply(actor=city.dispatcher, case=stale, transition=workflow.transition_for(A.DISPATCH, S.ACCEPTED),
              updates={"assigned_unit_id": city.other_unit.pk})
    assert caught.value.code == "state_conflict"
    assert Case.objects.get(pk=case.pk).assigned_unit_id == city.unit.pk


def test_invalid_arguments_change_nothing(city, clock):
    case = advance(city, register(city), S.ACCEPTED)
    before = snapshot(case)
    with pytest.raises(ApplicationError) as caught:
        svc.case_dispatch(actor=city.dispatcher, case_id=case.public_id, unit=city.subunit)
    assert caught.value.code == "unit_invalid"
    with pytest.raises(ApplicationError) as caught:
        svc.case_reject(actor=city.operator, case_id=case.public_id, reason="  ")
    assert caught.value.code == "invalid_state"
    case2 = register(city)
    with pytest.raises(ApplicationError) as caught:
        svc.case_reject(actor=city.operator, case_id=case2.public_id, reason="  ")
    assert (caught.value.code, caught.value.field) == ("reason_required", "reason")
    with pytest.raises(ApplicationError) as caught:
        svc.case_accept(actor=city.operator, case_id=case2.public_id, category_code="no.such")
    assert caught.value.code == "category_invalid"
    assert snapshot(case) == before
    assert Case.objects.get(pk=case2.pk).state == S.REGISTERED
    with pytest.raises(NotFound):
        svc.case_accept(actor=city.operator, case_id="01jx0000000000000000000000")
