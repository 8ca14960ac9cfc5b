"""Who may see a work order, and in which roles someone acts on it.

Visibility (anything else is NotFound, so "not yours" and "does not exist" look the same):

- hotline operators, dispatchers and supervisors: every case;
- department handlers: cases whose first-level unit or sub-unit is their own organization
  (a first-level unit keeps seeing what it passed on to its sub-units);
- residents: the cases they reported;
- the system (actor None): every case.

Acting roles: the staff roles the actor holds among the hotline roles, where
`department_handler` counts only for the organization that holds the case in its current state
(workflow.py docstring), plus `reporter` for the resident who filed it and `system` for None.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from onecity.core.errors import NotFound
from onecity.hotline.enums import CaseState, HotlineRole
from onecity.hotline.models import Case
from onecity.identity.access import is_citizen, is_staff_member, roles_of

R = HotlineRole
SEE_ALL_ROLES = frozenset({R.HOTLINE_OPERATOR, R.DISPATCHER, R.SUPERVISOR})
STAFF_ROLES = frozenset({R.HOTLINE_OPERATOR, R.DISPATCHER, R.SUPERVISOR, R.DEPARTMENT_HANDLER})


def hotline_roles(actor) -> set[str]:
    """The hotline staff roles `actor` holds (no case context)."""
    return {str(r) for r in roles_of(actor) if r in STAFF_ROLES} if is_staff_member(actor) else set()


def cases_visible_to(actor) -> QuerySet[Case]:
    cases = Case.objects.all()
    if actor is None:
        return cases
    if is_staff_member(actor):
        roles = hotline_roles(actor)
        if roles & SEE_ALL_ROLES:
            return cases
        if R.DEPARTMENT_HANDLER in roles and actor.organization_id:
            org = actor.organization_id
            return cases.filter(Q(assigned_unit_id=org) | Q(assigned_subunit_id=org))
        return cases.none()
    if is_citizen(actor):
        return cases.filter(reporter_id=actor.pk)
    return cases.none()


def access_case_by_id(actor, case_id: str, *, fields: tuple[str, ...] = ()) -> Case:
    """The case with public id `case_id` if `actor` may see it; NotFound otherwise. With
    `fields`, only those columns are read (a job that reads a few of the case's forty columns;
    any other field it touches costs a query of its own)."""
    cases = cases_visible_to(actor)
    if fields:
        cases = cases.only(*fields)
    try:  # get(): the public id is unique, and no ordering to compile
        return cases.get(public_id=str(case_id or ""))
    except Case.DoesNotExist:
        raise NotFound() from None


def holder_for_state(case: Case) -> int | None:
    """The organization whose handlers act on the case in its current state."""
    if case.state == CaseState.DISPATCHED:
        return case.assigned_unit_id
    if case.state == CaseState.SUB_DISPATCHED:
        return case.assigned_subunit_id
    return case.holder_id


def acting_roles(actor, case: Case) -> set[str]:
    if actor is None:
        return {str(R.SYSTEM)}
    if is_citizen(actor):
        return {str(R.REPORTER)} if case.reporter_id == actor.pk else set()
    roles = hotline_roles(actor)
    if R.DEPARTMENT_HANDLER in roles and (actor.organization_id is None
                                          or actor.organization_id != holder_for_state(case)):
        roles.discard(str(R.DEPARTMENT_HANDLER))
    return roles
