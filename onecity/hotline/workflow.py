"""The work-order (工单) state machine: every state, every transition, and who may act.

Pure: no database, no settings. Services (services/cases.py ...) ask `transition_for` whether an
action is allowed in the current state for the actor's roles, then change the state with a
conditional UPDATE on that source state.

States::

    registered      登记      filed by a resident, an operator or Open311; waits for the hotline
    accepted        受理      the hotline takes it on: the overall clock starts; waits for dispatch
    rejected        不予受理   not the hotline's business (reason given)                  [final]
    answered        直接答复办结 answered on the spot, e.g. from the knowledge base         [final*]
    dispatched      派单      first-level dispatch to a city department or district; sign clock
    sub_dispatched  二级派单   the unit passed it on to one of its sub-units; sign clock restarts
    returned        退单      the unit returned it with a reason; waits for the dispatcher
    signed          签收      the holding unit accepted responsibility; handling clock starts
    in_progress     办理中    being handled
    replied         办结回复   the unit replied with the outcome; waits for the follow-up visit
    visited         回访      the resident was asked: satisfied, basically, not satisfied, unreached
    closed          结案                                                                  [final*]
    merged          合并      a duplicate, merged into another open request                [final]

    [final*]: may be reopened within HOTLINE_REOPEN_DAYS (default 15 days) after closing.

Who may act (roles; `reporter` = the resident who filed it, `system` = periodic jobs)::

    accept, reject, answer   registered (answer: also accepted)    hotline_operator, dispatcher
                                                                    (accept: also system — smart dispatch)
    merge                    registered, accepted                   hotline_operator, dispatcher
    dispatch                 accepted, returned                     dispatcher, system (smart dispatch:
                                                                    confident classifier, matrix unit)
    sub_dispatch             dispatched                             department_handler (the unit)
    return                   dispatched                             department_handler (the unit)
    sub_return               sub_dispatched → dispatched            department_handler (sub-unit)
    sign                     dispatched, sub_dispatched             department_handler (holder)
    start                    signed                                 department_handler (holder)
    reply                    signed, in_progress                    department_handler (holder)
    visit                    replied                                hotline_operator, dispatcher, reporter
    close (not "not satisfied")  visited                            hotline_operator, dispatcher,
                                                                    supervisor, system
    close ("not satisfied")  visited    supervisor only (the supervisor reviewed the reply)
    redo                     visited → in_progress                  dispatcher, supervisor
    reopen                   closed, answered → accepted            hotline_operator, dispatcher, reporter

Side actions that leave the state unchanged (events, not states)::

    classify                 registered, accepted, returned         hotline_operator, dispatcher, system
    extension_request        signed, in_progress                    department_handler (holder)
    extension_approve/refuse signed, in_progress                    dispatcher
    supervise (督办)          every open state                        supervisor
    remind (催办)             every open state                        supervisor, dispatcher,
                                                                    hotline_operator, reporter
    escalate                 accepted, returned (overall clock), dispatched, sub_dispatched
                             (sign clock), signed, in_progress (handling clock)   system

"The unit" / "holder": a department handler acts only on cases held by their own organization:
the first-level unit in `dispatched`, the sub-unit in `sub_dispatched`, and afterwards the
sub-unit when there is one, else the first-level unit (services/access.py checks this).
"""

from __future__ import annotations

from dataclasses import dataclass

from onecity.hotline.enums import Action, CaseState, HotlineRole

S = CaseState
R = HotlineRole

#: states in which a case is still being worked on
OPEN_STATES = frozenset({S.REGISTERED, S.ACCEPTED, S.DISPATCHED, S.SUB_DISPATCHED, S.RETURNED, S.SIGNED,
                         S.IN_PROGRESS, S.REPLIED, S.VISITED})
FINAL_STATES = frozenset({S.REJECTED, S.ANSWERED, S.CLOSED, S.MERGED})
#: states a department holds the case in (and may see it)
UNIT_STATES = frozenset({S.DISPATCHED, S.SUB_DISPATCHED, S.SIGNED, S.IN_PROGRESS, S.REPLIED, S.VISITED,
                         S.CLOSED})
#: states whose clocks the escalation job watches: state → clock name
CLOCKED_STATES = {S.ACCEPTED: "overall", S.RETURNED: "overall", S.DISPATCHED: "sign", S.SUB_DISPATCHED: "sign",
                  S.SIGNED: "handle", S.IN_PROGRESS: "handle"}

#: condition values for `close`
SATISFIED = "satisfied"  # any visit outcome except "not satisfied"
NOT_SATISFIED = "not_satisfied"


@dataclass(frozen=True)
class Transition:
    action: str
    source: str
    target: str | None  # None: the state does not change (a side action)
    roles: frozenset[str]
    condition: str | None = None


def _t(action, sources, target, roles, condition=None) -> list[Transition]:
    return [Transition(str(action), str(s), None if target is None else str(target),
                       frozenset(str(r) for r in roles), condition) for s in sources]


HOTLINE = (R.HOTLINE_OPERATOR, R.DISPATCHER)
HANDLER = (R.DEPARTMENT_HANDLER,)
A = Action

TRANSITIONS: tuple[Transition, ...] = tuple(
    _t(A.ACCEPT, [S.REGISTERED], S.ACCEPTED, [*HOTLINE, R.SYSTEM])
    + _t(A.REJECT, [S.REGISTERED], S.REJECTED, HOTLINE)
    + _t(A.ANSWER, [S.REGISTERED, S.ACCEPTED], S.ANSWERED, HOTLINE)
    + _t(A.MERGE, [S.REGISTERED, S.ACCEPTED], S.MERGED, HOTLINE)
    + _t(A.DISPATCH, [S.ACCEPTED, S.RETURNED], S.DISPATCHED, [R.DISPATCHER, R.SYSTEM])
    + _t(A.SUB_DISPATCH, [S.DISPATCHED], S.SUB_DISPATCHED, HANDLER)
    + _t(A.RETURN, [S.DISPATCHED], S.RETURNED, HANDLER)
    + _t(A.SUB_RETURN, [S.SUB_DISPATCHED], S.DISPATCHED, HANDLER)
    + _t(A.SIGN, [S.DISPATCHED, S.SUB_DISPATCHED], S.SIGNED, HANDLER)
    + _t(A.START, [S.SIGNED], S.IN_PROGRESS, HANDLER)
    + _t(A.REPLY, [S.SIGNED, S.IN_PROGRESS], S.REPLIED, HANDLER)
    + _t(A.VISIT, [S.REPLIED], S.VISITED, [R.HOTLINE_OPERATOR, R.DISPATCHER, R.REPORTER])
    + _t(A.CLOSE, [S.VISITED], S.CLOSED, [R.HOTLINE_OPERATOR, R.DISPATCHER, R.SUPERVISOR, R.SYSTEM],
         SATISFIED)
    + _t(A.CLOSE, [S.VISITED], S.CLOSED, [R.SUPERVISOR], NOT_SATISFIED)
    + _t(A.REDO, [S.VISITED], S.IN_PROGRESS, [R.DISPATCHER, R.SUPERVISOR])
    + _t(A.REOPEN, [S.CLOSED, S.ANSWERED], S.ACCEPTED, [R.HOTLINE_OPERATOR, R.DISPATCHER, R.REPORTER])
    # side actions
    + _t(A.CLASSIFY, [S.REGISTERED, S.ACCEPTED, S.RETURNED], None, [R.HOTLINE_OPERATOR, R.DISPATCHER, R.SYSTEM])
    + _t(A.EXTENSION_REQUEST, [S.SIGNED, S.IN_PROGRESS], None, HANDLER)
    + _t(A.EXTENSION_APPROVE, [S.SIGNED, S.IN_PROGRESS], None, [R.DISPATCHER])
    + _t(A.EXTENSION_REFUSE, [S.SIGNED, S.IN_PROGRESS], None, [R.DISPATCHER])
    + _t(A.SUPERVISE, sorted(OPEN_STATES), None, [R.SUPERVISOR])
    + _t(A.REMIND, sorted(OPEN_STATES), None, [R.SUPERVISOR, R.DISPATCHER, R.HOTLINE_OPERATOR, R.REPORTER])
    + _t(A.ESCALATE, list(CLOCKED_STATES), None, [R.SYSTEM])
)

_INDEX: dict[tuple[str, str, str | None], Transition] = {(t.action, t.source, t.condition): t for t in TRANSITIONS}
ACTIONS: frozenset[str] = frozenset(t.action for t in TRANSITIONS)


def transition_for(action: str, state: str, condition: str | None = None) -> Transition | None:
    """The transition for `action` from `state` (with `condition` for conditional ones), or None
    when the action is not possible in that state."""
    found = _INDEX.get((str(action), str(state), condition))
    if found is None and condition is not None:
        found = _INDEX.get((str(action), str(state), None))
    return found


def allowed(action: str, state: str, roles, condition: str | None = None) -> bool:
    t = transition_for(action, state, condition)
    return t is not None and bool(t.roles & {str(r) for r in roles})


def actions_for(state: str, roles, condition: str | None = None) -> list[str]:
    """The actions `roles` may take on a case in `state` (for showing buttons)."""
    roles = {str(r) for r in roles}
    seen: list[str] = []
    for t in TRANSITIONS:
        if t.source == str(state) and t.roles & roles and t.condition in (None, condition) \
                and t.action not in seen:
            seen.append(t.action)
    return seen


def close_condition(satisfaction: str) -> str:
    return NOT_SATISFIED if satisfaction == NOT_SATISFIED else SATISFIED
