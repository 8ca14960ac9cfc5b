"""The partner REST API: client-credentials tokens from /o/token/, 401/403, organizations,
identity-code verification, JSON errors in the caller's language, the OpenAPI document."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from onecity.core.models import AuditEvent
from onecity.identity.models import GateScan, Organization, User
from onecity.identity.services.api_clients import api_client_create
from onecity.identity.services.idcode import idcode_issue
from onecity.identity.tests.test_idcode import make_citizen


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def fetch_token(client, credentials, scope="api"):
    response = client.post("/o/token/", {"grant_type": "client_credentials", "scope": scope},
                           HTTP_AUTHORIZATION=basic(credentials.client_id, credentials.client_secret))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == scope
    return body["access_token"]


@pytest.fixture
def credentials(db):
    return api_client_create(actor=None, name="鼓楼区智慧门禁系统")


@pytest.fixture
def bearer(client, credentials):
    return "Bearer " + fetch_token(client, credentials)


def _uscc(seq: int) -> str:
    from onecity.core.validators import uscc_make

    return uscc_make("11", "350100", f"{seq:08d}")


@pytest.mark.django_db
def test_client_create_registers_confidential_client_credentials_app(credentials):
    app = Application.objects.get(client_id=credentials.client_id)
    assert app.client_type == Application.CLIENT_CONFIDENTIAL
    assert app.authorization_grant_type == Application.GRANT_CLIENT_CREDENTIALS
    assert app.name == "鼓楼区智慧门禁系统"
    assert app.client_secret != credentials.client_secret  # stored hashed
    assert AuditEvent.objects.filter(action="api.client_create", object_id=credentials.client_id).count() == 1


@pytest.mark.django_db
def test_no_token_is_401_with_json_error(client):
    response = client.get("/api/v1/organizations", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="OneCity API"'
    assert response.json() == {
        "code": "unauthorized",
        "message": "Authenticate with a valid client-credentials access token (Authorization: Bearer …).",
    }


@pytest.mark.django_db
def test_bad_or_expired_token_is_401(client, credentials, bearer):
    response = client.get("/api/v1/organizations", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="OneCity API", error="invalid_token"'
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/v1/organizations", HTTP_AUTHORIZATION=bearer).status_code == 401


@pytest.mark.django_db
def test_revoked_token_is_401(client, credentials, bearer):
    token = bearer.split()[1]
    response = client.post("/o/revoke_token/", {"token": token},
                           HTTP_AUTHORIZATION=basic(credentials.client_id, credentials.client_secret))
    assert response.status_code == 200
    assert client.get("/api/v1/organizations", HTTP_AUTHORIZATION=bearer).status_code == 401


@pytest.mark.django_db
def test_wrong_scope_is_403_and_message_follows_accept_language(client, credentials):
    token = fetch_token(client, credentials, scope="introspection")
    response = client.get("/api/v1/organizations", HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "insufficient_scope"
    assert body["message"].startswith("This access token does not allow calls to the OneCity API.")
    response = client.get("/api/v1/organizations", HTTP_AUTHORIZATION=f"Bearer {token}",
                          HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert response.status_code == 403
    assert response.json()["message"].startswith("此访问令牌")


@pytest.mark.django_db
def test_token_of_a_citizen_facing_client_is_403(client):
    """A token with scope api but issued to an authorization-code (OIDC) client is refused."""
    user = User.objects.create_user(username="c13800000099", password="x" * 12)
    app = Application.objects.create(name="some app", client_type=Application.CLIENT_CONFIDENTIAL,
                                     authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
                                     redirect_uris="https://app.example/cb")
    AccessToken.objects.create(user=user, application=app, token="citizen-token-123", scope="openid api",
                               expires=timezone.now() + timedelta(hours=1))
    response = client.get("/api/v1/organizations", HTTP_AUTHORIZATION="Bearer citizen-token-123")
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


@pytest.mark.django_db
def test_organizations_list_filter_and_pagination(client, bearer):
    city = Organization.objects.create(name="福州市数据管理局", name_en="Fuzhou Data Administration", kind="department",
                                       region_code="350100", uscc=_uscc(1))
    Organization.objects.create(name="鼓楼区人民政府", kind="district", region_code="350102", uscc=_uscc(2))
    Organization.objects.create(name="已撤销单位", kind="department", region_code="350100", uscc=_uscc(3),
                                is_active=False)
    for i in range(55):
        Organization.objects.create(name=f"学校{i:02d}", kind="payee", payee_type="school", region_code="350102",
                                    parent=city, uscc=_uscc(10 + i))

    response = client.get("/api/v1/organizations", {"kind": "department"}, HTTP_AUTHORIZATION=bearer)
    assert response.status_code == 200
    assert response.json() == {"items": [{
        "public_id": city.public_id, "name": "福州市数据管理局", "name_en": "Fuzhou Data Administration",
        "short_name": "", "kind": "department", "payee_type": None, "parent_id": None, "uscc": city.uscc,
        "region_code": "350100"}], "count": 1}

    page1 = client.get("/api/v1/organizations", {"kind": "payee"}, HTTP_AUTHORIZATION=bearer).json()
    page2 = client.get("/api/v1/organizations", {"kind": "payee", "page": 2}, HTTP_AUTHORIZATION=bearer).json()
    assert page1["count"] == 55
    assert [o["name"] for o in page1["items"]] == [f"学校{i:02d}" for i in range(50)]
    assert [o["name"] for o in page2["items"]] == [f"学校{i:02d}" for i in range(50, 55)]
    assert page1["items"][0]["parent_id"] == city.public_id
    assert page1["items"][0]["payee_type"] == "school"

    everything = client.get("/api/v1/organizations", {"page_size": 100}, HTTP_AUTHORIZATION=bearer).json()
    assert everything["count"] == 57  # the inactive one is not listed

    bad = client.get("/api/v1/organizations", {"kind": "castle"}, HTTP_AUTHORIZATION=bearer,
                     HTTP_ACCEPT_LANGUAGE="en")
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid"
    assert bad.json()["field"] == "kind"


@pytest.mark.django_db
def test_organization_get_and_404(client, bearer):
    org = Organization.objects.create(name="福州市数据管理局", kind="department", region_code="350100", uscc=_uscc(1))
    response = client.get(f"/api/v1/organizations/{org.public_id}", HTTP_AUTHORIZATION=bearer)
    assert response.status_code == 200
    assert response.json()["name"] == "福州市数据管理局"
    missing = client.get("/api/v1/organizations/01J0000000000000000000000X", HTTP_AUTHORIZATION=bearer,
                         HTTP_ACCEPT_LANGUAGE="en")
    assert missing.status_code == 404
    assert missing.json() == {"code": "not_found", "message": "No organization has this id."}


@pytest.mark.django_db
def test_identity_code_verify_endpoint(client, bearer):
    citizen = make_citizen()
    token = idcode_issue(user=citizen).token

    def verify(payload, gate=None):
        return client.post("/api/v1/identity-codes/verify", json.dumps({"payload": payload, "gate": gate}),
                           content_type="application/json", HTTP_AUTHORIZATION=bearer, HTTP_ACCEPT_LANGUAGE="en")

    first = verify(token, "east-gate")
    assert first.status_code == 200
    body = first.json()
    assert (body["valid"], body["reason"], body["masked_name"]) == (True, "valid", "林**")
    assert body["message"] == "Valid identity code: the holder is a real-name verified OneCity citizen."
    replay = verify(token, "east-gate").json()
    assert (replay["valid"], replay["reason"]) == (False, "already_used")
    assert verify(token, "west-gate").json()["valid"] is True
    garbage = verify("garbage").json()
    assert (garbage["valid"], garbage["reason"], garbage["masked_name"]) == (False, "malformed", "")
    assert GateScan.objects.count() == 2

    not_json = client.post("/api/v1/identity-codes/verify", "{oops", content_type="application/json",
                           HTTP_AUTHORIZATION=bearer)
    assert (not_json.status_code, not_json.json()["code"]) == (400, "bad_request")

    too_long_gate = verify(token, "g" * 65)
    assert too_long_gate.status_code == 422
    assert too_long_gate.json()["field"] == "gate"
    assert GateScan.objects.count() == 2


@pytest.mark.django_db
def test_identity_code_verify_is_rate_limited(client, bearer, settings):
    settings.ONECITY_RATE_LIMITS = {**settings.ONECITY_RATE_LIMITS, "idcode_verify": (2, 60)}
    statuses = [client.post("/api/v1/identity-codes/verify", {"payload": "x"}, content_type="application/json",
                            HTTP_AUTHORIZATION=bearer).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_openapi_document_declares_paths_and_security(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert {"/api/v1/organizations", "/api/v1/organizations/{public_id}",
            "/api/v1/identity-codes/verify"} <= set(doc["paths"])
    assert doc["components"]["securitySchemes"]["ClientCredentialsBearer"]["type"] == "http"
    assert doc["components"]["securitySchemes"]["ClientCredentialsBearer"]["scheme"] == "bearer"
    assert doc["paths"]["/api/v1/organizations"]["get"]["security"] == [{"ClientCredentialsBearer": []}]
    assert doc["paths"]["/api/v1/identity-codes/verify"]["post"]["security"] == [{"ClientCredentialsBearer": []}]


def test_docs_page_uses_bundled_assets_only(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert "https://" not in html


@pytest.mark.django_db
def test_cli_api_client_create_json(capsys):
    call_command("api", "client", "create", "--name", "门禁系统", "--json")
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"client_id", "client_secret", "name", "scope", "token_url", "api_base_url"}
    assert out["scope"] == "api"
    app = Application.objects.get(client_id=out["client_id"])
    assert app.authorization_grant_type == "client-credentials"


@pytest.mark.django_db
def test_cli_api_client_credentials_work_against_token_endpoint(client, capsys):
    call_command("api", "client", "create", "--name", "门禁系统", "--json")
    out = json.loads(capsys.readouterr().out)
    response = client.post("/o/token/", {"grant_type": "client_credentials", "scope": "api"},
                           HTTP_AUTHORIZATION=basic(out["client_id"], out["client_secret"]))
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert client.get("/api/v1/organizations", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
