"""What a payee owes after its settlements: repayments recorded by the platform's finance staff
(ledger transfer, taken off what the next settlement carries in), collection notices to the
payee's cashiers, the list of payees owing, and the settlements page's forms."""

from __future__ import annotations

import datetime as dt

import pytest

from onecity.core.errors import ApplicationError, NotFound, PermissionDenied
from onecity.core.models import AuditEvent
from onecity.identity.enums import Role
from onecity.ledger.models import Transfer
from onecity.ledger.selectors import account_balance, account_find, ledger_trial_balance
from onecity.notifications.models import Message
from onecity.payments.clearing import payees_owing
from onecity.payments.models import DeficitNotice, DeficitRecovery, Settlement
from onecity.payments.services.deficits import deficit_notice_send, deficit_recovery_record
from onecity.payments.services.settlement import settlement_run
from onecity.payments.tests.support import SH, make_staff
from onecity.payments.tests.test_settlement import DAY, paid, refunded


@pytest.fixture
def finance(city):
    return make_staff(Role.FINANCE, username="finance", org=city.hospital)


@pytest.fixture
def owing(city, clock):
    """The school's DAY: ¥10 collected, a ¥30 refund of the day before → ¥20 carried forward."""
    earlier = paid(city, clock, "city_wallet", 5000, 1, day=DAY - dt.timedelta(days=1))
    paid(city, clock, "city_wallet", 1000, 2)
    refunded(city, earlier, 3000, at=dt.datetime(2026, 11, 22, 11, 0, tzinfo=SH))
    clock.now = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SH)
    settlement_run(day=DAY - dt.timedelta(days=1))
    [deficit] = settlement_run(day=DAY)
    assert (deficit.state, deficit.carried_out_fen) == ("deficit", 2000)
    return deficit


def payable(city) -> int:
    return account_balance(account_id=account_find(kind="payee_payable", owner=f"org:{city.school.public_id}").public_id)


def bank() -> int:
    return account_balance(account_id=account_find(kind="settlement_bank", owner="platform").public_id)


def everything() -> tuple:
    return (list(DeficitRecovery.objects.values_list("amount_fen", "bank_reference")),
            Transfer.objects.count(), AuditEvent.objects.filter(action__startswith="payments.deficit").count(),
            list(DeficitNotice.objects.values_list("owed_fen", flat=True)), Message.objects.count())


def test_a_repayment_posts_to_the_ledger_and_the_next_settlement_carries_in_only_the_rest(
        city, clock, finance, owing):
    payable_before, bank_before = payable(city), bank()
    recovery = deficit_recovery_record(actor=finance, payee_id=city.school.public_id, amount_fen=1500,
                                       bank_reference=" 9558 8001 2026 1123 ", note="第一中学转账还款")
    assert (recovery.amount_fen, recovery.bank_reference, recovery.settlement_id, recovery.recorded_by_id) == (
        1500, "9558 8001 2026 1123", owing.pk, finance.pk)
    transfer = Transfer.objects.get(transfer_id=f"recover:{recovery.public_id}")
    assert (transfer.amount, transfer.code) == (1500, "deficit_recovery")
    assert (payable(city) - payable_before, bank() - bank_before) == (1500, 1500)
    assert ledger_trial_balance().balanced
    audit = AuditEvent.objects.get(action="payments.deficit_recovered")
    assert (audit.actor_id, audit.detail["amount_fen"], audit.detail["owed_before_fen"]) == (finance.pk, 1500, 2000)
    [row] = payees_owing(finance)
    assert (row.settlement.payee_id, row.owed_fen, row.since, row.notice) == (city.school.pk, 500, DAY, None)

    paid(city, clock, "city_wallet", 1500, 3, day=DAY + dt.timedelta(days=1))
    clock.now = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH)
    [next_day] = settlement_run(day=DAY + dt.timedelta(days=1))
    assert (next_day.carried_in_fen, next_day.payout_fen, next_day.carried_out_fen) == (500, 1000, 0)
    assert payees_owing(finance) == []
    with pytest.raises(ApplicationError) as exc:
        deficit_recovery_record(actor=finance, payee_id=city.school.public_id, amount_fen=100, bank_reference="x")
    assert (exc.value.code, exc.value.status) == ("nothing_owed", 409)


@pytest.mark.parametrize("kwargs, code", [
    ({"amount_fen": 2001}, "amount_exceeds_owed"),
    ({"amount_fen": 0}, "amount_invalid"),
    ({"amount_fen": -5}, "amount_invalid"),
    ({"amount_fen": True}, "amount_invalid"),
    ({"amount_fen": "100"}, "amount_invalid"),
    ({"bank_reference": "  "}, "reference_required"),
    ({"bank_reference": "x" * 65}, "reference_too_long"),
    ({"note": "长" * 301}, "note_too_long"),
    ({"bank_reference": "REF-1"}, "reference_taken"),
])
def test_bad_repayments_change_nothing(city, clock, finance, owing, kwargs, code):
    deficit_recovery_record(actor=finance, payee_id=city.school.public_id, amount_fen=100, bank_reference="REF-1")
    before = everything()
    with pytest.raises(ApplicationError) as exc:
        deficit_recovery_record(actor=finance, payee_id=city.school.public_id,
                                **{"amount_fen": 500, "bank_reference": "REF-2", **kwargs})
    assert exc.value.code == code
    assert everything() == before
    assert payees_owing(finance)[0].owed_fen == 1900


def test_only_the_platforms_finance_staff_record_repayments_and_send_notices(city, clock, finance, owing):
    auditor = make_staff(Role.AUDITOR, username="auditor", org=city.hospital)
    before = everything()
    for actor in (None, city.cashier, city.other_cashier, auditor, city.resident):
        with pytest.raises(PermissionDenied):
            deficit_recovery_record(actor=actor, payee_id=city.school.public_id, amount_fen=100, bank_reference="R")
        with pytest.raises(PermissionDenied):
            deficit_notice_send(actor=actor, payee_id=city.school.public_id)
    with pytest.raises(NotFound):
        deficit_notice_send(actor=finance, payee_id="01NOSUCHPAYEE0000000000000")
    with pytest.raises(ApplicationError) as exc:  # the hospital owes nothing
        deficit_notice_send(actor=finance, payee_id=city.hospital.public_id)
    assert exc.value.code == "nothing_owed"
    assert everything() == before


def test_a_collection_notice_reaches_the_payees_cashiers_once_a_day(city, clock, finance, owing):
    second = make_staff(Role.PAYEE_CASHIER, username="cashier-b", org=city.school)
    notice = deficit_notice_send(actor=finance, payee_id=city.school.public_id)
    assert (notice.owed_fen, notice.recipients, notice.sent_by_id, notice.settlement_id) == (2000, 2, finance.pk,
                                                                                          owing.pk)
    messages = list(Message.objects.filter(template="payments_deficit_notice").order_by("recipient_id"))
    assert [m.recipient_id for m in messages] == sorted([city.cashier.pk, second.pk])
    assert all("¥20.00" in m.body and "福州第一中学" in m.body for m in messages)
    assert not Message.objects.filter(template="payments_deficit_notice", recipient=city.other_cashier).exists()
    assert payees_owing(city.cashier)[0].notice == notice

    clock.advance(hours=23)
    before = everything()
    with pytest.raises(ApplicationError) as exc:
        deficit_notice_send(actor=finance, payee_id=city.school.public_id)
    assert (exc.value.code, exc.value.status) == ("notice_recent", 429)
    assert everything() == before
    clock.advance(hours=2)
    assert deficit_notice_send(actor=finance, payee_id=city.school.public_id).recipients == 2


def test_who_sees_which_payees_owing(city, clock, finance, owing):
    auditor = make_staff(Role.AUDITOR, username="auditor", org=city.hospital)
    for actor in (None, finance, auditor, city.cashier):
        assert [(o.settlement.pk, o.owed_fen) for o in payees_owing(actor)] == [(owing.pk, 2000)]
    for actor in (city.other_cashier, city.resident):
        assert payees_owing(actor) == []
    assert Settlement.objects.filter(payee=city.school).count() == 2


def test_the_settlements_page_lists_what_is_owed_and_takes_a_repayment(client, city, clock, finance, owing):
    client.force_login(city.cashier)
    page = client.get("/pay/clearing/settlements/").content.decode()
    assert "¥20.00" in page and 'name="bank_reference"' not in page
    assert client.post(f"/pay/clearing/owing/{city.school.public_id}/repayment/",
                       {"amount": "5", "bank_reference": "R1"}).status_code == 403

    client.force_login(finance)
    page = client.get("/pay/clearing/settlements/").content.decode()
    assert "¥20.00" in page and 'name="bank_reference"' in page
    refused = client.post(f"/pay/clearing/owing/{city.school.public_id}/repayment/",
                          {"amount": "25.00", "bank_reference": "R1"}, follow=True)
    assert "福州第一中学 欠款 ¥20.00，最多登记该金额。" in refused.content.decode()
    assert DeficitRecovery.objects.count() == 0
    done = client.post(f"/pay/clearing/owing/{city.school.public_id}/repayment/",
                       {"amount": "12.50", "bank_reference": "R1", "note": "转账"})
    assert (done.status_code, done["Location"]) == (302, "/pay/clearing/settlements/")
    assert list(DeficitRecovery.objects.values_list("amount_fen", "bank_reference", "note")) == [(1250, "R1", "转账")]
    sent = client.post(f"/pay/clearing/owing/{city.school.public_id}/notice/", follow=True)
    assert "已向 1 名收款员发送催缴通知。" in sent.content.decode() and DeficitNotice.objects.get().owed_fen == 750
    assert "¥7.50" in client.get("/pay/clearing/settlements/").content.decode()


def test_the_sidebar_counts_what_awaits_the_finance_staff(client, city, clock, finance, owing):
    badge = '<span class="nav-badge">1<span class="visually-hidden"> 家欠款单位</span></span>'
    client.force_login(finance)
    assert badge in client.get("/pay/clearing/settlements/").content.decode()
    home = client.get("/staff/").content.decode()  # the workbench lists the same under "waiting for you"
    assert ('<span class="stat-value tabular">1</span><span class="stat-label">家欠款单位</span>' in home
            and "待办" in home)
    auditor = make_staff(Role.AUDITOR, username="auditor", org=city.hospital)
    for reader in (auditor, city.cashier):  # they read the same page, with no counts of work
        client.force_login(reader)
        page = client.get("/pay/clearing/settlements/").content.decode()
        assert "¥20.00" in page and "nav-badge" not in page
    deficit_recovery_record(actor=finance, payee_id=city.school.public_id, amount_fen=2000, bank_reference="R1")
    client.force_login(finance)
    assert "nav-badge" not in client.get("/pay/clearing/settlements/").content.decode()  # nothing owed now
