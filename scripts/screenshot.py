#!/usr/bin/env python
"""Full-page screenshots of OneCity pages in Debian's headless Chromium (Playwright).

    .venv/bin/python scripts/screenshot.py http://127.0.0.1:8765/ http://127.0.0.1:8765/account/ \
        --out /tmp/shots --phone --lang zh-hans --login 13800138000 'secret-password'

--phone is 390×844 (device scale 2, touch), --desktop 1440×900; without either, both are taken.
--lang sets the language cookie and Accept-Language (default zh-hans); --elderly turns on
elderly mode; --login signs in through the /login/ form first (one browser context, so the
session is kept for every URL); --viewport takes only the first screen. Files are named <path>-<phone|desktop>-<lang>[-elderly].png;
the script prints one line per file. Needs the Debian packages chromium and fonts-noto-cjk.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
VIEWPORTS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
              "has_touch": True},
    "desktop": {"viewport": {"width": 1440, "height": 900}, "device_scale_factor": 1},
}
LANGUAGE_COOKIE = "onecity_language"
ELDERLY_COOKIE = "onecity_elderly"


def slug(url: str) -> str:
    parts = urlsplit(url)
    text = (parts.path.strip("/") or "home") + (f"-{parts.query}" if parts.query else "")
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:80] or "page"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("urls", nargs="+", metavar="URL")
    parser.add_argument("--out", required=True, type=Path, help="directory for the PNG files")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--phone", action="store_true", help="390×844 only")
    size.add_argument("--desktop", action="store_true", help="1440×900 only")
    parser.add_argument("--lang", choices=["zh-hans", "en"], default="zh-hans")
    parser.add_argument("--elderly", action="store_true", help="turn elderly mode on")
    parser.add_argument("--login", nargs=2, metavar=("USER", "PASS"), help="sign in through /login/ first")
    parser.add_argument("--viewport", action="store_true", help="only the first screen, not the full page")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds per page")
    return parser.parse_args(argv)


def sign_in(page, base: str, user: str, password: str, timeout_ms: float) -> None:
    page.goto(urljoin(base, "/login/"), wait_until="networkidle", timeout=timeout_ms)
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    with page.expect_navigation(timeout=timeout_ms):
        page.click("form[action$='/login/'] [type=submit]")
    if urlsplit(page.url).path.rstrip("/").endswith("/login"):
        raise SystemExit(f"screenshot: signing in as {user!r} failed (still on {page.url})")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sizes = ["phone"] if args.phone else ["desktop"] if args.desktop else ["phone", "desktop"]
    args.out.mkdir(parents=True, exist_ok=True)
    timeout_ms = args.timeout * 1000
    accept = "en-GB,en;q=0.9" if args.lang == "en" else "zh-CN,zh;q=0.9"
    failures = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for size in sizes:
                context = browser.new_context(**VIEWPORTS[size], locale="en-GB" if args.lang == "en" else "zh-CN",
                                              timezone_id="Asia/Shanghai",
                                              extra_http_headers={"Accept-Language": accept})
                base = "{0.scheme}://{0.netloc}/".format(urlsplit(args.urls[0]))
                cookies = [{"name": LANGUAGE_COOKIE, "value": args.lang, "url": base}]
                if args.elderly:
                    cookies.append({"name": ELDERLY_COOKIE, "value": "1", "url": base})
                context.add_cookies(cookies)
                page = context.new_page()
                if args.login:
                    sign_in(page, base, args.login[0], args.login[1], timeout_ms)
                for url in args.urls:
                    try:
                        response = page.goto(url, wait_until="networkidle", timeout=timeout_ms)
                    except PlaywrightError as exc:
                        print(f"ERR {url}: {exc.message.splitlines()[0]}", file=sys.stderr)
                        failures += 1
                        continue
                    status = response.status if response else 0
                    name = f"{slug(url)}-{size}-{args.lang}{'-elderly' if args.elderly else ''}.png"
                    target = args.out / name
                    page.screenshot(path=str(target), full_page=not args.viewport)
                    print(f"{status} {url} -> {target}")
                    failures += status >= 500 or status == 0
                context.close()
        finally:
            browser.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
