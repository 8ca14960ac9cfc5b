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
