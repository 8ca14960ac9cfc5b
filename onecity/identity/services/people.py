"""Staff access to citizens' personal data.

Staff see people masked. Seeing a full number is a deliberate act: the staff member states
why, and an audit row records who saw what of whom, why and when (action
`personal_data.unmask`). Only the roles in `access.PEOPLE_ROLES` may do it.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onecity.core.audit import audit_record
from onecity.core.errors import ApplicationError, NotFound, PermissionDenied
from onecity.identity.access import PEOPLE_ROLES, has_role
from onecity.identity.enums import UserKind
from onecity.identity.models import RealNameIdentity, User

UNMASK_FIELDS = {
    "phone": gettext_lazy("mobile number"),
    "id_number": gettext_lazy("resident ID number"),
    "legal_name": gettext_lazy("legal name"),
}
REASON_MIN = 4
REASON_MAX = 300


@transaction.atomic
def person_unmask(*, actor, person_public_id: str, field: str, reason: str, ip: str | None = None) -> str:
    """Return the full value of one of a citizen's personal-data fields and record why."""
    if not has_role(actor, *PEOPLE_ROLES):
        raise PermissionDenied(_("Your role does not allow seeing full personal data."))
    if field not in UNMASK_FIELDS:
        raise ApplicationError(_("Unknown personal-data field."), code="field_unknown", field="field")
    reason = " ".join((reason or "").split())
    if len(reason) < REASON_MIN:
        raise ApplicationError(
            _("Please say why you need the full value (at least %(min)d characters).") % {"min": REASON_MIN},
            code="reason_required", field="reason")
    if len(reason) > REASON_MAX:
        raise ApplicationError(_("The reason can have at most %(max)d characters.") % {"max": REASON_MAX},
                               code="reason_length", field="reason")
    person = User.objects.filter(public_id=person_public_id or "", kind=UserKind.CITIZEN).first()
    if person is None:
        raise NotFound()
    if field == "phone":
        value = person.phone
    else:
        identity = RealNameIdentity.objects.filter(user=person).first()
        value = getattr(identity, field, "") if identity else ""
    if not value:
        raise ApplicationError(_("This person has no %(field)s on record.") % {"field": UNMASK_FIELDS[field]},
                               code="field_empty", field="field")
    audit_record(actor=actor, action="personal_data.unmask", subject_user=person, object_type="user",
                 object_id=person.public_id, reason=reason, ip=ip, detail={"field": field})
    return value
