"""Reconciliation on a desktop: a break's adjustment takes two of the platform's finance staff.
One proposes it in the break's row (htmx swaps the row: nothing posted, no approve button for
the proposer); a colleague approves it in their own browser and the ledger transfer is posted."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from onecity.core.validators import uscc_make
from onecity.identity.enums import OrganizationKind, Role
from onecity.identity.models import Organization
from onecity.identity.services.accounts import staff_create
from onecity.ledger.models import Transfer
from onecity.payments.channels import wechat
from onecity.payments.channels.base import CHINA, StatementKind, StatementRow
from onecity.payments.models import ReconciliationBreak
from onecity.payments.services.reconciliation_runs import reconciliation_import

pytestmark = [pytest.mark.browser, pytest.mark.live]

PASSWORD = "Caizheng-Duizhang-2026"


@pytest.fixture
def run(transactional_db):
    """Yesterday's WeChat Pay statement with one payment we never heard of (a lost notification)."""
    bureau = Organization.objects.create(name="福州市财政局", name_en="Fuzhou Finance Bureau",
                                         kind=OrganizationKind.DEPARTMENT, uscc=uscc_make("11", "350100", "M0003000"),
                                         region_code="350100")
    for username, name in (("finance.lin", "林海燕"), ("finance.guo", "郭志强")):
        staff_create(actor=None, username=username, password=PASSWORD, display_name=name, organization=bureau,
                     roles=[Role.FINANCE])
    day = timezone.now().astimezone(CHINA).date() - dt.timedelta(days=1)
    row = StatementRow(trade_no="4200002026112300001234", out_trade_no="01KLOSTNOTIFICATION0000000",
                       kind=StatementKind.PAYMENT, amount_fen=12800, fee_fen=77,
                       occurred_at=dt.datetime.combine(day, dt.time(15, 42), tzinfo=CHINA))
    return reconciliation_import(actor=None, channel="wechat", day=day, filename="wechat.csv",
                                 content=wechat.WechatSandbox().statement([row], day))


def test_an_adjustment_is_proposed_by_one_and_posted_when_a_colleague_approves(open_context, sign_in, run):
    brk = run.breaks.get()
    url = f"/pay/clearing/reconciliation/{run.public_id}/"

    proposer = open_context("desktop").new_page()
    sign_in(proposer, "finance.guo", PASSWORD, next=url)
    row = proposer.locator(f"#break-{brk.public_id}")
    row.get_by_label("处理结果").select_option("adjusted")
    row.get_by_label("备注").fill("渠道确认收款，通知丢失，计入暂挂")
    row.get_by_label("调账金额（元，少付用负数）").fill("128.00")
    row.get_by_role("button", name="保存").click()
    expect(row).to_contain_text("等待同事复核")
    expect(row).to_contain_text("郭志强 提出调账 ¥128.00")
    assert row.get_by_role("button", name="批准并记账").count() == 0
    brk.refresh_from_db()
    assert (brk.state, brk.adjustment_fen, brk.transfer_id) == ("pending_approval", 12800, "")
    assert not Transfer.objects.filter(transfer_id=f"recon:{brk.public_id}").exists()

    approver = open_context("desktop").new_page()
    sign_in(approver, "finance.lin", PASSWORD, next=url)
    row = approver.locator(f"#break-{brk.public_id}")
    row.get_by_role("button", name="批准并记账").click()
    expect(row).to_contain_text(f"recon:{brk.public_id}")
    brk = ReconciliationBreak.objects.select_related("resolved_by", "proposed_by").get(pk=brk.pk)
    assert (brk.state, brk.resolution, brk.proposed_by.username, brk.resolved_by.username) == (
        "resolved", "adjusted", "finance.guo", "finance.lin")
    assert Transfer.objects.get(transfer_id=f"recon:{brk.public_id}").amount == 12800
