"""The identity code at a gate: a real-name-verified resident opens "My code" on a phone; a staff
member at a counter (a second browser, desktop) checks the code on the verification page, and the
same code shown again at the same gate is refused.

The QR code is read the way a scanner reads it: from a picture of the rendered page (a
screenshot of the QR element), decoded by zxing-cpp. The page deliberately carries the token
nowhere else.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
import zxingcpp
from PIL import Image

from onecity.core.crypto import lookup_hash
from onecity.core.ids import new_public_id
from onecity.core.validators import resident_id_make, uscc_make
from onecity.identity.enums import OrganizationKind, Role
from onecity.identity.models import DemoResident, GateScan, Organization, User
from onecity.identity.services.accounts import realname_verify, staff_create

pytestmark = [pytest.mark.browser, pytest.mark.live]

PHONE = "13705910202"
PASSWORD = "Yushan-Baita-1064"
STAFF_PASSWORD = "Counter-Three-2026"
LEGAL_NAME = "陈依依"
ID_NUMBER = resident_id_make("350104", dt.date(1988, 3, 9), 124)  # 福州市仓山区
GATE = "gulou-hall-east-1"


@pytest.fixture
def verified_resident(transactional_db):
    DemoResident.objects.create(legal_name=LEGAL_NAME, id_number=ID_NUMBER,
                                id_number_hash=lookup_hash(ID_NUMBER, purpose="id_number"), region_code="350104")
    public_id = new_public_id()
    user = User(public_id=public_id, username="c-" + public_id, display_name="依依", phone=PHONE,
                phone_hash=lookup_hash(PHONE, purpose="phone"))
    user.set_password(PASSWORD)
    user.save()
    realname_verify(user=user, legal_name=LEGAL_NAME, id_number=ID_NUMBER)
    return user


@pytest.fixture
def counter_clerk(transactional_db):
    org = Organization.objects.create(name="鼓楼区行政服务中心", name_en="Gulou Service Centre",
                                      kind=OrganizationKind.DISTRICT, uscc=uscc_make("11", "350102", "M0003000"),
                                      region_code="350102")
    return staff_create(actor=None, username="clerk.zheng", password=STAFF_PASSWORD, display_name="郑窗口",
                        organization=org, roles=[Role.APPLICATION_REVIEWER])


def scan_qr(locator) -> str:
    """Decode the QR code shown by `locator` from a screenshot, like a gate scanner would."""
    picture = Image.open(io.BytesIO(locator.screenshot()))
    codes = zxingcpp.read_barcodes(picture)
    assert len(codes) == 1, f"expected one QR code in the picture, found {len(codes)}"
    assert codes[0].format == zxingcpp.BarcodeFormat.QRCode
    return codes[0].text


def test_identity_code_is_accepted_once_per_gate(open_context, sign_in, verified_resident, counter_clerk):
    # the resident's phone: the identity code page shows the masked name and a QR code
    phone = open_context("phone").new_page()
    sign_in(phone, PHONE, PASSWORD, next="/account/idcode/")
    assert phone.get_by_role("heading", level=1).inner_text() == "身份码"
    card = phone.locator("#idcode-card")
    assert card.get_by_role("heading", level=2).inner_text() == "陈**"
    assert LEGAL_NAME not in phone.content()
    qr = card.locator("#idcode-qr svg")
    assert qr.is_visible()
    box = qr.bounding_box()
    assert box["width"] >= 200 and abs(box["width"] - box["height"]) < 1  # big and square on a phone
    payload = scan_qr(qr)
    assert payload.count(".") == 2 and payload.startswith("eyJ")  # a compact JWS

    # the counter: a second browser, signed in as staff, verifies the scanned text
    desk = open_context("desktop").new_page()
    sign_in(desk, "clerk.zheng", STAFF_PASSWORD, next="/staff/idcode/verify/")
    assert desk.get_by_role("heading", level=1).inner_text() == "核验身份码"
    desk.get_by_label("扫码内容").fill(payload)
    desk.get_by_label("入口编号").fill(GATE)
    with desk.expect_navigation():
        desk.get_by_role("button", name="核验").click()
    result = desk.locator("main .alert[data-reason]")
    assert result.get_attribute("data-reason") == "valid"
    assert result.locator(".alert-title").inner_text() == "核验通过，可以放行"
    assert "身份码有效" in result.inner_text()
    assert result.locator("dd").first.inner_text() == "陈**"
    assert GateScan.objects.filter(gate=GATE).count() == 1

    # the same code again at the same gate (the page keeps the gate id, the code box is empty)
    assert desk.get_by_label("入口编号").input_value() == GATE
    assert desk.get_by_label("扫码内容").input_value() == ""
    desk.get_by_label("扫码内容").fill(payload)
    with desk.expect_navigation():
        desk.get_by_role("button", name="核验").click()
    result = desk.locator("main .alert[data-reason]")
    assert result.get_attribute("data-reason") == "already_used"
    assert result.locator(".alert-title").inner_text() == "核验未通过"
    assert "此码已在本入口使用过" in result.inner_text()
    assert GateScan.objects.filter(gate=GATE).count() == 1
