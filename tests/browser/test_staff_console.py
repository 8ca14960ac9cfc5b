"""Staff console on a desktop (1440x900): the audit log is for auditors only, in the sidebar and
at its URL."""

from __future__ import annotations

import pytest

from onecity.core.validators import uscc_make
from onecity.identity.enums import OrganizationKind, Role
from onecity.identity.models import Organization
from onecity.identity.services.accounts import staff_create

pytestmark = [pytest.mark.browser, pytest.mark.live]

PASSWORD = "Gulou-Workbench-2026"


@pytest.fixture
def organization(transactional_db):
    return Organization.objects.create(name="福州市数据管理局", name_en="Fuzhou Data Administration",
                                       kind=OrganizationKind.DEPARTMENT, uscc=uscc_make("11", "350100", "M0002000"),
                                       region_code="350100")


def test_auditor_sees_the_audit_log_and_an_operator_does_not(open_context, sign_in, organization):
    staff_create(actor=None, username="auditor.chen", password=PASSWORD, display_name="陈审计",
                 organization=organization, roles=[Role.AUDITOR])
    staff_create(actor=None, username="operator.lin", password=PASSWORD, display_name="林话务",
                 organization=organization, roles=[Role.HOTLINE_OPERATOR])

    # the auditor: the audit log page, with the sidebar and its audit entry
    auditor = open_context("desktop").new_page()
    sign_in(auditor, "auditor.chen", PASSWORD, next="/staff/")
    sidebar = auditor.locator("aside.sidebar")
    assert sidebar.is_visible()
    audit_link = sidebar.get_by_role("link", name="审计日志")
    assert audit_link.is_visible()
    audit_link.click()
    auditor.wait_for_url("**/staff/audit/")
    assert auditor.get_by_role("heading", level=1).inner_text() == "审计日志"
    assert sidebar.get_by_role("link", name="审计日志").get_attribute("aria-current") == "page"
    # the sign-ins and staff creation above are in the log, with who did them
    table = auditor.locator("table")
    assert table.is_visible()
    assert table.locator("tbody tr").count() >= 2
    assert "staff.create" in table.inner_text()
    assert auditor.locator(".staff-topbar").get_by_text("福州市数据管理局").is_visible()

    # the hotline operator: no audit entry in the sidebar, and 403 at the URL
    operator = open_context("desktop").new_page()
    sign_in(operator, "operator.lin", PASSWORD, next="/staff/")
    sidebar = operator.locator("aside.sidebar")
    assert sidebar.is_visible()
    assert sidebar.get_by_role("link", name="群众查询").is_visible()
    assert sidebar.get_by_role("link", name="审计日志").count() == 0
    response = operator.goto("/staff/audit/")
    assert response.status == 403
    assert operator.locator("table").count() == 0
