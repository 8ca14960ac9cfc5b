"""Reconciliation runs: each channel's sandbox statement file through its parser, the engine and
the stored run and breaks; idempotent re-import; bad files; working breaks to resolution."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from onecity.core.errors import ApplicationError, NotFound, PermissionDenied
from onecity.core.models import AuditEvent
from onecity.identity.enums import Role
from onecity.identity.tests.accounts_support import make_staff
from onecity.ledger.models import Transfer
from onecity.ledger.selectors import account_balance, account_find, ledger_trial_balance
from onecity.payments.channels import alipay, unionpay, wallet, wechat
from onecity.payments.channels.base import StatementKind, StatementRow
from onecity.payments.models import ReconciliationBreak, ReconciliationRun
from onecity.payments.services.attempts import attempt_create, attempt_mark_succeeded, attempt_submit
from onecity.payments.services.reconciliation_runs import (
    break_adjustment_decide,
    break_adjustment_propose,
    break_investigate,
    break_resolve,
    reconciliation_import,
)
from onecity.payments.tests.support import SH, issue

DAY = dt.date(2026, 11, 22)
SANDBOXES = {"alipay": alipay.AlipaySandbox, "wechat": wechat.WechatSandbox, "unionpay": unionpay.UnionpaySandbox,
             "city_wallet": wallet.WalletSandbox}
FEE = {"alipay": 6, "wechat": 6, "unionpay": 5, "city_wallet": 0}  # on 1000 fen


@pytest.fixture
def admin(city):
    return make_staff(Role.ADMINISTRATOR, username="finance", org=city.school)


def paid(city, clock, channel: str, n: int, *, minute: int) -> object:
    """A 10.00 yuan bill paid through `channel` on DAY at 10:<minute>."""
    saved = clock.now
    clock.now = dt.datetime(2026, 11, 22, 10, minute, tzinfo=SH)
    bill = issue(city, amount_fen=1000, title=f"停车费 {channel} {n}")
    attempt = attempt_create(bill_id=bill.public_id, channel=channel, amount_fen=1000, idempotency_key=f"{channel}{n}",
                             actor=city.resident)
    attempt_submit(attempt_id=attempt.public_id)
    attempt = attempt_mark_succeeded(attempt_id=attempt.public_id, amount_fen=1000,
                                     channel_trade_no=f"{channel[:2].upper()}{n:019d}")
    clock.now = saved
    return attempt


def row(attempt, *, amount=1000, fee=None, trade_no=None) -> StatementRow:
    return StatementRow(trade_no=trade_no or attempt.channel_trade_no, out_trade_no=attempt.public_id,
                        kind=StatementKind.PAYMENT, amount_fen=amount,
                        fee_fen=FEE[attempt.channel] if fee is None else fee,
                        occurred_at=attempt.finished_at, payer_id="13800138000")


def breaks(run) -> list[tuple]:
    return list(run.breaks.order_by("id").values_list("kind", "side", "trade_no", "statement_amount_fen",
                                                      "ours_amount_fen", "statement_fee_fen", "ours_fee_fen",
                                                      "difference_fen", "our_id", "state"))


@pytest.mark.parametrize("channel", ["alipay", "wechat", "unionpay", "city_wallet"])
def test_each_channels_statement_file_end_to_end_with_injected_breaks(city, clock, admin, channel):
    ok, fee_off, missing, amount_off = (paid(city, clock, channel, n, minute=n) for n in range(1, 5))
    stranger = StatementRow(trade_no=f"{channel[:2].upper()}{99:019d}", out_trade_no="01JUNKNOWNORDER0000000000",
                            kind=StatementKind.PAYMENT, amount_fen=500, fee_fen=FEE[channel] // 2,
                            occurred_at=dt.datetime(2026, 11, 22, 12, 0, tzinfo=SH), payer_id="13800138000")
    rows = [row(ok), row(fee_off, fee=FEE[channel] + 1), row(amount_off, amount=900, fee=FEE[channel]), stranger,
            row(ok)]
    content = SANDBOXES[channel]().statement(rows, DAY)

    run = reconciliation_import(actor=admin, channel=channel, day=DAY, filename="statement.bin", content=content)

    assert (run.state, run.statement_rows, run.ours_rows, run.matched_count, run.pending_count, run.break_count) == (
        "done", 5, 4, 1, 0, 5)
    f = FEE[channel]
    assert breaks(run) == [
        ("missing_here", "statement", stranger.trade_no, 500, None, f // 2, None, 500, "", "open"),
        ("missing_there", "ours", missing.channel_trade_no, None, 1000, None, f, -1000, missing.public_id, "open"),
        ("amount_mismatch", "both", amount_off.channel_trade_no, 900, 1000, f, f, -100, amount_off.public_id, "open"),
        ("fee_mismatch", "both", fee_off.channel_trade_no, 1000, 1000, f + 1, f, 1, fee_off.public_id, "open"),
        ("duplicate", "statement", ok.channel_trade_no, 1000, None, f, None, 1000, "", "open"),
    ]
    assert run.summary["matched"] == {"count": 1, "statement_fen": 1000, "ours_fen": 1000, "statement_fee_fen": f,
                                      "ours_fee_fen": f}

    again = reconciliation_import(actor=admin, channel=channel, day=DAY, filename="again.bin", content=content)
    assert again.pk == run.pk
    assert (ReconciliationRun.objects.count(), ReconciliationBreak.objects.count()) == (1, 5)


@pytest.mark.parametrize("content, reason", [
    (b"not a statement at all", "statement_unreadable"),
    (b"", "statement_empty"),
])
def test_a_bad_file_is_refused_and_nothing_is_stored(city, clock, admin, content, reason):
    paid(city, clock, "wechat", 1, minute=1)
    with pytest.raises(ApplicationError) as exc:
        reconciliation_import(actor=admin, channel="wechat", day=DAY, filename="x.csv", content=content)
    assert exc.value.code == reason
    assert (ReconciliationRun.objects.count(), ReconciliationBreak.objects.count()) == (0, 0)


def test_statement_of_today_or_another_channel_name_is_refused(city, clock, admin):
    content = wallet.WalletSandbox().statement([], DAY)
    with pytest.raises(ApplicationError) as exc:
        reconciliation_import(actor=admin, channel="wallet", day=DAY, filename="x.csv", content=content)
    assert exc.value.code == "channel_invalid"
    with pytest.raises(ApplicationError) as exc:
        reconciliation_import(actor=admin, channel="city_wallet", day=dt.date(2026, 11, 23), filename="x.csv",
                              content=content)
    assert exc.value.code == "day_invalid"
    assert ReconciliationRun.objects.count() == 0


def test_only_administrators_reconcile(city, clock):
    auditor = make_staff(Role.AUDITOR, username="auditor", org=city.school)
    content = wallet.WalletSandbox().statement([], DAY)
    for actor in (auditor, city.cashier, city.resident):
        with pytest.raises(PermissionDenied):
            reconciliation_import(actor=actor, channel="city_wallet", day=DAY, filename="x.csv", content=content)
    assert ReconciliationRun.objects.count() == 0


def _one_break_run(city, clock, admin):
    attempt = paid(city, clock, "wechat", 1, minute=1)
    content = wechat.WechatSandbox().statement([row(attempt, amount=900)], DAY)
    run = reconciliation_import(actor=admin, channel="wechat", day=DAY, filename="b.csv", content=content)
    return run.breaks.get()


@pytest.fixture
def finance(city):
    """A second member of the platform's finance staff (role finance, not administrator)."""
    return make_staff(Role.FINANCE, username="finance2", org=city.school)


def test_an_adjustment_is_proposed_then_approved_by_a_colleague_and_posts_exactly_one_transfer(
        city, clock, admin, finance):
    brk = _one_break_run(city, clock, admin)
    assert brk.kind == "amount_mismatch"
    before = Transfer.objects.count()
    brk = break_investigate(actor=admin, break_id=brk.public_id, note="微信少结算1元，已联系渠道")
    assert (brk.state, brk.note) == ("investigating", "微信少结算1元，已联系渠道")
    brk = break_adjustment_propose(actor=admin, break_id=brk.public_id, amount_fen=-100, note="渠道确认少付，计入暂挂")
    assert (brk.state, brk.resolution, brk.adjustment_fen, brk.transfer_id, brk.proposed_by_id, brk.resolved_at) == (
        "pending_approval", "", -100, "", admin.pk, None)
    assert Transfer.objects.count() == before  # nothing posted until approved

    with pytest.raises(ApplicationError) as exc:  # four eyes: not by its proposer
        break_adjustment_decide(actor=admin, break_id=brk.public_id, approve=True, note="")
    assert (exc.value.code, exc.value.status) == ("four_eyes", 403)
    brk.refresh_from_db()
    assert (brk.state, brk.transfer_id) == ("pending_approval", "")
    assert Transfer.objects.count() == before

    brk = break_adjustment_decide(actor=finance, break_id=brk.public_id, approve=True, note="已核对渠道回函")
    assert (brk.state, brk.resolution, brk.adjustment_fen, brk.transfer_id, brk.proposed_by_id, brk.resolved_by_id,
            brk.note) == ("resolved", "adjusted", -100, f"recon:{brk.public_id}", admin.pk, finance.pk,
                          "渠道确认少付，计入暂挂 · 已核对渠道回函")
    assert Transfer.objects.count() == before + 1
    transfer = Transfer.objects.get(transfer_id=f"recon:{brk.public_id}")
    assert (transfer.amount, transfer.code) == (100, "recon_adjust")
    suspense = account_find(kind="suspense", owner="platform")
    assert account_balance(account_id=suspense.public_id) == 100
    assert ledger_trial_balance().balanced
    assert list(AuditEvent.objects.filter(object_id=brk.public_id).order_by("id").values_list("action", flat=True)) == [
        "payments.break_investigating", "payments.break_adjustment_proposed", "payments.break_resolved"]

    for call in (lambda: break_resolve(actor=admin, break_id=brk.public_id, resolution="accepted", note="再次"),
                 lambda: break_adjustment_decide(actor=finance, break_id=brk.public_id, approve=True, note=""),
                 lambda: break_adjustment_propose(actor=finance, break_id=brk.public_id, amount_fen=5, note="再次")):
        with pytest.raises(ApplicationError) as exc:
            call()
        assert exc.value.code == "break_resolved"
    assert Transfer.objects.count() == before + 1


def test_a_rejected_or_withdrawn_adjustment_posts_nothing_and_the_break_is_investigated_again(
        city, clock, admin, finance):
    brk = _one_break_run(city, clock, admin)
    before = Transfer.objects.count()
    brk = break_adjustment_propose(actor=admin, break_id=brk.public_id, amount_fen=100, note="渠道多收")
    with pytest.raises(ApplicationError) as exc:  # a rejection says why
        break_adjustment_decide(actor=finance, break_id=brk.public_id, approve=False, note="  ")
    assert exc.value.code == "note_required"
    with pytest.raises(ApplicationError) as exc:  # decided first
        break_resolve(actor=finance, break_id=brk.public_id, resolution="accepted", note="接受")
    assert exc.value.code == "break_pending_approval"
    brk = break_adjustment_decide(actor=finance, break_id=brk.public_id, approve=False, note="金额应为-1元")
    assert (brk.state, brk.adjustment_fen, brk.proposed_by_id, brk.note, brk.transfer_id) == (
        "investigating", None, None, "金额应为-1元", "")
    with pytest.raises(ApplicationError) as exc:
        break_adjustment_decide(actor=finance, break_id=brk.public_id, approve=True, note="")
    assert exc.value.code == "no_proposal"
    brk = break_adjustment_propose(actor=finance, break_id=brk.public_id, amount_fen=-100, note="更正金额")
    brk = break_adjustment_decide(actor=finance, break_id=brk.public_id, approve=False, note="撤回，等渠道回函")
    assert (brk.state, brk.adjustment_fen) == ("investigating", None)
    assert Transfer.objects.count() == before
    assert list(AuditEvent.objects.filter(object_id=brk.public_id).order_by("id").values_list("action", flat=True)) == [
        "payments.break_adjustment_proposed", "payments.break_adjustment_rejected",
        "payments.break_adjustment_proposed", "payments.break_adjustment_rejected"]


def test_the_database_refuses_an_adjustment_approved_by_its_proposer(city, clock, admin):
    brk = _one_break_run(city, clock, admin)
    brk = break_adjustment_propose(actor=admin, break_id=brk.public_id, amount_fen=100, note="渠道多收")
    with pytest.raises(IntegrityError), transaction.atomic():
        ReconciliationBreak.objects.filter(pk=brk.pk).update(
            state="resolved", resolution="adjusted", transfer_id="recon:x", resolved_by=admin, resolved_at=clock.now)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReconciliationBreak.objects.filter(pk=brk.pk).update(proposed_by=None)
    brk.refresh_from_db()
    assert (brk.state, brk.proposed_by_id, brk.transfer_id) == ("pending_approval", admin.pk, "")


@pytest.mark.parametrize("call, code", [
    (lambda b, a: break_adjustment_propose(actor=a, break_id=b, amount_fen=0, note="x"), "adjustment_invalid"),
    (lambda b, a: break_adjustment_propose(actor=a, break_id=b, amount_fen=None, note="x"), "adjustment_invalid"),
    (lambda b, a: break_adjustment_propose(actor=a, break_id=b, amount_fen=True, note="x"), "adjustment_invalid"),
    (lambda b, a: break_adjustment_propose(actor=a, break_id=b, amount_fen=10**13, note="x"), "adjustment_invalid"),
    (lambda b, a: break_adjustment_propose(actor=a, break_id=b, amount_fen=5, note=" "), "note_required"),
    (lambda b, a: break_resolve(actor=a, break_id=b, resolution="adjusted", note="x"), "resolution_invalid"),
    (lambda b, a: break_resolve(actor=a, break_id=b, resolution="written_off", note="x"), "resolution_invalid"),
    (lambda b, a: break_resolve(actor=a, break_id=b, resolution="accepted", note="   "), "note_required"),
    (lambda b, a: break_adjustment_decide(actor=a, break_id=b, approve=True, note=""), "no_proposal"),
])
def test_bad_resolutions_change_nothing(city, clock, admin, call, code):
    brk = _one_break_run(city, clock, admin)
    before = Transfer.objects.count()
    with pytest.raises(ApplicationError) as exc:
        call(brk.public_id, admin)
    assert exc.value.code == code
    brk.refresh_from_db()
    assert (brk.state, brk.resolution, brk.note, brk.transfer_id, brk.adjustment_fen, brk.proposed_by_id) == (
        "open", "", "", "", None, None)
    assert Transfer.objects.count() == before


def test_only_the_platforms_finance_staff_work_breaks(city, clock, admin):
    brk = _one_break_run(city, clock, admin)
    auditor = make_staff(Role.AUDITOR, username="auditor", org=city.school)
    for actor in (auditor, city.cashier, city.resident):
        for call in (lambda: break_investigate(actor=actor, break_id=brk.public_id, note="x"),
                     lambda: break_adjustment_propose(actor=actor, break_id=brk.public_id, amount_fen=5, note="x"),
                     lambda: break_resolve(actor=actor, break_id=brk.public_id, resolution="accepted", note="x")):
            with pytest.raises(PermissionDenied):
                call()
    brk = break_adjustment_propose(actor=admin, break_id=brk.public_id, amount_fen=5, note="x")
    for actor in (auditor, city.cashier):
        with pytest.raises(PermissionDenied):
            break_adjustment_decide(actor=actor, break_id=brk.public_id, approve=True, note="")
    brk.refresh_from_db()
    assert (brk.state, brk.transfer_id, brk.note) == ("pending_approval", "", "x")


def test_accepting_posts_nothing_and_unknown_breaks_are_not_found(city, clock, admin):
    brk = _one_break_run(city, clock, admin)
    before = Transfer.objects.count()
    brk = break_resolve(actor=admin, break_id=brk.public_id, resolution="matched_later", note="次日账单已到")
    assert (brk.state, brk.resolution, brk.transfer_id, brk.adjustment_fen) == ("resolved", "matched_later", "", None)
    assert Transfer.objects.count() == before
    with pytest.raises(NotFound):
        break_investigate(actor=admin, break_id="01NOSUCHBREAK000000000000", note="x")
    with pytest.raises(PermissionDenied):
        break_investigate(actor=city.cashier, break_id=brk.public_id, note="x")


def test_reconcile_command_prints_one_json_line(city, clock, tmp_path):
    attempt = paid(city, clock, "unionpay", 1, minute=1)
    path = tmp_path / "unionpay-20261122.txt"
    path.write_bytes(unionpay.UnionpaySandbox().statement([row(attempt), row(attempt)], DAY))
    out = io.StringIO()
    call_command("payments", "reconcile", "--channel", "unionpay", "--day", "2026-11-22", "--file", str(path),
                 stdout=out)
    line = json.loads(out.getvalue())
    run = ReconciliationRun.objects.get()
    assert line == {"run": run.public_id, "channel": "unionpay", "day": "2026-11-22", "state": "done",
                    "statement_rows": 2, "ours_rows": 1, "matched": 1, "pending": 0, "breaks": 1,
                    "breaks_by_kind": {"duplicate": 1}}
    path.write_bytes(b"garbage")
    with pytest.raises(CommandError):
        call_command("payments", "reconcile", "--channel", "unionpay", "--day", "2026-11-22", "--file", str(path))
    assert ReconciliationRun.objects.count() == 1


# --- pages --------------------------------------------------------------------------------------

def test_upload_runs_breaks_and_resolve_through_the_pages(client, city, clock, admin, finance):
    from django.core.files.uploadedfile import SimpleUploadedFile

    attempt = paid(city, clock, "alipay", 1, minute=1)
    content = alipay.AlipaySandbox().statement([row(attempt, fee=7)], DAY)
    client.force_login(admin)
    bad = client.post("/pay/clearing/reconciliation/", {"channel": "alipay", "day": "2026-11-22",
                                                        "file": SimpleUploadedFile("x.csv", b"junk")})
    assert bad.status_code == 422 and ReconciliationRun.objects.count() == 0
    done = client.post("/pay/clearing/reconciliation/", {"channel": "alipay", "day": "2026-11-22",
                                                         "file": SimpleUploadedFile("alipay.zip", content)})
    run = ReconciliationRun.objects.get()
    assert (done.status_code, done["Location"]) == (302, f"/pay/clearing/reconciliation/{run.public_id}/")
    brk = run.breaks.get()
    detail = client.get(f"/pay/clearing/reconciliation/{run.public_id}/?kind=fee_mismatch")
    assert detail.status_code == 200 and f"break-{brk.public_id}" in detail.content.decode()
    badge = '<span class="nav-badge">1<span class="visually-hidden"> 笔差错待处理</span></span>'
    assert badge in detail.content.decode()  # the sidebar counts the breaks still to work
    assert f"break-{brk.public_id}" not in client.get(
        f"/pay/clearing/reconciliation/{run.public_id}/?kind=duplicate").content.decode()

    refused = client.post(f"/pay/clearing/breaks/{brk.public_id}/", {"resolution": "adjusted", "note": "手续费差1分",
                                                                     "adjustment": "abc"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 422
    brk.refresh_from_db()
    assert brk.state == "open"
    proposed = client.post(f"/pay/clearing/breaks/{brk.public_id}/", {"resolution": "adjusted", "note": "手续费差1分",
                                                                      "adjustment": "0.01"}, HTTP_HX_REQUEST="true")
    page = proposed.content.decode()
    assert proposed.status_code == 200 and "等待同事复核" in page and 'value="approve"' not in page
    brk.refresh_from_db()
    assert (brk.state, brk.adjustment_fen, brk.transfer_id) == ("pending_approval", 1, "")
    own = client.post(f"/pay/clearing/breaks/{brk.public_id}/decision/", {"decision": "approve"},
                      HTTP_HX_REQUEST="true")
    assert own.status_code == 422 and "须由提出人以外的人复核批准" in own.content.decode()
    brk.refresh_from_db()
    assert (brk.state, brk.transfer_id) == ("pending_approval", "")

    client.force_login(finance)
    seen = client.get(f"/pay/clearing/reconciliation/{run.public_id}/?state=pending_approval").content.decode()
    assert f"break-{brk.public_id}" in seen and 'value="approve"' in seen
    approved = client.post(f"/pay/clearing/breaks/{brk.public_id}/decision/", {"decision": "approve", "note": ""},
                           HTTP_HX_REQUEST="true")
    assert approved.status_code == 200 and f"recon:{brk.public_id}" in approved.content.decode()
    brk.refresh_from_db()
    assert (brk.state, brk.resolution, brk.adjustment_fen, brk.resolved_by_id) == ("resolved", "adjusted", 1, finance.pk)
    assert Transfer.objects.filter(transfer_id=f"recon:{brk.public_id}").count() == 1
    assert "nav-badge" not in client.get(f"/pay/clearing/reconciliation/{run.public_id}/").content.decode()

    auditor = make_staff(Role.AUDITOR, username="auditor", org=city.school)
    client.force_login(auditor)
    assert client.get(f"/pay/clearing/reconciliation/{run.public_id}/").status_code == 200
    assert client.post("/pay/clearing/reconciliation/", {"channel": "alipay", "day": "2026-11-22",
                                                         "file": SimpleUploadedFile("a.zip", content)}).status_code == 403
    client.force_login(city.cashier)
    assert client.get("/pay/clearing/reconciliation/").status_code == 403
    client.force_login(city.resident)
    assert client.get("/pay/clearing/reconciliation/").status_code in (302, 403)
