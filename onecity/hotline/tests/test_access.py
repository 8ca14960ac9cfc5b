"""Who sees what: units only their cases, residents only their own, anonymous reporters hidden
from departments, contact details masked; the pure transition table; routing; notifications."""

from __future__ import annotations

import pytest

from onecity.core.errors import ApplicationError, NotFound
from onecity.hotline import workflow
from onecity.hotline.enums import Action, CaseState, Satisfaction
from onecity.hotline.models import Case, CaseEvent, DispatchRoute
from onecity.hotline.selectors import (
    case_find_by_phone_for_operator,
    case_get_for_actor,
    case_list_for_actor,
    case_list_for_unit,
    route_unit_id_for,
)
from onecity.hotline.services import cases as svc
from onecity.hotline.tests.support import advance, at, register
from onecity.notifications.models import Message

S = CaseState


def test_table_is_consistent():
    states = set(CaseState.values)
    for t in workflow.TRANSITIONS:
        assert t.source in states and (t.target is None or t.target in states)
        assert t.action in Action.values
        assert t.roles
    # nothing leaves a final state except reopening closed/answered requests
    for t in workflow.TRANSITIONS:
        if t.source in workflow.FINAL_STATES:
            assert t.action == Action.REOPEN and t.source in (S.CLOSED, S.ANSWERED)
    assert states == workflow.OPEN_STATES | workflow.FINAL_STATES
    assert not workflow.OPEN_STATES & workflow.FINAL_STATES


def test_actions_for_lists_what_each_role_can_do():
    assert workflow.actions_for(S.REGISTERED, {"hotline_operator"}) == ["accept", "reject", "answer", "merge",
                                                                        "classify", "remind"]
    assert workflow.actions_for(S.DISPATCHED, {"department_handler"}) == ["sub_dispatch", "return", "sign"]
    assert workflow.actions_for(S.VISITED, {"dispatcher"}, workflow.NOT_SATISFIED) == ["redo", "remind"]
    assert workflow.actions_for(S.VISITED, {"supervisor"}, workflow.NOT_SATISFIED) == ["close", "redo",
                                                                                      "supervise", "remind"]
    assert workflow.actions_for(S.CLOSED, {"reporter"}) == ["reopen"]
    assert workflow.actions_for(S.MERGED, {"dispatcher", "supervisor"}) == []


@pytest.mark.django_db
def test_units_and_residents_see_only_their_cases(city, clock):
    mine = advance(city, register(city), S.DISPATCHED)
    sub = advance(city, register(city), S.SUB_DISPATCHED)
    theirs = register(city, actor=city.operator, contact_phone="13600136000")
    svc.case_accept(actor=city.operator, case_id=theirs.public_id, category_code="utility.water")
    svc.case_dispatch(actor=city.dispatcher, case_id=theirs.public_id, unit=city.other_unit)
    waiting = register(city)

    def ids(actor):
        return set(case_list_for_actor(actor=actor).values_list("pk", flat=True))

    assert ids(city.handler) == {mine.pk, sub.pk}  # its own and what it passed to its sub-unit
    assert ids(city.sub_handler) == {sub.pk}
    assert ids(city.other_handler) == {theirs.pk}
    assert ids(city.resident) == {mine.pk, sub.pk, waiting.pk}
    assert ids(city.other_resident) == set()
    assert ids(city.dispatcher) == ids(city.supervisor) == ids(city.operator) == set(
        Case.objects.values_list("pk", flat=True))
    assert ids(None) == ids(city.dispatcher)
    assert list(case_list_for_unit(actor=city.sub_handler)) == [Case.objects.get(pk=sub.pk)]
    for outsider, case in [(city.other_handler, mine), (city.sub_handler, mine), (city.other_resident, mine),
                           (city.handler, waiting), (city.handler, theirs)]:
        with pytest.raises(NotFound):
            case_get_for_actor(actor=outsider, case_id=case.public_id)


@pytest.mark.django_db
def test_anonymous_reporter_hidden_from_departments_and_contact_masked(city, clock):
    case = register(city, anonymous=True, contact_phone="13912345678")
    case = advance(city, case, S.SIGNED)
    unit_view = case_get_for_actor(actor=city.handler, case_id=case.public_id)
    assert (unit_view.reporter_name, unit_view.contact_phone_masked, unit_view.contact_name_masked) == ("", "", "")
    assert [e.actor_name for e in unit_view.timeline if e.action == "register"] == [""]
    assert unit_view.actions == ["start", "reply", "extension_request"]
    hotline_view = case_get_for_actor(actor=city.dispatcher, case_id=case.public_id)
    assert (hotline_view.reporter_name, hotline_view.contact_phone_masked) == ("林**", "139****5678")
    own_view = case_get_for_actor(actor=city.resident, case_id=case.public_id)
    assert own_view.contact_phone_masked == "139****5678"
    assert [e.action for e in own_view.timeline] == ["register", "accept", "dispatch", "sign"]

    named = advance(city, register(city, contact_phone="13912345678", contact_name="林小明"), S.DISPATCHED)
    view = case_get_for_actor(actor=city.handler, case_id=named.public_id)
    assert (view.reporter_name, view.contact_name_masked, view.contact_phone_masked) == ("林**", "林**",
                                                                                         "139****5678")
    rendered = repr(view)
    assert "13912345678" not in rendered
    assert "林小明" not in rendered
    assert [e.actor_name for e in view.timeline][:2] == ["林**", "operator 同志"]


@pytest.mark.django_db
def test_operator_finds_earlier_requests_by_phone(city, clock):
    first = register(city, actor=city.operator, contact_phone="13600136000")
    register(city, actor=city.operator, contact_phone="13700137000")
    assert list(case_find_by_phone_for_operator(actor=city.operator, phone="136 0013 6000")) == [first]
    assert list(case_find_by_phone_for_operator(actor=city.handler, phone="13600136000")) == []


@pytest.mark.django_db
def test_dispatch_matrix_lookup(city):
    assert route_unit_id_for(category_id=city.potholes.pk, district_id=city.district.pk) is None
    DispatchRoute.objects.create(category=city.roads, district=None, unit=city.unit)
    assert route_unit_id_for(category_id=city.potholes.pk, district_id=city.district.pk) == city.unit.pk
    DispatchRoute.objects.create(category=city.roads, district=city.district, unit=city.other_unit)
    assert route_unit_id_for(category_id=city.potholes.pk, district_id=city.district.pk) == city.other_unit.pk
    assert route_unit_id_for(category_id=city.potholes.pk, district_id=city.other_district.pk) == city.unit.pk
    DispatchRoute.objects.create(category=city.potholes, district=city.district, unit=city.unit)
    assert route_unit_id_for(category_id=city.potholes.pk, district_id=city.district.pk) == city.unit.pk


@pytest.mark.django_db
def test_reporter_and_units_are_told(city, clock, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case = advance(city, register(city), S.CLOSED)
    sms = list(Message.objects.filter(channel="sms", address_masked="138****8000").order_by("id")
               .values_list("template", flat=True))
    assert sms == ["hotline.accepted", "hotline.replied", "hotline.closed"]
    accepted = Message.objects.get(template="hotline.accepted")
    assert accepted.body == f"【12345】您的诉求（编号{case.tracking_number}）已受理，我们将在2026-12-01 23:59前答复您。"
    dispatched = Message.objects.get(template="hotline.dispatched")
    assert (dispatched.channel, dispatched.recipient) == ("in_app", city.handler)


@pytest.mark.django_db
def test_nothing_is_sent_when_the_action_fails(city, clock, django_capture_on_commit_callbacks):
    case = register(city)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ApplicationError):
        svc.case_accept(actor=city.operator, case_id=case.public_id, category_code="no.such")
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_merge_duplicates(city, clock):
    primary = advance(city, register(city), S.DISPATCHED)
    duplicate = register(city, actor=city.operator, contact_phone="13600136000")
    merged = svc.case_merge(actor=city.dispatcher, case_id=duplicate.public_id, into_case_id=primary.public_id)
    assert (merged.state, merged.merged_into_id) == (S.MERGED, primary.pk)
    assert CaseEvent.objects.filter(case=primary, action="merge").get().data == {
        "duplicate": duplicate.tracking_number}
    third = register(city)
    for target, code in [(third, "merge_target"), (merged, "merge_target")]:
        with pytest.raises(ApplicationError) as caught:
            svc.case_merge(actor=city.dispatcher, case_id=third.public_id if target != third else third.public_id,
                           into_case_id=target.public_id)
        assert caught.value.code == code
    closed = advance(city, register(city), S.CLOSED)
    with pytest.raises(ApplicationError):
        svc.case_merge(actor=city.dispatcher, case_id=third.public_id, into_case_id=closed.public_id)
    with pytest.raises(ApplicationError):
        svc.case_merge(actor=city.dispatcher, case_id=third.public_id, into_case_id="01jx0000000000000000000000")
    assert Case.objects.get(pk=third.pk).state == S.REGISTERED


@pytest.mark.django_db
def test_reopen_window(city, clock, settings):
    settings.HOTLINE_REOPEN_DAYS = 15
    clock.set(at(2026, 11, 2, 10))
    case = advance(city, register(city), S.CLOSED)
    due = case.due_at
    clock.set(at(2026, 11, 17, 10))  # exactly 15 days later: still inside
    reopened = svc.case_reopen(actor=city.resident, case_id=case.public_id, reason="坑又出现了")
    assert (reopened.state, reopened.reopened_count, reopened.assigned_unit_id, reopened.closed_at,
            reopened.due_at) == (S.ACCEPTED, 1, None, None, due)
    # handled again and closed again; too late the second time
    reopened = advance_from_accepted(city, reopened)
    clock.set(at(2026, 12, 2, 10, 1))
    with pytest.raises(ApplicationError) as caught:
        svc.case_reopen(actor=city.resident, case_id=case.public_id, reason="还是有坑")
    assert caught.value.code == "reopen_window"
    assert Case.objects.get(pk=case.pk).state == S.CLOSED
    with pytest.raises(NotFound):
        svc.case_reopen(actor=city.other_resident, case_id=case.public_id, reason="x")


def advance_from_accepted(city, case):
    pid = case.public_id
    svc.case_dispatch(actor=city.dispatcher, case_id=pid, unit=city.unit)
    svc.case_sign(actor=city.handler, case_id=pid)
    svc.case_reply(actor=city.handler, case_id=pid, reply="已再次修补")
    svc.case_visit(actor=city.resident, case_id=pid, satisfaction=Satisfaction.SATISFIED)
    return svc.case_close(actor=city.operator, case_id=pid)


@pytest.mark.django_db
def test_answered_directly_can_be_reopened_and_starts_its_clock(city, clock):
    clock.set(at(2026, 11, 23, 10))
    case = advance(city, register(city), S.ANSWERED)
    assert (case.closed_at, case.accepted_at, case.due_at) == (clock.now, None, None)
    clock.set(at(2026, 11, 24, 10))
    case = svc.case_reopen(actor=city.operator, case_id=case.public_id, reason="答复未解决问题")
    assert (case.state, case.accepted_at) == (S.ACCEPTED, clock.now)
    assert case.due_at is not None
