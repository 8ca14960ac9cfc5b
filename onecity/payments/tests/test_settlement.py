"""T+1 settlement: exact sums with per-payment fee rounding and refunds, ledger entries,
idempotent re-runs, the statement files (CSV and XLSX)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from onecity.core.errors import ApplicationError
from onecity.ledger.models import Transfer
from onecity.ledger.selectors import account_balance, account_find, ledger_trial_balance
from onecity.payments.clearing import fee_fen
from onecity.payments.models import Refund, Settlement
from onecity.payments.services.attempts import attempt_create, attempt_mark_succeeded, attempt_submit
from onecity.payments.services.bills import bill_issue
from onecity.payments.services.settlement import settlement_run
from onecity.payments.tests.support import SH, bill_data, issue

DAY = dt.date(2026, 11, 22)


def paid(city, clock, channel, amount, n, *, day=DAY, hour=10, resident=None, cashier=None):
    saved = clock.now
    clock.now = dt.datetime.combine(day, dt.time(hour, n), tzinfo=SH)
    bill = (bill_issue(actor=cashier, data=bill_data(amount_fen=amount, title=f"门诊 {n}")) if cashier
            else issue(city, amount_fen=amount, title=f"学费 {n}"))
    attempt = attempt_create(bill_id=bill.public_id, channel=channel, amount_fen=amount, idempotency_key=f"s{n}",
                             actor=resident or city.resident)
    attempt_submit(attempt_id=attempt.public_id)
    attempt = attempt_mark_succeeded(attempt_id=attempt.public_id, amount_fen=amount,
                                     channel_trade_no=f"T{channel[:2]}{day:%m%d}{n:06d}")
    clock.now = saved
    return attempt


def refunded(city, attempt, amount, *, at):
    return Refund.objects.create(attempt=attempt, bill=attempt.bill, payee=attempt.payee, amount_fen=amount,
                                 reason="重复缴费", state="succeeded", requested_by=city.cashier,
                                 idempotency_key=f"r{attempt.pk}", channel_refund_no=f"R{attempt.pk}",
                                 created_at=at, finished_at=at, updated_at=at)


def test_fees_round_half_up_per_payment():
    assert [fee_fen("alipay", a) for a in (1083, 1250, 1249, 0)] == [6, 8, 7, 0]
    assert [fee_fen("unionpay", a) for a in (1100, 1099)] == [6, 5]
    assert fee_fen("city_wallet", 999_999) == 0


def test_fee_rates_are_a_setting(settings):
    settings.PAYMENTS_FEE_RATES_BP = {"city_wallet": 10}
    assert (fee_fen("city_wallet", 10_000), fee_fen("alipay", 10_000)) == (10, 60)


@pytest.fixture
def day_of_payments(city, clock):
    a1 = paid(city, clock, "alipay", 1083, 1)        # fee 6.498 → 6
    a2 = paid(city, clock, "wechat", 1250, 2)        # fee 7.5 → 8
    a3 = paid(city, clock, "unionpay", 1100, 3)      # fee 5.5 → 6
    a4 = paid(city, clock, "city_wallet", 5000, 4)   # fee 0
    paid(city, clock, "alipay", 7000, 5, day=DAY - dt.timedelta(days=1))       # the day before: not in D
    paid(city, clock, "alipay", 2000, 6, day=DAY + dt.timedelta(days=1), hour=9)  # today: not in D
    refunded(city, a2, 250, at=dt.datetime(2026, 11, 22, 15, 0, tzinfo=SH))
    refunded(city, a1, 83, at=dt.datetime(2026, 11, 23, 9, 0, tzinfo=SH))  # refunded on D+1: not in D
    return a1, a2, a3, a4


def test_settlement_sums_fees_refunds_and_ledger(city, clock, day_of_payments):
    [s] = settlement_run(day=DAY)
    assert (s.payee_id, s.day, s.payment_count, s.refund_count, s.gross_fen, s.fees_fen, s.refunds_fen,
            s.net_fen, s.state) == (city.school.pk, DAY, 4, 1, 8433, 20, 250, 8163, "settled")
    batch = f"settle:{city.school.public_id}:20261122"
    assert s.transfer_ids == [f"{batch}:fee", f"{batch}:net"]
    assert list(Transfer.objects.filter(transfer_id__startswith=batch).order_by("transfer_id")
                .values_list("transfer_id", "amount", "code")) == [
        (f"{batch}:fee", 20, "settlement_fee"), (f"{batch}:net", 8163, "settlement")]
    bank = account_find(kind="settlement_bank", owner="platform")
    income = account_find(kind="fee_income", owner="platform")
    assert (account_balance(account_id=bank.public_id), account_balance(account_id=income.public_id)) == (-8163, 20)
    assert ledger_trial_balance().balanced


def test_settlement_is_idempotent(city, clock, day_of_payments):
    [first] = settlement_run(day=DAY)
    transfers = Transfer.objects.count()
    [again] = settlement_run(day=DAY)
    assert again.pk == first.pk
    assert (Settlement.objects.count(), Transfer.objects.count()) == (1, transfers)


def test_a_deficit_is_carried_to_the_next_payouts(city, clock):
    """Refunds beyond a day's collections: nothing is paid out, and what the payee owes is
    carried forward; the next days pay out their net less what is still owed, until it is
    covered. (The refund here is a bare row: test_refunds.py follows a real one through the
    payee payable.)"""
    earlier = paid(city, clock, "city_wallet", 5000, 1, day=DAY - dt.timedelta(days=1))
    paid(city, clock, "city_wallet", 1000, 2)
    refunded(city, earlier, 3000, at=dt.datetime(2026, 11, 22, 11, 0, tzinfo=SH))
    paid(city, clock, "city_wallet", 1500, 3, day=DAY + dt.timedelta(days=1))
    paid(city, clock, "city_wallet", 4000, 4, day=DAY + dt.timedelta(days=2))
    clock.now = dt.datetime(2026, 11, 25, 2, 0, tzinfo=SH)

    def figures(s: Settlement) -> tuple:
        return (s.net_fen, s.state, s.carried_in_fen, s.payout_fen, s.carried_out_fen, s.transfer_ids)

    batch = f"settle:{city.school.public_id}"
    [s0] = settlement_run(day=DAY - dt.timedelta(days=1))
    assert figures(s0) == (5000, "settled", 0, 5000, 0, [f"{batch}:20261121:net"])
    [s1] = settlement_run(day=DAY)
    assert (s1.gross_fen, s1.fees_fen, s1.refunds_fen) == (1000, 0, 3000)
    assert figures(s1) == (-2000, "deficit", 0, 0, 2000, [])  # nothing paid out, nothing asked in
    [s2] = settlement_run(day=DAY + dt.timedelta(days=1))
    assert figures(s2) == (1500, "settled", 2000, 0, 500, [])
    [s3] = settlement_run(day=DAY + dt.timedelta(days=2))
    assert figures(s3) == (4000, "settled", 500, 3500, 0, [f"{batch}:20261124:net"])
    assert Transfer.objects.get(transfer_id=f"{batch}:20261124:net").amount == 3500
    bank = account_find(kind="settlement_bank", owner="platform")
    assert account_balance(account_id=bank.public_id) == -(5000 + 3500)
    assert ledger_trial_balance().balanced
    rows = list(csv.reader(io.StringIO(bytes(s2.statement_csv).decode("utf-8-sig"))))
    assert rows[-6:] == [["net_fen", "1500"], ["net_yuan", "15.00"], ["deficit_carried_in_fen", "2000"],
                         ["payout_fen", "0"], ["payout_yuan", "0.00"], ["deficit_carried_forward_fen", "500"]]


def test_settlement_is_t_plus_one(city, clock):
    paid(city, clock, "alipay", 1000, 1, day=dt.date(2026, 11, 23), hour=9)
    with pytest.raises(ApplicationError) as exc:
        settlement_run(day=dt.date(2026, 11, 23))
    assert exc.value.code == "day_invalid"
    assert Settlement.objects.count() == 0


def test_statement_files(city, clock, day_of_payments):
    a1, a2, a3, a4 = day_of_payments
    [s] = settlement_run(day=DAY)
    text = bytes(s.statement_csv).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[:3] == [["payee", "福州第一中学"], ["day", "2026-11-22"],
                        ["type", "time", "channel", "reference", "channel_trade_no", "amount_fen", "fee_fen"]]
    assert rows[3:8] == [
        ["payment", "2026-11-22 10:01:00", "alipay", a1.public_id, a1.channel_trade_no, "1083", "6"],
        ["payment", "2026-11-22 10:02:00", "wechat", a2.public_id, a2.channel_trade_no, "1250", "8"],
        ["payment", "2026-11-22 10:03:00", "unionpay", a3.public_id, a3.channel_trade_no, "1100", "6"],
        ["payment", "2026-11-22 10:04:00", "city_wallet", a4.public_id, a4.channel_trade_no, "5000", "0"],
        ["refund", "2026-11-22 15:00:00", "wechat", Refund.objects.get(attempt=a2).public_id, a2.channel_trade_no,
         "-250", "0"],
    ]
    assert rows[8:] == [["gross_fen", "8433"], ["fees_fen", "20"], ["refunds_fen", "250"], ["net_fen", "8163"],
                        ["net_yuan", "81.63"], ["deficit_carried_in_fen", "0"], ["payout_fen", "8163"],
                        ["payout_yuan", "81.63"], ["deficit_carried_forward_fen", "0"]]
    sheet = load_workbook(io.BytesIO(bytes(s.statement_xlsx))).active
    values = [[c for c in r if c is not None] for r in sheet.iter_rows(values_only=True)]
    assert values[3] == ["payment", "2026-11-22 10:01:00", "alipay", a1.public_id, a1.channel_trade_no, 1083, 6]
    assert values[-9:] == [["gross_fen", 8433], ["fees_fen", 20], ["refunds_fen", 250], ["net_fen", 8163],
                           ["net_yuan", "81.63"], ["deficit_carried_in_fen", 0], ["payout_fen", 8163],
                           ["payout_yuan", "81.63"], ["deficit_carried_forward_fen", 0]]
    assert s.statement_csv_sha256 == hashlib.sha256(bytes(s.statement_csv)).hexdigest()
    assert s.statement_xlsx_sha256 == hashlib.sha256(bytes(s.statement_xlsx)).hexdigest()


def test_settle_command_prints_one_json_line(city, clock, day_of_payments):
    out = io.StringIO()
    call_command("payments", "settle", "--day", "2026-11-22", stdout=out)
    assert json.loads(out.getvalue()) == {"day": "2026-11-22", "settlements": 1, "gross_fen": 8433, "fees_fen": 20,
                                          "refunds_fen": 250, "net_fen": 8163, "payout_fen": 8163,
                                          "deficit_carried_forward_fen": 0}
    with pytest.raises(CommandError):
        call_command("payments", "settle", "--day", "2026-11-23")
    assert Settlement.objects.count() == 1


def test_the_daily_task_settles_yesterday(city, clock, day_of_payments):
    from onecity.payments.tasks import settlement_run_task

    assert settlement_run_task.call_local() == 1
    assert settlement_run_task.call_local() == 1
    assert Settlement.objects.get().day == DAY


# --- pages --------------------------------------------------------------------------------------

def test_settlement_pages_and_downloads_by_role(client, city, clock, day_of_payments):
    from onecity.identity.enums import Role
    from onecity.identity.tests.accounts_support import make_staff

    [s] = settlement_run(day=DAY)
    client.force_login(city.cashier)
    page = client.get("/pay/clearing/settlements/")
    assert page.status_code == 200
    assert "81.63" in page.content.decode() and "settlement-chart" in page.content.decode()
    csv_file = client.get(f"/pay/clearing/settlements/{s.public_id}.csv")
    assert (csv_file.status_code, csv_file.content) == (200, bytes(s.statement_csv))
    xlsx = client.get(f"/pay/clearing/settlements/{s.public_id}.xlsx")
    assert load_workbook(io.BytesIO(xlsx.content)).active["A1"].value == "payee"
    assert client.get(f"/pay/clearing/settlements/{s.public_id}.pdf").status_code == 404

    client.force_login(city.other_cashier)  # another payee's cashier: not theirs
    assert client.get(f"/pay/clearing/settlements/{s.public_id}.csv").status_code == 404
    assert "81.63" not in client.get("/pay/clearing/settlements/").content.decode()

    client.force_login(make_staff(Role.AUDITOR, username="auditor", org=city.school))
    assert client.get(f"/pay/clearing/settlements/{s.public_id}.csv").status_code == 200

    client.force_login(city.resident)
    assert client.get("/pay/clearing/settlements/").status_code in (302, 403)
    assert client.get(f"/pay/clearing/settlements/{s.public_id}.csv").status_code in (302, 403)


def test_refunds_of_a_payments_excess_are_not_the_payees(city, clock):
    from onecity.payments.models import PaymentAttempt

    attempt = paid(city, clock, "city_wallet", 1000, 1)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(excess_fen=300)  # 300 of it went to suspense
    refunded(city, attempt, 200, at=dt.datetime(2026, 11, 22, 11, 0, tzinfo=SH))  # all from the excess
    Refund.objects.create(attempt=attempt, bill=attempt.bill, payee=attempt.payee, amount_fen=400, reason="退款",
                          state="succeeded", idempotency_key="r2", channel_refund_no="R2",
                          created_at=dt.datetime(2026, 11, 22, 12, 0, tzinfo=SH),
                          finished_at=dt.datetime(2026, 11, 22, 12, 0, tzinfo=SH),
                          updated_at=dt.datetime(2026, 11, 22, 12, 0, tzinfo=SH))  # 100 excess, 300 the payee's
    [s] = settlement_run(day=DAY)
    assert (s.gross_fen, s.refunds_fen, s.refund_count, s.net_fen) == (700, 300, 1, 400)


def test_a_payee_whose_ledger_batch_is_refused_is_left_unsettled_and_others_settle(city, clock, monkeypatch):
    from onecity.payments.services import settlement

    paid(city, clock, "city_wallet", 1000, 1)
    paid(city, clock, "city_wallet", 2000, 2, cashier=city.other_cashier)
    post = settlement.transfers_post_bulk

    def refuse_the_school(rows, *, batch_id, actor=None):
        if batch_id.startswith(f"settle:{city.school.public_id}"):  # e.g. an account closed meanwhile
            raise ApplicationError("refused", code="account_not_found")
        return post(rows, batch_id=batch_id, actor=actor)

    monkeypatch.setattr(settlement, "transfers_post_bulk", refuse_the_school)
    [settled] = settlement_run(day=DAY)
    assert (settled.payee_id, settled.net_fen) == (city.hospital.pk, 2000)
    assert not Transfer.objects.filter(transfer_id__startswith=f"settle:{city.school.public_id}").exists()
