"""core.queue.queue_unless_queued / run_starting: one run queued at a time, however many
commits ask for one; the run clears the flag first, so work committed later queues the next."""

from __future__ import annotations

import pytest
from huey.contrib.djhuey import HUEY

from onecity.core.queue import queue_unless_queued, run_starting

FLAG = "tests:core:one-run"


@pytest.fixture
def runs():
    HUEY.get(FLAG)  # whatever an earlier test left
    queued = []
    yield queued
    HUEY.get(FLAG)


def test_a_storm_of_requests_queues_one_run(runs):
    for _ in range(5):
        queue_unless_queued(FLAG, lambda: runs.append("run"))
    assert runs == ["run"]
    assert HUEY.get(FLAG, peek=True) == "1"


def test_once_the_run_starts_the_next_request_queues_another(runs):
    queue_unless_queued(FLAG, lambda: runs.append("first"))
    run_starting(FLAG)
    assert HUEY.get(FLAG, peek=True) is None
    queue_unless_queued(FLAG, lambda: runs.append("second"))
    queue_unless_queued(FLAG, lambda: runs.append("third"))
    assert runs == ["first", "second"]


def test_a_run_waits_the_batching_window_with_the_flag_still_set(runs, monkeypatch, settings):
    """Work committed during the window finds the flag set, queues nothing, and is this run's."""
    settings.QUEUE_BATCH_LINGER_MS = 250
    waits = []
    monkeypatch.setattr("onecity.core.queue.time.sleep", lambda seconds: (
        waits.append(seconds), queue_unless_queued(FLAG, lambda: runs.append("during the window"))))
    monkeypatch.setattr(HUEY, "_immediate", False)  # a consumer's run (the storage stays as it is)
    queue_unless_queued(FLAG, lambda: runs.append("first"))
    run_starting(FLAG)
    assert waits == [0.25]
    assert runs == ["first"]
    assert HUEY.get(FLAG, peek=True) is None


def test_no_window_when_tasks_run_inline_or_it_is_zero(runs, monkeypatch, settings):
    monkeypatch.setattr("onecity.core.queue.time.sleep", lambda seconds: runs.append(seconds))
    run_starting(FLAG)  # the test queue runs tasks inline
    settings.QUEUE_BATCH_LINGER_MS = 0
    monkeypatch.setattr(HUEY, "_immediate", False)
    run_starting(FLAG)
    assert runs == []
