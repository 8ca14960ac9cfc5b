"""Query budget of channel notifications (decision 0017, bench.payment_notify): the notify
endpoint's part (POST /pay/notify/<channel>/ of a "paid" notice: verified and stored, one
INSERT) and the applier's part (attempts succeeded, bills paid, bill events, audit rows, ledger
transfers, results), whose statements do not grow with the number of rows in its batch.
Counted with every statement the database sees, BEGIN/COMMIT/SAVEPOINT included, once the
channels' clearing accounts and the payees' payables are open (a payee's first payment opens them)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from onecity.payments import tasks
from onecity.payments.models import Bill, ChannelNotification
from onecity.payments.services.notifications import notifications_apply
from onecity.payments.tests.support import SH, Clock, city, fast_hashing  # noqa: F401
from onecity.payments.tests.test_notifications import (
    CHANNELS,
    REPLY_OK,
    channel_keys,
    pending_attempt,
    post,
    signed,
)
from onecity.payments.tests.test_notifications import sandbox_on as sandbox_on  # noqa: F401 - autouse fixture

#: the applier, for a batch of any size: the scan for waiting rows (twice: the second finds
#: none); BEGIN; the rows; the attempts; the dedupe keys already processed; the bills (read,
#: UPDATE, event INSERT); the attempts' success; the ledger (savepoint, accounts, transfer ids,
#: INSERT, balances, release); the audit rows; the channel statuses; the rows' results; COMMIT
BATCH_BUDGET = 20

__all__ = ["channel_keys"]


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """The real time, fixed for the test: the sandboxes' certificates are valid from when they
    were made."""
    c = Clock(dt.datetime.now(SH).replace(microsecond=0))
    monkeypatch.setattr(timezone, "now", lambda: c.now)
    return c


@pytest.mark.django_db(transaction=True)
def test_the_endpoint_stores_in_one_statement_and_the_applier_takes_a_batch_in_a_fixed_number(
        city, clock, client, monkeypatch, django_assert_num_queries):  # noqa: F811
    for channel in CHANNELS:  # each channel's clearing account and the payee's payable opened
        opening = pending_attempt(city, channel)
        assert post(client, channel, *signed(channel, opening)).status_code == REPLY_OK[channel][0]
    monkeypatch.setattr(tasks, "notifications_apply_soon", lambda: None)  # the applier runs below
    attempts = [pending_attempt(city, channel) for channel in CHANNELS for _ in range(3)]
    for attempt in attempts:
        headers, body = signed(attempt.channel, attempt)
        with django_assert_num_queries(1):
            response = post(client, attempt.channel, headers, body)
        assert (response.status_code, response.content) == REPLY_OK[attempt.channel]
    assert ChannelNotification.objects.filter(result="received", verified=True).count() == len(attempts)
    with django_assert_num_queries(BATCH_BUDGET):
        assert notifications_apply() == len(attempts)
    assert [Bill.objects.get(pk=a.bill_id).paid_fen for a in attempts] == [a.amount_fen for a in attempts]
    assert sorted(ChannelNotification.objects.filter(attempt__in=attempts).values_list("result", flat=True)) \
        == ["processed"] * len(attempts)
