"""Who may open which page: roles, 403 pages, sign-in redirects, the admin site."""

from __future__ import annotations

import pytest

from onecity.core.models import AuditEvent
from onecity.identity.access import has_role, roles_of
from onecity.identity.enums import Role
from onecity.identity.services.accounts import staff_roles_set
from onecity.identity.tests.accounts_support import (
    fast_hashing,  # noqa: F401 - autouse fixture
    make_citizen,
    make_org,
    make_staff,
)

pytestmark = pytest.mark.django_db


def test_has_role():
    make_org()
    supervisor = make_staff(Role.SUPERVISOR, Role.AUDITOR, username="sup")
    citizen = make_citizen()
    assert has_role(supervisor, Role.SUPERVISOR) is True
    assert has_role(supervisor, Role.ADMINISTRATOR, Role.AUDITOR) is True
    assert has_role(supervisor, Role.ADMINISTRATOR) is False
    assert has_role(supervisor) is True  # any staff member
    assert has_role(citizen) is False
    assert has_role(citizen, Role.SUPERVISOR) is False
    assert roles_of(supervisor) == {"supervisor", "auditor"}
    assert roles_of(citizen) == set()
    supervisor.is_active = False
    assert has_role(supervisor, Role.SUPERVISOR) is False


@pytest.mark.parametrize("url", ["/staff/", "/staff/people/", "/staff/audit/"])
def test_staff_pages_send_anonymous_visitors_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


@pytest.mark.parametrize("url", ["/staff/", "/staff/people/", "/staff/audit/"])
def test_staff_pages_refuse_citizens(client, url):
    client.force_login(make_citizen())
    response = client.get(url)
    assert response.status_code == 403
    assert "您无法打开此页面" in response.content.decode()


@pytest.mark.parametrize("role, url, status", [
    (Role.DISPATCHER, "/staff/", 200),
    (Role.DISPATCHER, "/staff/people/", 403),
    (Role.DISPATCHER, "/staff/audit/", 403),
    (Role.HOTLINE_OPERATOR, "/staff/people/", 200),
    (Role.HOTLINE_OPERATOR, "/staff/audit/", 403),
    (Role.APPLICATION_REVIEWER, "/staff/people/", 200),
    (Role.SUPERVISOR, "/staff/people/", 200),
    (Role.AUDITOR, "/staff/audit/", 200),
    (Role.AUDITOR, "/staff/people/", 403),
    (Role.ADMINISTRATOR, "/staff/people/", 200),
    (Role.ADMINISTRATOR, "/staff/audit/", 200),
])
def test_staff_pages_by_role(client, role, url, status):
    client.force_login(make_staff(role))
    before = AuditEvent.objects.count()
    assert client.get(url).status_code == status
    assert AuditEvent.objects.count() == before


def test_staff_home_lists_only_tools_of_the_roles(client):
    client.force_login(make_staff(Role.AUDITOR))
    page = client.get("/staff/").content.decode()
    assert 'href="/staff/audit/"' in page
    assert 'href="/staff/people/"' not in page
    assert 'href="/admin/"' not in page


def test_account_pages_are_for_signed_in_people(client):
    for url in ["/account/", "/account/realname/", "/account/password/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/login/?next={url}"


# --- Django admin: administrators only, personal data masked ---------------------------------
def test_admin_site_is_for_administrators_only(client):
    make_org()
    admin = make_staff(Role.ADMINISTRATOR, username="admin")
    supervisor = make_staff(Role.SUPERVISOR, username="sup")
    client.force_login(supervisor)
    assert client.get("/admin/").status_code == 302  # Django sends non-staff users to the admin login
    client.force_login(admin)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/identity/organization/").status_code == 200
    staff_roles_set(actor=None, user=admin, roles=[Role.AUDITOR])
    admin.refresh_from_db()
    assert admin.is_staff is False
    assert client.get("/admin/").status_code == 302


def test_admin_shows_personal_data_masked(client):
    from onecity.identity.registry import demo_resident_add
    from onecity.identity.services.accounts import realname_verify
    from onecity.identity.tests.accounts_support import ID_LIN

    make_org()
    client.force_login(make_staff(Role.ADMINISTRATOR, username="admin"))
    citizen = make_citizen("13800138000")
    demo_resident_add(legal_name="林则峰", id_number=ID_LIN)
    identity = realname_verify(user=citizen, legal_name="林则峰", id_number=ID_LIN)
    pages = [
        client.get("/admin/identity/user/").content.decode(),
        client.get(f"/admin/identity/user/{citizen.pk}/change/").content.decode(),
        client.get("/admin/identity/realnameidentity/").content.decode(),
        client.get(f"/admin/identity/realnameidentity/{identity.pk}/change/").content.decode(),
        client.get("/admin/identity/demoresident/").content.decode(),
    ]
    assert "138****8000" in pages[0]
    assert "3****************8" in pages[2]
    for page in pages:
        assert "13800138000" not in page
        assert ID_LIN not in page
        assert "林则峰" not in page
        assert "gAAAA" not in page  # no ciphertext either
    assert client.post(f"/admin/identity/user/{citizen.pk}/change/", {"display_name": "x"}).status_code == 403
