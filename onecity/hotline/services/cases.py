"""One service per work-order transition (workflow.py lists the states and who may act).

Each service: `@transaction.atomic`; visibility (NotFound), transition and role checks and the
conditional UPDATE in services/base.py; an event row; deadlines from deadlines.py; messages
after commit (services/notify.py). Arguments are keyword-only; `case_id` is the public id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core.errors import ApplicationError, NotFound
from onecity.hotline import reference, workflow
from onecity.hotline.access import access_case_by_id
from onecity.hotline.deadlines import time_limit_for
from onecity.hotline.enums import Action, CaseState, Satisfaction, Urgency
from onecity.hotline.models import Case, Category
from onecity.hotline.services import notify
from onecity.hotline.services.base import (
    Step,
    apply,
    apply_steps,
    clean_text,
    event_write,
    load_for,
    transition_checked,
)
from onecity.identity.enums import OrganizationKind

FIRST_LEVEL_KINDS = frozenset({OrganizationKind.DEPARTMENT, OrganizationKind.DISTRICT})


def reopen_window() -> dt.timedelta:
    return dt.timedelta(days=int(getattr(settings, "HOTLINE_REOPEN_DAYS", 15)))


def _category(code: str | None) -> Category | None:
    """The active category `code` names (from the per-process reference data)."""
    if not code:
        return None
    category = reference.active_category(code)
    if category is None:
        raise ApplicationError(_("Please choose an active category."), code="category_invalid", field="category")
    return category


def _code_of(category_id: int | None) -> str:
    category = reference.category_by_id(category_id)
    return category.code if category is not None else ""


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _first_level_unit_checked(unit) -> None:
    """A case is dispatched (first level) to an active city department or district government."""
    if getattr(unit, "pk", None) is None or unit.kind not in FIRST_LEVEL_KINDS or not unit.is_active:
        raise ApplicationError(_("Please choose the city department or district that should handle this."),
                               code="unit_invalid", field="unit")


def _accepted_text(case: Case, due: dt.datetime):
    """The resident's SMS on acceptance, as a `build` for services/notify.py."""
    return lambda: ("", _("[12345] Your request %(number)s has been accepted. We will reply by %(due)s.")
                    % {"number": case.tracking_number, "due": _local(due)})


def _dispatched_text(case: Case, sign_due: dt.datetime):
    """The message telling a unit's handlers that `case` is theirs to sign for, as a `build`."""
    return lambda: (_("New hotline request %(number)s") % {"number": case.tracking_number},
                    _("“%(title)s” was dispatched to your unit. Please sign for it by %(due)s.")
                    % {"title": case.title, "due": _local(sign_due)})


@transaction.atomic
def case_accept(*, actor, case_id: str, urgency: str | None = None, category_code: str | None = None) -> Case:
    """登记 → 受理: the overall clock starts (acceptance + sign limit + handle limit)."""
    case, transition = load_for(actor, case_id, Action.ACCEPT)
    category = _category(category_code)
    category_id = category.pk if category else case.category_id
    urgency = urgency or case.urgency
    if urgency not in Urgency.values:
        raise ApplicationError(_("Please choose the urgency."), code="urgency_invalid", field="urgency")
    now = timezone.now()
    due = time_limit_for(category_id=category_id, urgency=urgency).overall_deadline(now)
    case = apply(actor=actor, case=case, transition=transition, now=now,
                 updates={"accepted_at": now, "due_at": due, "urgency": urgency, "category_id": category_id},
                 data={"due_at": due.isoformat()})
    notify.sms_reporter(case, template="hotline.accepted", build=_accepted_text(case, due))
    return case


@transaction.atomic
def case_reject(*, actor, case_id: str, reason: str) -> Case:
    """登记 → 不予受理, with the reason the resident is told."""
    case, transition = load_for(actor, case_id, Action.REJECT)
    reason = clean_text(reason, field="reason", required=True,
                        message=_("Please give the reason the request is not accepted."))
    now = timezone.now()
    case = apply(actor=actor, case=case, transition=transition, now=now, note=reason,
                 updates={"state_reason": reason, "closed_at": now})
    notify.sms_reporter(case, template="hotline.rejected", build=lambda: ("", _(
        "[12345] Your request %(number)s was not accepted: %(reason)s")
        % {"number": case.tracking_number, "reason": reason}))
    return case


@transaction.atomic
def case_answer(*, actor, case_id: str, answer: str) -> Case:
    """登记/受理 → 直接答复办结: answered on the spot (e.g. from the knowledge base)."""
    case, transition = load_for(actor, case_id, Action.ANSWER)
    answer = clean_text(answer, field="answer", required=True, max_length=2000,
                        message=_("Please write the answer given to the resident."))
    now = timezone.now()
    case = apply(actor=actor, case=case, transition=transition, now=now, note=answer,
                 updates={"reply": answer, "replied_at": now, "closed_at": now})
    notify.sms_reporter(case, template="hotline.answered", build=lambda: ("", _(
        "[12345] Your request %(number)s has been answered: %(answer)s")
        % {"number": case.tracking_number, "answer": answer[:200]}))
    return case


@transaction.atomic
def case_classify(*, actor, case_id: str, category_code: str, confidence: float | None = None,
                  suggestions: list[dict] | None = None) -> Case:
    """Set the category (a dispatcher's choice, or the classifier's with its confidence and top
    suggestions). The state does not change."""
    case, transition = load_for(actor, case_id, Action.CLASSIFY)
    category = _category(category_code)
    if category is None:
        raise ApplicationError(_("Please choose an active category."), code="category_invalid", field="category")
    updates = {"category_id": category.pk}
    if confidence is not None:
        if not 0.0 <= float(confidence) <= 1.0:
            raise ApplicationError(_("A confidence is between 0 and 1."), code="confidence_invalid")
        updates.update(classifier_confidence=float(confidence), classifier_suggestions=list(suggestions or []))
    return apply(actor=actor, case=case, transition=transition, updates=updates,
                 data={"category": category.code, "previous": _code_of(case.category_id), "confidence": confidence})


@dataclass(frozen=True)
class Reading:
    """The classifier's reading of one registered case, as smart dispatch applies it: the
    category with its confidence and suggestions and, when `unit` is given, acceptance and
    dispatch to that unit with `note`."""

    case: Case
    category_code: str
    confidence: float
    suggestions: list[dict]
    unit: Any = None  # an active first-level Organization, or None
    note: str = ""


@transaction.atomic(savepoint=False)  # inside smart dispatch's transaction: no savepoint of its own
def cases_classify_and_dispatch(*, actor, readings: list[Reading]) -> None:
    """Smart dispatch of a batch of registered cases as one change: for each, `classify` with the
    classifier's confidence and suggestions and, when its reading names a unit, `accept` and
    `dispatch` to it (services/base.py `apply_steps`: one conditional UPDATE per set of changed
    columns, every event row with one INSERT); the residents' SMS and the units' messages go into
    the outbox with one INSERT, the units' handlers found with one query. Each case is no longer
    awaiting the classifier. The cases are updated in memory.

    Every check of `case_classify`, `case_accept` and `case_dispatch` holds: each step's
    transition from the state the step before left (409), the actor's roles on it, an active
    category, a confidence between 0 and 1, an active first-level unit; the deadlines are the
    ones those services set (the overall clock from acceptance, the sign clock from dispatch).
    One failed check fails the whole batch."""
    now = timezone.now()
    changes, dispatched = [], []
    for reading in readings:
        case, unit = reading.case, reading.unit
        category = _category(reading.category_code)
        if category is None:
            raise ApplicationError(_("Please choose an active category."), code="category_invalid",
                                   field="category")
        confidence = reading.confidence
        if not 0.0 <= float(confidence) <= 1.0:
            raise ApplicationError(_("A confidence is between 0 and 1."), code="confidence_invalid")
        classify = transition_checked(actor, case, Action.CLASSIFY)
        steps = [Step(classify, updates={"awaiting_classifier": False, "category_id": category.pk,
                                         "classifier_confidence": float(confidence),
                                         "classifier_suggestions": list(reading.suggestions or [])},
                      data={"category": category.code, "previous": _code_of(case.category_id),
                            "confidence": confidence})]
        if unit is not None:
            accept = transition_checked(actor, case, Action.ACCEPT)
            dispatch = transition_checked(actor, case, Action.DISPATCH, state=accept.target)
            _first_level_unit_checked(unit)
            if case.urgency not in Urgency.values:
                raise ApplicationError(_("Please choose the urgency."), code="urgency_invalid", field="urgency")
            limit = time_limit_for(category_id=category.pk, urgency=case.urgency)
            due, sign_due = limit.overall_deadline(now), limit.sign_deadline(now)
            steps += [
                Step(accept, updates={"accepted_at": now, "due_at": due, "urgency": case.urgency},
                     data={"due_at": due.isoformat()}),
                Step(dispatch, note=clean_text(reading.note, field="note", required=False, message=""),
                     updates={"assigned_unit_id": unit.pk, "assigned_subunit_id": None, "dispatched_at": now,
                              "sign_due_at": sign_due, "handle_due_at": None, "state_reason": ""},
                     data={"unit": unit.public_id, "sign_due_at": sign_due.isoformat()}),
            ]
            dispatched.append((case, unit, due, sign_due))
        changes.append((case, steps))
    apply_steps(actor=actor, changes=changes, now=now)
    if not dispatched:
        return
    handlers = notify.units_handlers({unit.pk for _case, unit, _due, _sign_due in dispatched})
    notify.send_with_change([
        message for case, unit, due, sign_due in dispatched
        for message in (notify.sms_to_reporter(case, template="hotline.accepted", build=_accepted_text(case, due)),
                        *notify.in_app_to(handlers.get(unit.pk, []), template="hotline.dispatched",
                                          build=_dispatched_text(case, sign_due)))])


@transaction.atomic
def case_dispatch(*, actor, case_id: str, unit, category_code: str | None = None, note: str = "") -> Case:
    """受理/退单 → 派单: first-level dispatch to a city department or a district government.
    The sign clock starts; the overall deadline is refined once, at the first dispatch."""
    case, transition = load_for(actor, case_id, Action.DISPATCH)
    _first_level_unit_checked(unit)
    category = _category(category_code)
    category_id = category.pk if category else case.category_id
    if category_id is None:
        raise ApplicationError(_("Please choose the category before dispatching."), code="category_required",
                               field="category")
    note = clean_text(note, field="note", required=False, message="")
    now = timezone.now()
    limit = time_limit_for(category_id=category_id, urgency=case.urgency)
    sign_due = limit.sign_deadline(now)
    updates = {"assigned_unit_id": unit.pk, "assigned_subunit_id": None, "category_id": category_id,
               "dispatched_at": now, "sign_due_at": sign_due, "handle_due_at": None, "state_reason": ""}
    if case.dispatched_at is None and case.accepted_at is not None:
        updates["due_at"] = limit.overall_deadline(case.accepted_at)
    case = apply(actor=actor, case=case, transition=transition, now=now, note=note, updates=updates,
                 data={"unit": unit.public_id, "sign_due_at": sign_due.isoformat()})
    notify.in_app(notify.unit_handlers(unit.pk), template="hotline.dispatched", build=_dispatched_text(case, sign_due))
    return case


@transaction.atomic
def case_sub_dispatch(*, actor, case_id: str, subunit, note: str = "") -> Case:
    """派单 → 二级派单: the first-level unit passes the case to one of its sub-units; the sign
    clock restarts for the sub-unit."""
    case, transition = load_for(actor, case_id, Action.SUB_DISPATCH)
    if subunit is None or getattr(subunit, "pk", None) is None or subunit.parent_id != case.assigned_unit_id \
            or not subunit.is_active:
        raise ApplicationError(_("Please choose one of your unit's sub-units."), code="subunit_invalid",
                               field="subunit")
    note = clean_text(note, field="note", required=False, message="")
    now = timezone.now()
    sign_due = time_limit_for(category_id=case.category_id, urgency=case.urgency).sign_deadline(now)
    case = apply(actor=actor, case=case, transition=transition, now=now, note=note,
                 updates={"assigned_subunit_id": subunit.pk, "sign_due_at": sign_due},
                 data={"subunit": subunit.public_id, "sign_due_at": sign_due.isoformat()})
    notify.in_app(notify.unit_handlers(subunit.pk), template="hotline.dispatched",
                  build=_dispatched_text(case, sign_due))
    return case


@transaction.atomic
def case_return(*, actor, case_id: str, reason: str) -> Case:
    """退单. From the first-level unit (派单 → 退单): back to the dispatcher, who re-dispatches.
    From a sub-unit (二级派单 → 派单): back to its first-level unit, whose sign clock restarts."""
    case = access_case_by_id(actor, case_id)
    action = Action.SUB_RETURN if case.state == CaseState.SUB_DISPATCHED else Action.RETURN
    case, transition = load_for(actor, case_id, action)
    reason = clean_text(reason, field="reason", required=True,
                        message=_("Please say why your unit is returning this request."))
    now = timezone.now()
    returning = case.holder_id
    if action == Action.SUB_RETURN:
        sign_due = time_limit_for(category_id=case.category_id, urgency=case.urgency).sign_deadline(now)
        case = apply(actor=actor, case=case, transition=transition, now=now, note=reason,
                     updates={"assigned_subunit_id": None, "sign_due_at": sign_due, "state_reason": reason},
                     data={"unit": returning})
        recipients = notify.unit_handlers(case.assigned_unit_id)
    else:
        case = apply(actor=actor, case=case, transition=transition, now=now, note=reason,
                     updates={"assigned_unit_id": None, "assigned_subunit_id": None, "sign_due_at": None,
                              "state_reason": reason},
                     data={"unit": returning})
        recipients = notify.dispatchers_of(case)
    notify.in_app(recipients, template="hotline.returned", build=lambda: (
        _("Request %(number)s was returned") % {"number": case.tracking_number},
        _("Reason: %(reason)s") % {"reason": reason}))
    return case


@transaction.atomic
def case_sign(*, actor, case_id: str) -> Case:
    """派单/二级派单 → 签收: the holding unit takes responsibility; the handling clock starts."""
    case, transition = load_for(actor, case_id, Action.SIGN)
    now = timezone.now()
    handle_due = time_limit_for(category_id=case.category_id, urgency=case.urgency).handle_deadline(now)
    return apply(actor=actor, case=case, transition=transition, now=now,
                 updates={"signed_at": now, "handle_due_at": handle_due},
                 data={"handle_due_at": handle_due.isoformat(), "late": bool(case.sign_due_at and now > case.sign_due_at)})


@transaction.atomic
def case_start(*, actor, case_id: str, note: str = "") -> Case:
    """签收 → 办理."""
    case, transition = load_for(actor, case_id, Action.START)
    note = clean_text(note, field="note", required=False, message="")
    return apply(actor=actor, case=case, transition=transition, note=note)


@transaction.atomic
def case_reply(*, actor, case_id: str, reply: str) -> Case:
    """签收/办理 → 办结回复: the unit reports the outcome; the resident is told."""
    case, transition = load_for(actor, case_id, Action.REPLY)
    reply = clean_text(reply, field="reply", required=True, max_length=2000,
                       message=_("Please write the outcome for the resident."))
    now = timezone.now()
    case = apply(actor=actor, case=case, transition=transition, now=now, note=reply,
                 updates={"reply": reply, "replied_at": now},
                 data={"late": bool(case.handle_due_at and now > case.handle_due_at)})
    notify.sms_reporter(case, template="hotline.replied", build=lambda: ("", _(
        "[12345] Your request %(number)s has been handled: %(reply)s We will call you to ask whether you are "
        "satisfied.") % {"number": case.tracking_number, "reply": reply[:200]}))
    return case


@transaction.atomic
def case_visit(*, actor, case_id: str, satisfaction: str, note: str = "") -> Case:
    """办结回复 → 回访: the resident's verdict (by an operator's call, or the resident in the portal)."""
    case, transition = load_for(actor, case_id, Action.VISIT)
    if satisfaction not in Satisfaction.values:
        raise ApplicationError(_("Please choose how satisfied the resident is."), code="satisfaction_invalid",
                               field="satisfaction")
    note = clean_text(note, field="note", required=False, message="")
    case = apply(actor=actor, case=case, transition=transition, note=note,
                 updates={"satisfaction": satisfaction, "satisfaction_note": note},
                 data={"satisfaction": satisfaction})
    if satisfaction == Satisfaction.NOT_SATISFIED:
        notify.in_app(notify.staff_with_role("supervisor"), template="hotline.not_satisfied", build=lambda: (
            _("Resident not satisfied: %(number)s") % {"number": case.tracking_number},
            _("Please review the reply and decide: close it or send it back to be handled again.")))
    return case


@transaction.atomic
def case_close(*, actor, case_id: str, note: str = "") -> Case:
    """回访 → 结案. When the resident was not satisfied only a supervisor may close (after review)."""
    case = access_case_by_id(actor, case_id)
    case, transition = load_for(actor, case_id, Action.CLOSE, condition=workflow.close_condition(case.satisfaction))
    note = clean_text(note, field="note", required=False, message="")
    now = timezone.now()
    case = apply(actor=actor, case=case, transition=transition, now=now, note=note, updates={"closed_at": now})
    notify.sms_reporter(case, template="hotline.closed", build=lambda: ("", _(
        "[12345] Your request %(number)s is closed. Thank you. If the problem comes back, you can reopen it "
        "within %(days)d days.") % {"number": case.tracking_number, "days": reopen_window().days}))
    return case


@transaction.atomic
def case_redo(*, actor, case_id: str, reason: str) -> Case:
    """回访 → 办理 (重办): the same unit handles it again with a fresh handling clock; the overall
    deadline stays."""
    case, transition = load_for(actor, case_id, Action.REDO)
    reason = clean_text(reason, field="reason", required=True,
                        message=_("Please say what must be done again."))
    now = timezone.now()
    handle_due = time_limit_for(category_id=case.category_id, urgency=case.urgency).handle_deadline(now)
    case = apply(actor=actor, case=case, transition=transition, now=now, note=reason,
                 updates={"handle_due_at": handle_due, "redo_count": F("redo_count") + 1, "satisfaction": "",
                          "satisfaction_note": "", "replied_at": None},
                 data={"handle_due_at": handle_due.isoformat(), "previous_satisfaction": case.satisfaction})
    notify.in_app(notify.unit_handlers(case.holder_id), template="hotline.redo", build=lambda: (
        _("Request %(number)s must be handled again") % {"number": case.tracking_number},
        _("%(reason)s Please reply by %(due)s.") % {"reason": reason, "due": _local(handle_due)}))
    return case


@transaction.atomic
def case_reopen(*, actor, case_id: str, reason: str) -> Case:
    """结案/直接答复办结 → 受理, within the reopen window after closing. The case goes back to the
    dispatchers; the overall deadline (anchored at the first acceptance) does not restart."""
    case, transition = load_for(actor, case_id, Action.REOPEN)
    now = timezone.now()
    if case.closed_at is None or now > case.closed_at + reopen_window():
        raise ApplicationError(
            _("This request was closed more than %(days)d days ago and can no longer be reopened. "
              "Please file a new request.") % {"days": reopen_window().days}, code="reopen_window")
    reason = clean_text(reason, field="reason", required=True, message=_("Please say why it needs reopening."))
    updates = {"reopened_count": F("reopened_count") + 1, "closed_at": None, "assigned_unit_id": None,
               "assigned_subunit_id": None, "sign_due_at": None, "handle_due_at": None, "satisfaction": "",
               "satisfaction_note": "", "replied_at": None}
    if case.accepted_at is None:  # answered on the spot, never accepted: the overall clock starts now
        updates.update(accepted_at=now, due_at=time_limit_for(category_id=case.category_id,
                                                              urgency=case.urgency).overall_deadline(now))
    return apply(actor=actor, case=case, transition=transition, now=now, note=reason, updates=updates)


@transaction.atomic
def case_merge(*, actor, case_id: str, into_case_id: str, note: str = "") -> Case:
    """登记/受理 → 合并: a duplicate joins another open request; its resident is told the number."""
    case, transition = load_for(actor, case_id, Action.MERGE)
    try:
        target = access_case_by_id(actor, into_case_id)
    except NotFound:
        raise ApplicationError(_("The request to merge into was not found."), code="merge_target",
                               field="into_case_id") from None
    if target.pk == case.pk or target.state not in workflow.OPEN_STATES:
        raise ApplicationError(_("A request can only be merged into another request that is still open."),
                               code="merge_target", field="into_case_id")
    note = clean_text(note, field="note", required=False, message="")
    case = apply(actor=actor, case=case, transition=transition, note=note, updates={"merged_into_id": target.pk},
                 data={"into": target.tracking_number})
    event_write(case=target, actor=actor, action=Action.MERGE, note=note, data={"duplicate": case.tracking_number})
    notify.sms_reporter(case, template="hotline.merged", build=lambda: ("", _(
        "[12345] Your request %(number)s concerns the same matter as request %(into)s and will be handled "
        "together with it.") % {"number": case.tracking_number, "into": target.tracking_number}))
    return case
