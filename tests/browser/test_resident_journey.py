"""A new resident's first day, on a phone (390x844), in Chinese:

1. registers with a mobile number: "获取验证码", reads the code in the development SMS inbox
   (a second tab of the same browser), enters it with a display name and a password;
2. verifies their real name against the (demo) population registry;
3. signs in to a city app with OneCity: the app is a real, independent OpenID Connect client —
   a small HTTP server of its own on 127.0.0.1 using authlib (authorization code flow with PKCE
   S256, token exchange, ID token checked against the published JWKS, userinfo) — and the
   resident reads the consent screen, allows, and lands back in the app, which shows what it
   received.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import secrets
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

from onecity.core.crypto import lookup_hash
from onecity.core.validators import resident_id_make
from onecity.identity.enums import AssuranceLevel
from onecity.identity.models import Consent, DemoResident, RealNameIdentity, User
from onecity.identity.services.oidc import client_create

pytestmark = [pytest.mark.browser, pytest.mark.live]

PHONE = "13959101234"
PHONE_MASKED = "139****1234"
PASSWORD = "Minjiang-Night-2026"
DISPLAY_NAME = "阿榕"
LEGAL_NAME = "林榕生"
ID_NUMBER = resident_id_make("350102", dt.date(1992, 5, 17), 356)  # 福州市鼓楼区
APP_NAME = "榕城停车"
SCOPE = "openid profile phone realname"


class RelyingParty:
    """A city app that signs its users in with OneCity: its own HTTP server (not Django), its
    own OAuth 2.0 client (authlib). `/login` sends the browser to OneCity's authorization
    endpoint; `/callback` exchanges the code at the token endpoint, verifies the ID token and
    calls userinfo, then shows the result page. Nothing here is shared with OneCity except
    HTTP."""

    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.redirect_uri = f"{self.url}/callback"
        self.client_id = self.client_secret = self.issuer = ""
        self.pending: dict[str, tuple[str, str]] = {}  # state -> (PKCE verifier, nonce)
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self.server.serve_forever, name="relying-party", daemon=True)

    def configure(self, *, issuer: str, client_id: str, client_secret: str):
        self.issuer, self.client_id, self.client_secret = issuer, client_id, client_secret
        self.metadata = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def oauth(self) -> OAuth2Session:
        return OAuth2Session(self.client_id, self.client_secret, scope=SCOPE, redirect_uri=self.redirect_uri,
                             code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic")

    # --- the app's two pages -------------------------------------------------------------------
    def login(self) -> tuple[int, dict, str]:
        verifier, nonce = generate_token(64), secrets.token_urlsafe(16)
        url, state = self.oauth().create_authorization_url(self.metadata["authorization_endpoint"],
                                                           code_verifier=verifier, nonce=nonce)
        self.pending[state] = (verifier, nonce)
        return 302, {"Location": url}, ""

    def callback(self, path: str) -> tuple[int, dict, str]:
        params = {k: v[0] for k, v in parse_qs(urlparse(path).query).items()}
        if "error" in params:
            return 200, {}, self.page("Sign-in refused", f'<p id="error">{html.escape(params["error"])}</p>')
        verifier, nonce = self.pending.pop(params["state"])  # an unknown state is an error
        if params.get("iss") != self.issuer:
            raise ValueError(f"authorization response from the wrong issuer: {params.get('iss')!r}")
        oauth = self.oauth()
        token = oauth.fetch_token(self.metadata["token_endpoint"], authorization_response=self.url + path,
                                  code_verifier=verifier)
        jwks = KeySet.import_key_set(requests.get(self.metadata["jwks_uri"], timeout=10).json())
        id_token = jwt.decode(token["id_token"], jwks, algorithms=["RS256"]).claims
        jwt.JWTClaimsRegistry(
            leeway=5,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(id_token)
        userinfo = oauth.get(self.metadata["userinfo_endpoint"]).json()
        if userinfo["sub"] != id_token["sub"]:
            raise ValueError("userinfo is about someone else")
        rows = "".join(
            f'<dt>{html.escape(name)}</dt><dd data-claim="{html.escape(name)}">{html.escape(json.dumps(value, ensure_ascii=False))}</dd>'
            for name, value in sorted(userinfo.items())
        )
        body = (f'<p id="exchange">token exchange: ok ({html.escape(token["token_type"])})</p>'
                f'<p id="id-token">ID token: verified, acr {html.escape(id_token["acr"])}</p>'
                f'<dl id="claims">{rows}</dl>')
        return 200, {}, self.page(f"Welcome to {APP_NAME}", body)

    @staticmethod
    def page(title: str, body: str) -> str:
        return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
                f'<meta name="viewport" content="width=device-width"></head><body><h1>{html.escape(title)}</h1>'
                f'{body}</body></html>')

    def _handler(self):
        rp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                try:
                    route = urlparse(self.path).path
                    if route == "/login":
                        status, headers, body = rp.login()
                    elif route == "/callback":
                        status, headers, body = rp.callback(self.path)
                    else:
                        status, headers, body = 404, {}, rp.page("Not found", "")
                except Exception:
                    rp.errors.append(traceback.format_exc())
                    status, headers, body = 500, {}, rp.page("Sign-in failed", f"<pre>{html.escape(rp.errors[-1])}</pre>")
                data = body.encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format, *args):  # quiet
                pass

        return Handler


@pytest.fixture
def issuer(live_server, settings):
    """The live server is the issuer the app discovers and checks."""
    settings.BASE_URL = live_server.url
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    return live_server.url


@pytest.fixture
def registry_resident(transactional_db):
    return DemoResident.objects.create(legal_name=LEGAL_NAME, id_number=ID_NUMBER,
                                       id_number_hash=lookup_hash(ID_NUMBER, purpose="id_number"),
                                       region_code="350102")


@pytest.fixture
def relying_party(issuer):
    with RelyingParty() as rp:
        credentials = client_create(actor=None, name=APP_NAME, redirect_uris=[rp.redirect_uri],
                                    purpose="查询和缴纳您的路边停车费")
        rp.configure(issuer=issuer, client_id=credentials.client_id, client_secret=credentials.client_secret)
        yield rp


def test_register_verify_real_name_and_sign_in_to_a_city_app(open_context, relying_party, registry_resident):
    context = open_context("phone")
    page = context.new_page()

    # 1. registration: the code comes by SMS (the development inbox, in another tab)
    page.goto("/register/")
    assert page.get_by_role("heading", level=1).inner_text() == "注册一网通账号"
    page.get_by_label("手机号").fill(PHONE)
    page.get_by_role("button", name="获取验证码").click()
    status = page.locator("#code-status")
    status.get_by_text(f"我们已向 {PHONE_MASKED} 发送验证码").wait_for()
    assert "5 分钟内有效" in status.inner_text()

    inbox = context.new_page()
    inbox.goto(f"/notifications/dev/sms/?phone={PHONE}")
    assert inbox.get_by_role("heading", level=1).inner_text() == "开发用短信收件箱"
    messages = inbox.locator("#dev-sms-list li")
    assert messages.count() == 1
    code = messages.first.locator("strong.mono").inner_text()
    assert len(code) == 6 and code.isdigit()
    assert code in messages.first.inner_text()  # the SMS text itself carries the code
    inbox.close()

    page.get_by_label("短信验证码").fill(code)
    page.get_by_label("怎么称呼您").fill(DISPLAY_NAME)
    page.get_by_label(re.compile(r"^密码")).fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="注册", exact=True).click()
    assert urlparse(page.url).path == "/account/realname/"
    assert "欢迎使用一网通！您的账号已注册成功。" in page.locator("main").inner_text()
    user = User.objects.get(phone_hash=lookup_hash(PHONE, purpose="phone"))
    assert user.display_name == DISPLAY_NAME

    # 2. real-name verification against the population registry
    assert page.get_by_role("heading", level=1).inner_text() == "实名认证"
    page.get_by_label("真实姓名").fill(LEGAL_NAME)
    page.get_by_role("textbox", name="身份证号码").fill(ID_NUMBER)
    page.get_by_label("我同意一网通将我的姓名和身份证号码提交人口库核验").check()
    with page.expect_navigation():
        page.locator("main form").get_by_role("button", name="核验").click()
    assert urlparse(page.url).path == "/account/"
    assert "实名认证成功。" in page.locator("main").inner_text()
    assert RealNameIdentity.objects.filter(user=user).count() == 1

    # 3. the city app sends the browser to OneCity; the consent screen says who asks for what
    page.goto(f"{relying_party.url}/login")
    page.wait_for_url(lambda url: urlparse(url).path == "/o/authorize/")
    assert page.get_by_role("heading", level=1).inner_text() == f"{APP_NAME} 请求获取以下信息"
    main = page.locator("main")
    assert APP_NAME in main.locator("dl").inner_text()
    assert "查询和缴纳您的路边停车费" in main.locator("dl").inner_text()
    items = {item.locator(".list-item-title").inner_text(): item.locator(".list-item-meta").inner_text()
             for item in main.locator("ul.list .list-item").all()}
    assert items == {
        "您的昵称": f"基本资料 · {DISPLAY_NAME}",
        "您的手机号（脱敏，如 138****8000）": f"手机号码 · {PHONE_MASKED}",
        "您经实名认证的真实姓名": "实名信息 · 林**",
        "您的身份证号（脱敏，仅显示首尾各一位）": f"实名信息 · {ID_NUMBER[0]}{'*' * 16}{ID_NUMBER[-1]}",
        "是否已完成实名认证": "实名信息 · 是",
    }
    assert Consent.objects.filter(user=user).count() == 0

    # the resident allows; the browser lands on the app, which exchanged the code for tokens
    with page.expect_navigation(url=lambda url: url.startswith(relying_party.redirect_uri)):
        page.get_by_role("button", name="同意授权").click()
    assert relying_party.errors == []
    assert page.get_by_role("heading", level=1).inner_text() == f"Welcome to {APP_NAME}"
    assert page.locator("#exchange").inner_text() == "token exchange: ok (Bearer)"
    assert page.locator("#id-token").inner_text() == f"ID token: verified, acr {AssuranceLevel.L1}"

    def claim(name):
        return json.loads(page.locator(f'#claims dd[data-claim="{name}"]').inner_text())

    assert claim("phone_number") == PHONE_MASKED
    assert claim("phone_number_verified") is True
    assert claim("real_name_verified") is True
    assert claim("name") == DISPLAY_NAME
    assert claim("legal_name") == LEGAL_NAME
    assert claim("id_number_masked") == f"{ID_NUMBER[0]}{'*' * 16}{ID_NUMBER[-1]}"
    assert len(claim("sub")) == 64  # pairwise, not a user name or phone number
    assert PHONE not in page.content() and ID_NUMBER not in page.content()
    assert Consent.objects.filter(user=user, application__client_id=relying_party.client_id).count() == 1
