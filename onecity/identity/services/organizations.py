"""Writes on organizations: departments, district governments, sub-units and payee units.

A fresh deployment creates its first organization with `onecity org create` (the system
actor), then its first administrator in it with `onecity staff create`.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from onecity.core.audit import audit_record
from onecity.core.errors import ApplicationError, PermissionDenied
from onecity.core.validators import region_codes, validate_uscc
from onecity.identity.access import has_role
from onecity.identity.enums import OrganizationKind, PayeeType, Role
from onecity.identity.models import Organization

NAME_MAX = 100
NAME_EN_MAX = 200
SHORT_NAME_MAX = 40


def _text_clean(value: str, *, field: str, max_length: int, required: bool) -> str:
    value = " ".join((value or "").split())
    if required and not value:
        raise ApplicationError(_("Please enter the organization's name."), code=f"{field}_required", field=field)
    if len(value) > max_length:
        raise ApplicationError(_("This can have at most %(max)d characters.") % {"max": max_length},
                               code=f"{field}_length", field=field)
    return value


@transaction.atomic
def organization_create(*, actor, name: str, kind: str, uscc: str, region_code: str, parent: Organization | None = None,
                        name_en: str = "", short_name: str = "", payee_type: str = "",
                        ip: str | None = None) -> Organization:
    """Create an organization. Only administrators may do this; `actor=None` is the system
    itself (the first organization of a deployment, seeding).

    The unified social credit code (统一社会信用代码) is checked in full (format, both check
    characters, registration authority) and must be unused; the region is a GB/T 2260 code;
    a payee type is given exactly for payee units; a parent must exist and be active."""
    if actor is not None and not has_role(actor, Role.ADMINISTRATOR):
        raise PermissionDenied(_("Only administrators can manage organizations."))
    name = _text_clean(name, field="name", max_length=NAME_MAX, required=True)
    name_en = _text_clean(name_en, field="name_en", max_length=NAME_EN_MAX, required=False)
    short_name = _text_clean(short_name, field="short_name", max_length=SHORT_NAME_MAX, required=False)
    if kind not in OrganizationKind.values:
        raise ApplicationError(_("Unknown kind of organization: %(kind)s.") % {"kind": kind}, code="kind_unknown",
                               field="kind")
    payee_type = (payee_type or "").strip()
    if kind == OrganizationKind.PAYEE:
        if payee_type not in PayeeType.values:
            raise ApplicationError(_("Please choose what kind of payee unit this is."), code="payee_type_required",
                                   field="payee_type")
    elif payee_type:
        raise ApplicationError(_("Only payee units have a payee type."), code="payee_type_not_payee",
                               field="payee_type")
    uscc = (uscc or "").strip().upper()
    try:
        validate_uscc(uscc)
    except ValidationError as exc:
        raise ApplicationError(exc.messages[0], code=exc.error_list[0].code or "uscc_invalid", field="uscc") from None
    region_code = (region_code or "").strip()
    if len(region_code) != 6 or not region_code.isdigit() or region_code not in region_codes():
        raise ApplicationError(_("Please enter a 6-digit administrative region code, e.g. 350100 for Fuzhou."),
                               code="region_unknown", field="region_code")
    if parent is not None and (parent.pk is None or not Organization.objects.filter(pk=parent.pk, is_active=True)
                               .exists()):
        raise ApplicationError(_("The parent organization does not exist or is no longer active."),
                               code="parent_inactive", field="parent")
    taken = ApplicationError(_("An organization with this unified social credit code already exists."),
                             code="uscc_taken", field="uscc")
    if Organization.objects.filter(uscc=uscc).exists():
        raise taken
    organization = Organization(name=name, name_en=name_en, short_name=short_name, kind=kind, payee_type=payee_type,
                                parent=parent, uscc=uscc, region_code=region_code)
    try:
        with transaction.atomic():
            organization.save()
    except IntegrityError:  # created in parallel with the same code
        raise taken from None
    audit_record(actor=actor, action="organization.create", object_type="organization",
                 object_id=organization.public_id, ip=ip,
                 detail={"name": name, "kind": kind, "uscc": uscc, "region_code": region_code,
                         "parent": parent.public_id if parent else ""})
    return organization
