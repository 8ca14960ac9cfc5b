"""End to end: an independent OIDC client library (authlib) signs a citizen in against a live
OneCity server, the way a city app would.

The "browser" is a `requests.Session` holding cookies: it signs in through the real /login/
form (and the SMS step-up page), answers the consent screen, and stops at the redirect to the
app's callback, whose `code` is handed to authlib. ID tokens are verified against the
published JWKS.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urljoin, urlparse

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, JsonWebToken
from django.utils import timezone
from oauth2_provider.models import Grant

from onecity.core.crypto import lookup_hash
from onecity.identity.enums import AssuranceLevel
from onecity.identity.models import Consent, User
from onecity.identity.services.oidc import client_create
from onecity.notifications.models import Message

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

PHONE = "13800138000"
PASSWORD = "Rongcheng-2026"
L1 = str(AssuranceLevel.L1)
L2 = str(AssuranceLevel.L2)


@pytest.fixture
def issuer(live_server, settings):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    return live_server.url


@pytest.fixture
def metadata(issuer):
    data = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    assert data["issuer"] == issuer
    return data


@pytest.fixture
def citizen(db):
    return User.objects.create_user(username=f"c-{PHONE}", password=PASSWORD, display_name="林小明", phone=PHONE,
                                    phone_hash=lookup_hash(PHONE, purpose="phone"))


def register(name, host):
    creds = client_create(actor=None, name=name, redirect_uris=[f"https://{host}/callback"],
                          purpose=f"{name}办事", post_logout_redirect_uris=[f"https://{host}/bye"])
    return creds


class Browser:
    """A citizen's browser: cookies, CSRF tokens from the pages, redirects followed within
    OneCity only (the app's callback is never fetched)."""

    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()

    def _csrf(self) -> str:
        return self.http.cookies.get("csrftoken", "")

    def go(self, url: str) -> requests.Response:
        """GET and follow redirects while they stay on OneCity; return the last response."""
        for _ in range(10):
            response = self.http.get(url, allow_redirects=False, timeout=10)
            location = response.headers.get("Location")
            if response.status_code not in (301, 302) or not location:
                return response
            url = urljoin(url, location)
            if not url.startswith(self.base):
                return response
        raise AssertionError("too many redirects")

    def post(self, url: str, data: dict) -> requests.Response:
        response = self.http.post(url, data={**data, "csrfmiddlewaretoken": self._csrf()},
                                  headers={"Referer": url}, allow_redirects=False, timeout=10)
        location = response.headers.get("Location")
        if response.status_code == 302 and location and urljoin(url, location).startswith(self.base):
            return self.go(urljoin(url, location))
        return response

    def login_through_form(self, page: requests.Response, password: str = PASSWORD) -> requests.Response:
        assert urlparse(page.url).path == "/login/", page.url
        assert 'name="password"' in page.text
        return self.post(page.url, {"username": PHONE, "password": password,
                                    "next": parse_qs(urlparse(page.url).query)["next"][0]})


def callback_params(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302, (response.status_code, response.text[:300])
    return {k: v[0] for k, v in parse_qs(urlparse(response.headers["Location"]).query).items()}


def rp_session(creds, scope="openid"):
    return OAuth2Session(creds.client_id, creds.client_secret, scope=scope, redirect_uri=creds.redirect_uris[0],
                         code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic")


def start(oauth, metadata, **extra):
    verifier = generate_token(64)
    nonce = secrets.token_urlsafe(16)
    url, state = oauth.create_authorization_url(metadata["authorization_endpoint"], code_verifier=verifier,
                                                nonce=nonce, **extra)
    return url, verifier, nonce, state


def verify_id_token(id_token: str, metadata, creds, nonce):
    key_set = JsonWebKey.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
    claims = JsonWebToken(["RS256"]).decode(id_token, key=key_set, claims_options={
        "iss": {"essential": True, "value": metadata["issuer"]},
        "aud": {"essential": True, "value": creds.client_id},
        "exp": {"essential": True},
        "nonce": {"essential": True, "value": nonce},
    })
    claims.validate(leeway=5)
    return claims


def sign_in(browser, oauth, metadata, creds, *, consent=True, **extra):
    """Run the code flow; returns (token, nonce)."""
    url, verifier, nonce, _ = start(oauth, metadata, **extra)
    page = browser.go(url)
    if urlparse(page.url).path == "/login/" and page.status_code == 200:
        page = browser.login_through_form(page)
    if page.status_code == 200 and 'name="decision"' in page.text:
        assert consent
        page = browser.post(page.url, {"decision": "allow"})
    location = page.headers["Location"]
    assert location.startswith(creds.redirect_uris[0]), location
    token = oauth.fetch_token(metadata["token_endpoint"], authorization_response=location, code_verifier=verifier)
    return token, nonce


# --- the happy path ---------------------------------------------------------------------------------
def test_code_flow_with_pkce_sso_pairwise_userinfo_introspection_revocation(issuer, metadata, citizen):
    app_a = register("e福州", "rp-a.example")
    app_b = register("榕城通", "rp-b.example")
    browser = Browser(issuer)

    oauth_a = rp_session(app_a, "openid profile phone")
    url, verifier, nonce, state = start(oauth_a, metadata)
    login_page = browser.go(url)
    assert urlparse(login_page.url).path == "/login/"
    consent_page = browser.login_through_form(login_page)
    assert consent_page.status_code == 200
    assert "e福州 请求获取以下信息" in consent_page.text and "138****8000" in consent_page.text
    redirect = browser.post(consent_page.url, {"decision": "allow"})
    params = callback_params(redirect)
    assert params["state"] == state and params["iss"] == issuer
    token_a = oauth_a.fetch_token(metadata["token_endpoint"], authorization_response=redirect.headers["Location"],
                                  code_verifier=verifier)
    claims_a = verify_id_token(token_a["id_token"], metadata, app_a, nonce)
    assert claims_a["acr"] == L1 and claims_a["name"] == "林小明" and claims_a["phone_number"] == "138****8000"
    assert abs(claims_a["auth_time"] - int(timezone.now().timestamp())) < 120

    userinfo = oauth_a.get(metadata["userinfo_endpoint"]).json()
    assert userinfo == {"sub": claims_a["sub"], "name": "林小明", "phone_number": "138****8000",
                        "phone_number_verified": True}

    # SSO: another app, no password asked, no consent needed for sign-in only
    oauth_b = rp_session(app_b)
    token_b, nonce_b = sign_in(browser, oauth_b, metadata, app_b, consent=False)
    claims_b = verify_id_token(token_b["id_token"], metadata, app_b, nonce_b)
    assert claims_b["sub"] != claims_a["sub"]

    # the same app sees the same subject next time (silently: session and consent exist)
    oauth_a2 = rp_session(app_a, "openid profile phone")
    token_a2, nonce_a2 = sign_in(browser, oauth_a2, metadata, app_a, consent=False, prompt="none")
    assert verify_id_token(token_a2["id_token"], metadata, app_a, nonce_a2)["sub"] == claims_a["sub"]

    introspected = requests.post(metadata["introspection_endpoint"], data={"token": token_a["access_token"]},
                                 auth=(app_a.client_id, app_a.client_secret), timeout=10).json()
    assert introspected["active"] is True and introspected["sub"] == claims_a["sub"]
    assert introspected["client_id"] == app_a.client_id

    revoked = oauth_a.revoke_token(metadata["revocation_endpoint"], token=token_a["access_token"],
                                   token_type_hint="access_token")
    assert revoked.status_code == 200
    assert oauth_a.get(metadata["userinfo_endpoint"]).status_code == 401
    assert requests.post(metadata["introspection_endpoint"], data={"token": token_a["access_token"]},
                         auth=(app_a.client_id, app_a.client_secret), timeout=10).json() == {"active": False}
    # the other app's token still works
    assert oauth_b.get(metadata["userinfo_endpoint"]).json()["sub"] == claims_b["sub"]


def test_step_up_to_l2_when_the_app_asks_for_it(issuer, metadata, citizen):
    app = register("公积金", "rp-gjj.example")
    browser = Browser(issuer)
    oauth = rp_session(app)
    url, verifier, nonce, _ = start(oauth, metadata, acr_values=L2)
    step_up = browser.login_through_form(browser.go(url))
    assert urlparse(step_up.url).path == "/login/step-up/"
    sent = browser.post(step_up.url, {"action": "send", "next": parse_qs(urlparse(step_up.url).query)["next"][0]})
    assert sent.status_code == 200
    body = Message.objects.filter(recipient=citizen).latest("created_at").body
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", body).group(1)
    redirect = browser.post(step_up.url, {"action": "verify", "code": code,
                                          "next": parse_qs(urlparse(step_up.url).query)["next"][0]})
    assert "code" in callback_params(redirect)
    token = oauth.fetch_token(metadata["token_endpoint"], authorization_response=redirect.headers["Location"],
                              code_verifier=verifier)
    assert verify_id_token(token["id_token"], metadata, app, nonce)["acr"] == L2


# --- what must fail ------------------------------------------------------------------------------------
def test_authorization_errors(issuer, metadata, citizen):
    app = register("e福州", "rp-a.example")
    browser = Browser(issuer)
    browser.login_through_form(browser.go(f"{issuer}/login/?next=/account/"))

    # an unregistered redirect URI: an error page, never a redirect to it
    oauth = OAuth2Session(app.client_id, app.client_secret, scope="openid", redirect_uri="https://evil.example/cb",
                          code_challenge_method="S256")
    url, *_ = start(oauth, metadata)
    page = browser.go(url)
    assert page.status_code == 400 and "Location" not in page.headers

    # PKCE: plain and a missing challenge are refused
    oauth = rp_session(app)
    url, *_ = start(oauth, metadata)
    plain = url.replace("code_challenge_method=S256", "code_challenge_method=plain")
    assert callback_params(browser.go(plain))["error"] == "invalid_request"
    no_pkce = re.sub(r"&code_challenge=[^&]+", "", url)
    assert callback_params(browser.go(no_pkce))["error"] == "invalid_request"
    assert Grant.objects.count() == 0


def test_token_errors_reused_expired_and_wrong_verifier(issuer, metadata, citizen):
    app = register("e福州", "rp-a.example")
    browser = Browser(issuer)
    oauth = rp_session(app)

    def fresh_code():
        url, verifier, _, _ = start(oauth, metadata)
        page = browser.go(url)
        if urlparse(page.url).path == "/login/":
            page = browser.login_through_form(page)
        return page.headers["Location"], verifier

    # wrong verifier, then a missing one
    location, verifier = fresh_code()
    with pytest.raises(OAuthError) as wrong:
        oauth.fetch_token(metadata["token_endpoint"], authorization_response=location, code_verifier="x" * 64)
    assert wrong.value.error == "invalid_grant"
    with pytest.raises(OAuthError):
        oauth.fetch_token(metadata["token_endpoint"], authorization_response=location, code_verifier="")

    # reused code: refused, and the token issued from it is revoked (RFC 6749 §4.1.2)
    token = oauth.fetch_token(metadata["token_endpoint"], authorization_response=location, code_verifier=verifier)
    with pytest.raises(OAuthError) as reused:
        oauth.fetch_token(metadata["token_endpoint"], authorization_response=location, code_verifier=verifier)
    assert reused.value.error == "invalid_grant"
    assert requests.get(metadata["userinfo_endpoint"], headers={"Authorization": f"Bearer {token['access_token']}"},
                        timeout=10).status_code == 401

    # expired code
    location, verifier = fresh_code()
    Grant.objects.update(expires=timezone.now() - timedelta(seconds=1))
    with pytest.raises(OAuthError) as expired:
        oauth.fetch_token(metadata["token_endpoint"], authorization_response=location, code_verifier=verifier)
    assert expired.value.error == "invalid_grant"


def test_deny_and_withdrawn_consent(issuer, metadata, citizen):
    app = register("e福州", "rp-a.example")
    browser = Browser(issuer)
    oauth = rp_session(app, "openid phone")

    url, *_ = start(oauth, metadata)
    consent_page = browser.login_through_form(browser.go(url))
    assert callback_params(browser.post(consent_page.url, {"decision": "deny"}))["error"] == "access_denied"

    token, _ = sign_in(browser, oauth, metadata, app)
    consent = Consent.objects.get(user=citizen, decision="granted")
    listing = browser.go(f"{issuer}/account/consents/")
    assert "e福州" in listing.text and consent.public_id in listing.text
    browser.post(f"{issuer}/account/consents/{consent.public_id}/revoke/", {})
    consent.refresh_from_db()
    assert consent.revoked_at is not None
    assert oauth.get(metadata["userinfo_endpoint"]).status_code == 401

    oauth2 = rp_session(app, "openid phone")
    url, *_ = start(oauth2, metadata, prompt="none")
    assert callback_params(browser.go(url))["error"] == "consent_required"
    url, *_ = start(oauth2, metadata)
    assert 'name="decision"' in browser.go(url).text  # asked again
