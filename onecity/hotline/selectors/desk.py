"""Reads for the staff desk (dispatch queue, department queue, supervision, case view).

Every list starts from `access.cases_visible_to(actor)`, so a department handler never sees
another unit's case here either. Filters are plain values parsed by the view; the functions
return querysets (for paging) or small dataclasses for what a template shows.

Deadline status ("overdue", "at risk", "on time") is always given as a word the template
prints next to the colour: colour is never the only signal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onecity.hotline import workflow
from onecity.hotline.access import acting_roles, cases_visible_to, holder_for_state
from onecity.hotline.enums import CaseState, Satisfaction
from onecity.hotline.models import (
    Attachment,
    Case,
    CaseEvent,
    Category,
    DispatchRoute,
    Escalation,
    ExtensionRequest,
    SupervisionNote,
)
from onecity.hotline.selectors.similar import similar_open_cases

S = CaseState
#: a deadline closer than this is "at risk"
AT_RISK_WITHIN = dt.timedelta(hours=24)
CASE_RELATED = ("category", "district", "assigned_unit", "assigned_subunit")
NEW_STATES = (S.REGISTERED, S.ACCEPTED)
TO_SIGN_STATES = (S.DISPATCHED, S.SUB_DISPATCHED)
HANDLING_STATES = (S.SIGNED, S.IN_PROGRESS)


def dispatch_threshold() -> float:
    """Below this classifier confidence a case waits in the dispatchers' manual queue (the
    same setting smart dispatch acts on: settings.HOTLINE_AUTO_DISPATCH_THRESHOLD)."""
    return settings.HOTLINE_AUTO_DISPATCH_THRESHOLD


# --- deadlines -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeadlineInfo:
    clock: str  # overall | sign | handle
    label: str
    due: dt.datetime | None
    status: str  # overdue | at_risk | on_time | met | late | none
    status_label: str
    badge: str  # badge-danger | badge-warning | badge-success | badge-neutral


STATUS_LABELS = {
    "overdue": (_("Overdue"), "badge-danger"),
    "at_risk": (_("Due soon"), "badge-warning"),
    "on_time": (_("On time"), "badge-success"),
    "met": (_("Met"), "badge-neutral"),
    "late": (_("Met late"), "badge-danger"),
    "none": (_("Not started"), "badge-neutral"),
}


def deadline_status(due: dt.datetime | None, *, now: dt.datetime, running: bool,
                    finished_at: dt.datetime | None = None) -> str:
    if due is None:
        return "none"
    if not running:
        if finished_at is None:
            return "none"
        return "late" if finished_at > due else "met"
    if now > due:
        return "overdue"
    if due - now <= AT_RISK_WITHIN:
        return "at_risk"
    return "on_time"


def _info(clock: str, label, due, status: str) -> DeadlineInfo:
    status_label, badge = STATUS_LABELS[status]
    return DeadlineInfo(clock, str(label), due, status, str(status_label), badge)


def case_deadlines(case: Case, *, now: dt.datetime | None = None) -> list[DeadlineInfo]:
    """The overall, sign and handle deadlines of `case` with their status now."""
    now = now or timezone.now()
    is_open = case.state in workflow.OPEN_STATES and case.state not in (S.REPLIED, S.VISITED)
    finished = case.replied_at or case.closed_at
    overall = deadline_status(case.due_at, now=now, running=is_open and case.state != S.REGISTERED,
                              finished_at=finished)
    sign = deadline_status(case.sign_due_at, now=now, running=case.state in TO_SIGN_STATES,
                           finished_at=case.signed_at)
    handle = deadline_status(case.handle_due_at, now=now, running=case.state in HANDLING_STATES,
                             finished_at=case.replied_at)
    return [_info("overall", _("Overall deadline"), case.due_at, overall),
            _info("sign", _("Sign by"), case.sign_due_at, sign),
            _info("handle", _("Handle by"), case.handle_due_at, handle)]


def current_deadline(case: Case, *, now: dt.datetime | None = None) -> DeadlineInfo:
    """The clock that matters in the case's state (for a table column)."""
    infos = {d.clock: d for d in case_deadlines(case, now=now)}
    if case.state in TO_SIGN_STATES:
        return infos["sign"]
    if case.state in HANDLING_STATES:
        return infos["handle"]
    return infos["overall"]


def overdue_q(now: dt.datetime) -> Q:
    """Cases whose running clock has passed (the state's own clock or the overall one)."""
    return (Q(state__in=TO_SIGN_STATES, sign_due_at__lt=now)
            | Q(state__in=HANDLING_STATES, handle_due_at__lt=now)
            | Q(state__in=[S.ACCEPTED, S.RETURNED, *TO_SIGN_STATES, *HANDLING_STATES], due_at__lt=now))


def due_soon_q(now: dt.datetime) -> Q:
    until = now + AT_RISK_WITHIN
    return (Q(state__in=TO_SIGN_STATES, sign_due_at__gte=now, sign_due_at__lte=until)
            | Q(state__in=HANDLING_STATES, handle_due_at__gte=now, handle_due_at__lte=until))


# --- filters -------------------------------------------------------------------------------------
@dataclass
class CaseFilters:
    district: int | None = None
    category: str = ""  # category code (its sub-categories included)
    channel: str = ""
    urgency: str = ""
    overdue: bool = False
    q: str = ""

    @property
    def active(self) -> bool:
        return bool(self.district or self.category or self.channel or self.urgency or self.overdue or self.q)


def apply_filters(cases: QuerySet[Case], filters: CaseFilters, *, now: dt.datetime) -> QuerySet[Case]:
    if filters.district:
        cases = cases.filter(district_id=filters.district)
    if filters.category:
        cases = cases.filter(Q(category__code=filters.category) | Q(category__parent__code=filters.category))
    if filters.channel:
        cases = cases.filter(channel=filters.channel)
    if filters.urgency:
        cases = cases.filter(urgency=filters.urgency)
    if filters.overdue:
        cases = cases.filter(overdue_q(now))
    if filters.q:
        cases = cases.filter(Q(tracking_number__icontains=filters.q) | Q(title__icontains=filters.q)
                             | Q(address__icontains=filters.q))
    return cases


# --- dispatcher queue ----------------------------------------------------------------------------
def _low_confidence_q() -> Q:
    return Q(category__isnull=True) | Q(classifier_confidence__lt=dispatch_threshold())


def dispatch_new(*, actor, filters: CaseFilters, now: dt.datetime | None = None) -> QuerySet[Case]:
    """New cases (registered or accepted) whose category is settled, oldest first."""
    now = now or timezone.now()
    cases = cases_visible_to(actor).filter(state__in=NEW_STATES).exclude(_low_confidence_q())
    return apply_filters(cases, filters, now=now).select_related(*CASE_RELATED).order_by("created_at", "id")


def dispatch_manual(*, actor, filters: CaseFilters, now: dt.datetime | None = None) -> QuerySet[Case]:
    """The manual queue: new cases without a category or classified below the threshold."""
    now = now or timezone.now()
    cases = cases_visible_to(actor).filter(_low_confidence_q(), state__in=NEW_STATES)
    return apply_filters(cases, filters, now=now).select_related(*CASE_RELATED).order_by("created_at", "id")


def dispatch_returned(*, actor, filters: CaseFilters, now: dt.datetime | None = None) -> QuerySet[Case]:
    now = now or timezone.now()
    cases = cases_visible_to(actor).filter(state=S.RETURNED)
    return apply_filters(cases, filters, now=now).select_related(*CASE_RELATED).order_by("state_entered_at", "id")


def extensions_pending(*, actor) -> QuerySet[ExtensionRequest]:
    case_ids = cases_visible_to(actor).values("pk")
    return (ExtensionRequest.objects.filter(state="pending", case_id__in=case_ids)
            .select_related("case", "case__category", "case__district", "unit", "requested_by")
            .order_by("requested_at", "id"))


def dispatch_waiting_count(*, actor) -> int:
    """What awaits a dispatcher (the sidebar's count): new and returned cases, and extension
    requests to decide."""
    cases = cases_visible_to(actor).filter(state__in=(*NEW_STATES, S.RETURNED)).count()
    return cases + extensions_pending(actor=actor).count()


# --- department queue ----------------------------------------------------------------------------
UNIT_TABS = ("to_sign", "in_progress", "due_soon", "overdue", "sub_units")


def unit_cases(*, actor, tab: str, filters: CaseFilters, now: dt.datetime | None = None) -> QuerySet[Case]:
    """The handler's unit's open cases in one tab. `to_sign` and `in_progress` are the cases the
    unit holds itself; `sub_units` what it passed on to its sub-units."""
    now = now or timezone.now()
    org = getattr(actor, "organization_id", None)
    cases = cases_visible_to(actor).filter(state__in=workflow.OPEN_STATES)
    held_here = (Q(state=S.DISPATCHED, assigned_unit_id=org) | Q(state=S.SUB_DISPATCHED, assigned_subunit_id=org)
                 | (~Q(state__in=TO_SIGN_STATES) & (Q(assigned_subunit_id=org)
                                                    | Q(assigned_subunit__isnull=True, assigned_unit_id=org))))
    if tab == "to_sign":
        cases = cases.filter(held_here, state__in=TO_SIGN_STATES).order_by("sign_due_at", "id")
    elif tab == "in_progress":
        cases = cases.filter(held_here, state__in=HANDLING_STATES).order_by("handle_due_at", "id")
    elif tab == "due_soon":
        cases = cases.filter(due_soon_q(now)).order_by("sign_due_at", "handle_due_at", "id")
    elif tab == "overdue":
        cases = cases.filter(overdue_q(now)).order_by("due_at", "id")
    elif tab == "sub_units":
        cases = cases.filter(assigned_unit_id=org, assigned_subunit__isnull=False).order_by("-updated_at", "id")
    else:
        raise ValueError(tab)
    return apply_filters(cases, filters, now=now).select_related(*CASE_RELATED)


def unit_to_sign_count(*, actor) -> int:
    """Cases sent to the handler's unit and not signed for yet (the sidebar's count)."""
    return unit_cases(actor=actor, tab="to_sign", filters=CaseFilters()).count()


# --- supervision ---------------------------------------------------------------------------------
SUPERVISION_TABS = ("overdue", "escalated", "not_satisfied")


def supervision_cases(*, actor, tab: str, filters: CaseFilters, now: dt.datetime | None = None) -> QuerySet[Case]:
    now = now or timezone.now()
    cases = cases_visible_to(actor).filter(state__in=workflow.OPEN_STATES)
    if tab == "overdue":
        cases = cases.filter(overdue_q(now)).order_by("due_at", "id")
    elif tab == "escalated":
        cases = cases.filter(Exists(Escalation.objects.filter(case_id=OuterRef("pk")))).order_by("-updated_at", "id")
    elif tab == "not_satisfied":
        cases = cases.filter(state=S.VISITED, satisfaction=Satisfaction.NOT_SATISFIED).order_by("state_entered_at",
                                                                                                  "id")
    else:
        raise ValueError(tab)
    return apply_filters(cases, filters, now=now).select_related(*CASE_RELATED)


def supervision_overdue_count(*, actor) -> int:
    """Open cases past a deadline (the sidebar's count)."""
    return supervision_cases(actor=actor, tab="overdue", filters=CaseFilters()).count()


# --- rows: proposals and suggestions -------------------------------------------------------------
@dataclass(frozen=True)
class Suggestion:
    code: str
    name: str
    score: float  # 0..1

    @property
    def percent(self) -> int:
        return round(self.score * 100)


def suggestions_for(cases) -> dict[int, list[Suggestion]]:
    """The classifier's top suggestions of each case, with category names (one query)."""
    codes = {s.get("category") for c in cases for s in (c.classifier_suggestions or []) if isinstance(s, dict)}
    names = {c.code: c for c in Category.objects.filter(code__in=codes)}
    out: dict[int, list[Suggestion]] = {}
    for case in cases:
        rows = []
        for item in (case.classifier_suggestions or [])[:3]:
            if not isinstance(item, dict) or item.get("category") not in names:
                continue
            try:
                score = float(item.get("score", 0))
            except (TypeError, ValueError):
                score = 0.0
            rows.append(Suggestion(item["category"], names[item["category"]].display_name(), score))
        out[case.pk] = rows
    return out


def proposed_units(pairs) -> dict[tuple[int, int | None], int]:
    """The dispatch matrix's unit for each (category id, district id) pair, resolved like
    `selectors.route_unit_id_for` (category, parent; district row before the city-wide one) in
    two queries for a whole page of rows."""
    pairs = {(c, d) for c, d in pairs if c}
    if not pairs:
        return {}
    parents = dict(Category.objects.filter(pk__in={c for c, _ in pairs}).values_list("pk", "parent_id"))
    chain_ids = set(parents) | {p for p in parents.values() if p}
    routes = {(r.category_id, r.district_id): r.unit_id
              for r in DispatchRoute.objects.filter(category_id__in=chain_ids, is_active=True)}
    out = {}
    for category_id, district_id in pairs:
        chain = [c for c in (category_id, parents.get(category_id)) if c]
        keys = [*((c, district_id) for c in chain if district_id), *((c, None) for c in chain)]
        unit = next((routes[k] for k in keys if k in routes), None)
        if unit is not None:
            out[(category_id, district_id)] = unit
    return out


# --- case view -----------------------------------------------------------------------------------
@dataclass
class CaseContext:
    case: Case
    roles: set[str]
    actions: list[str]
    deadlines: list[DeadlineInfo]
    suggestions: list[Suggestion]
    proposed_unit_id: int | None
    holder_id: int | None
    attachments: list[Attachment]
    pending_extension: ExtensionRequest | None
    extensions: list[ExtensionRequest] = field(default_factory=list)
    supervision: list[SupervisionNote] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)
    merge_candidates: list[Case] = field(default_factory=list)
    duplicates: list[Case] = field(default_factory=list)
    similar: list = field(default_factory=list)  # queries.similar.SimilarCase, when merge is allowed


#: side actions shown only when there is something to decide
NEEDS_PENDING_EXTENSION = {"extension_approve", "extension_refuse"}
HIDDEN_ACTIONS = {"escalate"}


def case_context(*, actor, case: Case, now: dt.datetime | None = None) -> CaseContext:
    """Everything the case view shows beside the details (`case` came through access.py)."""
    roles = acting_roles(actor, case)
    pending = ExtensionRequest.objects.filter(case=case, state="pending").select_related("unit", "requested_by").first()
    actions = [a for a in workflow.actions_for(case.state, roles, workflow.close_condition(case.satisfaction))
               if a not in HIDDEN_ACTIONS and (a not in NEEDS_PENDING_EXTENSION or pending is not None)]
    if pending is not None and "extension_request" in actions:
        actions.remove("extension_request")
    unit_id = None
    if case.category_id:
        unit_id = proposed_units([(case.category_id, case.district_id)]).get((case.category_id, case.district_id))
    candidates: list[Case] = []
    similar = []
    if "merge" in actions:
        similar = similar_open_cases(actor=actor, case=case)
        suggested = {s.case.pk for s in similar}
        candidates = [s.case for s in similar] + [c for c in merge_candidates(actor=actor, case=case)
                                                  if c.pk not in suggested]
    return CaseContext(
        case=case, roles=roles, actions=actions, deadlines=case_deadlines(case, now=now),
        suggestions=suggestions_for([case]).get(case.pk, []), proposed_unit_id=unit_id,
        holder_id=holder_for_state(case), attachments=list(Attachment.objects.filter(case=case)),
        pending_extension=pending,
        extensions=list(ExtensionRequest.objects.filter(case=case).select_related("unit")),
        supervision=list(SupervisionNote.objects.filter(case=case).select_related("author", "unit")),
        escalations=list(Escalation.objects.filter(case=case)),
        merge_candidates=candidates, similar=similar,
        duplicates=list(Case.objects.filter(merged_into=case).only("public_id", "tracking_number", "title")),
    )


def merge_candidates(*, actor, case: Case, limit: int = 8) -> QuerySet[Case]:
    """Open requests in the same district (same category first) a duplicate could join."""
    since = case.created_at - dt.timedelta(days=30)
    cases = (cases_visible_to(actor).filter(state__in=workflow.OPEN_STATES, district_id=case.district_id,
                                            created_at__gte=since)
             .exclude(pk=case.pk))
    if case.category_id:
        cases = cases.filter(Q(category_id=case.category_id) | Q(category__parent_id=case.category.parent_id
                                                                  or case.category_id))
    return cases.order_by("-created_at")[:limit]


def case_public_id_by_number(*, actor, number: str) -> str | None:
    """A tracking number (or public id) typed by a dispatcher, as a public id when visible."""
    number = (number or "").strip()
    if not number:
        return None
    found = cases_visible_to(actor).filter(Q(tracking_number__iexact=number) | Q(public_id=number)).first()
    return found.public_id if found else None


def case_timeline(case: Case) -> QuerySet[CaseEvent]:
    return CaseEvent.objects.filter(case=case).select_related("actor").order_by("-at", "-id")
