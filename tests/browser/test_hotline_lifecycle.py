"""A 12345 request from report to rating, through the pages each person really uses:

the resident reports on a phone → the dispatcher accepts and dispatches it on a desktop → the
department's handler signs for it, starts handling and replies → the resident rates the outcome.
Every step is a click in Debian's Chromium; the database is checked after each hand-over."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from onecity.hotline.enums import CaseState
from onecity.hotline.models import Case, CaseEvent
from onecity.hotline.tests.support import City, city, fast_hashing  # noqa: F401  (fixtures)
from onecity.identity.tests.accounts_support import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.live]

TEXT = "鼓楼区五四路与湖东路交叉口有一个大坑，下雨后积水看不见，电动车经过很危险，请尽快修补。"


@pytest.fixture
def lifecycle_city(transactional_db, city: City, settings) -> City:  # noqa: F811
    # no classifier is trained here, so the request waits in the dispatchers' manual queue
    settings.HOTLINE_AUTO_DISPATCH_THRESHOLD = 1.01
    return city


def act(page, action: str, *, fields=None, select=None, button: str) -> None:
    """Open the desk's action panel `action`, fill it (fields by the start of their label: optional
    ones carry a suffix), submit it, and wait for the htmx swap."""
    panel = page.locator(f'details[data-action="{action}"]')
    if panel.get_attribute("open") is None:
        panel.locator("summary").click()
    for label, value in (fields or {}).items():
        panel.get_by_label(re.compile(f"^{label}")).fill(value)
    for label, value in (select or {}).items():
        panel.get_by_label(re.compile(f"^{label}")).select_option(label=value)
    with page.expect_response(lambda r: f"/{action}/" in r.url and r.request.method == "POST") as response:
        panel.get_by_role("button", name=button).click()
    assert response.value.status == 200


def test_report_dispatch_sign_handle_reply_and_rate(open_context, sign_in, lifecycle_city):
    town = lifecycle_city

    # 1. the resident reports on a phone
    resident = open_context("phone").new_page()
    sign_in(resident, "13800138000", PASSWORD, next="/hotline/report/")
    resident.get_by_label("反映内容").fill(TEXT)
    resident.get_by_label("所在区县").select_option(label=town.district.display_name())
    resident.get_by_label("详细地址").fill("五四路与湖东路交叉口东南角")
    with resident.expect_navigation(url="**/hotline/report/done/**"):
        resident.get_by_role("button", name="提交").click()
    case = Case.objects.get()
    assert (case.state, case.reporter, case.channel, case.district) == (
        CaseState.REGISTERED, town.resident, "web", town.district)
    assert case.tracking_number in resident.locator("main").inner_text()

    # 2. the dispatcher finds it in the manual queue, accepts it with a category, dispatches it
    dispatcher = open_context("desktop").new_page()
    sign_in(dispatcher, "dispatcher", PASSWORD, next="/hotline/desk/dispatch/")
    dispatcher.get_by_role("link", name=case.tracking_number).first.click()
    dispatcher.wait_for_url(f"**/hotline/desk/cases/{case.public_id}/")
    act(dispatcher, "accept", select={"分类": "城市管理 › 道路破损"}, button="受理")
    expect(dispatcher.locator("#case-state")).to_have_text("已受理")  # waits for the htmx swap
    act(dispatcher, "dispatch", select={"承办单位": town.unit.display_name()}, button="派单")
    expect(dispatcher.locator("#case-state")).to_have_text("已派单")
    case.refresh_from_db()
    assert (case.state, case.category, case.assigned_unit) == (CaseState.DISPATCHED, town.potholes, town.unit)

    # 3. the department's handler signs for it, starts handling, and replies
    handler = open_context("desktop").new_page()
    sign_in(handler, "handler", PASSWORD, next="/hotline/desk/unit/")
    handler.get_by_role("link", name=case.tracking_number).first.click()
    handler.wait_for_url(f"**/hotline/desk/cases/{case.public_id}/")
    act(handler, "sign", button="签收")
    expect(handler.locator("#case-state")).to_have_text("已签收")
    act(handler, "start", button="开始办理")
    expect(handler.locator("#case-state")).to_have_text("办理中")
    act(handler, "reply", fields={"答复内容（市民可见）": "已组织市政工程处连夜修补，路面已恢复平整。"},
        button="办结回复")
    case.refresh_from_db()
    assert (case.state, case.reply) == (CaseState.REPLIED, "已组织市政工程处连夜修补，路面已恢复平整。")

    # 4. the resident reads the reply under "my requests" and rates it
    resident.goto(f"/hotline/my/{case.public_id}/")
    assert "已组织市政工程处连夜修补" in resident.locator("main").inner_text()
    resident.get_by_label("满意", exact=True).check()
    with resident.expect_navigation():
        resident.get_by_role("button", name="提交评价").click()
    case.refresh_from_db()
    assert case.satisfaction == "satisfied"
    actions = list(CaseEvent.objects.filter(case=case).order_by("at", "id").values_list("action", flat=True))
    assert actions[:7] == ["register", "accept", "dispatch", "sign", "start", "reply", "visit"]
