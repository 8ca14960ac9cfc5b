"""The one way a work order changes: check visibility, the transition table and the actor's
roles, then a conditional UPDATE on the observed source state and an event row.

There is no check-then-act: two dispatchers acting on the same case at once both pass the
checks, but only one UPDATE ... WHERE state = <observed> matches; the other gets a clear
"changed meanwhile" error and its transaction rolls back.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core.bulk import insert_row, update_rows
from onecity.core.errors import ApplicationError, PermissionDenied
from onecity.hotline import workflow
from onecity.hotline.access import access_case_by_id, acting_roles
from onecity.hotline.enums import Action, CaseState
from onecity.hotline.models import Case, CaseEvent

TEXT_MAX = 500


def actor_or_none(actor):
    return actor if getattr(actor, "pk", None) else None


def event_write(*, case: Case, actor, action: str, from_state: str = "", to_state: str = "", note: str = "",
                data: dict[str, Any] | None = None, at: dt.datetime | None = None) -> CaseEvent:
    return insert_row(CaseEvent(case=case, actor=actor_or_none(actor), action=action, from_state=from_state,
                                to_state=to_state, note=note, data=data or {}, at=at or timezone.now()))


def clean_text(value: str | None, *, field: str, required: bool, message: str, max_length: int = TEXT_MAX) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ApplicationError(message, code=f"{field}_required", field=field)
    if len(value) > max_length:
        raise ApplicationError(_("This can have at most %(max)d characters.") % {"max": max_length},
                               code=f"{field}_length", field=field)
    return value


def state_error(case: Case, action: str) -> ApplicationError:
    return ApplicationError(
        _("This request is now “%(state)s”: “%(action)s” is not possible in this state.")
        % {"state": CaseState(case.state).label, "action": Action(action).label},
        code="invalid_state", status=409)


def conflict_error() -> ApplicationError:
    return ApplicationError(_("Someone else changed this request a moment ago. Please reload it and try again."),
                            code="state_conflict", status=409)


def load_for(actor, case_id: str, action: str, *, condition: str | None = None) -> tuple[Case, workflow.Transition]:
    """The case (NotFound unless visible), and the transition `action` from its state, checked
    against the actor's roles (PermissionDenied) and the state (409)."""
    case = access_case_by_id(actor, case_id)
    return case, transition_checked(actor, case, action, condition=condition)


def transition_checked(actor, case: Case, action: str, *, state: str | None = None,
                       condition: str | None = None) -> workflow.Transition:
    """The transition `action` from `state` (default: the case's state), checked against the
    state (409) and the actor's roles on the case (PermissionDenied)."""
    transition = workflow.transition_for(action, state or case.state, condition)
    if transition is None:
        raise state_error(case, action)
    if not transition.roles & acting_roles(actor, case):
        raise PermissionDenied()
    return transition


@dataclass(frozen=True)
class Step:
    """One transition of a chain applied at once (`apply_steps`)."""

    transition: workflow.Transition
    updates: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    data: dict[str, Any] | None = None


def apply_steps(*, actor, changes: list[tuple[Case, list[Step]]], now: dt.datetime) -> None:
    """Move each case of `changes` along its steps, each starting where the one before ended
    (checked here), all as one change: per set of changed columns one conditional UPDATE on the
    cases' observed states (`core.bulk.update_rows`, one executemany), and every step's event
    row, in order, with one INSERT. The case objects are updated in memory (no reload). Raises
    the "changed meanwhile" error when a case left its observed state (the caller's transaction
    then rolls back, so no case of the batch changes)."""
    by_columns: dict[tuple[str, ...], list[tuple[Case, dict[str, Any]]]] = defaultdict(list)
    events = []
    for case, steps in changes:
        state = case.state
        fields: dict[str, Any] = {"updated_at": now}
        for step in steps:
            if step.transition.source != state:
                raise ValueError(f"{step.transition.action} does not start from {state}")
            fields.update(step.updates)
            events.append(CaseEvent(case=case, actor=actor_or_none(actor), action=step.transition.action,
                                    from_state=state, to_state=step.transition.target or "", note=step.note,
                                    data=step.data or {}, at=now))
            if step.transition.target is not None:
                state = step.transition.target
                fields.update(state=state, state_entered_at=now)
        by_columns[tuple(fields)].append((case, fields))
    for columns, members in by_columns.items():
        rows = [(case.pk, *fields.values(), case.state) for case, fields in members]
        if update_rows(Case, columns, rows, where=("state",)) != len(rows):
            raise conflict_error()
    CaseEvent.objects.bulk_create(events)
    for members in by_columns.values():
        for case, fields in members:
            for name, value in fields.items():
                setattr(case, name, value)


def apply(*, actor, case: Case, transition: workflow.Transition, updates: dict[str, Any] | None = None,
          note: str = "", data: dict[str, Any] | None = None, now: dt.datetime | None = None) -> Case:
    """Move `case` along `transition` with a conditional UPDATE on its observed state, write
    the event, and return the case as stored."""
    now = now or timezone.now()
    fields: dict[str, Any] = {"updated_at": now, **(updates or {})}
    if transition.target is not None:
        fields.update(state=transition.target, state_entered_at=now)
    changed = Case.objects.filter(pk=case.pk, state=case.state).update(**fields)
    if not changed:
        raise conflict_error()
    from_state = case.state
    case.refresh_from_db()
    event_write(case=case, actor=actor, action=transition.action, from_state=from_state,
                to_state=transition.target or "", note=note, data=data, at=now)
    return case
