"""The staff desk pages through Django's test client: who may open which page, every action a
page offers changes the case exactly as its service says, actions not offered are refused with
nothing changed, another unit's case is a 404, and the queue filters return exact sets."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.urls import reverse

from onecity.hotline.enums import CaseState, Channel, ExtensionState, Satisfaction, Urgency
from onecity.hotline.models import (
    Case,
    CaseEvent,
    DispatchRoute,
    Escalation,
    ExtensionRequest,
    SupervisionNote,
)
from onecity.hotline.selectors import desk as q
from onecity.hotline.services import cases as svc
from onecity.hotline.services.escalation import case_escalate_overdue
from onecity.hotline.tests.support import advance, pending_extension, register

S = CaseState
pytestmark = pytest.mark.django_db


def client_for(client, user):
    """`client` signed in as `user`, reading English (the messages asserted below)."""
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def case_url(case):
    return reverse("hotline:desk_case", args=[case.public_id])


def act_url(case, action):
    return reverse("hotline:desk_case_act", args=[case.public_id, action])


def snapshot(case):
    case = Case.objects.get(pk=case.pk)
    return (case.state, case.assigned_unit_id, case.assigned_subunit_id, case.handle_due_at, case.reply,
            CaseEvent.objects.filter(case=case).count())


# --- access ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("url_name", "allowed"), [
    ("hotline:desk_dispatch", {"dispatcher"}),
    ("hotline:desk_unit", {"handler"}),
    ("hotline:desk_supervision", {"supervisor"}),
])
def test_queue_pages_by_role(city, client, url_name, allowed):
    people = {"dispatcher": city.dispatcher, "handler": city.handler, "supervisor": city.supervisor,
              "operator": city.operator, "resident": city.resident}
    for name, user in people.items():
        client.force_login(user)
        response = client.get(reverse(url_name))
        assert response.status_code == (200 if name in allowed else 403), (name, url_name)
    client.logout()
    assert client.get(reverse(url_name)).status_code == 302  # to sign in


def test_case_page_access(city, client):
    case = advance(city, register(city), S.DISPATCHED)  # held by city.unit
    for user in (city.dispatcher, city.supervisor, city.operator, city.handler):
        client.force_login(user)
        assert client.get(case_url(case)).status_code == 200
    client.force_login(city.other_handler)
    assert client.get(case_url(case)).status_code == 404
    client.force_login(city.resident)  # the reporter is not staff: the desk is not theirs
    assert client.get(case_url(case)).status_code == 403
    client.force_login(city.dispatcher)
    assert client.get(reverse("hotline:desk_case", args=["01NOSUCHCASE0000000000000"])).status_code == 404


def test_other_units_handler_cannot_act_and_nothing_changes(city, client):
    case = advance(city, register(city), S.DISPATCHED)
    before = snapshot(case)
    client_for(client, city.other_handler)
    for action in ("sign", "return", "sub_dispatch"):
        response = client.post(act_url(case, action), {"return-reason": "不是我们的"})
        assert response.status_code == 404
    assert snapshot(case) == before


def test_anonymous_reporter_hidden_from_department_and_contact_masked(city, client):
    case = advance(city, register(city, anonymous=True, contact_phone="13800138000"), S.DISPATCHED)
    client_for(client, city.handler)
    page = client.get(case_url(case)).content.decode()
    assert "林" not in page.split("<main", 1)[1].split("timeline", 1)[0]
    assert "13800138000" not in page and "138****8000" not in page
    assert "Anonymous" in page or "匿名" in page
    client_for(client, city.dispatcher)
    page = client.get(case_url(case)).content.decode()
    assert "138****8000" in page and "13800138000" not in page


# --- the case view offers exactly the workflow's actions -------------------------------------------
def offered(client, case):
    page = client.get(case_url(case)).content.decode()
    return {chunk.split('"', 1)[0] for chunk in page.split('data-action="')[1:]}


def test_offered_actions_follow_the_workflow(city, client):
    case = register(city)
    client_for(client, city.dispatcher)
    assert offered(client, case) == {"accept", "reject", "answer", "merge", "classify", "remind"}
    case = advance(city, register(city), S.DISPATCHED)
    assert offered(client, case) == {"remind"}
    client_for(client, city.handler)
    assert offered(client, case) == {"sign", "sub_dispatch", "return"}
    client_for(client, city.supervisor)
    assert offered(client, case) == {"supervise", "remind"}
    client_for(client, city.sub_handler)  # sees nothing: not dispatched to the sub-unit
    assert client.get(case_url(case)).status_code == 404


# --- actions: each changes the state exactly as the service says -----------------------------------
def test_dispatcher_accepts_and_dispatches_from_the_case_page(city, client):
    case = register(city)
    client_for(client, city.dispatcher)
    response = client.post(act_url(case, "accept"), {"accept-urgency": Urgency.NORMAL,
                                                     "accept-category": city.potholes.code})
    assert response.status_code == 302 and response["Location"] == case_url(case)
    case.refresh_from_db()
    assert (case.state, case.category_id, case.due_at is not None) == (S.ACCEPTED, city.potholes.pk, True)
    response = client.post(act_url(case, "dispatch"), {"dispatch-unit": city.unit.pk, "dispatch-note": "请尽快处理"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    case.refresh_from_db()
    assert (case.state, case.assigned_unit_id) == (S.DISPATCHED, city.unit.pk)
    assert CaseEvent.objects.filter(case=case, action="dispatch", note="请尽快处理").count() == 1
    body = response.content.decode()
    assert 'id="case-state"' in body and "<html" not in body  # the case body fragment, no full page


def test_reason_required_shown_in_place_and_nothing_changes(city, client):
    case = register(city)
    before = snapshot(case)
    client_for(client, city.dispatcher)
    response = client.post(act_url(case, "reject"), {"reject-reason": "  "}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "Please give the reason the request is not accepted." in response.content.decode()
    assert snapshot(case) == before
    response = client.post(act_url(case, "reject"), {"reject-reason": ""})
    assert response.status_code == 422 and "<html" in response.content.decode()
    assert snapshot(case) == before


def test_department_flow_sign_sub_dispatch_return_reply(city, client):
    case = advance(city, register(city), S.DISPATCHED)
    client_for(client, city.handler)
    assert client.post(act_url(case, "sub_dispatch"), {"sub_dispatch-subunit": city.subunit.pk}).status_code == 302
    case.refresh_from_db()
    assert (case.state, case.assigned_subunit_id) == (S.SUB_DISPATCHED, city.subunit.pk)
    client_for(client, city.sub_handler)
    assert client.post(act_url(case, "sub_return"), {"sub_return-reason": "不在本处辖区"}).status_code == 302
    case.refresh_from_db()
    assert (case.state, case.assigned_subunit_id, case.state_reason) == (S.DISPATCHED, None, "不在本处辖区")
    client_for(client, city.handler)
    assert client.post(act_url(case, "sign")).status_code == 302
    case.refresh_from_db()
    assert case.state == S.SIGNED and case.handle_due_at is not None
    assert client.post(act_url(case, "start"), {"start-note": "已安排人员到场"}).status_code == 302
    assert client.post(act_url(case, "extension_request"),
                       {"extension_request-days": "3", "extension_request-reason": "需协调管线"}).status_code == 302
    assert ExtensionRequest.objects.get(case=case).state == ExtensionState.PENDING
    assert client.post(act_url(case, "reply"), {"reply-reply": "路面已修复。"}).status_code == 302
    case.refresh_from_db()
    assert (case.state, case.reply) == (S.REPLIED, "路面已修复。")


def test_handler_returns_to_dispatcher_who_redispatches_from_the_queue(city, client):
    case = advance(city, register(city), S.DISPATCHED)
    client_for(client, city.handler)
    assert client.post(act_url(case, "return"), {"return-reason": "不属于本单位职责"}).status_code == 302
    case.refresh_from_db()
    assert (case.state, case.assigned_unit_id) == (S.RETURNED, None)
    DispatchRoute.objects.create(category=city.potholes, district=city.district, unit=city.other_unit)
    client_for(client, city.dispatcher)
    page = client.get(reverse("hotline:desk_dispatch") + "?tab=returned").content.decode()
    assert case.tracking_number in page and city.other_unit.name in page
    response = client.post(act_url(case, "dispatch"), {"row": "returned", "dispatch-unit": city.other_unit.pk},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response.content.decode().lstrip().startswith("<tr")
    case.refresh_from_db()
    assert (case.state, case.assigned_unit_id) == (S.DISPATCHED, city.other_unit.pk)


def test_one_click_accept_as_suggestion_from_the_manual_queue(city, client):
    case = register(city)
    svc.case_classify(actor=None, case_id=case.public_id, category_code=city.water.code, confidence=0.41,
                      suggestions=[{"category": city.water.code, "score": 0.41},
                                   {"category": city.potholes.code, "score": 0.38}])
    client_for(client, city.dispatcher)
    page = client.get(reverse("hotline:desk_dispatch") + "?tab=manual").content.decode()
    assert case.tracking_number in page and "41%" in page and "38%" in page
    response = client.post(act_url(case, "accept"), {"row": "manual", "accept-category": city.potholes.code},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    case.refresh_from_db()
    assert (case.state, case.category_id) == (S.ACCEPTED, city.potholes.pk)


def test_extension_approve_and_refuse_from_the_queue(city, client):
    first = advance(city, register(city), S.SIGNED)
    second = advance(city, register(city), S.IN_PROGRESS)
    x1, x2 = pending_extension(city, first), pending_extension(city, second)
    due_before = first.handle_due_at
    client_for(client, city.dispatcher)
    page = client.get(reverse("hotline:desk_dispatch") + "?tab=extensions").content.decode()
    assert first.tracking_number in page and second.tracking_number in page
    response = client.post(act_url(first, "extension_approve"),
                           {"row": "extension", "extension_approve-request_id": x1.public_id}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    x1.refresh_from_db()
    first.refresh_from_db()
    assert x1.state == ExtensionState.APPROVED and first.handle_due_at > due_before and first.extended_days == 3
    # refusing needs a reason: shown in the row, nothing changed
    response = client.post(act_url(second, "extension_refuse"),
                           {"row": "extension", "extension_refuse-request_id": x2.public_id}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422 and "Please say why the extension is refused." in response.content.decode()
    x2.refresh_from_db()
    assert x2.state == ExtensionState.PENDING
    response = client.post(act_url(second, "extension_refuse"),
                           {"extension_refuse-request_id": x2.public_id, "extension_refuse-note": "可在期限内完成"})
    assert response.status_code == 302
    x2.refresh_from_db()
    assert (x2.state, x2.decision_note) == (ExtensionState.REFUSED, "可在期限内完成")
    # a request id of another case is not found through this case
    third = advance(city, register(city), S.SIGNED)
    x3 = pending_extension(city, third)
    assert client.post(act_url(first, "extension_approve"),
                       {"extension_approve-request_id": x3.public_id}).status_code == 404
    x3.refresh_from_db()
    assert x3.state == ExtensionState.PENDING


def test_merge_duplicate_into_a_picked_case(city, client):
    target = advance(city, register(city), S.DISPATCHED)
    duplicate = register(city)
    client_for(client, city.dispatcher)
    page = client.get(case_url(duplicate)).content.decode()
    assert target.tracking_number in page  # offered as a merge candidate
    response = client.post(act_url(duplicate, "merge"), {"merge-number": target.tracking_number})
    assert response.status_code == 302
    duplicate.refresh_from_db()
    assert (duplicate.state, duplicate.merged_into_id) == (S.MERGED, target.pk)


def test_supervisor_supervises_and_closes_after_dissatisfaction(city, client):
    case = advance(city, register(city), S.VISITED, satisfaction=Satisfaction.NOT_SATISFIED)
    other = advance(city, register(city), S.VISITED, satisfaction=Satisfaction.NOT_SATISFIED)
    client_for(client, city.supervisor)
    page = client.get(reverse("hotline:desk_supervision") + "?tab=not_satisfied").content.decode()
    assert case.tracking_number in page and other.tracking_number in page
    assert client.post(act_url(case, "supervise"), {"supervise-note": "请三日内重新核查"}).status_code == 302
    assert SupervisionNote.objects.filter(case=case, kind="supervise", note="请三日内重新核查").count() == 1
    assert client.post(act_url(case, "close"), {"close-note": "复核后维持原答复"}).status_code == 302
    case.refresh_from_db()
    assert case.state == S.CLOSED
    assert client.post(act_url(other, "redo"), {"redo-reason": "未到现场核实"}).status_code == 302
    other.refresh_from_db()
    assert (other.state, other.redo_count) == (S.IN_PROGRESS, 1)


# --- forbidden actions: not offered, refused with nothing changed -----------------------------------
def test_forbidden_actions_refused_and_nothing_changed(city, client):
    case = advance(city, register(city), S.VISITED, satisfaction=Satisfaction.NOT_SATISFIED)
    before = snapshot(case)
    client_for(client, city.dispatcher)
    assert "close" not in offered(client, case)  # only a supervisor closes after "not satisfied"
    assert client.post(act_url(case, "close")).status_code == 403
    assert client.post(act_url(case, "sign")).status_code == 409  # wrong state
    assert client.post(act_url(case, "dispatch"), {"dispatch-unit": city.unit.pk}).status_code == 409
    response = client.post(act_url(case, "close"), HTTP_HX_REQUEST="true")
    assert response.status_code == 422 and "You are not allowed to do this." in response.content.decode()
    assert snapshot(case) == before
    client_for(client, city.handler)
    assert client.post(act_url(case, "redo"), {"redo-reason": "x"}).status_code == 403
    assert client.post(act_url(case, "no_such_action")).status_code == 404
    assert client.get(act_url(case, "sign")).status_code == 405
    assert snapshot(case) == before


def test_handler_cannot_dispatch_and_dispatcher_cannot_sign(city, client):
    accepted = advance(city, register(city), S.ACCEPTED)
    dispatched = advance(city, register(city), S.DISPATCHED)
    before = (snapshot(accepted), snapshot(dispatched))
    client_for(client, city.dispatcher)
    assert client.post(act_url(dispatched, "sign")).status_code == 403
    client_for(client, city.handler)
    assert client.post(act_url(accepted, "dispatch"), {"dispatch-unit": city.unit.pk}).status_code == 404
    assert (snapshot(accepted), snapshot(dispatched)) == before


# --- queues and filters ---------------------------------------------------------------------------
def numbers(response) -> set[str]:
    """The tracking numbers listed in a queue table."""
    return set(re.findall(r'class="row-link[^"]*" href="[^"]+">([^<]+)<', response.content.decode()))


def test_dispatch_filters_return_exact_sets(city, client, clock):
    a = register(city, category=city.potholes)  # registered, district, app
    b = advance(city, register(city, actor=city.operator, category=city.water, channel=Channel.PHONE,
                               district=city.other_district), S.ACCEPTED, category=city.water)
    c = register(city, actor=city.operator, category=city.potholes, channel=Channel.WECHAT, urgency=Urgency.URGENT)
    manual = register(city)  # no category: manual queue
    advance(city, register(city), S.DISPATCHED)  # not new
    client_for(client, city.dispatcher)
    url = reverse("hotline:desk_dispatch")
    every = {a.tracking_number, b.tracking_number, c.tracking_number}
    assert numbers(client.get(url)) == every
    assert numbers(client.get(url + "?tab=manual")) == {manual.tracking_number}
    assert numbers(client.get(url, {"district": city.other_district.pk})) == {b.tracking_number}
    assert numbers(client.get(url, {"category": city.potholes.code})) == {a.tracking_number, c.tracking_number}
    assert numbers(client.get(url, {"category": city.roads.code})) == {a.tracking_number, c.tracking_number}
    assert numbers(client.get(url, {"channel": Channel.PHONE})) == {b.tracking_number}
    assert numbers(client.get(url, {"urgency": Urgency.URGENT})) == {c.tracking_number}
    assert numbers(client.get(url, {"q": c.tracking_number[-6:]})) == {c.tracking_number}
    assert numbers(client.get(url, {"overdue": "on"})) == set()
    clock.advance(days=30)
    client_for(client, city.dispatcher)  # the session expired meanwhile
    assert numbers(client.get(url, {"overdue": "on"})) == {b.tracking_number}  # only accepted has a clock
    assert numbers(client.get(url, {"district": "not-a-number"})) == every  # a bad filter is ignored


def test_unit_queue_tabs(city, client, clock):
    to_sign = advance(city, register(city), S.DISPATCHED)
    signed = advance(city, register(city), S.SIGNED)
    with_sub = advance(city, register(city), S.SUB_DISPATCHED)
    other = advance(city, register(city, category=city.water), S.ACCEPTED, category=city.water)
    svc.case_dispatch(actor=city.dispatcher, case_id=other.public_id, unit=city.other_unit)
    client_for(client, city.handler)
    url = reverse("hotline:desk_unit")
    assert numbers(client.get(url)) == {to_sign.tracking_number}
    assert numbers(client.get(url, {"tab": "in_progress"})) == {signed.tracking_number}
    assert numbers(client.get(url, {"tab": "sub_units"})) == {with_sub.tracking_number}
    assert numbers(client.get(url, {"tab": "overdue"})) == set()
    clock.advance(days=40)
    client_for(client, city.handler)
    assert numbers(client.get(url, {"tab": "overdue"})) == {to_sign.tracking_number, signed.tracking_number,
                                                            with_sub.tracking_number}
    client_for(client, city.sub_handler)
    assert numbers(client.get(url)) == {with_sub.tracking_number}
    client_for(client, city.other_handler)
    assert numbers(client.get(url)) == {other.tracking_number}
    # one-click sign from the queue row
    response = client.post(act_url(other, "sign"), {"row": "to_sign"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    other.refresh_from_db()
    assert other.state == S.SIGNED


def test_supervision_tabs(city, client, clock):
    overdue = advance(city, register(city), S.SIGNED)
    on_time = advance(city, register(city), S.ACCEPTED)
    clock.advance(days=10)
    client_for(client, city.supervisor)
    fresh = advance(city, register(city), S.DISPATCHED)
    case_escalate_overdue()
    client_for(client, city.supervisor)
    url = reverse("hotline:desk_supervision")
    got = numbers(client.get(url))
    assert overdue.tracking_number in got and fresh.tracking_number not in got
    assert set(Escalation.objects.values_list("case__tracking_number", flat=True)) <= got
    assert numbers(client.get(url, {"tab": "escalated"})) == set(
        Escalation.objects.values_list("case__tracking_number", flat=True))
    assert on_time.tracking_number in got  # its overall clock passed as well


# --- deadline status: words next to colours ---------------------------------------------------------
def test_deadline_status_words(city, clock):
    case = advance(city, register(city, category=city.water), S.DISPATCHED, category=city.water)
    status = {d.clock: d.status for d in q.case_deadlines(case)}
    assert status == {"overall": "on_time", "sign": "at_risk", "handle": "none"}
    clock.advance(hours=3)
    assert {d.clock: d.status for d in q.case_deadlines(case)}["sign"] == "overdue"
    case = svc.case_sign(actor=city.handler, case_id=case.public_id)
    status = {d.clock: (d.status, d.status_label) for d in q.case_deadlines(case)}
    assert status["sign"][0] == "late" and status["handle"][0] == "at_risk"
    clock.advance(days=3)
    assert q.current_deadline(case).status == "overdue"
    assert q.deadline_status(None, now=clock.now, running=True) == "none"
    assert q.deadline_status(clock.now + dt.timedelta(days=3), now=clock.now, running=True) == "on_time"


@pytest.mark.parametrize("state", [S.REGISTERED, S.ACCEPTED, S.DISPATCHED, S.SUB_DISPATCHED, S.RETURNED, S.SIGNED,
                                   S.IN_PROGRESS, S.REPLIED, S.VISITED, S.CLOSED, S.ANSWERED, S.REJECTED])
def test_case_view_offers_exactly_the_workflow_actions(city, client, state):
    from onecity.hotline.access import acting_roles
    from onecity.hotline.workflow import actions_for, close_condition

    case = advance(city, register(city), state)
    for role in ("hotline_operator", "dispatcher", "supervisor", "department_handler"):
        user = city.actor(role, case)
        expected = set(actions_for(case.state, acting_roles(user, case), close_condition(case.satisfaction)))
        expected -= {"escalate", "extension_approve", "extension_refuse"}  # no pending extension here
        client_for(client, user)
        if client.get(case_url(case)).status_code == 404:
            assert role == "department_handler" and state in (S.REGISTERED, S.ACCEPTED, S.RETURNED, S.ANSWERED,
                                                              S.REJECTED)
            continue
        assert offered(client, case) == expected, role


def test_queue_button_without_javascript_goes_back_to_the_queue(city, client):
    case = advance(city, register(city), S.DISPATCHED)
    client_for(client, city.handler)
    queue = "http://testserver" + reverse("hotline:desk_unit")
    response = client.post(act_url(case, "sign"), {"row": "to_sign"}, HTTP_REFERER=queue)
    assert (response.status_code, response["Location"]) == (302, queue)
    case.refresh_from_db()
    assert case.state == S.SIGNED
    other = advance(city, register(city), S.DISPATCHED)
    response = client.post(act_url(other, "sign"), {"row": "to_sign"}, HTTP_REFERER="https://evil.example/")
    assert (response.status_code, response["Location"]) == (302, case_url(other))


def test_photos_shown_to_the_unit_through_the_attachment_view(city, client):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from onecity.hotline.services.attachments import case_report, photos_check

    out = io.BytesIO()
    Image.new("RGB", (80, 60), (10, 120, 200)).save(out, format="PNG")
    photos = photos_check([SimpleUploadedFile("road.png", out.getvalue(), content_type="image/png")])
    case = case_report(actor=city.resident, photos=photos, channel=Channel.APP, district=city.district,
                       text="鼓楼区五四路与湖东路交叉口有一个大坑，电动车经过很危险。", address="五四路与湖东路交叉口")
    case = advance(city, case, S.DISPATCHED)
    attachment = case.attachments.get()
    client_for(client, city.handler)
    page = client.get(case_url(case)).content.decode()
    thumb = reverse("hotline:photo_thumb", args=[attachment.public_id])
    assert thumb in page
    assert client.get(thumb).status_code == 200
    client_for(client, city.other_handler)
    assert client.get(thumb).status_code == 404


def test_queue_queries_do_not_grow_with_rows(city, client, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    DispatchRoute.objects.create(category=city.potholes, district=None, unit=city.unit)
    for _ in range(3):
        advance(city, register(city), S.ACCEPTED)
    client_for(client, city.dispatcher)
    url = reverse("hotline:desk_dispatch") + "?tab=new"
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for _ in range(12):
        advance(city, register(city), S.ACCEPTED)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(url)
    assert len(numbers(page)) == 15


# --- the sidebar's counts -------------------------------------------------------------------------
def badge(response, label: str) -> int:
    """The count on the sidebar link whose screen-reader label is `label` (0 when there is none)."""
    found = re.search(r'<span class="nav-badge">(\d+)<span class="visually-hidden"> ' + re.escape(label),
                      response.content.decode())
    return int(found.group(1)) if found else 0


def test_the_sidebar_counts_what_awaits_each_desk(city, client, clock):
    new = advance(city, register(city), S.ACCEPTED)
    to_sign = advance(city, register(city), S.DISPATCHED)
    advance(city, register(city), S.SIGNED)
    client_for(client, city.dispatcher)
    assert badge(client.get(reverse("hotline:desk_dispatch")), "awaiting a dispatcher") == 1
    home = client.get(reverse("identity:staff_home")).content.decode()
    assert '<span class="stat-value tabular">1</span><span class="stat-label">awaiting a dispatcher</span>' in home
    client_for(client, city.handler)
    page = client.get(reverse("hotline:desk_unit"))
    assert (badge(page, "cases to sign"), badge(page, "awaiting a dispatcher")) == (1, 0)
    client_for(client, city.other_handler)
    assert badge(client.get(reverse("hotline:desk_unit")), "cases to sign") == 0  # another unit's case
    client_for(client, city.supervisor)
    assert badge(client.get(reverse("hotline:desk_supervision")), "overdue cases") == 0
    clock.advance(days=40)
    client_for(client, city.supervisor)
    assert badge(client.get(reverse("hotline:desk_supervision")), "overdue cases") == 3

    svc.case_dispatch(actor=city.dispatcher, case_id=new.public_id, unit=city.unit)
    svc.case_sign(actor=city.handler, case_id=to_sign.public_id)
    client_for(client, city.dispatcher)
    assert "nav-badge" not in client.get(reverse("hotline:desk_dispatch")).content.decode()
    client_for(client, city.handler)
    assert badge(client.get(reverse("hotline:desk_unit")), "cases to sign") == 1  # the one just dispatched
