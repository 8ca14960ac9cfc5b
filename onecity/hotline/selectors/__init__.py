"""Reads of the hotline, shaped for who is reading (access rules in access.py).

This package holds every read of the app: work orders here, and by topic in its modules —
`desk` (the desks' queues and case page), `operator` (the phone console), `resident_cases`,
`knowledge` and `knowledge_public` (search and browsing), `similar` (duplicate suggestions),
`hotspots`, and `stats` (the facts behind the analytics app's statistics).

Work orders:

- Department handlers get only cases held by their unit (or passed on to its sub-units); an
  anonymous reporter's identity is never in their view, and contact details are masked.
- Residents get only their own cases.
- Contact numbers and names are masked for everyone here; showing them in full is a separate,
  audited action (a later increment: the operator console's unmask).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from onecity.core.masking import mask_name, mask_phone
from onecity.hotline import workflow
from onecity.hotline.access import access_case_by_id, acting_roles, cases_visible_to, hotline_roles
from onecity.hotline.models import Case, CaseEvent, ExtensionRequest
from onecity.identity.access import is_citizen

HOTLINE_STAFF = {"hotline_operator", "dispatcher", "supervisor"}


@dataclass(frozen=True)
class TimelineEntry:
    action: str
    from_state: str
    to_state: str
    note: str
    at: dt.datetime
    actor_name: str  # "" for the system or a hidden reporter


@dataclass(frozen=True)
class CaseDetail:
    public_id: str
    tracking_number: str
    state: str
    channel: str
    title: str
    text: str
    category_code: str
    district_id: int
    address: str
    urgency: str
    anonymous: bool
    reporter_name: str  # "" when hidden (anonymous, seen by a department) or none
    contact_name_masked: str
    contact_phone_masked: str
    assigned_unit_id: int | None
    assigned_subunit_id: int | None
    due_at: dt.datetime | None
    sign_due_at: dt.datetime | None
    handle_due_at: dt.datetime | None
    reply: str
    satisfaction: str
    actions: list[str]
    timeline: list[TimelineEntry]


def case_list_for_actor(*, actor, states: list[str] | None = None) -> QuerySet[Case]:
    """Cases `actor` may see, newest first (department queue, resident's "my requests")."""
    cases = cases_visible_to(actor).select_related("category")
    if states:
        cases = cases.filter(state__in=states)
    return cases.order_by("-created_at", "-id")


def case_list_for_unit(*, actor, open_only: bool = True) -> QuerySet[Case]:
    """The department handler's queue: cases held by their unit, soonest deadline first."""
    cases = cases_visible_to(actor)
    if open_only:
        cases = cases.filter(state__in=workflow.OPEN_STATES)
    return cases.order_by("sign_due_at", "handle_due_at", "created_at")


def _hide_reporter(actor, case: Case) -> bool:
    """Departments never learn who filed an anonymous request."""
    if actor is None:
        return False
    if is_citizen(actor):
        return False
    return case.anonymous and not (hotline_roles(actor) & HOTLINE_STAFF)


def case_get_for_actor(*, actor, case_id: str) -> CaseDetail:
    case = access_case_by_id(actor, case_id)
    hide = _hide_reporter(actor, case)
    events = CaseEvent.objects.filter(case=case).select_related("actor").order_by("at", "id")
    timeline = []
    for event in events:
        name = ""
        if event.actor is not None and not (hide and event.actor_id == case.reporter_id):
            name = mask_name(str(event.actor)) if is_citizen(event.actor) else str(event.actor)
        timeline.append(TimelineEntry(event.action, event.from_state, event.to_state, event.note, event.at, name))
    reporter_name = ""
    if case.reporter_id and not hide:
        reporter_name = mask_name(case.reporter.display_name) if case.reporter.display_name else ""
    return CaseDetail(
        public_id=case.public_id, tracking_number=case.tracking_number, state=case.state, channel=case.channel,
        title=case.title, text=case.text, category_code=case.category.code if case.category_id else "",
        district_id=case.district_id, address=case.address, urgency=case.urgency, anonymous=case.anonymous,
        reporter_name=reporter_name,
        contact_name_masked="" if hide else mask_name(case.contact_name),
        contact_phone_masked="" if hide else mask_phone(case.contact_phone),
        assigned_unit_id=case.assigned_unit_id, assigned_subunit_id=case.assigned_subunit_id,
        due_at=case.due_at, sign_due_at=case.sign_due_at, handle_due_at=case.handle_due_at, reply=case.reply,
        satisfaction=case.satisfaction,
        actions=workflow.actions_for(case.state, acting_roles(actor, case),
                                     workflow.close_condition(case.satisfaction)),
        timeline=timeline,
    )


def case_find_by_phone_for_operator(*, actor, phone: str) -> QuerySet[Case]:
    """Earlier requests from a caller's number (the operator console), through the keyed hash."""
    from onecity.core.crypto import lookup_hash
    from onecity.core.validators import normalise_phone

    if not hotline_roles(actor) & {"hotline_operator", "dispatcher"}:
        return Case.objects.none()
    digest = lookup_hash(normalise_phone(phone or ""), purpose="phone")
    return Case.objects.filter(contact_phone_hash=digest).order_by("-created_at")


def extension_list_pending(*, actor) -> QuerySet[ExtensionRequest]:
    """Extension requests waiting for a dispatcher."""
    if "dispatcher" not in hotline_roles(actor):
        return ExtensionRequest.objects.none()
    return ExtensionRequest.objects.filter(state="pending").select_related("case").order_by("requested_at")


def route_unit_id_for(*, category_id: int, district_id: int | None) -> int | None:
    """The responsible unit from the dispatch matrix: (category, district), (parent category,
    district), then the city-wide rows of the category and its parent. None: no route."""
    from onecity.hotline.models import Category, DispatchRoute

    parent_id = Category.objects.filter(pk=category_id).values_list("parent_id", flat=True).first()
    chain = [c for c in (category_id, parent_id) if c]
    routes = {(r.category_id, r.district_id): r.unit_id
              for r in DispatchRoute.objects.filter(category_id__in=chain, is_active=True)}
    for key in [*((c, district_id) for c in chain if district_id), *((c, None) for c in chain)]:
        if key in routes:
            return routes[key]
    return None
