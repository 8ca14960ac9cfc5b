"""Helpers shared by the accounts tests: organizations, citizens, staff, sent SMS codes."""

from __future__ import annotations

import re

import pytest

from onecity.core.crypto import lookup_hash
from onecity.core.ids import new_public_id
from onecity.core.validators import uscc_make
from onecity.identity.enums import OrganizationKind, OtpPurpose
from onecity.identity.models import Organization, User
from onecity.identity.services.accounts import staff_create
from onecity.identity.services.otp import otp_send
from onecity.notifications.models import Message

PASSWORD = "Minjiang-Bridge-1996"
ID_LIN = "350102199001011238"  # 福州市鼓楼区, valid check character
ID_WANG = "11010519491231002X"  # 北京市朝阳区


def make_org(name="福州市数据管理局", body="M0001000", region="350100") -> Organization:
    return Organization.objects.create(name=name, name_en="Fuzhou Data Administration", kind=OrganizationKind.DEPARTMENT,
                                       uscc=uscc_make("11", region, body), region_code=region)


def make_citizen(phone="13800138000", password=PASSWORD, display_name="小林") -> User:
    public_id = new_public_id()
    user = User(public_id=public_id, username="c-" + public_id, display_name=display_name, phone=phone,
                phone_hash=lookup_hash(phone, purpose="phone"))
    user.set_password(password)
    user.save()
    return user


def make_staff(*roles, username="staff", org=None, password=PASSWORD) -> User:
    org = org or Organization.objects.first() or make_org()
    return staff_create(actor=None, username=username, password=password, display_name=f"{username} 同志",
                        organization=org, roles=list(roles))


def last_code(phone: str) -> str:
    message = Message.objects.filter(address_masked=phone[:3] + "****" + phone[-4:]).order_by("-id").first()
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def send_code(phone: str, purpose=OtpPurpose.REGISTER, ip="203.0.113.9") -> str:
    otp_send(phone=phone, purpose=purpose, ip=ip)
    return last_code(phone)


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    """A fast hasher: these tests check rules, not PBKDF2's cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
