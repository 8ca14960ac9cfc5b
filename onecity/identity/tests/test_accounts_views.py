"""Account pages through the test client: sign-in (L1, L2), lockout, step-up, registration,
account and real-name pages, sign-out."""

from __future__ import annotations

import time

import pytest
from axes.models import AccessAttempt

from onecity.core.models import AuditEvent
from onecity.identity.enums import AssuranceLevel, OtpPurpose, Role
from onecity.identity.models import OneTimeCode, RealNameIdentity, User
from onecity.identity.registry import demo_resident_add
from onecity.identity.services.accounts import realname_verify
from onecity.identity.tests.accounts_support import (
    ID_LIN,
    PASSWORD,
    fast_hashing,  # noqa: F401 - autouse fixture
    last_code,
    make_citizen,
    make_staff,
)

pytestmark = pytest.mark.django_db
LOGIN = "/login/"


def signed_in_user(client):
    return client.session.get("_auth_user_id")


# --- sign-in -------------------------------------------------------------------------------------
def test_login_page_renders_in_chinese_and_english(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert "登录" in response.content.decode()
    response = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en")
    assert "Sign in to OneCity" in response.content.decode()


def test_citizen_password_login_sets_l1_session(client):
    user = make_citizen("13800138000")
    before = int(time.time())
    response = client.post(LOGIN, {"username": "138-0013-8000", "password": PASSWORD, "next": "/account/"})
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert signed_in_user(client) == str(user.pk)
    assert client.session["acr"] == AssuranceLevel.L1 == "urn:onecity:acr:l1"
    assert before <= client.session["auth_time"] <= int(time.time())


def test_staff_login_by_user_name(client):
    staff = make_staff(Role.AUDITOR, username="auditor1")
    response = client.post(LOGIN, {"username": "Auditor1", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/staff/"  # staff land on their console
    assert signed_in_user(client) == str(staff.pk)


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_login_ignores_foreign_next(client, next_url):
    make_citizen("13800138000")
    response = client.post(LOGIN, {"username": "13800138000", "password": PASSWORD, "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_wrong_password_is_refused_with_translated_message(client):
    make_citizen("13800138000")
    response = client.post(LOGIN, {"username": "13800138000", "password": "not-the-password"})
    assert response.status_code == 400
    assert "手机号、用户名或密码错误" in response.content.decode()
    assert signed_in_user(client) is None
    response = client.post(LOGIN, {"username": "13800138000", "password": "not-the-password"},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert "The mobile number, user name or password is wrong." in response.content.decode()


def test_empty_login_form_shows_field_errors(client):
    response = client.post(LOGIN, {"username": "", "password": ""})
    assert response.status_code == 400
    assert response.content.decode().count('class="field-error"') == 2
    assert AccessAttempt.objects.count() == 0


def test_lockout_after_five_failures_refuses_even_the_right_password(client):
    user = make_citizen("13800138000")
    for attempt in range(1, 5):
        response = client.post(LOGIN, {"username": "13800138000", "password": f"wrong-{attempt}"})
        assert response.status_code == 400
    response = client.post(LOGIN, {"username": "13800138000", "password": "wrong-5"})
    assert response.status_code == 429
    assert "登录已锁定 15 分钟" in response.content.decode()
    response = client.post(LOGIN, {"username": "13800138000", "password": PASSWORD})
    assert response.status_code == 429
    assert signed_in_user(client) is None
    assert AccessAttempt.objects.get(username="13800138000").failures_since_start >= 5
    assert user.last_login is None


def test_lockout_counts_the_number_however_it_is_typed(client):
    make_citizen("13800138000")
    for typed in ["13800138000", "138 0013 8000", "+86 138 0013 8000", "138-0013-8000", "13800138000"]:
        response = client.post(LOGIN, {"username": typed, "password": "wrong"})
    assert response.status_code == 429
    assert AccessAttempt.objects.count() == 1


def test_login_ip_rate_limit(client, settings):
    settings.ONECITY_RATE_LIMITS = {**settings.ONECITY_RATE_LIMITS, "login": (2, 300)}
    make_citizen("13800138000")
    client.post(LOGIN, {"username": "13800138000", "password": "wrong"})
    client.post(LOGIN, {"username": "13800138000", "password": "wrong"})
    response = client.post(LOGIN, {"username": "13800138000", "password": PASSWORD})
    assert response.status_code == 429
    assert signed_in_user(client) is None


# --- SMS second step (L2) ------------------------------------------------------------------------
def test_login_with_code_reaches_l2(client):
    make_citizen("13800138000")
    response = client.post(LOGIN, {"username": "13800138000", "password": PASSWORD, "with_code": "on",
                                   "next": "/account/"})
    assert response.status_code == 302
    assert response["Location"] == "/login/step-up/?next=%2Faccount%2F"
    assert client.session["acr"] == AssuranceLevel.L1
    page = client.get(response["Location"])
    assert "138****8000" in page.content.decode()
    sent = client.post("/login/step-up/", {"action": "send", "next": "/account/"})
    assert sent.status_code == 200
    assert "我们已向 138****8000 发送验证码" in sent.content.decode()
    code = last_code("13800138000")
    assert OneTimeCode.objects.get().purpose == OtpPurpose.STEP_UP
    response = client.post("/login/step-up/", {"action": "verify", "code": code, "next": "/account/"})
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert client.session["acr"] == AssuranceLevel.L2 == "urn:onecity:acr:l2"


def test_step_up_wrong_then_reused_code_keeps_l1(client):
    user = make_citizen("13800138000")
    client.force_login(user)
    session = client.session
    session["acr"] = AssuranceLevel.L1
    session.save()
    client.post("/login/step-up/", {"action": "send"})
    code = last_code("13800138000")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    response = client.post("/login/step-up/", {"action": "verify", "code": wrong})
    assert response.status_code == 400
    assert "验证码错误" in response.content.decode()
    assert client.session["acr"] == AssuranceLevel.L1
    assert client.post("/login/step-up/", {"action": "verify", "code": code}).status_code == 302
    assert client.session["acr"] == AssuranceLevel.L2
    session = client.session
    session["acr"] = AssuranceLevel.L1
    session.save()
    response = client.post("/login/step-up/", {"action": "verify", "code": code})
    assert response.status_code == 400
    assert client.session["acr"] == AssuranceLevel.L1


def test_step_up_rejects_non_numeric_code_without_using_an_attempt(client):
    user = make_citizen("13800138000")
    client.force_login(user)
    client.post("/login/step-up/", {"action": "send"})
    response = client.post("/login/step-up/", {"action": "verify", "code": "12a456"})
    assert response.status_code == 400
    assert "验证码为 6 位数字" in response.content.decode()
    assert OneTimeCode.objects.get().attempts == 0


def test_step_up_needs_sign_in(client):
    response = client.get("/login/step-up/?next=/account/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


# --- sign-out ------------------------------------------------------------------------------------
def test_logout_only_by_post(client):
    user = make_citizen()
    client.force_login(user)
    assert client.get("/logout/").status_code == 200
    assert signed_in_user(client) == str(user.pk)
    response = client.post("/logout/")
    assert response.status_code == 302
    assert signed_in_user(client) is None


# --- registration --------------------------------------------------------------------------------
def test_register_flow_with_htmx_code_button(client):
    fragment = client.post("/register/code/", {"phone": "13900139000"}, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    assert "139****9000" in fragment.content.decode()
    assert "<html" not in fragment.content.decode()
    code = last_code("13900139000")
    response = client.post("/register/", {"phone": "13900139000", "code": code, "display_name": "阿榕",
                                          "password": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/account/realname/"
    user = User.objects.get()
    assert (user.display_name, user.phone) == ("阿榕", "13900139000")
    assert signed_in_user(client) == str(user.pk)
    assert client.session["acr"] == AssuranceLevel.L1


def test_register_send_code_rate_limit_message(client):
    assert client.post("/register/code/", {"phone": "13900139000"}).status_code == 200
    fragment = client.post("/register/code/", {"phone": "13900139000"})
    assert "尝试次数过多" in fragment.content.decode()
    assert OneTimeCode.objects.count() == 1


def test_register_send_code_without_javascript(client):
    response = client.post("/register/", {"action": "send_code", "phone": "13900139000", "display_name": "阿榕"})
    assert response.status_code == 200
    assert "139****9000" in response.content.decode()
    assert 'value="阿榕"' in response.content.decode()
    assert OneTimeCode.objects.count() == 1


def test_register_bad_phone_for_code(client):
    fragment = client.post("/register/code/", {"phone": "12345"})
    assert "请输入 11 位中国大陆手机号" in fragment.content.decode()
    assert OneTimeCode.objects.count() == 0


def test_register_already_registered_phone_creates_nothing(client):
    make_citizen("13900139000")
    client.post("/register/code/", {"phone": "13900139000"})
    code = last_code("13900139000")
    response = client.post("/register/", {"phone": "13900139000", "code": code, "display_name": "阿榕",
                                          "password": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 400
    assert "该手机号已注册" in response.content.decode()
    assert User.objects.count() == 1
    assert signed_in_user(client) is None


def test_register_mismatched_passwords_and_weak_password(client):
    response = client.post("/register/", {"phone": "13900139000", "code": "123456", "display_name": "阿榕",
                                          "password": PASSWORD, "password2": PASSWORD + "x"})
    assert response.status_code == 400
    assert "两次输入的密码不一致" in response.content.decode()
    client.post("/register/code/", {"phone": "13900139000"})
    code = last_code("13900139000")
    response = client.post("/register/", {"phone": "13900139000", "code": code, "display_name": "阿榕",
                                          "password": "12345678", "password2": "12345678"})
    assert response.status_code == 400
    assert "密码只包含数字" in response.content.decode()
    assert User.objects.count() == 0


# --- account and real-name pages -----------------------------------------------------------------
def test_account_page_shows_only_own_masked_data(client):
    demo_resident_add(legal_name="林则峰", id_number=ID_LIN)
    me = make_citizen("13800138000", display_name="小林")
    other = make_citizen("13900139000", display_name="小王")
    realname_verify(user=me, legal_name="林则峰", id_number=ID_LIN)
    client.force_login(other)
    page = client.get("/account/").content.decode()
    assert "139****9000" in page
    assert "小王" in page
    for secret in ("13800138000", "138****8000", "小林", "林*", ID_LIN, "3****************8"):
        assert secret not in page
    client.force_login(me)
    page = client.get("/account/").content.decode()
    assert "138****8000" in page
    assert "林**" in page
    assert "3****************8" in page
    assert ID_LIN not in page
    assert "13800138000" not in page


def test_account_needs_sign_in(client):
    response = client.get("/account/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/account/"


def test_realname_page_verifies(client):
    demo_resident_add(legal_name="林则峰", id_number=ID_LIN)
    user = make_citizen()
    client.force_login(user)
    response = client.post("/account/realname/", {"legal_name": "林则峰", "id_number": ID_LIN, "consent": "on"})
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert RealNameIdentity.objects.get().user == user
    page = client.get("/account/realname/").content.decode()
    assert "已认证" in page
    assert ID_LIN not in page


@pytest.mark.parametrize("data, message", [
    ({"legal_name": "林则徐", "id_number": ID_LIN, "consent": "on"}, "姓名与身份证号码不符"),
    ({"legal_name": "林则峰", "id_number": "350102199001011237", "consent": "on"}, "校验位不正确"),
    ({"legal_name": "林则峰", "id_number": "3501021990", "consent": "on"}, "身份证号码为 18 位"),
    ({"legal_name": "林则峰", "id_number": ID_LIN}, "请同意"),
    ({"legal_name": "", "id_number": ID_LIN, "consent": "on"}, "这个字段是必填项"),
])
def test_realname_page_bad_input_changes_nothing(client, data, message):
    demo_resident_add(legal_name="林则峰", id_number=ID_LIN)
    client.force_login(make_citizen())
    response = client.post("/account/realname/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert RealNameIdentity.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_realname_page_is_for_citizens(client):
    client.force_login(make_staff(Role.SUPERVISOR))
    assert client.get("/account/realname/").status_code == 403


def test_password_change_page(client):
    user = make_citizen()
    client.force_login(user)
    response = client.post("/account/password/", {"old_password": "nope", "new_password": "Gushan-Temple-2027",
                                                  "new_password2": "Gushan-Temple-2027"})
    assert response.status_code == 400
    assert "当前密码错误" in response.content.decode()
    response = client.post("/account/password/", {"old_password": PASSWORD, "new_password": "Gushan-Temple-2027",
                                                  "new_password2": "Gushan-Temple-2027"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Gushan-Temple-2027")
    assert client.get("/account/").status_code == 200  # still signed in


# --- resident home -------------------------------------------------------------------------------
def test_home_anonymous_welcome(client):
    page = client.get("/").content.decode()
    assert 'href="/login/"' in page
    assert 'href="/register/"' in page


def test_home_citizen_shows_realname_call_to_action(client):
    client.force_login(make_citizen(display_name="小林"))
    page = client.get("/").content.decode()
    assert "小林" in page
    assert 'href="/account/realname/"' in page
    assert 'href="/staff/"' not in page


def test_home_staff_links_to_console(client):
    client.force_login(make_staff(Role.AUDITOR))
    page = client.get("/").content.decode()
    assert 'href="/staff/"' in page


def test_citizen_sign_in_lands_on_the_resident_home(client):
    make_citizen()
    response = client.post(LOGIN, {"username": "13800138000", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_staff_sign_in_keeps_an_explicit_next(client):
    make_staff(Role.AUDITOR, username="auditor2")
    response = client.post(LOGIN, {"username": "auditor2", "password": PASSWORD, "next": "/staff/audit/"})
    assert response["Location"] == "/staff/audit/"
