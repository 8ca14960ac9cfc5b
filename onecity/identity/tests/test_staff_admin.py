"""Staff accounts managed by administrators: the services (deactivate, reactivate, temporary
password, the last-administrator rule), the console pages (/staff/accounts/, htmx actions,
403 for everyone else, 404 for citizens) and the bootstrap commands (`onecity org create`,
`onecity staff create/roles/password/list`)."""

from __future__ import annotations

import io
import json
import sys
from unittest import mock

import pytest
from axes.models import AccessAttempt

from onecity.cli import main
from onecity.core.errors import ApplicationError, PermissionDenied
from onecity.core.models import AuditEvent
from onecity.core.validators import uscc_make
from onecity.identity.enums import OrganizationKind, Role, UserKind
from onecity.identity.models import Organization, StaffRole, User
from onecity.identity.services.accounts import (
    _administrators_lock_and_keep_one,
    staff_deactivate,
    staff_password_set,
    staff_reactivate,
    staff_roles_set,
)
from onecity.identity.services.organizations import organization_create
from onecity.identity.tests.accounts_support import (
    PASSWORD,
    fast_hashing,  # noqa: F401 - autouse fixture
    make_citizen,
    make_org,
    make_staff,
)

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Gulou-Drum-Tower-2026"
LIST = "/staff/accounts/"
CREATE = "/staff/accounts/new/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def roles_of(user: User) -> list[str]:
    return sorted(StaffRole.objects.filter(user=user).values_list("role", flat=True))


def snapshot() -> tuple:
    """Everything an administrator's action could change."""
    return (
        list(User.objects.order_by("pk").values_list("username", "is_active", "is_staff", "password")),
        list(StaffRole.objects.order_by("user_id", "role").values_list("user_id", "role")),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def org():
    return make_org()


@pytest.fixture
def admin(org):
    return make_staff(Role.ADMINISTRATOR, username="admin", org=org)


@pytest.fixture
def member(org):
    return make_staff(Role.AUDITOR, username="member", org=org)


# --- services ------------------------------------------------------------------------------------
def test_deactivate_and_reactivate_keep_roles_and_write_audit_rows(admin, member):
    staff_deactivate(actor=admin, user=member, ip="203.0.113.5")
    member.refresh_from_db()
    assert member.is_active is False
    assert roles_of(member) == ["auditor"]
    event = AuditEvent.objects.filter(action="staff.deactivate").get()
    assert (event.actor, event.subject_user, event.ip, event.detail) == (admin, member, "203.0.113.5",
                                                                          {"username": "member"})
    staff_reactivate(actor=admin, user=member)
    member.refresh_from_db()
    assert member.is_active is True
    assert roles_of(member) == ["auditor"]
    assert AuditEvent.objects.filter(action="staff.reactivate", actor=admin, subject_user=member).count() == 1


def test_deactivate_refusals_change_nothing(admin, member):
    citizen = make_citizen()
    before = snapshot()
    with pytest.raises(ApplicationError) as exc:
        staff_deactivate(actor=admin, user=admin)
    assert exc.value.code == "self_deactivate"
    with pytest.raises(PermissionDenied):
        staff_deactivate(actor=member, user=admin)
    with pytest.raises(ApplicationError) as exc:
        staff_deactivate(actor=admin, user=citizen)
    assert exc.value.code == "not_staff"
    with pytest.raises(ApplicationError) as exc:
        staff_reactivate(actor=admin, user=member)
    assert exc.value.code == "already_active"
    assert snapshot() == before


def test_two_administrators_removing_each_other_leave_one(org, admin):
    """The second administrator acts on a stale copy of themselves (as in two requests at the
    same moment): the locked re-check sees they are no longer an administrator."""
    second = make_staff(Role.ADMINISTRATOR, username="second", org=org)
    stale_second = User.objects.get(pk=second.pk)
    staff_deactivate(actor=admin, user=second)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        staff_deactivate(actor=stale_second, user=admin)
    with pytest.raises(PermissionDenied):
        staff_roles_set(actor=stale_second, user=admin, roles=[Role.AUDITOR])
    assert snapshot() == before
    admin.refresh_from_db()
    assert admin.is_active is True
    assert roles_of(admin) == ["administrator"]


def test_last_active_administrator_cannot_be_removed(admin):
    with pytest.raises(ApplicationError) as exc:
        _administrators_lock_and_keep_one(actor=admin, losing=admin)
    assert exc.value.code == "last_administrator"
    with pytest.raises(ApplicationError) as exc:
        staff_roles_set(actor=admin, user=admin, roles=[Role.AUDITOR])
    assert exc.value.code == "self_demote"
    assert roles_of(admin) == ["administrator"]


def test_reactivation_refused_while_organization_is_inactive(org, admin, member):
    staff_deactivate(actor=admin, user=member)
    Organization.objects.filter(pk=org.pk).update(is_active=False)
    with pytest.raises(ApplicationError) as exc:
        staff_reactivate(actor=admin, user=member)
    assert exc.value.code == "organization_inactive"
    member.refresh_from_db()
    assert member.is_active is False


def test_password_set_by_administrator(admin, member):
    AccessAttempt.objects.create(username="member", ip_address="203.0.113.9", user_agent="test",
                                 failures_since_start=10)
    staff_password_set(actor=admin, user=member, password=NEW_PASSWORD)
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    assert not AccessAttempt.objects.filter(username="member").exists()
    assert AuditEvent.objects.filter(action="staff.password_set", actor=admin, subject_user=member).count() == 1


def test_password_set_refusals_change_nothing(admin, member):
    before = snapshot()
    with pytest.raises(ApplicationError) as exc:
        staff_password_set(actor=admin, user=admin, password=NEW_PASSWORD)
    assert exc.value.code == "self_password"
    with pytest.raises(ApplicationError) as exc:
        staff_password_set(actor=admin, user=member, password="12345678")
    assert exc.value.code == "password_weak"
    with pytest.raises(PermissionDenied):
        staff_password_set(actor=member, user=admin, password=NEW_PASSWORD)
    assert snapshot() == before


# --- organizations -------------------------------------------------------------------------------
def test_organization_create_checks_the_credit_code_and_writes_audit_row():
    uscc = uscc_make("11", "350100", "MB000001")
    organization = organization_create(actor=None, name=" 福州市数据管理局 ", kind=OrganizationKind.DEPARTMENT,
                                       uscc=uscc.lower(), region_code="350100", short_name="市数据局")
    assert (organization.name, organization.uscc, organization.short_name) == ("福州市数据管理局", uscc, "市数据局")
    event = AuditEvent.objects.filter(action="organization.create").get()
    assert (event.actor, event.object_id) == (None, organization.public_id)
    wrong = uscc[:17] + ("0" if uscc[17] != "0" else "1")
    cases = [
        ({"uscc": wrong}, "uscc_checksum"),
        ({"uscc": uscc}, "uscc_taken"),
        ({"uscc": uscc_make("11", "350100", "MB000002"), "region_code": "999999"}, "region_unknown"),
        ({"uscc": uscc_make("11", "350100", "MB000002"), "kind": "ministry"}, "kind_unknown"),
        ({"uscc": uscc_make("11", "350100", "MB000002"), "kind": OrganizationKind.PAYEE}, "payee_type_required"),
        ({"uscc": uscc_make("11", "350100", "MB000002"), "payee_type": "school"}, "payee_type_not_payee"),
    ]
    for overrides, code in cases:
        arguments = {"actor": None, "name": "福州市测试局", "kind": OrganizationKind.DEPARTMENT,
                     "region_code": "350100", **overrides}
        with pytest.raises(ApplicationError) as exc:
            organization_create(**arguments)
        assert exc.value.code == code, overrides
    assert Organization.objects.count() == 1
    assert AuditEvent.objects.count() == 1


def test_organization_create_is_for_administrators(admin, member):
    with pytest.raises(PermissionDenied):
        organization_create(actor=member, name="福州市测试局", kind=OrganizationKind.DEPARTMENT,
                            uscc=uscc_make("11", "350100", "MB000003"), region_code="350100")
    child = organization_create(actor=admin, name="鼓楼区测试科", kind=OrganizationKind.SUBUNIT,
                                uscc=uscc_make("11", "350102", "MB000004"), region_code="350102",
                                parent=admin.organization)
    assert child.parent == admin.organization


# --- console pages -------------------------------------------------------------------------------
def test_list_shows_staff_only_with_filters(client, org, admin, member):
    other_org = make_org(name="福州市审计局", body="M0002000")
    make_staff(Role.SUPERVISOR, Role.AUDITOR, username="zhou", org=other_org)
    citizen = make_citizen()
    client.force_login(admin)
    page = client.get(LIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("人员管理") >= 2  # the sidebar entry and the page title
    # active first, then by organization (福州市审计局 before 福州市数据管理局) and user name
    assert [m.username for m in page.context["page"].object_list] == ["zhou", "admin", "member"]
    for username in ("admin", "member", "zhou"):
        assert f'<td class="mono">{username}</td>' in html
    assert citizen.username not in html
    assert "共 3 个人员账号" in html

    def usernames(**params):
        response = client.get(LIST, params, **HTMX)
        assert response.status_code == 200
        assert "<html" not in response.content.decode()  # the table fragment only
        return sorted(m.username for m in response.context["page"].object_list)

    assert usernames(role=Role.AUDITOR) == ["member", "zhou"]
    assert usernames(organization=other_org.public_id) == ["zhou"]
    assert usernames(q="ZHO") == ["zhou"]
    assert usernames(q="同志") == ["admin", "member", "zhou"]  # display names "<username> 同志"
    staff_deactivate(actor=admin, user=member)
    assert usernames(state="inactive") == ["member"]
    assert usernames(state="active") == ["admin", "zhou"]


def test_list_in_english(client, admin, member):
    client.force_login(admin)
    html = client.get(LIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Staff accounts" in html
    assert "2 staff accounts" in html
    assert "Auditor" in html


def test_create_staff_account(client, org, admin):
    client.force_login(admin)
    page = client.get(CREATE)
    assert page.status_code == 200
    html = page.content.decode()
    assert f'value="{org.public_id}"' in html
    assert "审计员" in html  # the roles' translated labels
    response = client.post(CREATE, {
        "organization": org.public_id, "username": "Chen.Xy", "display_name": "陈晓燕",
        "password": NEW_PASSWORD, "password2": NEW_PASSWORD, "roles": [Role.HOTLINE_OPERATOR, Role.SUPERVISOR],
    })
    created = User.objects.get(username="chen.xy")
    assert response.status_code == 302
    assert response["Location"] == f"/staff/accounts/{created.public_id}/"
    assert (created.kind, created.organization, created.display_name, created.is_staff) == (
        UserKind.STAFF, org, "陈晓燕", False)
    assert roles_of(created) == ["hotline_operator", "supervisor"]
    assert created.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="staff.create", actor=admin, subject_user=created).count() == 1
    detail = client.get(response["Location"]).content.decode()
    assert "陈晓燕" in detail and "已创建人员账号 chen.xy" in detail


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"password": "12345678", "password2": "12345678"}, "password", "这个密码太常见了。 密码只包含数字。"),
    ({"password2": "something-else-2026"}, "password2", "两次输入的密码不一致。"),
    ({"roles": []}, "roles", "请至少选择一个角色。"),
    ({"organization": ""}, "organization", "请选择工作人员所在单位。"),
    ({"username": "c-cheat"}, "username", "用户名为 3 至 64 位，由小写字母、数字、点、短横线和下划线组成，以字母开头（不能以“c-”开头）。"),
    ({"username": "admin"}, "username", "该用户名已被使用。"),
])
def test_create_refused_changes_nothing(client, org, admin, changes, field, message):
    client.force_login(admin)
    before = snapshot()
    data = {"organization": org.public_id, "username": "newbie", "display_name": "新人", "password": NEW_PASSWORD,
            "password2": NEW_PASSWORD, "roles": [Role.AUDITOR], **changes}
    response = client.post(CREATE, data)
    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert snapshot() == before


def test_create_refuses_weak_password_with_validator_message_in_english(client, org, admin):
    client.force_login(admin)
    response = client.post(CREATE, {
        "organization": org.public_id, "username": "newbie", "display_name": "新人", "password": "password",
        "password2": "password", "roles": [Role.AUDITOR]}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.context["form"].errors["password"] == ["This password is too common."]
    assert not User.objects.filter(username="newbie").exists()


def test_organization_chooser_narrows_by_name(client, org, admin):
    make_org(name="鼓楼区城市管理局", body="M0003000", region="350102")
    client.force_login(admin)
    response = client.get("/staff/accounts/organizations/", {"organization_q": "鼓楼", "organization": ""}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "鼓楼区城市管理局" in html and "福州市数据管理局" not in html
    html = client.get("/staff/accounts/organizations/", {"organization_q": "不存在的单位"}, **HTMX).content.decode()
    assert "没有与“不存在的单位”匹配的单位" in html


def test_account_page_and_htmx_roles_change(client, admin, member):
    client.force_login(admin)
    url = f"/staff/accounts/{member.public_id}/"
    page = client.get(url)
    assert page.status_code == 200
    assert "member 同志" in page.content.decode()
    response = client.post(url + "roles/", {"roles": [Role.AUDITOR, Role.SUPERVISOR]}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="account-roles"' in html and "角色已保存" in html
    assert 'hx-swap-oob="true"' in html  # the state badge and the history follow
    assert roles_of(member) == ["auditor", "supervisor"]
    response = client.post(url + "roles/", {}, **HTMX)
    assert response.status_code == 422
    assert "请至少选择一个角色" in response.content.decode()
    assert roles_of(member) == ["auditor", "supervisor"]


def test_own_account_keeps_administrator_role(client, admin):
    client.force_login(admin)
    url = f"/staff/accounts/{admin.public_id}/"
    html = client.get(url).content.decode()
    assert 'value="administrator" id="id_roles_8" checked disabled' in html
    assert "不能停用自己的账号。" in html
    before = snapshot()
    response = client.post(url + "roles/", {"roles": [Role.AUDITOR]}, **HTMX)
    assert response.status_code == 422
    assert "不能取消自己的管理员角色" in response.content.decode()
    response = client.post(url + "status/", {"action": "deactivate"}, **HTMX)
    assert response.status_code == 422
    assert "不能停用自己的账号" in response.content.decode()
    response = client.post(url + "password/", {"password": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 400
    assert snapshot() == before


def test_deactivated_staff_member_is_signed_out_and_cannot_sign_in(client, admin, member):
    from django.test import Client

    member_client = Client()
    member_client.force_login(member)
    assert member_client.get("/staff/").status_code == 200
    client.force_login(admin)
    url = f"/staff/accounts/{member.public_id}/status/"
    response = client.post(url, {"action": "deactivate"}, **HTMX)
    assert response.status_code == 200
    assert "账号已停用" in response.content.decode()
    member.refresh_from_db()
    assert member.is_active is False
    assert member_client.get("/staff/").status_code == 302  # the session no longer signs them in
    assert Client().post("/login/", {"username": "member", "password": PASSWORD}).status_code == 400
    response = client.post(url, {"action": "reactivate"})  # without htmx: back to the account page
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.is_active is True
    assert Client().post("/login/", {"username": "member", "password": PASSWORD}).status_code == 302


def test_temporary_password_through_the_page(client, admin, member):
    from django.test import Client

    client.force_login(admin)
    url = f"/staff/accounts/{member.public_id}/password/"
    response = client.post(url, {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}, **HTMX)
    assert response.status_code == 200
    assert "临时密码已设置" in response.content.decode()
    assert Client().post("/login/", {"username": "member", "password": PASSWORD}).status_code == 400
    assert Client().post("/login/", {"username": "member", "password": NEW_PASSWORD}).status_code == 302
    before = snapshot()
    response = client.post(url, {"password": "member12", "password2": "member12"}, **HTMX)
    assert response.status_code == 422
    assert snapshot() == before


def test_other_staff_get_403_and_change_nothing(client, org, admin, member):
    supervisor = make_staff(Role.SUPERVISOR, username="sup", org=org)
    client.force_login(supervisor)
    assert "人员管理" not in client.get("/staff/").content.decode()
    before = snapshot()
    base = f"/staff/accounts/{member.public_id}/"
    assert client.get(LIST).status_code == 403
    assert client.get(CREATE).status_code == 403
    assert client.get(base).status_code == 403
    assert client.get("/staff/accounts/organizations/").status_code == 403
    assert client.post(CREATE, {"organization": org.public_id, "username": "sneaky", "display_name": "x",
                                "password": NEW_PASSWORD, "password2": NEW_PASSWORD,
                                "roles": [Role.ADMINISTRATOR]}).status_code == 403
    assert client.post(base + "roles/", {"roles": [Role.ADMINISTRATOR]}).status_code == 403
    assert client.post(base + "status/", {"action": "deactivate"}).status_code == 403
    assert client.post(base + "password/", {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}).status_code == 403
    assert snapshot() == before


def test_anonymous_visitors_are_sent_to_sign_in(client, member):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
    response = client.post(f"/staff/accounts/{member.public_id}/status/", {"action": "deactivate"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.is_active is True


def test_citizens_are_not_staff_accounts(client, admin):
    citizen = make_citizen()
    client.force_login(admin)
    before = snapshot()
    base = f"/staff/accounts/{citizen.public_id}/"
    assert client.get(base).status_code == 404
    assert client.post(base + "status/", {"action": "deactivate"}).status_code == 404
    assert client.post(base + "roles/", {"roles": [Role.AUDITOR]}).status_code == 404
    assert client.post(base + "password/", {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}).status_code == 404
    assert client.get("/staff/accounts/01h0000000000000000000none/").status_code == 404
    assert snapshot() == before


def test_unknown_status_action_changes_nothing(client, admin, member):
    client.force_login(admin)
    before = snapshot()
    response = client.post(f"/staff/accounts/{member.public_id}/status/", {"action": "delete"})
    assert response.status_code == 400
    assert snapshot() == before


# --- command line --------------------------------------------------------------------------------
def run(*argv: str, stdin: str | None = None) -> int:
    """`onecity ARGV...` as the console runs it; its exit status. The command-line path closes
    every database connection when it finishes; that is kept from closing the test's transaction."""
    with mock.patch("django.core.management.base.connections.close_all"), \
            mock.patch.object(sys, "stdin", io.StringIO(stdin) if stdin is not None else sys.stdin):
        try:
            main(list(argv))
        except SystemExit as exc:
            return int(exc.code or 0)
    return 0


USCC = uscc_make("11", "350100", "MB000009")


def test_bootstrap_first_administrator_on_an_empty_database(client, capsys):
    assert (Organization.objects.count(), User.objects.count()) == (0, 0)
    assert run("org", "create", "--name", "福州市数据管理局", "--kind", "department", "--uscc", USCC,
               "--region", "350100", "--short-name", "市数据局") == 0
    out = capsys.readouterr().out
    assert "Organization “福州市数据管理局” created." in out
    organization = Organization.objects.get()
    assert (organization.uscc, organization.region_code, organization.kind) == (USCC, "350100", "department")
    assert run("staff", "create", "--username", "zhang.jx", "--org", USCC, "--role", "administrator",
               "--display-name", "张建新", "--password-stdin", stdin=NEW_PASSWORD + "\n") == 0
    assert "Staff account “zhang.jx” created in 福州市数据管理局 with roles: administrator." in capsys.readouterr().out
    first = User.objects.get()
    assert (first.username, first.display_name, first.kind, first.is_staff, first.organization) == (
        "zhang.jx", "张建新", UserKind.STAFF, True, organization)
    assert roles_of(first) == ["administrator"]
    assert AuditEvent.objects.filter(action="staff.create", actor=None, subject_user=first).count() == 1
    response = client.post("/login/", {"username": "zhang.jx", "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(first.pk)
    assert client.get(LIST).status_code == 200


def test_staff_create_refuses_weak_password_and_creates_nobody(capsys):
    make_org(body="MB000010")
    uscc = Organization.objects.get().uscc
    assert run("staff", "create", "--username", "zhang", "--org", uscc, "--role", "administrator",
               "--password-stdin", stdin="password\n") == 1
    assert "This password is too common." in capsys.readouterr().err
    assert run("staff", "create", "--username", "zhang", "--org", uscc, "--role", "administrator",
               "--password-stdin", stdin="zhang2026\n") == 1
    assert "The password is too similar to the user name." in capsys.readouterr().err
    assert run("staff", "create", "--username", "zhang", "--org", uscc, "--role", "administrator",
               "--password-stdin", stdin="8263\n") == 1
    assert "This password is too short. It must have at least 8 characters." in capsys.readouterr().err
    assert User.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_staff_create_asks_for_the_password_on_a_terminal(org, capsys, monkeypatch):
    answers = iter([NEW_PASSWORD, NEW_PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    terminal = io.StringIO()
    terminal.isatty = lambda: True
    with mock.patch("django.core.management.base.connections.close_all"), mock.patch.object(sys, "stdin", terminal):
        main(["staff", "create", "--username", "lin", "--org", org.public_id, "--role", "auditor",
              "--role", "supervisor"])
    lin = User.objects.get(username="lin")
    assert lin.check_password(NEW_PASSWORD)
    assert roles_of(lin) == ["auditor", "supervisor"]
    assert lin.display_name == "lin"


def test_staff_create_without_terminal_or_stdin_is_a_usage_error(org, capsys):
    assert run("staff", "create", "--username", "lin", "--org", org.uscc, "--role", "auditor", stdin="") == 2
    assert "--password-stdin" in capsys.readouterr().err
    assert run("staff", "create", "--username", "lin", "--org", "91350100000000000X", "--role", "auditor",
               "--password-stdin", stdin=NEW_PASSWORD) == 1
    assert "No organization has the credit code or id" in capsys.readouterr().err
    assert run("staff", "create", "--username", "lin", "--org", org.uscc, "--role", "mayor",
               "--password-stdin", stdin=NEW_PASSWORD) == 2
    assert User.objects.count() == 0


def test_org_create_validates_the_check_character(capsys):
    wrong = USCC[:17] + ("0" if USCC[17] != "0" else "1")
    assert run("org", "create", "--name", "福州市数据管理局", "--kind", "department", "--uscc", wrong,
               "--region", "350100") == 1
    assert "This unified social credit code's check character is wrong." in capsys.readouterr().err
    assert run("org", "create", "--name", "福州市数据管理局", "--kind", "department", "--uscc", USCC,
               "--region", "123") == 1
    assert "6-digit administrative region code" in capsys.readouterr().err
    assert Organization.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_org_create_with_parent_and_list_as_json(capsys):
    assert run("org", "create", "--name", "福州市数据管理局", "--kind", "department", "--uscc", USCC,
               "--region", "350100") == 0
    child_uscc = uscc_make("11", "350100", "MB000011")
    assert run("org", "create", "--name", "福州市大数据中心", "--kind", "subunit", "--uscc", child_uscc,
               "--region", "350100", "--parent", USCC, "--json") == 0
    capsys.readouterr()
    assert run("org", "list", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["parent"]) for r in rows] == [("福州市数据管理局", ""), ("福州市大数据中心", USCC)]


def test_staff_roles_password_and_list_commands(org, admin, member, capsys):
    assert run("staff", "roles", "--username", "member", "--role", "supervisor", "--role", "auditor") == 0
    assert "Roles of “member”: auditor, supervisor." in capsys.readouterr().out
    assert roles_of(member) == ["auditor", "supervisor"]
    assert run("staff", "password", "--username", "member", "--password-stdin", stdin=NEW_PASSWORD + "\n") == 0
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    assert run("staff", "roles", "--username", "nobody", "--role", "auditor") == 1
    assert "No staff account has the user name “nobody”." in capsys.readouterr().err
    assert run("staff", "deactivate", "--username", "member") == 0
    capsys.readouterr()
    assert run("staff", "list", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["username"], r["roles"], r["active"]) for r in rows] == [
        ("admin", ["administrator"], True), ("member", ["auditor", "supervisor"], False)]
    assert run("staff", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["USER", "NAME", "NAME", "ORGANIZATION", "ROLES", "ACTIVE", "LAST", "SIGN-IN"]
    assert lines[1].split()[:2] == ["admin", "admin"]


def test_command_line_warns_when_no_administrator_is_left(admin, capsys):
    assert run("staff", "roles", "--username", "admin", "--role", "auditor") == 0
    assert "No active administrator is left" in capsys.readouterr().err
    assert roles_of(admin) == ["auditor"]


def test_create_form_shows_every_error_at_once_and_keeps_the_narrowed_choice(client, org, admin):
    gulou = make_org(name="鼓楼区城市管理局", body="M0003000", region="350102")
    client.force_login(admin)
    response = client.post(CREATE, {"organization_q": "鼓楼", "organization": gulou.public_id, "username": "Bad Name",
                                    "display_name": "", "password": "", "password2": ""})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert sorted(errors) == ["display_name", "password", "password2", "roles", "username"]
    html = response.content.decode()
    assert 'name="organization_q" value="鼓楼"' in html
    assert f'<option value="{gulou.public_id}" selected>鼓楼区城市管理局</option>' in html
    assert org.public_id not in html  # narrowed as before the submit
    assert User.objects.filter(kind=UserKind.STAFF).count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_mutual_deactivation_leaves_one_administrator():
    """Real parallel connections (run on PostgreSQL too): two administrators deactivate each
    other at the same moment; the lock on the active administrators lets exactly one win."""
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("the in-memory SQLite test database locks tables without waiting; SQLite files in "
                    "use run IMMEDIATE transactions, which serialize writers before they read")

    org = make_org()
    first = make_staff(Role.ADMINISTRATOR, username="first", org=org)
    second = make_staff(Role.ADMINISTRATOR, username="second", org=org)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def deactivate(actor, user):
        try:
            barrier.wait(timeout=10)
            try:
                staff_deactivate(actor=actor, user=user)
                outcome = "done"
            except PermissionDenied:
                outcome = "refused"
            with lock:
                outcomes.append(outcome)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deactivate, args=(first, second)),
               threading.Thread(target=deactivate, args=(second, first))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["done", "refused"]
    assert User.objects.filter(is_active=True, roles__role=Role.ADMINISTRATOR).count() == 1
    assert AuditEvent.objects.filter(action="staff.deactivate").count() == 1
