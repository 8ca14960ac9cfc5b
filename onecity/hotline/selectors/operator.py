"""Reads for the operator console: who is calling and what they asked before.

The caller is found by the exact number they call from, through keyed hashes only (the
number is never searched in clear or partially): their resident account, if they have one,
from the identity app (`citizen_find_by_phone`), and the requests that left this number as
contact (`Case.contact_phone_hash`) or that their account filed. Everything shown is masked:
the operator hears the number on the line and needs no unmasking here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q

from onecity.core.crypto import lookup_hash
from onecity.core.errors import PermissionDenied
from onecity.core.masking import mask_phone
from onecity.core.validators import normalise_phone, validate_phone
from onecity.hotline import workflow
from onecity.hotline.enums import CaseState, Channel
from onecity.hotline.models import Case, Category
from onecity.identity.access import has_role
from onecity.identity.enums import OrganizationKind
from onecity.identity.selectors.accounts import (
    CitizenSummary,
    citizen_find_by_phone,
    organization_list_active,
)

#: who may use the console (registering on a caller's behalf needs hotline_operator or dispatcher)
CONSOLE_ROLES = ("hotline_operator", "supervisor", "administrator")
#: how many earlier requests the console lists
HISTORY_LIMIT = 50
#: the channels an operator records at the console
CONSOLE_CHANNELS = (Channel.PHONE, Channel.WECHAT, Channel.MAYOR_MAILBOX)


@dataclass(frozen=True)
class CallerCase:
    public_id: str
    tracking_number: str
    title: str
    state: str
    state_label: str
    is_open: bool
    channel_label: str
    created_at: dt.datetime


@dataclass(frozen=True)
class CallerLookup:
    phone: str  # normalised, for the create form (never rendered)
    phone_masked: str
    citizen: CitizenSummary | None
    cases: list[CallerCase] = field(default_factory=list)
    open_count: int = 0


def console_allowed(actor) -> bool:
    return has_role(actor, *CONSOLE_ROLES)


def phone_clean(phone: str) -> str:
    """The normalised mobile number, or ValidationError with the validator's message."""
    phone = (phone or "").strip()
    validate_phone(phone)
    return normalise_phone(phone)


def caller_lookup(*, actor, phone: str) -> CallerLookup:
    """The resident calling from `phone` (if they have an account) and the requests linked to
    the number or the account, newest first. `phone` must be a valid mobile number
    (ValidationError otherwise)."""
    if not console_allowed(actor):
        raise PermissionDenied()
    number = phone_clean(phone)
    citizen = citizen_find_by_phone(number)
    linked = Q(contact_phone_hash=lookup_hash(number, purpose="phone"))
    if citizen is not None:
        linked |= Q(reporter_id=citizen.user_id)
    rows = list(Case.objects.filter(linked).order_by("-created_at", "-id")
                .values("public_id", "tracking_number", "title", "state", "channel", "created_at")[:HISTORY_LIMIT])
    cases = [CallerCase(public_id=r["public_id"], tracking_number=r["tracking_number"], title=r["title"],
                        state=r["state"], state_label=str(CaseState(r["state"]).label),
                        is_open=r["state"] in workflow.OPEN_STATES,
                        channel_label=str(Channel(r["channel"]).label), created_at=r["created_at"])
             for r in rows]
    return CallerLookup(phone=number, phone_masked=mask_phone(number), citizen=citizen, cases=cases,
                        open_count=sum(1 for c in cases if c.is_open))


def console_districts():
    """Districts and counties a request can be filed in."""
    return organization_list_active(kinds=(OrganizationKind.DISTRICT,))


def console_units():
    """Units that can be named as the source of a knowledge-base answer."""
    return organization_list_active(kinds=(OrganizationKind.DEPARTMENT, OrganizationKind.DISTRICT,
                                           OrganizationKind.SUBUNIT))


def console_categories():
    """Active categories, parents before their children."""
    return Category.objects.filter(is_active=True).select_related("parent").order_by("sort_order", "code")

