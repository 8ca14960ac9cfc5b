"""A password an administrator chose is temporary: its holder must choose their own first."""

import pytest

from onecity.identity.enums import Role
from onecity.identity.services.accounts import password_change, staff_create, staff_password_set
from onecity.identity.tests.accounts_support import PASSWORD, fast_hashing, make_org, make_staff  # noqa: F401

pytestmark = pytest.mark.django_db
TEMPORARY = "Temporary-Pass-2026"
OWN = "Own-Chosen-Pass-2026"


@pytest.fixture
def admin():
    return make_staff(Role.ADMINISTRATOR, username="admin")


def staff_by_admin(admin):
    return staff_create(actor=admin, username="handler", password=TEMPORARY, display_name="王办理",
                        organization=admin.organization, roles=[Role.DEPARTMENT_HANDLER])


def test_accounts_created_by_an_administrator_start_with_a_temporary_password(admin):
    assert staff_by_admin(admin).must_change_password is True
    assert admin.must_change_password is False  # created by the system (seeding, the CLI)


def test_every_page_leads_to_the_password_change_first(client, admin):
    staff_by_admin(admin)
    assert client.post("/login/", {"username": "handler", "password": TEMPORARY}).status_code == 302
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"] == "/account/password/?next=%2Fstaff%2F"
    assert client.get("/account/password/").status_code == 200
    htmx = client.get("/staff/", HTTP_HX_REQUEST="true")
    assert htmx["HX-Redirect"] == "/account/password/?next=%2Fstaff%2F"
    assert client.get("/healthz").status_code == 200
    assert client.post("/logout/").status_code == 302  # signing out stays possible


def test_choosing_an_own_password_clears_the_flag_and_returns_to_the_page(client, admin):
    user = staff_by_admin(admin)
    client.post("/login/", {"username": "handler", "password": TEMPORARY})
    response = client.post("/account/password/", {"old_password": TEMPORARY, "new_password": OWN,
                                                  "new_password2": OWN, "next": "/staff/"})
    assert response.status_code == 302
    assert response["Location"] == "/staff/"
    user.refresh_from_db()
    assert user.must_change_password is False
    assert client.get("/staff/").status_code == 200


def test_a_wrong_current_password_keeps_the_flag(client, admin):
    user = staff_by_admin(admin)
    client.post("/login/", {"username": "handler", "password": TEMPORARY})
    response = client.post("/account/password/", {"old_password": "wrong-one", "new_password": OWN,
                                                  "new_password2": OWN})
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.must_change_password is True
    assert user.check_password(TEMPORARY)


def test_a_password_set_by_an_administrator_is_temporary_again(admin):
    user = staff_by_admin(admin)
    password_change(user=user, old_password=TEMPORARY, new_password=OWN)
    user.refresh_from_db()
    assert user.must_change_password is False
    staff_password_set(actor=admin, user=user, password="Another-Temp-2026")
    user.refresh_from_db()
    assert user.must_change_password is True
