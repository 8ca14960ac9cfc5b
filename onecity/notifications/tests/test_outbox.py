"""The outbox service: enqueue, deliver, retry, fail, recover stuck messages."""

import datetime as dt
import logging

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.utils import timezone

from onecity.core.crypto import lookup_hash
from onecity.core.errors import ApplicationError, NotFound
from onecity.notifications import gateways
from onecity.notifications.enums import Channel, MessageState
from onecity.notifications.models import Message
from onecity.notifications.services import (
    MAX_ATTEMPTS,
    message_deliver,
    message_enqueue,
    message_mark_all_read,
    message_mark_read,
    message_requeue_stuck,
    retry_delay_seconds,
)

PHONE = "13800138000"


class FlakyGateway:
    """Test double: fails the first `failures` sends with a transient error."""

    failures = 0
    sent: list = []

    def send(self, *, to, subject, body):
        if FlakyGateway.failures > 0:
            FlakyGateway.failures -= 1
            raise gateways.GatewayError(f"timeout talking to provider for {to}")
        FlakyGateway.sent.append((to, body))
        return f"flaky-{len(FlakyGateway.sent)}"


class RejectingGateway:
    def send(self, *, to, subject, body):
        raise gateways.GatewayError("number not in service", permanent=True)


FLAKY = "onecity.notifications.tests.test_outbox.FlakyGateway"
REJECTING = "onecity.notifications.tests.test_outbox.RejectingGateway"


@pytest.fixture(autouse=True)
def _reset_flaky():
    FlakyGateway.failures = 0
    FlakyGateway.sent = []


def make_user(name="alice"):
    return get_user_model().objects.create_user(username=name, password="pw-" + name + "-123456")


@pytest.mark.django_db
def test_sms_enqueue_is_delivered_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = message_enqueue(channel=Channel.SMS, template="otp_login", body="code 123456",
                                  address="+86 138-0013-8000")
        assert Message.objects.get(pk=message.pk).state == MessageState.QUEUED
    assert len(callbacks) == 1
    message.refresh_from_db()
    assert message.state == MessageState.DELIVERED
    assert message.attempts == 1
    assert message.address == PHONE
    assert message.address_masked == "138****8000"
    assert message.address_hash == lookup_hash(PHONE, purpose="phone")
    assert message.provider_ref.startswith("dev-")
    assert message.sent_at is not None
    assert message.last_error == ""


@pytest.mark.django_db
def test_in_app_message_is_delivered_at_once_without_a_job(django_capture_on_commit_callbacks):
    user = make_user()
    with django_capture_on_commit_callbacks() as callbacks:
        message = message_enqueue(channel=Channel.IN_APP, template="notice", body="Hello", recipient=user)
    assert callbacks == []
    assert message.state == MessageState.DELIVERED
    assert message.attempts == 0
    assert message.read_at is None


@pytest.mark.django_db
@pytest.mark.parametrize(("kwargs", "code"), [
    ({"channel": Channel.SMS, "address": "12345"}, "phone_format"),
    ({"channel": Channel.EMAIL, "address": "not-an-address"}, "message_address"),
    ({"channel": Channel.IN_APP}, "message_recipient"),
    ({"channel": "pigeon", "address": PHONE}, "message_channel"),
])
def test_enqueue_rejects_bad_input_and_writes_nothing(kwargs, code):
    with pytest.raises(ApplicationError) as excinfo:
        message_enqueue(template="t", body="b", **kwargs)
    assert excinfo.value.code == code
    assert Message.objects.count() == 0


@pytest.mark.django_db
@override_settings(SMS_GATEWAY=FLAKY)
def test_transient_failure_requeues_then_delivers(caplog):
    FlakyGateway.failures = 1
    with caplog.at_level(logging.INFO, logger="onecity.notifications.services"):
        message = Message.objects.create(channel=Channel.SMS, address=PHONE, address_masked="138****8000",
                                         template="otp_login", body="code 654321")
        first = message_deliver(message_id=message.pk)
        assert (first.state, first.attempts) == (MessageState.QUEUED, 1)
        assert first.last_error == "timeout talking to provider for 138****8000"
        second = message_deliver(message_id=message.pk)
    assert (second.state, second.attempts, second.last_error) == (MessageState.DELIVERED, 2, "")
    assert second.provider_ref == "flaky-1"
    assert FlakyGateway.sent == [(PHONE, "code 654321")]
    assert PHONE not in caplog.text
    assert "654321" not in caplog.text
    assert "138****8000" in caplog.text


@pytest.mark.django_db
@override_settings(SMS_GATEWAY=FLAKY)
def test_attempts_run_out_then_failed():
    FlakyGateway.failures = MAX_ATTEMPTS + 3
    message = Message.objects.create(channel=Channel.SMS, address=PHONE, template="t", body="b")
    states = [message_deliver(message_id=message.pk).state for _ in range(MAX_ATTEMPTS + 2)]
    assert states == [MessageState.QUEUED] * (MAX_ATTEMPTS - 1) + [MessageState.FAILED] * 3
    message.refresh_from_db()
    assert message.attempts == MAX_ATTEMPTS
    assert FlakyGateway.failures == 3  # the failed message was not sent again


@pytest.mark.django_db
@override_settings(SMS_GATEWAY=REJECTING)
def test_permanent_failure_fails_at_once():
    message = Message.objects.create(channel=Channel.SMS, address=PHONE, template="t", body="b")
    result = message_deliver(message_id=message.pk)
    assert (result.state, result.attempts, result.last_error) == (MessageState.FAILED, 1, "number not in service")


@pytest.mark.django_db
def test_deliver_is_idempotent():
    message = Message.objects.create(channel=Channel.SMS, address=PHONE, template="t", body="b")
    first = message_deliver(message_id=message.pk)
    again = message_deliver(message_id=message.pk)
    assert (again.state, again.attempts, again.provider_ref) == (MessageState.DELIVERED, 1, first.provider_ref)
    assert message_deliver(message_id=10**9) is None


def test_retry_back_off():
    assert [retry_delay_seconds(n) for n in range(1, 5)] == [30, 60, 120, 240]


@pytest.mark.django_db
def test_requeue_stuck(django_capture_on_commit_callbacks):
    now = timezone.now()
    old = now - dt.timedelta(minutes=6)

    def make(state, attempts, changed):
        return Message.objects.create(channel=Channel.SMS, address=PHONE, template="t", body="b", state=state,
                                      attempts=attempts, state_changed_at=changed)

    crashed = make(MessageState.SENDING, 1, old)
    lost = make(MessageState.QUEUED, 0, old)
    exhausted = make(MessageState.SENDING, MAX_ATTEMPTS, old)
    fresh = make(MessageState.SENDING, 1, now - dt.timedelta(minutes=1))
    done = make(MessageState.DELIVERED, 1, old)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = message_requeue_stuck()
    assert sorted(result.requeued) == sorted([crashed.pk, lost.pk])
    assert result.failed == [exhausted.pk]
    assert len(callbacks) == 2
    got = {m.pk: (m.state, m.attempts) for m in Message.objects.all()}
    assert got == {
        crashed.pk: (MessageState.DELIVERED, 2),
        lost.pk: (MessageState.DELIVERED, 1),
        exhausted.pk: (MessageState.FAILED, MAX_ATTEMPTS),
        fresh.pk: (MessageState.SENDING, 1),
        done.pk: (MessageState.DELIVERED, 1),
    }
    assert Message.objects.get(pk=exhausted.pk).last_error == "delivery did not finish after the last attempt"
    again = message_requeue_stuck()
    assert (again.requeued, again.failed) == ([], [])


@pytest.mark.django_db
def test_mark_read_only_own_messages():
    alice, bob = make_user("alice"), make_user("bob")
    mine = message_enqueue(channel=Channel.IN_APP, template="n", body="a", recipient=alice)
    other = message_enqueue(channel=Channel.IN_APP, template="n", body="b", recipient=bob)
    assert message_mark_read(actor=alice, message=mine) is True
    assert message_mark_read(actor=alice, message=mine) is False
    with pytest.raises(NotFound):
        message_mark_read(actor=alice, message=other)
    other.refresh_from_db()
    assert other.read_at is None
    message_enqueue(channel=Channel.IN_APP, template="n", body="c", recipient=alice)
    assert message_mark_all_read(actor=alice) == 1
    assert Message.objects.filter(recipient=bob, read_at__isnull=True).count() == 1
