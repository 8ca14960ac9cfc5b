"""Reads for the resident pages ("my requests"): only the resident's own cases, each state with a
plain sentence of what happens next, and a timeline that names units, never staff members."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.hotline import workflow
from onecity.hotline.access import access_case_by_id, acting_roles, cases_visible_to
from onecity.hotline.enums import Action, CaseState, HotlineRole, Satisfaction
from onecity.hotline.models import Attachment, Case, CaseEvent
from onecity.hotline.services.cases import reopen_window
from onecity.identity.access import is_citizen

S = CaseState
BADGES = {S.REGISTERED: "info", S.ACCEPTED: "info", S.RETURNED: "info", S.DISPATCHED: "info",
          S.SUB_DISPATCHED: "info", S.SIGNED: "info", S.IN_PROGRESS: "info", S.REPLIED: "warning",
          S.VISITED: "info", S.CLOSED: "success", S.ANSWERED: "success", S.REJECTED: "danger",
          S.MERGED: "neutral"}

#: states in which the resident is waiting for the unit: the deadline is shown
DEADLINE_STATES = frozenset({S.ACCEPTED, S.RETURNED, S.DISPATCHED, S.SUB_DISPATCHED, S.SIGNED, S.IN_PROGRESS})

#: a resident may chase (催办) a request once a day
REMIND_INTERVAL = dt.timedelta(hours=24)


@dataclass(frozen=True)
class TimelineItem:
    at: dt.datetime
    title: str
    who: str  # a unit, "12345 hotline", "You" or "" — never a staff member's name
    note: str
    is_current: bool


@dataclass(frozen=True)
class ResidentCase:
    case: Case
    state_label: str
    badge: str
    next_step: str
    deadline: dt.datetime | None
    unit_name: str


def _local(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _unit_name(case: Case) -> str:
    org = case.assigned_subunit or case.assigned_unit
    return org.display_name() if org is not None else ""


def next_step(case: Case) -> str:
    """One plain sentence: where the request is and what happens next."""
    unit = _unit_name(case) or _("the responsible department")
    due = _local(case.handle_due_at or case.due_at)
    state = case.state
    if state == S.REGISTERED:
        return _("Received. The 12345 hotline will check it and accept it, normally within one working day.")
    if state in (S.ACCEPTED, S.RETURNED):
        return _("Accepted by the 12345 hotline. It will be passed to the responsible department shortly.")
    if state in (S.DISPATCHED, S.SUB_DISPATCHED):
        if due:
            return _("Passed to %(unit)s, who will confirm receipt and handle it by %(due)s.") % {
                "unit": unit, "due": due}
        return _("Passed to %(unit)s, who will confirm receipt and handle it.") % {"unit": unit}
    if state in (S.SIGNED, S.IN_PROGRESS):
        if due:
            return _("%(unit)s is handling it and is expected to finish by %(due)s.") % {"unit": unit, "due": due}
        return _("%(unit)s is handling it.") % {"unit": unit}
    if state == S.REPLIED:
        return _("%(unit)s has replied. Please read the reply and tell us whether you are satisfied.") % {
            "unit": unit}
    if state == S.VISITED:
        if case.satisfaction == Satisfaction.NOT_SATISFIED:
            return _("Thank you. A supervisor will review your comment and decide whether it must be handled "
                     "again.")
        return _("Thank you for your rating. The hotline will close the request shortly.")
    if state == S.CLOSED:
        if case.closed_at and timezone.now() <= case.closed_at + reopen_window():
            return _("Closed. If the problem comes back, you can reopen it until %(date)s.") % {
                "date": _local(case.closed_at + reopen_window())}
        return _("Closed. If the problem comes back, please file a new request.")
    if state == S.ANSWERED:
        return _("The 12345 hotline answered it directly; see the reply below.")
    if state == S.REJECTED:
        return _("The 12345 hotline could not accept it: %(reason)s") % {"reason": case.state_reason or "—"}
    return _("Merged with another request about the same problem; it is handled there.")


def resident_case(case: Case) -> ResidentCase:
    return ResidentCase(case=case, state_label=str(CaseState(case.state).label), badge=BADGES.get(case.state, "info"),
                        next_step=next_step(case),
                        deadline=(case.handle_due_at or case.due_at) if case.state in DEADLINE_STATES else None,
                        unit_name=_unit_name(case))


def resident_case_list(*, actor) -> list[ResidentCase]:
    """The resident's own requests, newest first (nobody else's: staff get nothing here)."""
    if not is_citizen(actor):
        return []
    cases = (cases_visible_to(actor).select_related("assigned_unit", "assigned_subunit", "category")
             .order_by("-created_at", "-id"))
    return [resident_case(c) for c in cases]


def _who(event: CaseEvent, case: Case, actor) -> str:
    if event.actor_id is None:
        return _("12345 hotline") if event.action != Action.ESCALATE else ""
    if event.actor_id == actor.pk:
        return _("You")
    org = getattr(event.actor, "organization", None)
    return org.display_name() if org is not None else _("12345 hotline")


def resident_timeline(*, actor, case: Case) -> list[TimelineItem]:
    events = list(CaseEvent.objects.filter(case=case).exclude(action__in=[Action.CLASSIFY, Action.ESCALATE])
                  .select_related("actor__organization").order_by("at", "id"))
    items = []
    for i, event in enumerate(events):
        title = str(Action(event.action).label)
        note = event.note if event.action in (Action.REJECT, Action.ANSWER, Action.REPLY, Action.REOPEN,
                                              Action.VISIT, Action.REMIND) else ""
        if event.action == Action.VISIT and event.data.get("satisfaction") in Satisfaction.values:
            title = f"{title} · {Satisfaction(event.data['satisfaction']).label}"
        items.append(TimelineItem(at=event.at, title=title, who=_who(event, case, actor), note=note,
                                  is_current=i == len(events) - 1))
    return list(reversed(items))


@dataclass(frozen=True)
class ResidentCaseDetail:
    summary: ResidentCase
    timeline: list[TimelineItem]
    photos: list[Attachment]
    can_rate: bool
    can_reopen: bool
    can_remind: bool


def resident_case_detail(*, actor, case_id: str) -> ResidentCaseDetail:
    """The resident's own request (NotFound for anyone else's, and for staff)."""
    if not is_citizen(actor):
        from onecity.core.errors import NotFound

        raise NotFound()
    case = access_case_by_id(actor, case_id)
    roles = acting_roles(actor, case)
    actions = workflow.actions_for(case.state, roles, workflow.close_condition(case.satisfaction))
    can_reopen = Action.REOPEN in actions and case.closed_at is not None \
        and timezone.now() <= case.closed_at + reopen_window()
    can_remind = Action.REMIND in actions and case.state in DEADLINE_STATES and not CaseEvent.objects.filter(
        case=case, action=Action.REMIND, actor=actor, at__gt=timezone.now() - REMIND_INTERVAL).exists()
    return ResidentCaseDetail(
        summary=resident_case(case), timeline=resident_timeline(actor=actor, case=case),
        photos=list(Attachment.objects.filter(case=case)),
        can_rate=Action.VISIT in actions and str(HotlineRole.REPORTER) in roles, can_reopen=can_reopen,
        can_remind=can_remind)
