"""Reads about accounts: a person's own account summary, staff look-ups of citizens (masked),
the audit log for auditors and the staff accounts for administrators. Every value leaving here that is personal data is masked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from onecity.core.crypto import lookup_hash
from onecity.core.errors import PermissionDenied
from onecity.core.masking import mask_id_number, mask_name, mask_phone
from onecity.core.models import AuditEvent
from onecity.core.validators import normalise_phone, parse_resident_id
from onecity.identity.access import AUDIT_ROLES, PEOPLE_ROLES, has_role
from onecity.identity.enums import Role, UserKind
from onecity.identity.models import Organization, RealNameIdentity, User


@dataclass(frozen=True)
class AccountSummary:
    public_id: str
    display_name: str
    kind: str
    phone_masked: str
    is_verified: bool
    legal_name_masked: str
    id_number_masked: str
    verified_at: dt.datetime | None
    organization_name: str
    date_joined: dt.datetime


def account_summary_for_user(*, user: User) -> AccountSummary:
    """The signed-in person's own account, masked (the only account a person can read)."""
    identity = RealNameIdentity.objects.filter(user=user).first()
    return AccountSummary(
        public_id=user.public_id,
        display_name=user.display_name or "",
        kind=user.kind,
        phone_masked=mask_phone(user.phone),
        is_verified=identity is not None,
        legal_name_masked=mask_name(identity.legal_name) if identity else "",
        id_number_masked=mask_id_number(identity.id_number) if identity else "",
        verified_at=identity.verified_at if identity else None,
        organization_name=user.organization.display_name() if user.organization_id else "",
        date_joined=user.date_joined,
    )


@dataclass(frozen=True)
class PersonRow:
    public_id: str
    display_name: str
    phone_masked: str
    is_verified: bool
    legal_name_masked: str
    id_number_masked: str
    date_joined: dt.datetime
    is_active: bool


def _person_row(user: User) -> PersonRow:
    identity = getattr(user, "real_name", None)  # None when not verified
    return PersonRow(
        public_id=user.public_id,
        display_name=user.display_name or "",
        phone_masked=mask_phone(user.phone),
        is_verified=identity is not None,
        legal_name_masked=mask_name(identity.legal_name) if identity else "",
        id_number_masked=mask_id_number(identity.id_number) if identity else "",
        date_joined=user.date_joined,
        is_active=user.is_active,
    )


def search_kind(query: str) -> str:
    """"phone", "id_number" or "" for a query staff typed into the people search."""
    query = (query or "").strip()
    if not query:
        return ""
    phone = normalise_phone(query)
    if len(phone) == 11 and phone.startswith("1") and not any(c.isalpha() for c in query):
        return "phone"
    try:
        parse_resident_id(query)
    except ValidationError:
        return ""
    return "id_number"


def person_search_for_staff(*, actor: User, query: str) -> list[PersonRow]:
    """Citizens whose mobile number or resident ID number is exactly `query` (keyed-hash look-up:
    no partial matches, no browsing), masked."""
    if not has_role(actor, *PEOPLE_ROLES):
        raise PermissionDenied()
    kind = search_kind(query)
    citizens = User.objects.filter(kind=UserKind.CITIZEN).select_related("real_name")
    if kind == "phone":
        citizens = citizens.filter(phone_hash=lookup_hash(normalise_phone(query), purpose="phone"))
    elif kind == "id_number":
        number = query.strip().upper()
        citizens = citizens.filter(real_name__id_number_hash=lookup_hash(number, purpose="id_number"))
    else:
        return []
    return [_person_row(user) for user in citizens[:10]]


def person_get_for_staff(*, actor: User, public_id: str) -> PersonRow | None:
    if not has_role(actor, *PEOPLE_ROLES):
        raise PermissionDenied()
    user = User.objects.filter(kind=UserKind.CITIZEN, public_id=public_id or "").select_related("real_name").first()
    return _person_row(user) if user else None


def audit_list_for_auditor(*, actor: User, action: str = "", actor_username: str = "",
                           date_from: dt.date | None = None, date_to: dt.date | None = None) -> QuerySet[AuditEvent]:
    """The audit log, newest first, filtered. Reasons and details were masked when written."""
    if not has_role(actor, *AUDIT_ROLES):
        raise PermissionDenied()
    events = AuditEvent.objects.select_related("actor", "subject_user").order_by("-at", "-id")
    if action:
        events = events.filter(action=action) if not action.endswith(".") else events.filter(action__startswith=action)
    if actor_username:
        events = events.filter(actor__username=actor_username.strip().lower())
    if date_from:
        events = events.filter(at__date__gte=date_from)
    if date_to:
        events = events.filter(at__date__lte=date_to)
    return events


def audit_actions() -> list[str]:
    """Distinct audit actions, for the filter list."""
    return sorted(AuditEvent.objects.values_list("action", flat=True).distinct())


# --- staff accounts, for administrators ------------------------------------------------------
def _administrator_check(actor) -> None:
    """Administrators only; `actor=None` is the system itself (the command line)."""
    if actor is not None and not has_role(actor, Role.ADMINISTRATOR):
        raise PermissionDenied()


def staff_list_for_administrator(*, actor: User, organization: Organization | None = None, role: str = "",
                                 active: bool | None = None, query: str = "") -> QuerySet[User]:
    """Staff accounts (never citizens), filtered: by organization, by a role held, by active
    state and by a part of the user name or display name. Active accounts first, then by
    organization and user name."""
    _administrator_check(actor)
    staff = (User.objects.filter(kind=UserKind.STAFF).select_related("organization")
             .prefetch_related("roles").order_by("-is_active", "organization__name", "username"))
    if organization is not None:
        staff = staff.filter(organization=organization)
    if role:
        staff = staff.filter(roles__role=role)
    if active is not None:
        staff = staff.filter(is_active=active)
    query = " ".join((query or "").split())
    if query:
        staff = staff.filter(Q(username__icontains=query) | Q(display_name__icontains=query))
    return staff


def staff_get_for_administrator(*, actor: User, public_id: str) -> User | None:
    """One staff account by its public id; None for citizens and unknown ids alike."""
    _administrator_check(actor)
    return (User.objects.filter(kind=UserKind.STAFF, public_id=public_id or "").select_related("organization")
            .prefetch_related("roles").first())


def staff_history_for_administrator(*, actor: User, user: User, limit: int = 10) -> list[AuditEvent]:
    """The latest staff-management events about one staff account (creation, roles, state,
    password), newest first."""
    _administrator_check(actor)
    return list(AuditEvent.objects.filter(subject_user=user, action__startswith="staff.")
                .select_related("actor").order_by("-at", "-id")[:limit])


def staff_organizations_for_administrator(*, actor: User) -> QuerySet[Organization]:
    """Organizations that have staff accounts (the list's organization filter)."""
    _administrator_check(actor)
    return Organization.objects.filter(staff__kind=UserKind.STAFF).distinct().order_by("kind", "region_code", "name")


def organization_choices_for_administrator(*, actor: User, query: str = "", limit: int | None = None
                                           ) -> QuerySet[Organization]:
    """Active organizations a new staff account can belong to, optionally narrowed by a part of
    the name, English name, short name or credit code."""
    _administrator_check(actor)
    organizations = Organization.objects.filter(is_active=True).order_by("kind", "region_code", "name")
    query = " ".join((query or "").split())
    if query:
        organizations = organizations.filter(Q(name__icontains=query) | Q(name_en__icontains=query)
                                             | Q(short_name__icontains=query) | Q(uscc__iexact=query))
    return organizations[:limit] if limit else organizations


def organization_list_for_administrator(*, actor: User | None) -> QuerySet[Organization]:
    """Every organization, active or not, with its parent."""
    _administrator_check(actor)
    return Organization.objects.select_related("parent").order_by("kind", "region_code", "name")


def organization_get_by_reference(reference: str) -> Organization | None:
    """An organization by its unified social credit code or its public id (command line)."""
    reference = (reference or "").strip()
    if not reference:
        return None
    return (Organization.objects.filter(uscc=reference.upper()).first()
            or Organization.objects.filter(public_id=reference.lower()).first())


# --- for other apps: a caller found by number, organizations to choose from ------------------
@dataclass(frozen=True)
class CitizenSummary:
    """A citizen found by exact mobile number, masked (the hotline operator console)."""

    user_id: int
    public_id: str
    name_masked: str  # the verified legal name if any, else the display name, masked
    phone_masked: str
    is_verified: bool
    date_joined: dt.datetime


def citizen_find_by_phone(phone: str) -> CitizenSummary | None:
    """The citizen whose mobile number is exactly `phone` (keyed-hash look-up), masked; None when
    no citizen has it or the number is not a complete mobile number."""
    number = normalise_phone(phone or "")
    if len(number) != 11:
        return None
    user = (User.objects.filter(kind=UserKind.CITIZEN, is_active=True,
                                phone_hash=lookup_hash(number, purpose="phone"))
            .select_related("real_name").first())
    if user is None:
        return None
    identity = getattr(user, "real_name", None)
    return CitizenSummary(
        user_id=user.pk, public_id=user.public_id,
        name_masked=mask_name(identity.legal_name if identity else (user.display_name or "")),
        phone_masked=mask_phone(user.phone), is_verified=identity is not None, date_joined=user.date_joined,
    )


def citizen_find_by_id_number(id_number: str) -> CitizenSummary | None:
    """The citizen whose verified resident ID number is exactly `id_number` (keyed-hash look-up),
    masked; None when nobody verified with it (payments: bills imported by ID number)."""
    number = (id_number or "").strip().upper()
    if len(number) != 18:
        return None
    identity = (RealNameIdentity.objects.filter(id_number_hash=lookup_hash(number, purpose="id_number"),
                                                user__kind=UserKind.CITIZEN, user__is_active=True)
                .select_related("user").first())
    if identity is None:
        return None
    user = identity.user
    return CitizenSummary(
        user_id=user.pk, public_id=user.public_id, name_masked=mask_name(identity.legal_name),
        phone_masked=mask_phone(user.phone), is_verified=True, date_joined=user.date_joined,
    )


def organization_list_active(*, kinds: tuple[str, ...] = ()) -> QuerySet[Organization]:
    """Active organizations, optionally of the given kinds (form choices in other apps)."""
    organizations = Organization.objects.filter(is_active=True).order_by("kind", "region_code", "name")
    return organizations.filter(kind__in=kinds) if kinds else organizations
