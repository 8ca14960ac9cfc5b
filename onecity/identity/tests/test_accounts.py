"""Account services: registration, real-name verification, password change, staff accounts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from onecity.core.crypto import lookup_hash
from onecity.core.errors import ApplicationError, PermissionDenied
from onecity.core.models import AuditEvent
from onecity.identity.enums import Role, UserKind
from onecity.identity.models import OneTimeCode, RealNameIdentity, StaffRole, User
from onecity.identity.registry import demo_resident_add
from onecity.identity.services.accounts import (
    citizen_register,
    password_change,
    realname_verify,
    staff_create,
    staff_roles_set,
)
from onecity.identity.tests.accounts_support import (
    ID_LIN,
    ID_WANG,
    PASSWORD,
    fast_hashing,  # noqa: F401 - autouse fixture
    make_citizen,
    make_org,
    make_staff,
    send_code,
)

pytestmark = pytest.mark.django_db


# --- registration ------------------------------------------------------------------------------
def test_register_creates_citizen_with_encrypted_phone_and_audit_row():
    code = send_code("13800138000")
    user = citizen_register(phone="138 0013 8000", password=PASSWORD, display_name=" 小林 ", code=code,
                            ip="203.0.113.9")
    user.refresh_from_db()
    assert user.kind == UserKind.CITIZEN
    assert user.username == "c-" + user.public_id
    assert user.display_name == "小林"
    assert user.phone == "13800138000"
    assert user.phone_hash == lookup_hash("13800138000", purpose="phone")
    assert user.check_password(PASSWORD)
    assert user.is_staff is False
    assert user.organization is None
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.subject_user, event.object_id, event.ip) == (
        "account.register", user, user, user.public_id, "203.0.113.9")
    assert OneTimeCode.objects.get().used_at is not None


def test_register_code_cannot_be_reused():
    code = send_code("13800138000")
    citizen_register(phone="13800138000", password=PASSWORD, display_name="小林", code=code)
    with pytest.raises(ApplicationError) as exc:
        citizen_register(phone="13800138000", password=PASSWORD, display_name="小林", code=code)
    assert exc.value.code == "otp_missing"
    assert User.objects.count() == 1


def test_register_with_wrong_code_creates_nothing_and_counts_the_attempt():
    code = send_code("13800138000")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(ApplicationError) as exc:
        citizen_register(phone="13800138000", password=PASSWORD, display_name="小林", code=wrong)
    assert exc.value.code == "otp_wrong"
    assert exc.value.field == "code"
    assert User.objects.count() == 0
    assert AuditEvent.objects.count() == 0
    assert OneTimeCode.objects.get().attempts == 1


def test_register_with_expired_code_is_refused():
    code = send_code("13800138000")
    OneTimeCode.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(ApplicationError) as exc:
        citizen_register(phone="13800138000", password=PASSWORD, display_name="小林", code=code)
    assert exc.value.code == "otp_expired"
    assert User.objects.count() == 0


def test_register_with_already_registered_phone_creates_nothing():
    existing = make_citizen("13800138000")
    code = send_code("13800138000")
    with pytest.raises(ApplicationError) as exc:
        citizen_register(phone="13800138000", password=PASSWORD, display_name="另一个", code=code)
    assert exc.value.code == "phone_taken"
    assert exc.value.field == "phone"
    assert list(User.objects.all()) == [existing]
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize("password, fragment", [
    ("12345678", "密码只包含数字"),  # messages come in the default language, Chinese
    ("password", "太常见"),
    ("short1!", "太短"),  # Django's catalog lags here; ours has it
])
def test_register_with_weak_password_keeps_the_code_and_creates_nothing(password, fragment):
    code = send_code("13800138000")
    with pytest.raises(ApplicationError) as exc:
        citizen_register(phone="13800138000", password=password, display_name="小林", code=code)
    assert exc.value.code == "password_weak"
    assert exc.value.field == "password"
    assert fragment in str(exc.value)
    assert User.objects.count() == 0
    otp = OneTimeCode.objects.get()
    assert (otp.used_at, otp.attempts) == (None, 0)  # the code still works after fixing the password


@pytest.mark.parametrize("phone", ["", "1380013800", "23800138000", "12800138000", "abc"])
def test_register_with_bad_phone_is_refused(phone):
    with pytest.raises(ApplicationError) as exc:
        citizen_register(phone=phone, password=PASSWORD, display_name="小林", code="123456")
    assert exc.value.code == "phone_format"
    assert User.objects.count() == 0


def test_register_needs_a_display_name_of_at_most_40_characters():
    with pytest.raises(ApplicationError) as exc:
        citizen_register(phone="13800138000", password=PASSWORD, display_name="   ", code="123456")
    assert exc.value.code == "display_name_required"
    with pytest.raises(ApplicationError) as exc:
        citizen_register(phone="13800138000", password=PASSWORD, display_name="林" * 41, code="123456")
    assert exc.value.code == "display_name_length"
    assert User.objects.count() == 0


# --- real-name verification ----------------------------------------------------------------------
def test_realname_verify_binds_identity_and_writes_audit_row():
    user = make_citizen()
    demo_resident_add(legal_name="林则峰", id_number=ID_LIN)
    identity = realname_verify(user=user, legal_name=" 林则峰 ", id_number=ID_LIN.lower(), ip="203.0.113.9")
    identity.refresh_from_db()
    assert identity.user == user
    assert identity.legal_name == "林则峰"
    assert identity.id_number == ID_LIN
    assert identity.id_number_hash == lookup_hash(ID_LIN, purpose="id_number")
    assert identity.registry == "demo"
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.subject_user, event.detail) == (
        "account.realname_verify", user, user, {"registry": "demo"})


def test_realname_verify_accepts_x_check_character():
    user = make_citizen()
    demo_resident_add(legal_name="王秀英", id_number=ID_WANG)
    assert realname_verify(user=user, legal_name="王秀英", id_number="11010519491231002x").id_number == ID_WANG


@pytest.mark.parametrize("legal_name, id_number, code", [
    ("林则徐", ID_LIN, "registry_name_mismatch"),
    ("林则峰", "350102199001011254", "registry_not_found"),  # valid number, not in the registry
    ("林则峰", "350102199001011237", "id_checksum"),
    ("林则峰", "350102199002301237", "id_birth_date"),  # 30 February
    ("林则峰", "35010219900101123", "id_format"),
    ("", ID_LIN, "legal_name_required"),
])
def test_realname_mismatch_or_bad_input_creates_nothing(legal_name, id_number, code):
    user = make_citizen()
    demo_resident_add(legal_name="林则峰", id_number=ID_LIN)
    with pytest.raises(ApplicationError) as exc:
        realname_verify(user=user, legal_name=legal_name, id_number=id_number)
    assert exc.value.code == code
    assert RealNameIdentity.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_realname_deceased_resident_is_refused():
    user = make_citizen()
    demo_resident_add(legal_name="林则峰", id_number=ID_LIN, is_deceased=True)
    with pytest.raises(ApplicationError) as exc:
        realname_verify(user=user, legal_name="林则峰", id_number=ID_LIN)
    assert exc.value.code == "registry_deceased"
    assert RealNameIdentity.objects.count() == 0


def test_realname_id_bound_to_another_account_is_refused():
    first = make_citizen("13800138000")
    second = make_citizen("13900139000")
    demo_resident_add(legal_name="林则峰", id_number=ID_LIN)
    realname_verify(user=first, legal_name="林则峰", id_number=ID_LIN)
    with pytest.raises(ApplicationError) as exc:
        realname_verify(user=second, legal_name="林则峰", id_number=ID_LIN)
    assert exc.value.code == "id_taken"
    assert list(RealNameIdentity.objects.values_list("user_id", flat=True)) == [first.pk]
    assert AuditEvent.objects.count() == 1


def test_realname_twice_is_refused():
    user = make_citizen()
    demo_resident_add(legal_name="林则峰", id_number=ID_LIN)
    demo_resident_add(legal_name="王秀英", id_number=ID_WANG)
    realname_verify(user=user, legal_name="林则峰", id_number=ID_LIN)
    with pytest.raises(ApplicationError) as exc:
        realname_verify(user=user, legal_name="王秀英", id_number=ID_WANG)
    assert exc.value.code == "realname_exists"
    assert RealNameIdentity.objects.get().id_number == ID_LIN


def test_realname_is_for_citizens_only():
    make_org()
    staff = make_staff(Role.SUPERVISOR)
    demo_resident_add(legal_name="林则峰", id_number=ID_LIN)
    with pytest.raises(PermissionDenied):
        realname_verify(user=staff, legal_name="林则峰", id_number=ID_LIN)
    assert RealNameIdentity.objects.count() == 0


def test_realname_registry_lookups_are_rate_limited_per_account(settings):
    settings.ONECITY_RATE_LIMITS = {**settings.ONECITY_RATE_LIMITS, "realname": (2, 3600)}
    user = make_citizen()
    demo_resident_add(legal_name="林则峰", id_number=ID_LIN)
    for _ in range(2):
        with pytest.raises(ApplicationError) as exc:
            realname_verify(user=user, legal_name="林则徐", id_number=ID_LIN)
        assert exc.value.code == "registry_name_mismatch"
    with pytest.raises(ApplicationError) as exc:
        realname_verify(user=user, legal_name="林则峰", id_number=ID_LIN)
    assert exc.value.code == "rate_limited"
    assert RealNameIdentity.objects.count() == 0


# --- password change -----------------------------------------------------------------------------
def test_password_change():
    user = make_citizen()
    password_change(user=user, old_password=PASSWORD, new_password="Gushan-Temple-2027")
    user.refresh_from_db()
    assert user.check_password("Gushan-Temple-2027")
    assert AuditEvent.objects.get().action == "account.password_change"


@pytest.mark.parametrize("old, new, code", [
    ("wrong-password", "Gushan-Temple-2027", "password_wrong"),
    (PASSWORD, PASSWORD, "password_same"),
    (PASSWORD, "87654321", "password_weak"),
])
def test_password_change_refusals_change_nothing(old, new, code):
    user = make_citizen()
    with pytest.raises(ApplicationError) as exc:
        password_change(user=user, old_password=old, new_password=new)
    assert exc.value.code == code
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert AuditEvent.objects.count() == 0


# --- staff ---------------------------------------------------------------------------------------
def test_staff_create_by_system_and_by_administrator_keeps_admin_flag_in_sync():
    org = make_org()
    admin = staff_create(actor=None, username="Admin", password=PASSWORD, display_name="管理员", organization=org,
                         roles=[Role.ADMINISTRATOR])
    assert (admin.username, admin.kind, admin.is_staff, admin.organization) == ("admin", UserKind.STAFF, True, org)
    operator = staff_create(actor=admin, username="op1", password=PASSWORD, display_name="话务员", organization=org,
                            roles=["hotline_operator", "hotline_operator", "supervisor"])
    assert operator.is_staff is False
    assert sorted(operator.roles.values_list("role", flat=True)) == ["hotline_operator", "supervisor"]
    assert set(operator.roles.values_list("granted_by", flat=True)) == {admin.pk}
    events = list(AuditEvent.objects.order_by("id").values_list("action", "actor_id", "subject_user_id"))
    assert events == [("staff.create", None, admin.pk), ("staff.create", admin.pk, operator.pk)]


def test_staff_create_by_non_administrator_is_refused():
    org = make_org()
    supervisor = make_staff(Role.SUPERVISOR, username="sup", org=org)
    before = (User.objects.count(), AuditEvent.objects.count())
    with pytest.raises(PermissionDenied):
        staff_create(actor=supervisor, username="new", password=PASSWORD, display_name="新人", organization=org,
                     roles=[Role.ADMINISTRATOR])
    citizen = make_citizen()
    with pytest.raises(PermissionDenied):
        staff_create(actor=citizen, username="new", password=PASSWORD, display_name="新人", organization=org,
                     roles=[Role.AUDITOR])
    assert (User.objects.count() - 1, AuditEvent.objects.count()) == before


@pytest.mark.parametrize("kwargs, code", [
    ({"username": "c-sneaky"}, "username_format"),
    ({"username": "ab"}, "username_format"),
    ({"username": "张三"}, "username_format"),
    ({"username": "taken"}, "username_taken"),
    ({"roles": []}, "roles_required"),
    ({"roles": ["mayor"]}, "role_unknown"),
    ({"password": "12345678"}, "password_weak"),
    ({"organization": None}, "organization_required"),
    ({"display_name": ""}, "display_name_required"),
])
def test_staff_create_bad_input_creates_nothing(kwargs, code):
    org = make_org()
    make_staff(Role.AUDITOR, username="taken", org=org)
    before = (User.objects.count(), StaffRole.objects.count(), AuditEvent.objects.count())
    arguments = {"actor": None, "username": "newbie", "password": PASSWORD, "display_name": "新人",
                 "organization": org, "roles": [Role.AUDITOR], **kwargs}
    with pytest.raises(ApplicationError) as exc:
        staff_create(**arguments)
    assert exc.value.code == code
    assert (User.objects.count(), StaffRole.objects.count(), AuditEvent.objects.count()) == before


def test_staff_roles_set_adds_removes_and_syncs_admin_flag():
    org = make_org()
    admin = make_staff(Role.ADMINISTRATOR, username="admin", org=org)
    member = make_staff(Role.AUDITOR, username="member", org=org)
    staff_roles_set(actor=admin, user=member, roles=[Role.ADMINISTRATOR, Role.SUPERVISOR])
    member.refresh_from_db()
    assert member.is_staff is True
    assert sorted(member.roles.values_list("role", flat=True)) == ["administrator", "supervisor"]
    event = AuditEvent.objects.filter(action="staff.roles_set").get()
    assert event.detail == {"added": ["administrator", "supervisor"], "removed": ["auditor"],
                            "roles": ["administrator", "supervisor"]}
    staff_roles_set(actor=admin, user=member, roles=[Role.SUPERVISOR])
    member.refresh_from_db()
    assert member.is_staff is False
    assert list(member.roles.values_list("role", flat=True)) == ["supervisor"]


def test_staff_roles_set_refusals_change_nothing():
    org = make_org()
    admin = make_staff(Role.ADMINISTRATOR, username="admin", org=org)
    member = make_staff(Role.AUDITOR, username="member", org=org)
    citizen = make_citizen()
    before = AuditEvent.objects.count()
    with pytest.raises(ApplicationError) as exc:
        staff_roles_set(actor=admin, user=admin, roles=[Role.AUDITOR])
    assert exc.value.code == "self_demote"
    with pytest.raises(PermissionDenied):
        staff_roles_set(actor=member, user=member, roles=[Role.ADMINISTRATOR])
    with pytest.raises(ApplicationError) as exc:
        staff_roles_set(actor=admin, user=citizen, roles=[Role.AUDITOR])
    assert exc.value.code == "not_staff"
    admin.refresh_from_db()
    member.refresh_from_db()
    assert (admin.is_staff, member.is_staff) == (True, False)
    assert list(member.roles.values_list("role", flat=True)) == ["auditor"]
    assert list(admin.roles.values_list("role", flat=True)) == ["administrator"]
    assert AuditEvent.objects.count() == before
