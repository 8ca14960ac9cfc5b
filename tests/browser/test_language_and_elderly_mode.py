"""A resident on a phone switches the language (Chinese → English → Chinese) and turns on the
elderly-friendly mode (适老化: larger text, at least 18 px for body text), from the top bar."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from onecity.core.crypto import lookup_hash
from onecity.core.ids import new_public_id
from onecity.identity.models import User

pytestmark = [pytest.mark.browser, pytest.mark.live]

PHONE = "13905910303"
PASSWORD = "Sanfang-Qixiang-1999"

FONT_SIZE_JS = "element => parseFloat(getComputedStyle(element).fontSize)"


@pytest.fixture
def resident(transactional_db):
    public_id = new_public_id()
    user = User(public_id=public_id, username="c-" + public_id, display_name="阿梅", phone=PHONE,
                phone_hash=lookup_hash(PHONE, purpose="phone"))
    user.set_password(PASSWORD)
    user.save()
    return user


def test_language_switch_and_elderly_mode(open_context, sign_in, resident):
    page = open_context("phone").new_page()
    sign_in(page, PHONE, PASSWORD, next="/account/")
    page.goto("/")
    html = page.locator("html")
    heading = page.get_by_role("heading", level=1)
    assert html.get_attribute("lang") == "zh-Hans"
    assert heading.inner_text() == "您好，阿梅"
    assert page.locator(".brand-name").inner_text() == "e福州"

    # to English and back, staying on the same page
    page.locator("form.language-switch").get_by_role("button", name="English").click()
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert urlparse(page.url).path == "/"
    assert heading.inner_text() == "Hello, 阿梅"
    assert page.locator(".brand-name").inner_text() == "e-Fuzhou"
    # On a phone the English label is long, so the switch shows its icon; its name stays.
    assert page.locator("form.elderly-switch").get_by_role("button", name="Elderly mode").count() == 1
    page.locator("form.language-switch").get_by_role("button", name="中文").click()
    page.wait_for_function("document.documentElement.lang === 'zh-Hans'")
    assert heading.inner_text() == "您好，阿梅"

    # elderly mode: the body gets the `elderly` class and body text grows to at least 18 px
    body = page.locator("body")
    text = page.locator("main .card-hero p").first
    assert "elderly" not in body.get_attribute("class").split()
    normal_size = text.evaluate(FONT_SIZE_JS)
    assert normal_size < 18
    toggle = page.locator("form.elderly-switch").get_by_role("button", name="长辈模式")
    assert toggle.get_attribute("aria-pressed") == "false"
    toggle.click()
    page.wait_for_function("document.body.classList.contains('elderly')")
    assert urlparse(page.url).path == "/"
    assert body.evaluate(FONT_SIZE_JS) >= 18
    assert text.evaluate(FONT_SIZE_JS) >= 18
    assert page.locator("main .btn").first.evaluate(FONT_SIZE_JS) >= 18
    assert toggle.get_attribute("aria-pressed") == "true"

    # the choice is remembered on the next page, and switched off again
    page.goto("/account/")
    assert "elderly" in body.get_attribute("class").split()
    page.locator("form.elderly-switch").get_by_role("button", name="长辈模式").click()
    page.wait_for_function("!document.body.classList.contains('elderly')")
    assert urlparse(page.url).path == "/account/"
    assert page.locator("main p").first.evaluate(FONT_SIZE_JS) < 18
