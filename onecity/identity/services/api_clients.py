"""Partner API clients: confidential OAuth 2.0 applications that use the client-credentials
grant (`POST /o/token/` with HTTP Basic client authentication, grant_type=client_credentials,
scope=api) to call the REST API under /api/v1/.

Only client-credentials applications are accepted by the API (onecity.identity.api_auth), and
only for tokens carrying the `api` scope; citizen-facing OIDC clients cannot call it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_application_model

from onecity.core.audit import audit_record
from onecity.core.errors import ApplicationError
from onecity.identity.api_auth import API_SCOPE

NAME_MAX = 100


@dataclass(frozen=True)
class ApiClientCredentials:
    """A new API client's credentials; the secret is shown once and stored only hashed."""

    client_id: str
    client_secret: str
    name: str
    scope: str
    token_url_path: str = "/o/token/"


@transaction.atomic
def api_client_create(*, actor, name: str) -> ApiClientCredentials:
    """Register a partner system as a confidential client-credentials application."""
    Application = get_application_model()
    name = " ".join((name or "").split())
    if not name:
        raise ApplicationError(_("Give the API client a name."), code="name_required", field="name")
    if len(name) > NAME_MAX:
        raise ApplicationError(_("The name can have at most %(max)d characters.") % {"max": NAME_MAX},
                               code="name_length", field="name")
    secret = generate_client_secret()
    application = Application(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        redirect_uris="",
        client_secret=secret,  # hashed by Application.save(); `secret` is the only plaintext copy
        hash_client_secret=True,
        skip_authorization=True,
    )
    application.save()
    audit_record(actor=actor, action="api.client_create", object_type="api_client",
                 object_id=application.client_id, detail={"name": name, "scope": API_SCOPE})
    return ApiClientCredentials(client_id=application.client_id, client_secret=secret, name=name, scope=API_SCOPE)
