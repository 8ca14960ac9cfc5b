"""Money under real concurrency (PostgreSQL, parallel connections): successes reported at the
same moment for several attempts on one bill never push paid_fen past the amount; what the bill
cannot absorb is kept as excess on the attempts."""

import threading

import pytest
from django.db import connection, connections
from django.db.models import Sum

from onecity.payments.models import Bill, BillEvent, PaymentAttempt
from onecity.payments.services.attempts import attempt_create, attempt_mark_succeeded
from onecity.payments.tests.support import issue


@pytest.mark.django_db(transaction=True)
def test_parallel_successes_on_one_bill(city):
    if connection.vendor != "postgresql":
        pytest.skip("real parallel writers need PostgreSQL (SQLite serialises every write)")
    bill = issue(city, allow_partial=True, min_partial_fen=0)
    ids = [attempt_create(bill_id=bill.public_id, channel="alipay", amount_fen=125000, idempotency_key=f"k{n}",
                          actor=city.resident).public_id for n in range(6)]  # each supersedes the one before
    barrier = threading.Barrier(len(ids))
    errors: list[BaseException] = []

    def work(attempt_id):
        try:
            barrier.wait()
            attempt_mark_succeeded(attempt_id=attempt_id, amount_fen=125000)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    bill = Bill.objects.get(pk=bill.pk)
    assert (bill.paid_fen, bill.state) == (250000, "paid")
    attempts = PaymentAttempt.objects.filter(public_id__in=ids)
    assert set(attempts.values_list("state", flat=True)) == {"succeeded"}
    assert attempts.aggregate(s=Sum("excess_fen"))["s"] == 6 * 125000 - 250000
    assert BillEvent.objects.filter(bill=bill, action__in=["pay_part", "pay_full"]).aggregate(
        s=Sum("amount_fen"))["s"] == 250000


@pytest.mark.django_db(transaction=True)
def test_parallel_deliveries_of_one_notification_apply_once(city, settings, tmp_path):
    """A channel re-sends a "paid" while the first delivery is still being processed: six
    deliveries at the same moment, each re-signed; one is processed, the others are duplicates,
    the bill is paid once and the ledger holds one transfer."""
    if connection.vendor != "postgresql":
        pytest.skip("real parallel writers need PostgreSQL (SQLite serialises every write)")
    from onecity.ledger.enums import AccountKind
    from onecity.ledger.selectors import account_find
    from onecity.payments.gateways import sandbox_client
    from onecity.payments.models import ChannelNotification
    from onecity.payments.services.attempts import attempt_submit
    from onecity.payments.services.notifications import notification_handle

    settings.PAYMENTS_SANDBOX, settings.PAYMENTS_CHANNEL_KEY_DIR = True, tmp_path
    bill = issue(city)
    attempt = attempt_submit(attempt_id=attempt_create(bill_id=bill.public_id, channel="city_wallet",
                                                       amount_fen=250000, idempotency_key="k",
                                                       actor=city.resident).public_id)
    sandbox = sandbox_client("city_wallet").sandbox
    deliveries = [sandbox.notification(trade_no="W1", out_trade_no=attempt.public_id, amount_fen=250000)
                  for _n in range(6)]
    barrier = threading.Barrier(len(deliveries))
    errors: list[BaseException] = []
    replies: list[int] = []

    def work(headers, body):
        try:
            barrier.wait()
            replies.append(notification_handle(channel="city_wallet", headers=headers, body=body).reply.status)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=d) for d in deliveries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and replies == [204] * 6
    results = sorted(ChannelNotification.objects.values_list("result", flat=True))
    assert results == ["duplicate"] * 5 + ["processed"]
    bill = Bill.objects.get(pk=bill.pk)
    assert (bill.paid_fen, bill.state) == (250000, "paid")
    assert BillEvent.objects.filter(bill=bill, action="pay_full").count() == 1
    payee = account_find(kind=AccountKind.PAYEE_PAYABLE, owner=f"org:{city.school.public_id}")
    assert (payee.credits_posted, payee.debits_posted) == (250000, 0)
