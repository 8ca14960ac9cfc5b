"""Overdue work orders: flag each overdue clock once and escalate it to the supervisors.

Clocks watched (workflow.CLOCKED_STATES): the overall deadline while the hotline holds the case
(accepted, returned), the sign deadline while a unit has not signed (dispatched,
sub_dispatched), the handling deadline while it is being handled (signed, in_progress).
One Escalation row per (case, clock, state, deadline) under a unique constraint makes the job
idempotent: running it again, or two workers at once, escalates nothing twice. A deadline that
moves (extension, re-dispatch, redo) is a new clock and is escalated again when it passes.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.hotline.enums import Action, CaseState, Clock
from onecity.hotline.models import Case, Escalation
from onecity.hotline.services import notify
from onecity.hotline.services.base import event_write

logger = logging.getLogger(__name__)

S = CaseState
CLOCK_FIELDS = {Clock.OVERALL: "due_at", Clock.SIGN: "sign_due_at", Clock.HANDLE: "handle_due_at"}
CLOCK_STATES = {
    Clock.OVERALL: (S.ACCEPTED, S.RETURNED),
    Clock.SIGN: (S.DISPATCHED, S.SUB_DISPATCHED),
    Clock.HANDLE: (S.SIGNED, S.IN_PROGRESS),
}
BATCH = 500


@dataclass
class EscalationResult:
    escalated: list[str] = field(default_factory=list)  # tracking numbers newly escalated


def overdue_cases(now: dt.datetime):
    condition = Q()
    for clock, states in CLOCK_STATES.items():
        condition |= Q(state__in=states, **{f"{CLOCK_FIELDS[clock]}__lt": now})
    return Case.objects.filter(condition).order_by("pk")


def _clock_of(state: str) -> str:
    return next(clock for clock, states in CLOCK_STATES.items() if state in states)


@transaction.atomic
def _escalate_one(case: Case, now: dt.datetime, supervisors: list) -> bool:
    clock = _clock_of(case.state)
    due = getattr(case, CLOCK_FIELDS[clock])
    try:
        with transaction.atomic():
            Escalation.objects.create(case=case, clock=clock, state=case.state, due_at=due, unit_id=case.holder_id,
                                      at=now)
    except IntegrityError:
        return False
    event_write(case=case, actor=None, action=Action.ESCALATE, at=now,
                data={"clock": clock, "state": case.state, "due_at": due.isoformat()})
    local_due = timezone.localtime(due).strftime("%Y-%m-%d %H:%M")
    clock_label = Clock(clock).label
    notify.in_app(supervisors, template="hotline.overdue", build=lambda: (
        _("Overdue: %(number)s") % {"number": case.tracking_number},
        _("“%(title)s” passed its %(clock)s deadline (%(due)s).")
        % {"title": case.title, "clock": str(clock_label).lower(), "due": local_due}))
    notify.in_app(notify.unit_handlers(case.holder_id), template="hotline.overdue", build=lambda: (
        _("Overdue: %(number)s") % {"number": case.tracking_number},
        _("“%(title)s” passed its %(clock)s deadline (%(due)s). It has been reported to the supervisors.")
        % {"title": case.title, "clock": str(clock_label).lower(), "due": local_due}))
    return True


def case_escalate_overdue(*, now: dt.datetime | None = None) -> EscalationResult:
    """Escalate every overdue clock not escalated yet (one transaction per case)."""
    now = now or timezone.now()
    result = EscalationResult()
    supervisors = notify.staff_with_role("supervisor")
    for case in overdue_cases(now).iterator(chunk_size=BATCH):
        if _escalate_one(case, now, supervisors):
            result.escalated.append(case.tracking_number)
    if result.escalated:
        logger.info("hotline: %s overdue request(s) escalated", len(result.escalated))
    return result
