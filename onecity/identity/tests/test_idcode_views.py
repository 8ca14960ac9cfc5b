"""Identity-code pages: the citizen's QR page and its htmx fragment, the JWKS endpoint, the
staff verification page."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from onecity.identity.enums import UserKind
from onecity.identity.models import GateScan, SigningKey, User
from onecity.identity.services.idcode import idcode_issue, idcode_verify_jwks
from onecity.identity.tests.test_idcode import make_citizen

TOKEN_RE = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


@pytest.fixture
def staff(db):
    return User.objects.create_user(username="gate.officer", password="x" * 12, kind=UserKind.STAFF,
                                    display_name="门岗")


def test_urls_are_as_contracted():
    assert reverse("identity:idcode") == "/account/idcode/"
    assert reverse("identity:idcode_verify") == "/staff/idcode/verify/"
    assert reverse("identity:idcode_keys") == "/.well-known/idcode-keys.json"


@pytest.mark.django_db
def test_anonymous_is_sent_to_sign_in(client):
    for url in ("/account/idcode/", "/account/idcode/card/", "/staff/idcode/verify/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("identity:login") + "?next=")


@pytest.mark.django_db
def test_citizen_without_real_name_gets_an_explanation(client):
    user = User.objects.create_user(username="c13900000001", password="x" * 12)
    client.force_login(user)
    response = client.get("/account/idcode/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Real-name verification needed" in html
    assert f'href="{reverse("identity:realname")}"' in html
    assert 'class="idcode-qr"' not in html
    fragment = client.get("/account/idcode/card/", HTTP_HX_REQUEST="true")
    assert (fragment.status_code, fragment["HX-Redirect"]) == (204, "/account/idcode/")
    assert TOKEN_RE.search(html) is None
    assert SigningKey.objects.count() == 0


@pytest.mark.django_db
def test_verified_citizen_sees_a_qr_code_that_verifies(client):
    citizen = make_citizen()
    client.force_login(citizen)
    response = client.get("/account/idcode/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    html = response.content.decode()
    assert "林**" in html
    assert "林则峰" not in html
    assert 'class="idcode-qr"' in html  # the inline SVG QR code
    assert 'hx-trigger="every 50s, onecity:countdown-done"' in html
    assert 'data-countdown="60"' in html
    assert "<h1 class=\"page-title\">身份码</h1>" in html  # translated page
    # the page carries no token in clear text except as the QR code picture
    assert TOKEN_RE.search(html) is None

    fragment = client.get("/account/idcode/card/", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert body.lstrip().startswith('<section class="qr-box" id="idcode-card"')
    assert "<html" not in body


@pytest.mark.django_db
def test_staff_member_cannot_open_citizen_code_page(client, staff):
    client.force_login(staff)
    assert client.get("/account/idcode/").status_code == 403


@pytest.mark.django_db
def test_jwks_endpoint_publishes_public_keys_with_cache_headers(client):
    first = client.get("/.well-known/idcode-keys.json")  # before any code was issued
    assert len(json.loads(first.content)["keys"]) == 1
    citizen = make_citizen()
    token = idcode_issue(user=citizen).token
    response = client.get("/.well-known/idcode-keys.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/jwk-set+json"
    assert response["Cache-Control"] == "public, max-age=300"
    jwks = json.loads(response.content)
    (key,) = jwks["keys"]
    assert "d" not in key  # never the private half
    assert idcode_verify_jwks(payload=token, jwks=jwks).valid is True


@pytest.mark.django_db
def test_citizen_cannot_open_staff_verify_page(client):
    client.force_login(make_citizen())
    assert client.get("/staff/idcode/verify/").status_code == 403


@pytest.mark.django_db
def test_staff_verify_page_valid_then_replay(client, staff):
    token = idcode_issue(user=make_citizen()).token
    client.force_login(staff)
    page = client.get("/staff/idcode/verify/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert 'name="payload"' in page.content.decode()
    assert 'for="id_payload"' in page.content.decode()

    response = client.post("/staff/idcode/verify/", {"payload": token, "gate": "counter-3"},
                           HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-reason="valid"' in html
    assert "alert-success" in html
    assert "Valid — let the holder pass" in html
    assert "林**" in html
    assert 'value="counter-3"' in html  # the gate id is kept for the next scan

    again = client.post("/staff/idcode/verify/", {"payload": token, "gate": "counter-3"}, HTTP_ACCEPT_LANGUAGE="en")
    assert 'data-reason="already_used"' in again.content.decode()
    assert "This code has already been used at this gate." in again.content.decode()
    assert GateScan.objects.count() == 1


@pytest.mark.django_db
def test_staff_verify_page_bad_code_and_errors(client, staff):
    client.force_login(staff)
    response = client.post("/staff/idcode/verify/", {"payload": "hello"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = response.content.decode()
    assert 'data-reason="malformed"' in html
    assert "alert-danger" in html
    missing = client.post("/staff/idcode/verify/", {"payload": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert missing.status_code == 400
    assert "This field is required." in missing.content.decode()
    assert GateScan.objects.count() == 0


@pytest.mark.django_db
def test_staff_verify_page_is_rate_limited(client, staff, settings):
    settings.ONECITY_RATE_LIMITS = {**settings.ONECITY_RATE_LIMITS, "idcode_verify": (2, 60)}
    client.force_login(staff)
    statuses = [client.post("/staff/idcode/verify/", {"payload": "x"}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
