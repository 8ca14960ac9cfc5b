"""Link a partner-API client (client-credentials `client_id`) to the payee unit it acts for."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from onecity.core.audit import audit_record
from onecity.core.errors import ApplicationError, PermissionDenied
from onecity.identity.access import has_role
from onecity.identity.enums import OrganizationKind, Role
from onecity.identity.selectors.accounts import organization_list_active
from onecity.payments.models import PartnerClient


@transaction.atomic
def partner_client_link(*, actor, client_id: str, payee_public_id: str) -> PartnerClient:
    """An administrator (or the system) lets `client_id` issue bills for a payee unit."""
    if actor is not None and not has_role(actor, Role.ADMINISTRATOR):
        raise PermissionDenied()
    payee = organization_list_active(kinds=(OrganizationKind.PAYEE,)).filter(public_id=payee_public_id).first()
    if payee is None:
        raise ApplicationError(_("No active payee unit has this id."), code="payee_not_found", field="payee")
    client_id = (client_id or "").strip()
    if not client_id:
        raise ApplicationError(_("Give the API client's client id."), code="client_required", field="client_id")
    link, _created = PartnerClient.objects.update_or_create(client_id=client_id, defaults={"payee_id": payee.pk})
    audit_record(actor=actor, action="payments.partner_client_link", object_type="api_client", object_id=client_id,
                 detail={"payee": payee.public_id})
    return link
