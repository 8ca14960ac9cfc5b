"""Query budget of one channel notification, end to end (decision 0017, bench.payment_notify):
POST /pay/notify/<channel>/ of a "paid" notice, stored raw, verified, applied (attempt
succeeded, bill paid, bill event, audit row, ledger transfer) and answered — counted with every
statement the database sees, BEGIN/COMMIT/SAVEPOINT included, once the channel's clearing
account and the payee's payable are open (the first payment of a payee opens them)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from onecity.payments.models import Bill, ChannelNotification
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

#: the raw INSERT (autocommitted, its own transaction); the attempt read with the dedupe check;
#: BEGIN; the attempt's channel status; the notification's result; the attempt's success
#: (savepoint, its read, conditional UPDATE); the bill (lock, UPDATE, event INSERT); the ledger
#: transfer (savepoint, accounts, transfer id, INSERT, two balances, release); the audit row;
#: release; COMMIT
BUDGET = 21

__all__ = ["channel_keys"]


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """The real time, fixed for the test: the sandboxes' certificates are valid from when they
    were made."""
    c = Clock(dt.datetime.now(SH).replace(microsecond=0))
    monkeypatch.setattr(timezone, "now", lambda: c.now)
    return c


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("channel", CHANNELS)
def test_one_paid_notification_end_to_end_stays_within_its_query_budget(city, clock, client, channel,  # noqa: F811
                                                                       django_assert_max_num_queries):
    opening = pending_attempt(city, channel)
    assert post(client, channel, *signed(channel, opening)).status_code == REPLY_OK[channel][0]
    attempt = pending_attempt(city, channel)
    headers, body = signed(channel, attempt)
    with django_assert_max_num_queries(BUDGET):
        response = post(client, channel, headers, body)
    assert (response.status_code, response.content) == REPLY_OK[channel]
    assert Bill.objects.get(pk=attempt.bill_id).paid_fen == attempt.amount_fen
    assert ChannelNotification.objects.filter(attempt=attempt).values_list("result", flat=True).get() == "processed"
