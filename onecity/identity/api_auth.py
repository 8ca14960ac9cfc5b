"""Partner API authentication: OAuth 2.0 client-credentials access tokens issued by the
OneCity authorization server (`POST /o/token/`, grant_type=client_credentials, scope=api).

A request passes when its `Authorization: Bearer <token>` names an access token that exists
(revoked tokens are deleted by django-oauth-toolkit), has not expired, was issued to a
client-credentials application, and carries the `api` scope. No token or an unknown or
expired one → 401 with `WWW-Authenticate: Bearer`; a valid token without the `api` scope,
or one issued to a citizen-facing (authorization-code) client → 403.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import HttpBearer
from oauth2_provider.models import AbstractApplication, get_access_token_model

from onecity.core.errors import PermissionDenied

API_SCOPE = "api"
MAX_TOKEN_CHARS = 512


@dataclass(frozen=True)
class ApiClient:
    """Who is calling: set as `request.auth` on every authenticated API request."""

    client_id: str
    name: str
    scopes: frozenset[str]
    token_id: int


class ClientCredentialsBearer(HttpBearer):
    """ninja security scheme: `bearer` (declared in the OpenAPI document as `ClientCredentialsBearer`)."""

    openapi_bearerFormat = "opaque"  # noqa: N815 - ninja's attribute name
    openapi_description = "OAuth 2.0 client-credentials access token from POST /o/token/ with scope=api."

    def __init__(self, *, scope: str = API_SCOPE):
        super().__init__()
        self.scope = scope

    def authenticate(self, request, token: str) -> ApiClient | None:
        token = token.strip()
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        access = (
            get_access_token_model()
            .objects.select_related("application")
            .filter(token_checksum=checksum)
            .first()
        )
        if access is None or access.expires is None or access.expires <= timezone.now():
            return None
        application = access.application
        scopes = frozenset(access.scope.split())
        if (
            application is None
            or application.authorization_grant_type != AbstractApplication.GRANT_CLIENT_CREDENTIALS
            or self.scope not in scopes
        ):
            raise PermissionDenied(
                _("This access token does not allow calls to the OneCity API. Request a client-credentials "
                  "token with the scope “%(scope)s”.") % {"scope": self.scope},
                code="insufficient_scope",
            )
        return ApiClient(client_id=application.client_id, name=application.name, scopes=scopes, token_id=access.pk)
