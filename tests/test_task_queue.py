"""The task queue (Huey) as OneCity uses it.

(a) tests run Huey in immediate mode: enqueue → delivered, in the same thread;
(b) a real consumer on a real Redis broker runs a real OneCity job (skipped when Redis does not
    answer on 127.0.0.1:6379);
(c) the same against the embedded default that needs no broker (OneCity's SqliteHuey: WAL,
    synchronous=NORMAL) on a temporary file;
(d) the periodic jobs: stuck-message recovery and the one-time-code purge;
and `onecity worker` starts the consumer with the periodic scheduler on.

No sleeps: every wait is `Result.get(blocking=True, timeout=...)` on the job's own result.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.db import connections, transaction
from django.test import override_settings
from django.utils import timezone
from huey import RedisHuey
from huey.consumer import Consumer
from huey.contrib.djhuey import HUEY

from onecity.core.crypto import lookup_hash
from onecity.core.queue import OneCitySqliteHuey
from onecity.identity.models import OneTimeCode
from onecity.notifications import tasks as notification_tasks
from onecity.notifications.enums import Channel, MessageState
from onecity.notifications.gateways import GatewayError
from onecity.notifications.models import Message
from onecity.notifications.services import MAX_ATTEMPTS, message_enqueue

PHONE = "13800138000"
REDIS_HOST, REDIS_PORT, REDIS_TEST_DB = "127.0.0.1", 6379, 13
RESULT_TIMEOUT = 20  # seconds; a generous ceiling on a shared 2-core machine, not a timing assertion


def _redis_answers() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


REDIS_UP = _redis_answers()


class FailOnceGateway:
    """Test SMS gateway: the first send of each body fails (transient), the next succeeds."""

    seen: set[str] = set()

    def send(self, *, to, subject, body):
        if body not in FailOnceGateway.seen:
            FailOnceGateway.seen.add(body)
            raise GatewayError("provider timeout")
        return f"ok-{len(FailOnceGateway.seen)}"


class ThreadConsumer(Consumer):
    """Huey's real Consumer (scheduler + worker threads), minus the process signal handlers,
    which only the main program of a worker process should install."""

    def _set_signal_handlers(self):
        pass


def _make_huey(kind: str, tmp_path) -> object:
    name = f"onecity-test-{uuid.uuid4().hex[:12]}"
    if kind == "redis":
        if not REDIS_UP:
            pytest.skip(f"Redis is not answering on {REDIS_HOST}:{REDIS_PORT}; start redis-server to run "
                        "the real-broker test")
        return RedisHuey(name, host=REDIS_HOST, port=REDIS_PORT, db=REDIS_TEST_DB, immediate=False)
    huey = OneCitySqliteHuey(name, filename=str(tmp_path / "huey.sqlite3"), immediate=False)
    # the database's durability: WAL, and NORMAL instead of Huey's flush-per-enqueue FULL
    assert huey.storage.conn.execute("pragma journal_mode").fetchone() == ("wal",)
    assert huey.storage.conn.execute("pragma synchronous").fetchone() == (1,)
    return huey


@pytest.fixture(params=["redis", "sqlite"])
def broker_huey(request, tmp_path):
    """A non-immediate Huey on a real broker with OneCity's delivery job and a pure job registered,
    and a real consumer running in threads. Yields (huey, tasks); stops the consumer and removes
    every key/row of this queue afterwards."""
    huey = _make_huey(request.param, tmp_path)

    @huey.task()
    def add(a, b):
        return a + b

    # The real job, registered on this broker: the same function `onecity worker` runs. djhuey's
    # close_db skips closing connections while the global HUEY is immediate (as in tests), so the
    # worker thread closes its own connection here, as `onecity worker` does after every job.
    job = notification_tasks.message_deliver_task.call_local

    @huey.task(name="message_deliver_task")
    def deliver(message_id):
        try:
            return job(message_id)
        finally:
            connections.close_all()

    consumer = ThreadConsumer(huey, workers=2, worker_type="thread", periodic=False, initial_delay=0.05,
                              backoff=1.15, max_delay=0.25, check_worker_health=False)
    consumer.start()
    try:
        yield huey, {"add": add, "deliver": deliver}
    finally:
        consumer.stop(graceful=True)
        huey.storage.flush_all()
        if request.param == "redis":
            assert huey.storage.queue_size() == 0
            assert huey.storage.result_store_size() == 0


# (a) ----------------------------------------------------------------------------------------

def test_tests_run_huey_in_immediate_mode_with_the_configured_backend():
    assert HUEY.immediate is True
    expected = "huey.PriorityRedisHuey" if settings.REDIS_URL else "onecity.core.queue.OneCitySqliteHuey"
    assert settings.HUEY["huey_class"] == expected


@pytest.mark.django_db
def test_immediate_mode_enqueue_then_delivered(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = message_enqueue(channel=Channel.SMS, template="notice", body="您的申请已受理", address=PHONE)
    assert len(callbacks) == 1
    message.refresh_from_db()
    assert (message.state, message.attempts, message.last_error) == (MessageState.DELIVERED, 1, "")
    assert message.provider_ref.startswith("dev-")
    # The task itself, called again, is a no-op that reports the state (idempotent).
    assert notification_tasks.message_deliver_task(message.pk).get() == MessageState.DELIVERED
    message.refresh_from_db()
    assert message.attempts == 1


@pytest.mark.django_db
def test_nothing_is_sent_when_the_callers_transaction_rolls_back(django_capture_on_commit_callbacks):
    with (django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError),
          transaction.atomic()):
        message_enqueue(channel=Channel.SMS, template="notice", body="x", address=PHONE)
        raise RuntimeError("the caller's action failed")
    assert callbacks == []  # the delivery job was never enqueued
    assert Message.objects.count() == 0


# (b) and (c) --------------------------------------------------------------------------------

def test_real_consumer_runs_a_job(broker_huey):
    huey, tasks = broker_huey
    results = [tasks["add"](i, 100) for i in range(5)]
    assert [r.get(blocking=True, timeout=RESULT_TIMEOUT) for r in results] == [100, 101, 102, 103, 104]


@pytest.mark.django_db(transaction=True)
def test_real_consumer_delivers_a_message(broker_huey):
    huey, tasks = broker_huey
    message = Message.objects.create(channel=Channel.SMS, address=PHONE, address_masked="138****8000",
                                     template="notice", body="broker delivery")
    result = tasks["deliver"](message.pk)
    assert result.get(blocking=True, timeout=RESULT_TIMEOUT) == MessageState.DELIVERED
    message.refresh_from_db()
    assert (message.state, message.attempts) == (MessageState.DELIVERED, 1)
    assert message.provider_ref.startswith("dev-")


@pytest.mark.django_db(transaction=True)
@override_settings(SMS_GATEWAY=f"{__name__}.FailOnceGateway")
def test_real_consumer_retries_a_transient_failure(broker_huey, monkeypatch):
    huey, tasks = broker_huey
    FailOnceGateway.seen = set()
    monkeypatch.setattr(notification_tasks, "retry_delay_seconds", lambda attempts: 0)  # no 30 s wait in tests
    message = Message.objects.create(channel=Channel.SMS, address=PHONE, template="notice",
                                     body=f"retry {uuid.uuid4().hex}")
    result = tasks["deliver"](message.pk)
    # Huey re-schedules the same task after RetryTask; its result arrives once the retry succeeds.
    assert result.get(blocking=True, timeout=RESULT_TIMEOUT) == MessageState.DELIVERED
    message.refresh_from_db()
    assert (message.state, message.attempts, message.provider_ref) == (MessageState.DELIVERED, 2, "ok-1")


# (d) ----------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_stuck_message_job_requeues_and_delivers(django_capture_on_commit_callbacks):
    long_ago = timezone.now() - dt.timedelta(minutes=10)
    crashed = Message.objects.create(channel=Channel.SMS, address=PHONE, template="notice", body="a",
                                     state=MessageState.SENDING, attempts=1, state_changed_at=long_ago)
    exhausted = Message.objects.create(channel=Channel.SMS, address=PHONE, template="notice", body="b",
                                       state=MessageState.SENDING, attempts=MAX_ATTEMPTS,
                                       state_changed_at=long_ago)
    in_flight = Message.objects.create(channel=Channel.SMS, address=PHONE, template="notice", body="c",
                                       state=MessageState.SENDING, attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        notification_tasks.message_requeue_stuck_task()
    states = dict(Message.objects.values_list("pk", "state"))
    assert states == {crashed.pk: MessageState.DELIVERED, exhausted.pk: MessageState.FAILED,
                      in_flight.pk: MessageState.SENDING}
    assert Message.objects.get(pk=crashed.pk).attempts == 2


@pytest.mark.django_db
def test_otp_purge_job_deletes_only_long_expired_codes():
    from onecity.identity import tasks as identity_tasks

    now = timezone.now()

    def code(expired_ago):
        return OneTimeCode.objects.create(purpose="login", phone_hash=lookup_hash(PHONE, purpose="phone"),
                                          code_hash="x" * 64, created_at=now - expired_ago - dt.timedelta(minutes=5),
                                          expires_at=now - expired_ago)

    old = code(dt.timedelta(days=2))
    recent = code(dt.timedelta(hours=2))
    live = code(-dt.timedelta(minutes=3))
    identity_tasks.otp_purge_expired_task()
    assert set(OneTimeCode.objects.values_list("pk", flat=True)) == {recent.pk, live.pk}
    assert not OneTimeCode.objects.filter(pk=old.pk).exists()
    identity_tasks.otp_purge_expired_task()  # idempotent
    assert OneTimeCode.objects.count() == 2


def test_periodic_jobs_are_registered_with_crontabs():
    from onecity.identity import tasks as identity_tasks

    periodic = {t.name for t in HUEY._registry.periodic_tasks}
    assert {"message_requeue_stuck_task", "otp_purge_expired_task"} <= periodic
    every_minute = notification_tasks.message_requeue_stuck_task.s()
    hourly = identity_tasks.otp_purge_expired_task.s()
    noon = dt.datetime(2026, 11, 23, 12, 0)
    assert every_minute.validate_datetime(noon) and every_minute.validate_datetime(noon.replace(minute=1))
    assert hourly.validate_datetime(noon.replace(minute=17))
    assert not hourly.validate_datetime(noon.replace(minute=18))


# onecity worker -------------------------------------------------------------------------------

def test_onecity_worker_starts_the_consumer_with_periodic_tasks(monkeypatch):
    from onecity import cli

    started = {}

    def fake_run(self):  # record what `onecity worker` built instead of blocking forever
        started.update(periodic=self.periodic, workers=self.workers, worker_type=self.worker_type,
                       commands=set(self.huey._registry._registry))

    monkeypatch.setattr(Consumer, "run", fake_run)
    cli.main(["worker"])
    assert started["periodic"] is True
    assert (started["workers"], started["worker_type"]) == (2, "thread")
    assert any(c.endswith("message_deliver_task") for c in started["commands"])
    assert any(c.endswith("message_requeue_stuck_task") for c in started["commands"])
    assert any(c.endswith("otp_purge_expired_task") for c in started["commands"])


@pytest.mark.parametrize(("redis_url", "expected"), [
    ("", "onecity.core.queue.OneCitySqliteHuey"),
    ("redis://127.0.0.1:6379/0", "huey.PriorityRedisHuey"),
])
def test_settings_choose_the_queue_backend(redis_url, expected, tmp_path):
    env = {**os.environ, "REDIS_URL": redis_url, "ONECITY_VAR_DIR": str(tmp_path),
           "ONECITY_HUEY_IMMEDIATE": "0", "DJANGO_SETTINGS_MODULE": "onecity.settings"}
    out = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings as s; h = s.HUEY; "
         "print(h['huey_class'], h.get('filename', h.get('url')), h['immediate'])"],
        env=env, capture_output=True, text=True, check=True, timeout=60,
    ).stdout.split()
    location = redis_url or str(tmp_path / "huey.sqlite3")
    assert out == [expected, location, "False"]


def test_worker_log_lines_go_through_the_masking_filter():
    import logging

    from onecity.core.masking import PersonalDataLogFilter

    huey_logger = logging.getLogger("huey")
    assert huey_logger.propagate is False
    console = [h for h in huey_logger.handlers if h.get_name() == "console"]
    assert len(console) == 1  # the settings' handler, so run_huey adds no unfiltered one of its own
    assert any(isinstance(f, PersonalDataLogFilter) for f in console[0].filters)
