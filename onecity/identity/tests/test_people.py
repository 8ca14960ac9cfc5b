"""Staff look-ups of residents: exact search, masked results, audited unmasking, audit log."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from onecity.core.errors import ApplicationError, NotFound, PermissionDenied
from onecity.core.models import AuditEvent
from onecity.identity.enums import Role
from onecity.identity.registry import demo_resident_add
from onecity.identity.selectors.accounts import audit_list_for_auditor, person_search_for_staff
from onecity.identity.services.accounts import realname_verify
from onecity.identity.services.people import person_unmask
from onecity.identity.tests.accounts_support import (
    ID_LIN,
    fast_hashing,  # noqa: F401 - autouse fixture
    make_citizen,
    make_org,
    make_staff,
)

pytestmark = pytest.mark.django_db


def audit_rows():
    """Audit rows other than the creation of the test's staff accounts."""
    return AuditEvent.objects.exclude(action="staff.create")


@pytest.fixture
def resident():
    user = make_citizen("13800138000", display_name="小林")
    demo_resident_add(legal_name="林则峰", id_number=ID_LIN)
    realname_verify(user=user, legal_name="林则峰", id_number=ID_LIN)
    AuditEvent.objects.all().delete()
    return user


@pytest.fixture
def operator():
    make_org()
    return make_staff(Role.HOTLINE_OPERATOR, username="op1")


# --- search ----------------------------------------------------------------------------------
def test_search_by_exact_phone_or_id_number_returns_masked_rows(resident, operator):
    make_citizen("13900139000", display_name="小王")
    for query in ["13800138000", "138 0013 8000", ID_LIN, ID_LIN.lower()]:
        rows = person_search_for_staff(actor=operator, query=query)
        assert [(r.public_id, r.phone_masked, r.legal_name_masked, r.id_number_masked, r.is_verified)
                for r in rows] == [(resident.public_id, "138****8000", "林**", "3****************8", True)]
    assert person_search_for_staff(actor=operator, query="1380013800") == []  # partial: nothing
    assert person_search_for_staff(actor=operator, query="13700137000") == []
    assert audit_rows().count() == 0


def test_search_needs_a_people_role(resident):
    make_org()
    auditor = make_staff(Role.AUDITOR, username="aud")
    with pytest.raises(PermissionDenied):
        person_search_for_staff(actor=auditor, query="13800138000")
    with pytest.raises(PermissionDenied):
        person_search_for_staff(actor=resident, query="13800138000")


def test_staff_are_not_found_by_people_search(operator):
    supervisor = make_staff(Role.SUPERVISOR, username="sup")
    supervisor.phone = "13600136000"
    supervisor.save()
    assert person_search_for_staff(actor=operator, query="13600136000") == []


# --- unmask ----------------------------------------------------------------------------------
@pytest.mark.parametrize("field, value", [("phone", "13800138000"), ("id_number", ID_LIN), ("legal_name", "林则峰")])
def test_unmask_returns_value_and_writes_exactly_one_audit_row(resident, operator, field, value):
    result = person_unmask(actor=operator, person_public_id=resident.public_id, field=field,
                           reason="  12345 工单 FZ-2026-0001 回访核实  ", ip="10.1.2.3")
    assert result == value
    event = audit_rows().get()
    assert (event.action, event.actor, event.subject_user, event.object_type, event.object_id) == (
        "personal_data.unmask", operator, resident, "user", resident.public_id)
    assert event.reason == "12345 工单 FZ-2026-0001 回访核实"
    assert event.detail == {"field": field}
    assert event.ip == "10.1.2.3"
    assert abs(event.at - timezone.now()) < dt.timedelta(minutes=1)


def test_unmask_reason_is_masked_in_the_audit_row(resident, operator):
    person_unmask(actor=operator, person_public_id=resident.public_id, field="phone",
                  reason="来电号码 13900139000 自称本人")
    assert audit_rows().get().reason == "来电号码 139****9000 自称本人"


@pytest.mark.parametrize("role", [Role.DISPATCHER, Role.AUDITOR, Role.DEPARTMENT_HANDLER, Role.PAYEE_CASHIER])
def test_unmask_without_role_is_refused_without_audit_row(resident, role):
    make_org()
    staff = make_staff(role, username="nope")
    with pytest.raises(PermissionDenied):
        person_unmask(actor=staff, person_public_id=resident.public_id, field="phone", reason="想看看号码")
    assert audit_rows().count() == 0


def test_citizen_cannot_unmask_anyone(resident):
    other = make_citizen("13900139000")
    with pytest.raises(PermissionDenied):
        person_unmask(actor=other, person_public_id=resident.public_id, field="phone", reason="想看看号码")
    assert audit_rows().count() == 0


@pytest.mark.parametrize("kwargs, error, code", [
    ({"reason": ""}, ApplicationError, "reason_required"),
    ({"reason": "看看"}, ApplicationError, "reason_required"),
    ({"reason": "x" * 301}, ApplicationError, "reason_length"),
    ({"field": "password"}, ApplicationError, "field_unknown"),
    ({"person_public_id": "01jdoesnotexist0000000000"}, NotFound, "not_found"),
])
def test_unmask_bad_input_writes_nothing(resident, operator, kwargs, error, code):
    arguments = {"actor": operator, "person_public_id": resident.public_id, "field": "phone",
                 "reason": "热线工单回访核实", **kwargs}
    with pytest.raises(error) as exc:
        person_unmask(**arguments)
    assert exc.value.code == code
    assert audit_rows().count() == 0


def test_unmask_of_unverified_person_id_number(operator):
    person = make_citizen("13900139000")
    with pytest.raises(ApplicationError) as exc:
        person_unmask(actor=operator, person_public_id=person.public_id, field="id_number", reason="热线工单回访核实")
    assert exc.value.code == "field_empty"
    assert audit_rows().count() == 0


def test_staff_members_cannot_be_unmasked_through_people(operator):
    supervisor = make_staff(Role.SUPERVISOR, username="sup")
    with pytest.raises(NotFound):
        person_unmask(actor=operator, person_public_id=supervisor.public_id, field="phone", reason="热线工单回访核实")


# --- pages -----------------------------------------------------------------------------------
def test_people_page_search_and_unmask_with_htmx(client, resident, operator):
    client.force_login(operator)
    response = client.post("/staff/people/", {"q": "13800138000"})
    page = response.content.decode()
    assert "138****8000" in page
    assert "林**" in page
    assert page.count("13800138000") == 1  # only the typed query, echoed back in its box
    assert 'value="13800138000"' in page
    assert ID_LIN not in page
    url = f"/staff/people/{resident.public_id}/unmask/"
    fragment = client.post(url, {"field": "id_number", "reason": "市民来电办理社保"}, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    assert ID_LIN in fragment.content.decode()
    assert "<html" not in fragment.content.decode()
    assert audit_rows().count() == 1


def test_unmask_page_without_reason_shows_error_and_writes_nothing(client, resident, operator):
    client.force_login(operator)
    fragment = client.post(f"/staff/people/{resident.public_id}/unmask/", {"field": "phone", "reason": "看看"},
                           HTTP_HX_REQUEST="true")
    assert fragment.status_code == 422
    assert "请说明查看完整信息的事由" in fragment.content.decode()
    response = client.post(f"/staff/people/{resident.public_id}/unmask/", {"field": "phone", "reason": ""})
    assert response.status_code == 400
    assert "这个字段是必填项" in response.content.decode()
    assert "13800138000" not in response.content.decode()
    response = client.post(f"/staff/people/{resident.public_id}/unmask/", {"field": "phone", "reason": "看看"})
    assert response.status_code == 400
    assert "请说明查看完整信息的事由" in response.content.decode()
    assert audit_rows().count() == 0


def test_unmask_page_without_role_is_403_without_audit_row(client, resident):
    make_org()
    client.force_login(make_staff(Role.DISPATCHER, username="disp"))
    response = client.post(f"/staff/people/{resident.public_id}/unmask/", {"field": "phone", "reason": "热线工单核实"})
    assert response.status_code == 403
    assert "13800138000" not in response.content.decode()
    assert audit_rows().count() == 0


def test_unmask_page_unknown_person_is_404(client, operator):
    client.force_login(operator)
    response = client.post("/staff/people/nobody/unmask/", {"field": "phone", "reason": "热线工单核实"})
    assert response.status_code == 404
    assert audit_rows().count() == 0


def test_people_page_rejects_partial_numbers(client, operator):
    client.force_login(operator)
    response = client.post("/staff/people/", {"q": "138001"})
    assert response.status_code == 400
    assert "请输入完整的 11 位手机号或 18 位身份证号码" in response.content.decode()


# --- audit log -------------------------------------------------------------------------------
def test_audit_log_filters_and_masks(client, resident, operator):
    make_staff(Role.AUDITOR, username="aud")
    person_unmask(actor=operator, person_public_id=resident.public_id, field="phone", reason="来电 13900139000 核实")
    auditor = make_staff(Role.AUDITOR, username="aud2")
    assert [e.action for e in audit_list_for_auditor(actor=auditor, action="personal_data.unmask")] == [
        "personal_data.unmask"]
    assert [e.action for e in audit_list_for_auditor(actor=auditor, actor_username="OP1")] == ["personal_data.unmask"]
    assert audit_list_for_auditor(actor=auditor, action="staff.").count() == 3
    today = timezone.localdate()
    assert audit_list_for_auditor(actor=auditor, date_from=today + dt.timedelta(days=1)).count() == 0
    assert audit_list_for_auditor(actor=auditor, date_to=today).count() == 4
    with pytest.raises(PermissionDenied):
        audit_list_for_auditor(actor=operator)

    client.force_login(auditor)
    page = client.get("/staff/audit/", {"action": "personal_data.unmask"}).content.decode()
    assert "139****9000" in page
    assert "13900139000" not in page
    assert "共 1 条记录" in page
    bad = client.get("/staff/audit/", {"date_from": "2026-12-01", "date_to": "2026-11-01"})
    assert bad.status_code == 400
    assert "截止日期早于起始日期" in bad.content.decode()


def test_audit_log_paginates(client, operator):
    auditor = make_staff(Role.AUDITOR, username="aud")
    AuditEvent.objects.bulk_create([AuditEvent(action="test.bulk", actor=operator) for _ in range(120)])
    client.force_login(auditor)
    first = client.get("/staff/audit/", {"action": "test.bulk"}).content.decode()
    assert "共 120 条记录" in first
    assert "第 1 页，共 3 页" in first
    assert "action=test.bulk&amp;page=2" in first
    third = client.get("/staff/audit/", {"action": "test.bulk", "page": 3}).content.decode()
    assert third.count("<code>test.bulk</code>") == 20
