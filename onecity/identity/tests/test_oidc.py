"""The OIDC provider through Django's test client: authorization (SSO, prompt, step-up,
consent, PKCE), the token endpoint and ID token claims, userinfo, introspection, consents
and their withdrawal, discovery, JWKS and the CLI."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from datetime import timedelta
from io import StringIO
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.core.management import call_command
from django.utils import timezone
from jwcrypto import jwk, jwt
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken

from onecity.core.crypto import lookup_hash
from onecity.core.errors import ApplicationError, NotFound
from onecity.core.models import AuditEvent
from onecity.identity.enums import AssuranceLevel, ConsentDecision
from onecity.identity.models import AuthorizationContext, ClientProfile, Consent, RealNameIdentity, User
from onecity.identity.services.oidc import (
    client_create,
    consent_covers,
    consent_record,
    consent_revoke,
    pairwise_subject,
)

REDIRECT = "https://efuzhou.example/callback"
L1 = str(AssuranceLevel.L1)
L2 = str(AssuranceLevel.L2)


# --- helpers -----------------------------------------------------------------------------------
def make_citizen(phone="13800138000", name="林小明") -> User:
    return User.objects.create_user(
        username=f"c-{phone}", password=None, display_name=name, phone=phone,
        phone_hash=lookup_hash(phone, purpose="phone"),
    )


def make_client(name="e福州", redirect=REDIRECT, **kwargs):
    creds = client_create(actor=None, name=name, redirect_uris=[redirect], purpose="办理市民服务",
                          purpose_en="City services", display_name_en="e-Fuzhou", **kwargs)
    return creds, Application.objects.get(client_id=creds.client_id)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def sign_in(client, user, acr=L1, auth_time=None):
    client.force_login(user)
    session = client.session
    session["acr"] = acr
    session["auth_time"] = auth_time or int(time.time())
    session.save()


def authorize_url(creds, challenge, scope="openid", **extra) -> str:
    params = {
        "response_type": "code", "client_id": creds.client_id, "redirect_uri": creds.redirect_uris[0],
        "scope": scope, "state": "st-1", "nonce": "n-1", "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(extra)
    params = {k: v for k, v in params.items() if v is not None}
    return "/o/authorize/?" + urlencode(params)


def redirect_params(response) -> dict[str, str]:
    assert response.status_code == 302, response.content[:500]
    location = response["Location"]
    assert location.startswith(REDIRECT) or "callback" in location, location
    return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}


def exchange(client, creds, code, verifier, redirect=None):
    auth = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
    return client.post("/o/token/", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect or creds.redirect_uris[0],
        "code_verifier": verifier,
    }, HTTP_AUTHORIZATION=f"Basic {auth}")


def jwks(client) -> jwk.JWKSet:
    return jwk.JWKSet.from_json(client.get("/o/.well-known/jwks.json").content)


def id_token_claims(client, id_token: str) -> dict:
    token = jwt.JWT(jwt=id_token, key=jwks(client), algs=["RS256"])
    return json.loads(token.claims)


def sign_in_flow(client, creds, scope="openid", **extra):
    """Authorize (allowing consent when asked) and exchange the code; returns the token JSON."""
    verifier, challenge = pkce_pair()
    url = authorize_url(creds, challenge, scope=scope, **extra)
    response = client.get(url)
    if response.status_code == 200:  # the consent screen
        response = client.post(url, {"decision": "allow"})
    code = redirect_params(response)["code"]
    token_response = exchange(client, creds, code, verifier)
    assert token_response.status_code == 200, token_response.content
    return token_response.json()


# --- clients and pairwise subjects ----------------------------------------------------------------
@pytest.mark.django_db
def test_client_create_registers_confidential_rs256_client_with_hashed_secret():
    creds, app = make_client()
    assert app.client_type == Application.CLIENT_CONFIDENTIAL
    assert app.authorization_grant_type == Application.GRANT_AUTHORIZATION_CODE
    assert app.algorithm == Application.RS256_ALGORITHM
    assert app.redirect_uris == REDIRECT
    assert app.client_secret != creds.client_secret and app.client_secret.startswith("pbkdf2_sha256_client_secret$")
    profile = ClientProfile.objects.get(application=app)
    assert (profile.display_name, profile.purpose, len(profile.pairwise_salt)) == ("e福州", "办理市民服务", 64)
    assert AuditEvent.objects.filter(action="oidc.client_create", object_id=creds.client_id).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("uris", [[], ["not a url"], ["https://x.example/cb#frag"]])
def test_client_create_rejects_bad_redirect_uris_and_creates_nothing(uris):
    with pytest.raises(ApplicationError):
        client_create(actor=None, name="App", redirect_uris=uris)
    assert Application.objects.count() == 0 and ClientProfile.objects.count() == 0


@pytest.mark.django_db
def test_pairwise_subject_is_stable_per_client_and_differs_across_clients():
    user, other = make_citizen(), make_citizen("13900139000", "王芳")
    _, app_a = make_client("A")
    _, app_b = make_client("B", redirect="https://b.example/cb")
    sub_a = pairwise_subject(user, app_a)
    assert sub_a == pairwise_subject(User.objects.get(pk=user.pk), app_a)
    assert sub_a != pairwise_subject(user, app_b)
    assert sub_a != pairwise_subject(other, app_a)
    assert len(sub_a) == 64 and user.public_id not in sub_a


def test_cli_client_create_json_and_list(db):
    out = StringIO()
    call_command("oidc", "client", "create", "--name", "榕城通", "--redirect-uri", "https://a.example/cb",
                 "--redirect-uri", "https://a.example/cb2", "--purpose", "交通出行", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert set(data) == {"client_id", "client_secret", "name", "redirect_uris"}
    assert data["name"] == "榕城通" and data["redirect_uris"] == ["https://a.example/cb", "https://a.example/cb2"]
    app = Application.objects.get(client_id=data["client_id"])
    assert app.redirect_uris == "https://a.example/cb https://a.example/cb2"
    listing = StringIO()
    call_command("oidc", "client", "list", "--json", stdout=listing)
    assert [row["client_id"] for row in json.loads(listing.getvalue())] == [data["client_id"]]


# --- discovery and keys ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_discovery_document_at_the_issuer_root(client, settings):
    data = client.get("/.well-known/openid-configuration").json()
    issuer = settings.OAUTH2_PROVIDER["OIDC_ISS_ENDPOINT"]
    assert data["issuer"] == issuer
    assert data["authorization_endpoint"] == issuer + "/o/authorize/"
    assert data["token_endpoint"] == issuer + "/o/token/"
    assert data["userinfo_endpoint"] == issuer + "/o/userinfo/"
    assert data["jwks_uri"] == issuer + "/o/.well-known/jwks.json"
    assert data["revocation_endpoint"] == issuer + "/o/revoke_token/"
    assert data["introspection_endpoint"] == issuer + "/o/introspect/"
    assert data["end_session_endpoint"] == issuer + "/o/logout/"
    assert data["code_challenge_methods_supported"] == ["S256"]
    assert data["subject_types_supported"] == ["pairwise"]
    assert data["response_types_supported"] == ["code"]
    assert data["acr_values_supported"] == [L1, L2]
    assert data["scopes_supported"] == ["openid", "profile", "phone", "realname"]
    assert {"sub", "name", "phone_number", "legal_name", "id_number_masked", "acr"} <= set(data["claims_supported"])


@pytest.mark.django_db
def test_jwks_publishes_active_and_previous_key(client, settings, tmp_path):
    from onecity.identity import oidc_keys

    settings.SIGNING_KEY_DIR = tmp_path
    try:
        first = oidc_keys.install_keys()
        assert (tmp_path / "oidc-rsa.pem").stat().st_mode & 0o777 == 0o600
        assert oidc_keys.install_keys().active_pem == first.active_pem  # created once
        rotated = oidc_keys.rotate_keys()
        keys = client.get("/o/.well-known/jwks.json").json()["keys"]
        assert [k["kid"] for k in keys] == [oidc_keys.key_id(rotated.active_pem), oidc_keys.key_id(first.active_pem)]
        assert all(k["alg"] == "RS256" and k["use"] == "sig" and "d" not in k for k in keys)
    finally:
        settings.SIGNING_KEY_DIR = settings.VAR_DIR / "keys"
        oidc_keys.install_keys()


# --- authorization: sign-in, PKCE, consent --------------------------------------------------------
@pytest.mark.django_db
def test_anonymous_is_sent_to_login_and_prompt_none_gets_login_required(client):
    creds, _ = make_client()
    _, challenge = pkce_pair()
    response = client.get(authorize_url(creds, challenge))
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
    params = redirect_params(client.get(authorize_url(creds, challenge, prompt="none")))
    assert params == {"error": "login_required", "state": "st-1"}
    assert Grant.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("method, challenge", [("plain", "x" * 43), (None, "x" * 43), ("S256", None)])
def test_pkce_s256_is_required(client, method, challenge):
    creds, _ = make_client()
    sign_in(client, make_citizen())
    url = authorize_url(creds, challenge, code_challenge_method=method)
    params = redirect_params(client.get(url))
    assert params["error"] == "invalid_request" and params["state"] == "st-1"
    assert Grant.objects.count() == 0 and AuthorizationContext.objects.count() == 0


@pytest.mark.django_db
def test_wrong_redirect_uri_is_an_error_page_not_a_redirect(client):
    creds, _ = make_client()
    sign_in(client, make_citizen())
    _, challenge = pkce_pair()
    url = authorize_url(creds, challenge).replace("efuzhou.example", "evil.example")
    response = client.get(url)
    assert response.status_code == 400
    assert "evil.example" not in response.get("Location", "")
    assert Grant.objects.count() == 0


@pytest.mark.django_db
def test_openid_only_needs_no_consent_and_yields_id_token_with_acr(client, settings):
    creds, app = make_client()
    user = make_citizen()
    sign_in(client, user, acr=L2, auth_time=1_790_000_000)
    tokens = sign_in_flow(client, creds)
    claims = id_token_claims(client, tokens["id_token"])
    assert claims["iss"] == settings.OAUTH2_PROVIDER["OIDC_ISS_ENDPOINT"]
    assert claims["aud"] == creds.client_id
    assert claims["sub"] == pairwise_subject(user, app)
    assert claims["acr"] == L2 and claims["auth_time"] == 1_790_000_000
    assert claims["nonce"] == "n-1"
    assert "name" not in claims and "phone_number" not in claims
    assert Consent.objects.count() == 0
    assert AuthorizationContext.objects.get().access_token.user == user


@pytest.mark.django_db
def test_consent_screen_then_allow_records_consent_and_next_time_no_prompt(client):
    creds, app = make_client()
    user = make_citizen()
    sign_in(client, user)
    verifier, challenge = pkce_pair()
    url = authorize_url(creds, challenge, scope="openid profile phone")
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    html = page.content.decode()
    assert "e福州 请求获取以下信息" in html and "办理市民服务" in html and "138****8000" in html
    assert Grant.objects.count() == 0 and Consent.objects.count() == 0

    params = redirect_params(client.post(url, {"decision": "allow"}))
    assert params["state"] == "st-1" and params["code"]
    consent = Consent.objects.get()
    assert (consent.decision, consent.scopes, consent.user, consent.application) == (
        ConsentDecision.GRANTED, "profile phone", user, app)

    _, challenge2 = pkce_pair()
    again = client.get(authorize_url(creds, challenge2, scope="openid phone"))
    assert "code" in redirect_params(again)
    assert Consent.objects.count() == 1


@pytest.mark.django_db
def test_consent_screen_in_english(client):
    creds, _ = make_client()
    sign_in(client, make_citizen())
    _, challenge = pkce_pair()
    client.cookies["onecity_language"] = "en"
    html = client.get(authorize_url(creds, challenge, scope="openid realname")).content.decode()
    assert "e-Fuzhou would like to use the following information" in html
    assert "City services" in html and "Your verified legal name" in html


@pytest.mark.django_db
def test_deny_redirects_access_denied_and_records_refusal(client):
    creds, app = make_client()
    sign_in(client, make_citizen())
    _, challenge = pkce_pair()
    url = authorize_url(creds, challenge, scope="openid phone")
    params = redirect_params(client.post(url, {"decision": "deny"}))
    assert params["error"] == "access_denied" and params["state"] == "st-1" and "code" not in params
    assert Consent.objects.get().decision == ConsentDecision.DENIED
    assert Grant.objects.count() == 0
    # refusing is not remembered as permission: prompt=none still needs consent
    _, challenge2 = pkce_pair()
    assert redirect_params(client.get(authorize_url(creds, challenge2, scope="openid phone", prompt="none")))[
        "error"] == "consent_required"


@pytest.mark.django_db
def test_prompt_none_with_session_and_consent_returns_code_sso_across_clients(client):
    creds_a, app_a = make_client("A")
    creds_b, app_b = make_client("B", redirect="https://b.example/callback")
    user = make_citizen()
    sign_in(client, user)
    tokens_a = sign_in_flow(client, creds_a, scope="openid profile")
    tokens_b = sign_in_flow(client, creds_b)  # no password asked again: same session
    sub_a = id_token_claims(client, tokens_a["id_token"])["sub"]
    sub_b = id_token_claims(client, tokens_b["id_token"])["sub"]
    assert sub_a != sub_b
    _, challenge = pkce_pair()
    params = redirect_params(client.get(authorize_url(creds_a, challenge, scope="openid profile", prompt="none")))
    assert params["code"] and params["state"] == "st-1"


@pytest.mark.django_db
def test_prompt_login_ends_the_session_and_returns_without_prompt(client):
    creds, _ = make_client()
    sign_in(client, make_citizen())
    _, challenge = pkce_pair()
    response = client.get(authorize_url(creds, challenge, prompt="login"))
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/login/?next=")
    next_url = parse_qs(urlparse(location).query)["next"][0]
    assert "prompt" not in parse_qs(urlparse(next_url).query) and next_url.startswith("/o/authorize/")
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_acr_l2_requested_with_l1_session_goes_to_step_up(client):
    creds, _ = make_client()
    sign_in(client, make_citizen(), acr=L1)
    _, challenge = pkce_pair()
    url = authorize_url(creds, challenge, acr_values=L2)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == "/login/step-up/?" + urlencode({"next": url})
    assert Grant.objects.count() == 0
    assert redirect_params(client.get(authorize_url(creds, challenge, acr_values=L2, prompt="none")))[
        "error"] == "login_required"
    session = client.session
    session["acr"] = L2
    session.save()
    assert "code" in redirect_params(client.get(url))


@pytest.mark.django_db
def test_scopes_outside_the_client_set_are_refused(client):
    creds, _ = make_client()
    sign_in(client, make_citizen())
    _, challenge = pkce_pair()
    params = redirect_params(client.get(authorize_url(creds, challenge, scope="openid introspection")))
    assert params["error"] == "invalid_scope"


# --- token endpoint -------------------------------------------------------------------------------
@pytest.mark.django_db
def test_wrong_or_missing_verifier_is_invalid_grant(client):
    creds, _ = make_client()
    sign_in(client, make_citizen())
    verifier, challenge = pkce_pair()
    code = redirect_params(client.get(authorize_url(creds, challenge)))["code"]
    bad = exchange(client, creds, code, "w" * 50)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    missing = exchange(client, creds, code, "")
    assert missing.status_code == 400 and missing.json()["error"] in {"invalid_request", "invalid_grant"}
    assert AccessToken.objects.count() == 0
    assert exchange(client, creds, code, verifier).status_code == 200


@pytest.mark.django_db
def test_reused_code_is_invalid_grant_and_revokes_the_tokens_issued_from_it(client):
    creds, _ = make_client()
    user = make_citizen()
    sign_in(client, user)
    verifier, challenge = pkce_pair()
    code = redirect_params(client.get(authorize_url(creds, challenge)))["code"]
    first = exchange(client, creds, code, verifier)
    assert first.status_code == 200
    assert AccessToken.objects.count() == 1 and RefreshToken.objects.filter(revoked__isnull=True).count() == 1
    replay = exchange(client, creds, code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert AccessToken.objects.count() == 0
    assert RefreshToken.objects.filter(revoked__isnull=True).count() == 0
    assert AuditEvent.objects.filter(action="oidc.code_replay", subject_user=user).count() == 1


@pytest.mark.django_db
def test_expired_code_is_invalid_grant(client):
    creds, _ = make_client()
    sign_in(client, make_citizen())
    verifier, challenge = pkce_pair()
    code = redirect_params(client.get(authorize_url(creds, challenge)))["code"]
    Grant.objects.update(expires=timezone.now() - timedelta(seconds=1))
    response = exchange(client, creds, code, verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert AccessToken.objects.count() == 0


@pytest.mark.django_db
def test_code_bound_to_redirect_uri_and_client(client):
    creds, _ = make_client(redirect=REDIRECT)
    Application.objects.filter(client_id=creds.client_id).update(redirect_uris=f"{REDIRECT} {REDIRECT}2")
    other, _ = make_client("B", redirect="https://b.example/callback")
    sign_in(client, make_citizen())
    verifier, challenge = pkce_pair()
    code = redirect_params(client.get(authorize_url(creds, challenge)))["code"]
    # oauthlib reports a redirect URI that differs from the authorization request as invalid_request
    assert exchange(client, creds, code, verifier, redirect=f"{REDIRECT}2").json()["error"] == "invalid_request"
    assert exchange(client, other, code, verifier).json()["error"] == "invalid_grant"
    assert AccessToken.objects.count() == 0


# --- claims, userinfo, introspection ----------------------------------------------------------------
@pytest.mark.django_db
def test_userinfo_claims_per_scope_masked(client):
    creds, app = make_client()
    user = make_citizen()
    RealNameIdentity.objects.create(user=user, legal_name="林小明", id_number="350102199001011234",
                                    id_number_hash=lookup_hash("350102199001011234", purpose="id_number"),
                                    registry="demo")
    sign_in(client, user)
    tokens = sign_in_flow(client, creds, scope="openid profile phone realname")
    info = client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").json()
    assert info == {
        "sub": pairwise_subject(user, app), "name": "林小明", "phone_number": "138****8000",
        "phone_number_verified": True, "legal_name": "林小明", "id_number_masked": "3****************4",
        "real_name_verified": True,
    }
    claims = id_token_claims(client, tokens["id_token"])
    assert claims["phone_number"] == "138****8000" and claims["real_name_verified"] is True


@pytest.mark.django_db
def test_realname_scope_without_verification_says_so(client):
    creds, _ = make_client()
    sign_in(client, make_citizen())
    tokens = sign_in_flow(client, creds, scope="openid realname")
    info = client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").json()
    assert info["real_name_verified"] is False and "legal_name" not in info and "id_number_masked" not in info


def _introspect(client, creds, token):
    auth = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
    return client.post("/o/introspect/", {"token": token}, HTTP_AUTHORIZATION=f"Basic {auth}")


@pytest.mark.django_db
def test_introspection_gives_pairwise_sub_and_only_own_tokens(client):
    creds, app = make_client()
    other, _ = make_client("B", redirect="https://b.example/callback")
    user = make_citizen()
    sign_in(client, user)
    tokens = sign_in_flow(client, creds)
    data = _introspect(client, creds, tokens["access_token"]).json()
    assert data["active"] is True and data["sub"] == pairwise_subject(user, app)
    assert data["client_id"] == creds.client_id and data["scope"] == "openid"
    assert "username" not in data
    assert _introspect(client, other, tokens["access_token"]).json() == {"active": False}
    bad = client.post("/o/introspect/", {"token": tokens["access_token"]})
    assert bad.status_code == 401


# --- consents ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_consent_union_and_refusal_keeps_earlier_permission():
    _, app = make_client()
    user = make_citizen()
    consent_record(user=user, application=app, scopes="openid profile", allow=True)
    consent_record(user=user, application=app, scopes="openid phone", allow=False)
    assert consent_covers(user=user, application=app, scopes="openid profile")
    assert not consent_covers(user=user, application=app, scopes="openid phone")
    latest = consent_record(user=user, application=app, scopes="openid phone", allow=True)
    assert latest.scopes == "profile phone"


@pytest.mark.django_db
def test_consent_revoke_marks_revoked_revokes_tokens_and_prompts_again(client):
    creds, app = make_client()
    other_creds, other_app = make_client("B", redirect="https://b.example/callback")
    user = make_citizen()
    sign_in(client, user)
    tokens = sign_in_flow(client, creds, scope="openid phone")
    other_tokens = sign_in_flow(client, other_creds, scope="openid phone")
    consent = Consent.objects.get(application=app)

    response = client.post(f"/account/consents/{consent.public_id}/revoke/")
    assert response.status_code == 302 and response["Location"] == "/account/consents/"
    consent.refresh_from_db()
    assert consent.revoked_at is not None
    assert not AccessToken.objects.filter(application=app).exists()
    assert not RefreshToken.objects.filter(application=app, revoked__isnull=True).exists()
    assert AccessToken.objects.filter(application=other_app).count() == 1  # other apps untouched
    assert AuditEvent.objects.filter(action="oidc.consent_revoke", object_id=consent.public_id).count() == 1
    assert client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").status_code == 401
    assert client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {other_tokens['access_token']}").status_code == 200

    _, challenge = pkce_pair()
    assert redirect_params(client.get(authorize_url(creds, challenge, scope="openid phone", prompt="none")))[
        "error"] == "consent_required"
    assert client.get(authorize_url(creds, challenge, scope="openid phone")).status_code == 200  # asks again


@pytest.mark.django_db
def test_consent_revoke_of_someone_elses_consent_is_not_found_and_changes_nothing(client):
    _, app = make_client()
    owner, stranger = make_citizen(), make_citizen("13900139000", "王芳")
    consent = consent_record(user=owner, application=app, scopes="openid phone", allow=True)
    with pytest.raises(NotFound):
        consent_revoke(user=stranger, consent_public_id=consent.public_id)
    sign_in(client, stranger)
    assert client.post(f"/account/consents/{consent.public_id}/revoke/").status_code == 404
    consent.refresh_from_db()
    assert consent.revoked_at is None
    assert AuditEvent.objects.filter(action="oidc.consent_revoke").count() == 0


@pytest.mark.django_db
def test_consents_page_lists_every_decision_with_its_state(client):
    _, app = make_client()
    _, app_b = make_client("榕城通", redirect="https://b.example/callback")
    user = make_citizen()
    consent_record(user=user, application=app, scopes="openid profile", allow=True)
    consent_record(user=user, application=app, scopes="openid phone", allow=True)
    consent_record(user=user, application=app_b, scopes="openid realname", allow=False)
    sign_in(client, user)
    page = client.get("/account/consents/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    rows = page.context["rows"]
    assert [(r.app_name, r.state) for r in rows] == [("榕城通", "refused"), ("e福州", "active"), ("e福州", "replaced")]
    assert rows[1].items == ["显示名称", "手机号（脱敏）"] and rows[1].can_revoke and not rows[2].can_revoke
    assert client.get("/account/consents/").status_code == 200
    client.logout()
    assert client.get("/account/consents/").status_code == 302
