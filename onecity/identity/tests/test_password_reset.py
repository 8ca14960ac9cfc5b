"""Forgotten password: a reset code to the account's phone, a new password, nothing else."""

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from onecity.core.errors import ApplicationError
from onecity.core.models import AuditEvent
from onecity.identity.enums import OtpPurpose
from onecity.identity.models import User
from onecity.identity.services.accounts import password_reset
from onecity.identity.tests.accounts_support import PASSWORD, fast_hashing, make_citizen, send_code  # noqa: F401

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Gushan-Trail-2026"


def test_reset_sets_the_new_password_and_writes_one_audit_row():
    user = make_citizen()
    code = send_code("13800138000", OtpPurpose.RESET)
    password_reset(phone="138 0013 8000", code=code, new_password=NEW_PASSWORD, ip="203.0.113.9")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not user.check_password(PASSWORD)
    events = AuditEvent.objects.filter(action="account.password_reset")
    assert [(e.actor_id, e.subject_user_id, e.object_id) for e in events] == [(user.pk, user.pk, user.public_id)]


def test_wrong_code_changes_nothing():
    user = make_citizen()
    code = send_code("13800138000", OtpPurpose.RESET)
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(ApplicationError) as error:
        password_reset(phone="13800138000", code=wrong, new_password=NEW_PASSWORD)
    assert error.value.code == "otp_wrong"
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert not AuditEvent.objects.filter(action="account.password_reset").exists()


def test_a_registration_code_does_not_reset_a_password():
    user = make_citizen()
    code = send_code("13800138000", OtpPurpose.REGISTER)
    with pytest.raises(ApplicationError) as error:
        password_reset(phone="13800138000", code=code, new_password=NEW_PASSWORD)
    assert error.value.code == "otp_missing"
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_number_without_account_is_told_only_after_the_code():
    code = send_code("13911112222", OtpPurpose.RESET)
    with pytest.raises(ApplicationError) as error:
        password_reset(phone="13911112222", code=code, new_password=NEW_PASSWORD)
    assert error.value.code == "account_missing"
    assert User.objects.count() == 0


def test_weak_password_is_refused_before_the_code_is_used():
    user = make_citizen()
    code = send_code("13800138000", OtpPurpose.RESET)
    with pytest.raises(ApplicationError) as error:
        password_reset(phone="13800138000", code=code, new_password="12345678")
    assert error.value.code == "password_weak"
    password_reset(phone="13800138000", code=code, new_password=NEW_PASSWORD)  # the code still works
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_reset_lifts_a_lockout(client):
    make_citizen()
    for _ in range(5):
        client.post(reverse("identity:login"), {"username": "13800138000", "password": "wrong-password"})
    assert AccessAttempt.objects.filter(username="13800138000").exists()
    code = send_code("13800138000", OtpPurpose.RESET)
    password_reset(phone="13800138000", code=code, new_password=NEW_PASSWORD)
    assert not AccessAttempt.objects.filter(username="13800138000").exists()
    response = client.post(reverse("identity:login"), {"username": "13800138000", "password": NEW_PASSWORD})
    assert response.status_code == 302


def test_reset_page_flow(client):
    user = make_citizen()
    page = client.get(reverse("identity:password_reset"))
    assert page.status_code == 200
    sent = client.post(reverse("identity:password_reset_send_code"), {"phone": "13800138000"})
    assert sent.status_code == 200
    assert "138****8000" in sent.content.decode()
    from onecity.identity.tests.accounts_support import last_code

    response = client.post(reverse("identity:password_reset"), {
        "action": "reset", "phone": "13800138000", "code": last_code("13800138000"),
        "new_password": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("identity:login")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_reset_page_mismatched_passwords_change_nothing(client):
    user = make_citizen()
    code = send_code("13800138000", OtpPurpose.RESET)
    response = client.post(reverse("identity:password_reset"), {
        "action": "reset", "phone": "13800138000", "code": code,
        "new_password": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"})
    assert response.status_code == 400
    assert "两次输入的密码不一致。" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_login_page_links_to_reset(client):
    assert reverse("identity:password_reset") in client.get(reverse("identity:login")).content.decode()
