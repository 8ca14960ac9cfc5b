"""The demo city: `onecity seed --demo` loads Fuzhou as promised, and loading it again changes nothing."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory
from oauth2_provider.models import get_application_model

from onecity.core.crypto import lookup_hash
from onecity.core.models import AuditEvent
from onecity.core.validators import parse_resident_id, region_name, validate_uscc
from onecity.demo import seeding
from onecity.identity.enums import OrganizationKind, PayeeType, Role, UserKind
from onecity.identity.models import (
    ClientProfile,
    DemoResident,
    Organization,
    RealNameIdentity,
    StaffRole,
    User,
)
from onecity.identity.registry import get_registry

DISTRICTS = {
    "350102": "鼓楼区", "350103": "台江区", "350104": "仓山区", "350111": "晋安区", "350105": "马尾区",
    "350112": "长乐区", "350181": "福清市", "350121": "闽侯县", "350122": "连江县", "350123": "罗源县",
    "350124": "闽清县", "350125": "永泰县", "350128": "平潭县",
}
PROVINCE_APPS = {"闽政通", "e福州", "公安公众服务网", "掌上住建", "闽税通", "e龙岩"}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2 is deliberately slow; the promise under test is the data, not the hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher",
                                 *settings.PASSWORD_HASHERS]


def _counts() -> dict[str, int]:
    return {
        "organizations": Organization.objects.count(),
        "residents": DemoResident.objects.count(),
        "users": User.objects.count(),
        "identities": RealNameIdentity.objects.count(),
        "roles": StaffRole.objects.count(),
        "clients": get_application_model().objects.count(),
        "profiles": ClientProfile.objects.count(),
    }


def _seed(**options) -> str:
    out = io.StringIO()
    call_command("seed", demo=True, small=True, skip_migrate=True, stdout=out, **options)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_loads_the_demo_city_of_fuzhou(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        output = _seed()

    assert "Demo city loaded" in output
    departments = Organization.objects.filter(kind=OrganizationKind.DEPARTMENT)
    assert departments.count() >= 30
    names = set(departments.values_list("name", flat=True))
    assert {"福州市公安局", "福州市教育局", "福州市人力资源和社会保障局", "福州市人民政府办公厅",
            "国家税务总局福州市税务局", "福州市行政服务中心管理委员会"} <= names
    assert not departments.filter(name_en="").exists()

    districts = Organization.objects.filter(kind=OrganizationKind.DISTRICT)
    assert dict(districts.values_list("region_code", "short_name")) == DISTRICTS
    assert districts.count() == 13
    for code, short_name in DISTRICTS.items():
        assert region_name(code).endswith(short_name)
    gulou = districts.get(region_code="350102")
    assert gulou.name == "福州市鼓楼区人民政府"
    assert {"东街街道", "南街街道", "安泰街道", "华大街道", "水部街道", "五凤街道", "温泉街道", "鼓东街道",
            "鼓西街道", "洪山镇", "城市管理局"} <= set(gulou.children.values_list("short_name", flat=True))
    for district in districts:
        assert district.children.count() >= 10, district.name
        assert set(district.children.values_list("region_code", flat=True)) == {district.region_code}

    platform = Organization.objects.get(name="福州市12345便民服务平台")
    assert platform.parent.name == "福州市人民政府办公厅"
    payees = Organization.objects.filter(kind=OrganizationKind.PAYEE)
    assert set(payees.values_list("payee_type", flat=True)) == {
        PayeeType.SCHOOL, PayeeType.HOSPITAL, PayeeType.TRANSIT, PayeeType.UTILITY}
    assert payees.get(name="福州第一中学").uscc[:2] == "12"
    assert payees.get(name="福州地铁集团有限公司").uscc[:2] == "91"
    assert departments.get(name="福州市公安局").uscc[:2] == "11"

    codes = list(Organization.objects.values_list("uscc", "region_code"))
    assert len({code for code, _ in codes}) == len(codes)
    for code, region in codes:
        validate_uscc(code)  # raises on a wrong check character
        assert code[2:8] == region

    # the demo population registry
    assert DemoResident.objects.count() == seeding.SMALL.residents
    for resident in DemoResident.objects.all():
        info = parse_resident_id(resident.id_number)
        assert info.region_code == resident.region_code
        assert 1940 <= info.birth_date.year <= 2008
        assert resident.id_number_hash == lookup_hash(info.number, purpose="id_number")

    # THE demo citizen signs in with phone and password and is real-name verified
    request = RequestFactory().post("/login/")
    user = authenticate(request, username="13800138000", password="Demo@2026")
    assert user is not None
    assert user.kind == UserKind.CITIZEN
    assert user.display_name == "林志远"
    identity = RealNameIdentity.objects.get(
        id_number_hash=lookup_hash("350102199001011238", purpose="id_number"))
    assert identity.user == user
    assert identity.legal_name == "林志远"
    assert identity.id_number == "350102199001011238"
    assert authenticate(request, username="13800138000", password="wrong-Demo@2026") is None
    assert get_registry().match(legal_name="林志远", id_number="350102199001011238").matched

    citizens = User.objects.filter(kind=UserKind.CITIZEN)
    assert citizens.count() == seeding.SMALL.citizens
    assert 0 < RealNameIdentity.objects.count() < citizens.count()
    for identity in RealNameIdentity.objects.select_related("user"):
        assert get_registry().match(legal_name=identity.legal_name, id_number=identity.id_number).matched

    # one staff account per role (two payee cashiers at one school and two finance officers: refunds
    # and adjustments need a second person), each in a real organization (plus a handler account in each hotline unit: test_hotline_seed.py)
    staff = User.objects.filter(kind=UserKind.STAFF).exclude(username__startswith="handler-")
    assert sorted(StaffRole.objects.filter(user__in=staff).values_list("role", flat=True)) == sorted(
        [*Role.values, Role.PAYEE_CASHIER, Role.FINANCE])
    assert {u.username for u in staff} == {a.username for a in seeding.STAFF_ACCOUNTS}
    for account in seeding.STAFF_ACCOUNTS:
        member = staff.get(username=account.username)
        assert list(member.roles.values_list("role", flat=True)) == [account.role]
        assert member.organization.name == account.organization
        assert member.check_password("Demo@2026")
    assert staff.get(username="operator").organization.parent.name == "福州市人民政府办公厅"
    assert staff.get(username="admin").is_staff is True
    assert staff.filter(is_staff=True).count() == 1

    # partner apps
    apps = set(get_application_model().objects.values_list("name", flat=True))
    assert apps == PROVINCE_APPS | {seeding.LOCAL_CLIENT_NAME}
    assert ClientProfile.objects.get(display_name="公安公众服务网").operator.name == "福州市公安局"
    local = get_application_model().objects.get(name=seeding.LOCAL_CLIENT_NAME)
    assert local.redirect_uris == "http://127.0.0.1:8765/callback"
    saved = json.loads(seeding.local_client_file().read_text())
    assert saved["client_id"] == local.client_id
    assert local.client_secret != saved["client_secret"]  # stored hashed
    assert AuditEvent.objects.filter(action="demo.seed").count() == 1


@pytest.mark.django_db
def test_seeding_twice_changes_nothing():
    _seed()
    before = _counts()
    audit_before = AuditEvent.objects.count()

    output = _seed()

    assert "nothing to add" in output
    assert _counts() == before
    assert AuditEvent.objects.count() == audit_before


def test_demo_data_is_deterministic_and_valid():
    first = seeding.resident_specs(400)
    assert first == seeding.resident_specs(400)
    assert first[0].id_number == "350102199001011238"
    assert len({r.id_number for r in first}) == 400
    for resident in first:
        info = parse_resident_id(resident.id_number)
        assert info.sex == resident.sex
        assert info.birth_date == resident.birth_date
    citizens = seeding.citizen_specs(first, seeding.SMALL)
    assert citizens == seeding.citizen_specs(first, seeding.SMALL)
    assert citizens[0].phone == "13800138000"
    assert len({c.phone for c in citizens}) == len(citizens)
    assert not any(c.resident.is_deceased for c in citizens)
    specs = seeding.organization_specs()
    assert len({s.uscc for s in specs}) == len(specs)


def test_a_changed_check_character_is_rejected():
    code = seeding.organization_specs()[0].uscc
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    with pytest.raises(ValidationError):
        validate_uscc(wrong)


@pytest.mark.django_db
def test_seed_without_demo_flag_explains_and_loads_nothing():
    with pytest.raises(CommandError, match="--demo"):
        call_command("seed", skip_migrate=True, stdout=io.StringIO())
    assert Organization.objects.count() == 0
    assert DemoResident.objects.count() == 0


@pytest.mark.django_db
def test_seed_refuses_a_public_site_unless_told(settings):
    settings.BASE_URL = "https://city.example.gov.cn"
    with pytest.raises(CommandError, match="--allow-public"):
        _seed()
    assert Organization.objects.count() == 0
    assert User.objects.count() == 0
