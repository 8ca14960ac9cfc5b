"""`onecity hotline ...` prints one JSON line per result."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from onecity.hotline.enums import CaseState
from onecity.hotline.tests.support import advance, at, register

pytestmark = pytest.mark.django_db


def run(*args) -> list[dict]:
    out = io.StringIO()
    call_command("hotline", *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_deadline():
    assert run("deadline", "--from", "2026-09-30T16:00", "--amount", "5", "--unit", "working_days") == [{
        "from": "2026-09-30T16:00:00+08:00", "amount": 5.0, "unit": "working_days",
        "deadline": "2026-10-13T23:59:59+08:00", "calendar_covers_deadline": True}]
    with pytest.raises(CommandError):
        run("deadline", "--from", "yesterday", "--amount", "5", "--unit", "working_days")


def test_timelimits_and_escalate(city, clock):
    assert {"category": None, "urgency": "normal", "sign": [1, "working_days"], "handle": [5, "working_days"]} \
        in run("timelimits")
    clock.set(at(2026, 11, 23, 10))
    case = advance(city, register(city), CaseState.DISPATCHED)
    clock.set(at(2026, 11, 26, 10))
    assert run("escalate") == [{"escalated": 1, "tracking_numbers": [case.tracking_number]}]
    assert run("escalate") == [{"escalated": 0, "tracking_numbers": []}]
