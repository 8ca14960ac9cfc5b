"""Browser tests: Playwright's sync API driving Debian's headless Chromium against a live server.

- `chromium`: one browser per test process (xdist worker), launched from /usr/bin/chromium
  (Playwright's own browser builds are never downloaded). Tests are skipped, with the reason,
  when Debian's Chromium is not installed.
- `open_context(viewport=..., locale=...)`: a fresh browser context (own cookies), Chinese by
  default. Every page of every context a test opened is screenshotted into `test-results/`
  when the test fails, never otherwise.
- `sign_in(page, username, password, next=...)`: signs in through the real /login/ form.

The live server, the database and the immediate task queue come from pytest-django and the
root conftest.py; each test file creates its own people and data, so files can run in any
order on any xdist worker.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEVICES = {
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
              "has_touch": True},
    "desktop": {"viewport": {"width": 1440, "height": 900}},
}
RESULTS_DIR = Path(__file__).resolve().parents[2] / "test-results"
TIMEOUT_MS = 15_000


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's outcome on the test item, for the failure screenshots."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium): "
                    "the browser tests drive it through Playwright")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_context(request, chromium, live_server, transactional_db):
    """A factory of browser contexts: `open_context("phone")` (390x844) or `open_context("desktop")`
    (1440x900), Chinese unless another `locale` is given; `user_agent` replaces Chromium's."""
    contexts = []

    def factory(device: str = "phone", *, locale: str = "zh-CN", user_agent: str | None = None):
        context = chromium.new_context(
            **DEVICES[device], locale=locale, timezone_id="Asia/Shanghai", base_url=live_server.url,
            extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9" if locale == "zh-CN" else f"{locale},en;q=0.8"},
            **({"user_agent": user_agent} if user_agent else {}),
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield factory

    failed = any(getattr(getattr(request.node, f"rep_{when}", None), "failed", False)
                 for when in ("setup", "call"))
    if failed:
        RESULTS_DIR.mkdir(exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
        for c, context in enumerate(contexts):
            for p, page in enumerate(context.pages):
                try:
                    page.screenshot(path=str(RESULTS_DIR / f"{stem}-{c}-{p}.png"), full_page=True)
                except Exception as exc:  # a crashed page must not hide the test's own failure
                    print(f"no screenshot of {page.url}: {exc}")
    for context in contexts:
        context.close()


@pytest.fixture
def sign_in():
    """Sign in through the real /login/ form; returns after the redirect to `next`."""

    def do(page, username: str, password: str, *, next: str = "/"):
        page.goto(f"/login/?next={quote(next)}")
        page.get_by_label("手机号或用户名").fill(username)
        page.get_by_label(re.compile(r"^密码")).fill(password)
        page.locator("form.form").get_by_role("button", name="登录").click()
        page.wait_for_url(lambda url: "/login/" not in url)

    return do
