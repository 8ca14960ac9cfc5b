"""The design system's promises: filters, icons, elderly mode, language switch, navigation, error pages."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.template import Context, Template, loader
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse
from django.utils import translation

from onecity.core import navigation
from onecity.core.middleware import ELDERLY_COOKIE
from onecity.core.templatetags.ui import cn_date, yuan


def render(source: str, **context) -> str:
    return Template("{% load ui %}" + source).render(Context(context))


# --- filters -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("fen", "expected"),
    [
        (123450, "¥1,234.50"),
        (0, "¥0.00"),
        (5, "¥0.05"),
        (100, "¥1.00"),
        (-300, "-¥3.00"),
        (100000000, "¥1,000,000.00"),
        ("2599", "¥25.99"),
    ],
)
def test_yuan_formats_integer_fen(fen, expected):
    assert yuan(fen) == expected


@pytest.mark.parametrize("value", [None, 12.5, "12.50", True, "abc"])
def test_yuan_refuses_anything_but_integer_fen(value):
    assert yuan(value) == ""


def test_yuan_in_a_template():
    assert render("{{ amount|yuan }}", amount=123450) == "¥1,234.50"


def test_cn_date_by_language():
    day = dt.date(2026, 11, 23)
    with translation.override("zh-hans"):
        assert cn_date(day) == "2026年11月23日"
        assert cn_date(dt.date(2026, 1, 5)) == "2026年1月5日"
    with translation.override("en"):
        assert cn_date(day) == "23 Nov 2026"
        assert cn_date(dt.date(2026, 9, 1)) == "1 Sep 2026"


def test_cn_date_shows_datetimes_in_shanghai():
    moment = dt.datetime(2026, 11, 22, 17, 30, tzinfo=dt.UTC)  # 01:30 on the 23rd in Fuzhou
    with translation.override("zh-hans"):
        assert cn_date(moment) == "2026年11月23日"
        assert cn_date(moment, "time") == "2026年11月23日 01:30"
    with translation.override("en"):
        assert cn_date(moment, "time") == "23 Nov 2026, 01:30"
    tokyo = dt.datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    with translation.override("en"):
        assert cn_date(tokyo, "time") == "23 Nov 2026, 08:00"


def test_cn_date_of_nothing_is_empty():
    assert cn_date(None) == ""
    assert cn_date("2026-11-23") == ""


# --- icons -------------------------------------------------------------------------------------

def test_icon_inlines_the_tabler_svg():
    html = render('{% icon "home" %}')
    assert html.startswith('<svg xmlns="http://www.w3.org/2000/svg" class="icon icon-home" viewBox="0 0 24 24"')
    assert 'aria-hidden="true"' in html
    assert 'focusable="false"' in html
    assert '<path d="M5 12l-2 0l9 -9l9 9l-2 0" />' in html
    assert 'd="M0 0h24v24H0z"' not in html  # Tabler's invisible bounding box is dropped
    assert html.endswith("</svg>")


def test_icon_with_class_and_label():
    html = render('{% icon "qrcode" class="icon-lg" label="扫码 <b>" %}')
    assert 'class="icon icon-qrcode icon-lg"' in html
    assert 'role="img" aria-label="扫码 &lt;b&gt;"' in html
    assert "<title>扫码 &lt;b&gt;</title>" in html
    assert "aria-hidden" not in html


def test_unknown_or_malformed_icon_renders_nothing():
    assert render('{% icon "no-such-icon-anywhere" %}') == ""
    assert render('{% icon "../../settings" %}') == ""


# --- elderly mode ------------------------------------------------------------------------------

def test_elderly_toggle_sets_cookie_and_goes_back(client):
    response = client.post(reverse("core:elderly"), {"mode": "on", "next": "/account/?tab=1"})
    assert response.status_code == 302
    assert response["Location"] == "/account/?tab=1"
    cookie = response.cookies[ELDERLY_COOKIE]
    assert cookie.value == "1"
    assert cookie["max-age"] == 365 * 24 * 3600
    assert cookie["samesite"] == "Lax"


def test_elderly_toggle_turns_off_and_toggles(client):
    client.cookies[ELDERLY_COOKIE] = "1"
    response = client.post(reverse("core:elderly"), {"next": "/"})  # no mode: toggles the current state
    assert response.status_code == 302
    assert response.cookies[ELDERLY_COOKIE].value == ""
    assert response.cookies[ELDERLY_COOKIE]["max-age"] == 0
    response = client.post(reverse("core:elderly"), {"mode": "off", "next": "/"})
    assert response.cookies[ELDERLY_COOKIE]["max-age"] == 0


def test_elderly_toggle_uses_referer_and_refuses_foreign_urls(client):
    response = client.post(reverse("core:elderly"), {"mode": "on"}, HTTP_REFERER="http://testserver/notifications/")
    assert response["Location"] == "http://testserver/notifications/"
    response = client.post(reverse("core:elderly"), {"mode": "on", "next": "https://evil.example/phish"})
    assert response["Location"] == "/"


def test_elderly_toggle_rejects_get(client):
    response = client.get(reverse("core:elderly"))
    assert response.status_code == 405
    assert ELDERLY_COOKIE not in response.cookies


def test_elderly_toggle_needs_csrf():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(reverse("core:elderly"), {"mode": "on"})
    assert response.status_code == 403
    assert ELDERLY_COOKIE not in response.cookies


@pytest.mark.django_db
def test_elderly_cookie_marks_the_body(client):
    client.cookies[ELDERLY_COOKIE] = "1"
    html = client.get("/this-page-does-not-exist/").content.decode()
    assert '<body class="resident error elderly"' in html


# --- language ----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_default_language_is_simplified_chinese(client):
    response = client.get("/this-page-does-not-exist/")
    assert response.status_code == 404
    html = response.content.decode()
    assert '<html lang="zh-Hans">' in html
    assert "我们找不到这个页面" in html
    assert "<title>页面不存在 · e福州</title>" in html


@pytest.mark.django_db
def test_language_switch_produces_english_page(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/this-page-does-not-exist/"})
    assert response.status_code == 302
    assert response["Location"] == "/this-page-does-not-exist/"
    html = client.get("/this-page-does-not-exist/").content.decode()
    assert '<html lang="en">' in html
    assert "We could not find that page" in html
    assert "<title>Page not found · e-Fuzhou</title>" in html
    # The switch now offers Chinese, labelled in Chinese.
    assert '<input type="hidden" name="language" value="zh-hans">' in html
    assert '<span>中文</span>' in html


# --- navigation --------------------------------------------------------------------------------

@pytest.fixture
def scratch_nav():
    """Test entries in a clean registry; the real registry is restored afterwards."""
    saved = dict(navigation._REGISTRY)
    navigation._REGISTRY.clear()
    navigation.nav_register(area="staff", key="open", label="Open", url_name="core:elderly", order=20)
    navigation.nav_register(area="staff", key="audit", label="Audit", url_name="set_language", order=10,
                            roles=("auditor",))
    navigation.nav_register(area="staff", key="later", label="Later", url_name="nowhere:yet", order=5)
    navigation.nav_register(area="resident", key="home", label="Home", url_name="core:elderly")
    navigation.nav_register(area="resident_tools", key="bell", label="Bell", url_name="core:elderly")
    yield
    navigation._REGISTRY.clear()
    navigation._REGISTRY.update(saved)


def make_staff(username: str, *roles: str, superuser: bool = False):
    user = get_user_model().objects.create_user(username, "pw-not-used-here-1", kind="staff",
                                                is_superuser=superuser)
    staff_role = apps.get_model("identity", "StaffRole")
    for role in roles:
        staff_role.objects.create(user=user, role=role)
    return user


def keys_for(user, area="staff", path="/"):
    request = RequestFactory().get(path)
    request.user = user
    return [link.key for link in navigation.nav_links(area, request)]


@pytest.mark.django_db
@pytest.mark.usefixtures("scratch_nav")
def test_nav_filters_staff_entries_by_role():
    from django.contrib.auth.models import AnonymousUser

    assert keys_for(make_staff("handler", "department_handler")) == ["open"]
    assert keys_for(make_staff("auditor", "auditor")) == ["audit", "open"]
    assert keys_for(make_staff("admin", "administrator")) == ["audit", "open"]
    assert keys_for(make_staff("root", superuser=True)) == ["audit", "open"]
    assert keys_for(AnonymousUser()) == []
    citizen = get_user_model().objects.create_user("c-1", "pw-not-used-here-1")
    assert keys_for(citizen) == []
    assert keys_for(citizen, area="resident") == ["home"]
    assert keys_for(AnonymousUser(), area="resident") == ["home"]
    # the top bar's tools (the message bell) are for signed-in people
    assert keys_for(citizen, area="resident_tools") == ["bell"]
    assert keys_for(AnonymousUser(), area="resident_tools") == []


@pytest.mark.django_db
@pytest.mark.usefixtures("scratch_nav")
def test_nav_marks_the_current_entry():
    user = make_staff("auditor2", "auditor")
    request = RequestFactory().get(reverse("core:elderly"))
    request.user = user
    links = {link.key: link.active for link in navigation.nav_links("staff", request)}
    assert links == {"audit": False, "open": True}


def test_nav_register_replaces_and_validates(scratch_nav):
    navigation.nav_register(area="staff", key="open", label="Again", url_name="core:elderly", order=1)
    assert [(e.key, e.label) for e in navigation.nav_entries("staff")] == [
        ("open", "Again"), ("later", "Later"), ("audit", "Audit")]
    with pytest.raises(ValueError):
        navigation.nav_register(area="sidebar", key="x", label="X", url_name="core:elderly")


def test_every_registered_nav_entry_resolves():
    """Every entry registered by the apps points at a URL that exists (no tolerance: all must land)."""
    entries = [e for area in navigation.AREAS for e in navigation.nav_entries(area)]
    assert {("resident", "home"), ("resident_tools", "messages"), ("staff", "audit"), ("staff", "people")} <= {
        (e.area, e.key) for e in entries}
    missing = []
    for entry in entries:
        try:
            reverse(entry.url_name)
        except NoReverseMatch:
            missing.append(f"{entry.area}:{entry.key} -> {entry.url_name}")
    assert missing == []


def test_registered_staff_roles_match_the_contract():
    roles = {e.key: set(e.roles) for e in navigation.nav_entries("staff")}
    assert roles["people"] == {"hotline_operator", "application_reviewer", "supervisor", "administrator"}
    assert roles["audit"] == {"auditor", "administrator"}
    assert roles["idcode_verify"] == set()


def test_registered_icons_exist():
    from onecity.core.templatetags.ui import icon_body

    entries = [e for area in navigation.AREAS for e in navigation.nav_entries(area)]
    assert [e.icon for e in entries if icon_body(e.icon) is None] == []


@pytest.mark.django_db
def test_staff_layout_shows_only_permitted_entries(client):
    from django.contrib.auth.models import AnonymousUser

    user = make_staff("operator", "hotline_operator")
    request = RequestFactory().get("/staff/")
    request.user = user
    html = loader.render_to_string("staff/base.html", {"user": user}, request=request)
    assert "staff-shell" in html
    assert 'href="/staff/people/"' in html
    assert 'href="/staff/audit/"' not in html
    request.user = AnonymousUser()
    html = loader.render_to_string("staff/base.html", {"user": request.user}, request=request)
    assert 'href="/staff/people/"' not in html


# --- error pages -------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "zh", "en"), [
    ("400.html", "无法处理这个请求", "We could not understand that request"),
    ("500.html", "系统出了点问题", "Something went wrong on our side"),
])
def test_error_pages_render_without_a_request(name, zh, en):
    with translation.override("zh-hans"):
        html = loader.get_template(name).render()
    assert '<html lang="zh-Hans">' in html and zh in html
    with translation.override("en"):
        html = loader.get_template(name).render()
    assert '<html lang="en">' in html and en in html


def test_429_page_says_when_to_retry():
    with translation.override("en"):
        html = loader.render_to_string("429.html", {"retry_after": 30})
    assert "You can try again in 30 seconds." in html
    with translation.override("zh-hans"):
        html = loader.render_to_string("429.html", {"retry_after": 30, "message": "验证码发送过于频繁"})
    assert "30 秒后可以再试。" in html
    assert "验证码发送过于频繁" in html


@pytest.mark.django_db
@pytest.mark.usefixtures("scratch_nav")
def test_nav_exact_entries_are_not_active_below_their_url():
    user = make_staff("auditor3", "auditor")
    navigation.nav_register(area="staff", key="open", label="Open", url_name="core:elderly", exact=True)
    request = RequestFactory().get(reverse("core:elderly") + "deeper/")
    request.user = user
    assert {link.key: link.active for link in navigation.nav_links("staff", request)} == {
        "audit": False, "open": False}
    navigation.nav_register(area="staff", key="open", label="Open", url_name="core:elderly")
    request = RequestFactory().get(reverse("core:elderly") + "deeper/")  # links are kept per request
    request.user = user
    assert {link.key: link.active for link in navigation.nav_links("staff", request)} == {
        "audit": False, "open": True}


@pytest.mark.django_db
@pytest.mark.usefixtures("scratch_nav")
def test_nav_badge_is_computed_per_request():
    user = make_staff("auditor4", "auditor")
    navigation.nav_register(area="staff", key="open", label="Open", url_name="core:elderly",
                            badge=lambda request: 3 if request.user == user else 0, badge_label="cases to sign")
    request = RequestFactory().get("/")
    request.user = user
    assert {link.key: (link.badge, link.badge_label) for link in navigation.nav_links("staff", request)} == {
        "audit": (0, None), "open": (3, "cases to sign")}


@pytest.mark.django_db
@pytest.mark.usefixtures("scratch_nav")
def test_nav_links_are_computed_once_per_request():
    user = make_staff("auditor5", "auditor")
    calls = []
    navigation.nav_register(area="staff", key="open", label="Open", url_name="core:elderly",
                            badge=lambda request: calls.append(request) or 2)
    first, second = RequestFactory().get("/"), RequestFactory().get("/")
    first.user = second.user = user
    assert navigation.nav_links("staff", first) == navigation.nav_links("staff", first)  # the page and its sidebar
    navigation.nav_links("staff", second)
    assert calls == [first, second]


@pytest.mark.django_db
@pytest.mark.usefixtures("scratch_nav")
def test_a_count_is_computed_only_for_holders_of_its_roles():
    dispatcher, admin = make_staff("dispatcher9", "dispatcher"), make_staff("admin9", "administrator")
    calls = []
    navigation.nav_register(area="staff", key="queue", label="Queue", url_name="core:elderly", roles=("dispatcher",),
                            badge=lambda request: calls.append(request.user) or 4)
    navigation.nav_register(area="staff", key="money", label="Money", url_name="core:elderly",
                            roles=("dispatcher", "administrator"), badge=lambda request: calls.append(request.user) or 2,
                            badge_roles=("administrator",))
    counts = {}
    for user in (dispatcher, admin):
        request = RequestFactory().get("/")
        request.user = user
        counts[user.username] = {link.key: link.badge for link in navigation.nav_links("staff", request)
                                 if link.key in ("queue", "money")}
    assert counts == {"dispatcher9": {"queue": 4, "money": 0}, "admin9": {"queue": 0, "money": 2}}
    assert calls == [dispatcher, admin]  # the administrator sees the queue entry, uncounted


def test_count_of_calls_the_function_at_its_path_with_the_user_as_actor():
    badge = navigation.count_of("onecity.core.tests.test_ui.counter_for_test")
    request = RequestFactory().get("/")
    request.user = "someone"
    assert badge(request) == 7


def counter_for_test(*, actor) -> int:
    return 7 if actor == "someone" else 0
