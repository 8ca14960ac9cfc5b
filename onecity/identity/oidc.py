"""OneCityValidator: the django-oauth-toolkit request validator of the OneCity OIDC provider.

What it adds to DOT's `OAuth2Validator` (see docs/decisions/0002-oidc-provider.md):

- PKCE with S256 for every client: a missing challenge is refused by oauthlib
  (PKCE_REQUIRED); a `plain` or absent `code_challenge_method` is refused here, at the
  authorization endpoint, with `invalid_request` sent to the client's redirect URI.
- Claims: a pairwise `sub`; `profile` → `name`; `phone` → masked `phone_number`,
  `phone_number_verified`; `realname` → `legal_name`, `id_number_masked`,
  `real_name_verified`.
- ID tokens carry the `acr` and `auth_time` of the sign-in that produced the code, carried
  from the authorization step in `AuthorizationContext`.
- A replayed authorization code revokes the tokens issued from it (RFC 6749 §4.1.2).
- Authorization requests may ask only for the scopes relying parties are offered.

Sign-in, step-up, consent and `prompt` are decided by the authorization view
(`views/oidc.py`) before oauthlib issues a code; `validate_silent_login` and
`validate_silent_authorization` therefore accept what reaches them.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from oauth2_provider.models import revoke_access_token
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from onecity.core.audit import audit_record
from onecity.core.masking import mask_id_number, mask_phone
from onecity.identity.enums import AssuranceLevel
from onecity.identity.models import AuthorizationContext, RealNameIdentity
from onecity.identity.services.oidc import CLIENT_SCOPES, pairwise_subject

log = logging.getLogger(__name__)

#: how long the acr/auth_time of a code (and the token issued from it) is remembered
CONTEXT_RETENTION = timedelta(days=1)


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def _real_name(request):
    """The citizen's verified identity, loaded once per request (None if not verified)."""
    if not hasattr(request, "_onecity_real_name"):
        request._onecity_real_name = RealNameIdentity.objects.filter(user=request.user).first()
    return request._onecity_real_name


class OneCityValidator(OAuth2Validator):
    # claim → the scope that releases it
    oidc_claim_scope = {
        "sub": "openid",
        "name": "profile",
        "phone_number": "phone",
        "phone_number_verified": "phone",
        "legal_name": "realname",
        "id_number_masked": "realname",
        "real_name_verified": "realname",
    }

    # --- claims -----------------------------------------------------------------------------
    def get_additional_claims(self, request):
        return {
            "name": lambda r: r.user.display_name,
            "phone_number": lambda r: mask_phone(r.user.phone),
            # citizens' numbers are proven by an SMS code at registration
            "phone_number_verified": lambda r: bool(r.user.phone),
            "legal_name": lambda r: _real_name(r).legal_name if _real_name(r) else None,
            "id_number_masked": lambda r: mask_id_number(_real_name(r).id_number) if _real_name(r) else None,
            "real_name_verified": lambda r: _real_name(r) is not None,
        }

    def get_claim_dict(self, request):
        claims = {"sub": lambda r: pairwise_subject(r.user, r.client)}
        claims.update(self.get_additional_claims(request))
        return claims

    def get_oidc_claims(self, token, token_handler, request):
        claims = super().get_oidc_claims(token, token_handler, request)
        return {k: v for k, v in claims.items() if v is not None}

    def get_discovery_claims(self, request):
        return [*self.oidc_claim_scope, "acr", "auth_time"]

    def get_id_token_dictionary(self, token, token_handler, request):
        claims, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        context = None
        if getattr(request, "code", None):
            context = AuthorizationContext.objects.filter(
                code_hash=code_hash(request.code), application=request.client
            ).first()
        if context is not None:
            claims["acr"] = context.acr
            claims["auth_time"] = int(context.auth_time.timestamp())
        else:  # a code issued before contexts existed: claim no more than a password
            claims["acr"] = str(AssuranceLevel.L1)
        return claims, expiration_time

    def refresh_id_token(self, request):
        """Refreshing renews access only; a new ID token needs a new sign-in (OIDC Core §12.2
        makes it optional), so `acr` and `auth_time` always describe a real authentication."""
        return False

    # --- authorization requests ---------------------------------------------------------------
    def is_pkce_required(self, client_id, request):
        """PKCE is required of every client, with S256 only (RFC 9700 §2.1.1)."""
        if request.code_challenge is not None and request.code_challenge_method != "S256":
            raise errors.UnsupportedCodeChallengeMethodError(
                description='Unsupported code_challenge_method: use "S256".', request=request
            )
        return True

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        if request.response_type and not set(scopes) <= set(CLIENT_SCOPES):
            return False
        return super().validate_scopes(client_id, scopes, client, request, *args, **kwargs)

    def validate_silent_login(self, request):
        return True  # the authorization view returns login_required before oauthlib runs

    def validate_silent_authorization(self, request):
        return True  # the authorization view returns consent_required before oauthlib runs

    def save_authorization_code(self, client_id, code, request, *args, **kwargs):
        if request.code_challenge_method != "S256":  # defence in depth: never store a weaker code
            raise errors.UnsupportedCodeChallengeMethodError(
                description='Unsupported code_challenge_method: use "S256".', request=request
            )
        super().save_authorization_code(client_id, code, request, *args, **kwargs)
        now = timezone.now()
        auth_time = getattr(request, "onecity_auth_time", None)
        auth_time = datetime.fromtimestamp(int(auth_time), tz=UTC) if auth_time else (request.user.last_login or now)
        acr = getattr(request, "onecity_acr", None) or AssuranceLevel.L1
        AuthorizationContext.objects.create(
            code_hash=code_hash(code["code"]), application=request.client, user=request.user,
            acr=str(acr), auth_time=auth_time,
        )
        AuthorizationContext.objects.filter(created_at__lt=now - CONTEXT_RETENTION).delete()

    # --- token endpoint ----------------------------------------------------------------------
    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        if super().validate_code(client_id, code, client, request, *args, **kwargs):
            return True
        # A code that was already exchanged: whoever replays it may have stolen it, so the
        # tokens issued from it are revoked (RFC 6749 §4.1.2).
        context = (AuthorizationContext.objects.select_related("access_token")
                   .filter(code_hash=code_hash(code), application=client, redeemed_at__isnull=False).first())
        if context is not None:
            revoked = context.access_token is not None
            if revoked:
                revoke_access_token(context.access_token)
            audit_record(actor=None, action="oidc.code_replay", subject_user=context.user,
                         object_type="oidc_client", object_id=client.client_id,
                         detail={"tokens_revoked": revoked})
        return False

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        access_token = super()._create_access_token(expires, request, token, source_refresh_token)
        if request.grant_type == "authorization_code" and getattr(request, "code", None):
            AuthorizationContext.objects.filter(code_hash=code_hash(request.code), application=request.client).update(
                redeemed_at=timezone.now(), access_token=access_token
            )
            request.onecity_access_token = access_token
        return access_token

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        try:
            super().invalidate_authorization_code(client_id, code, request, *args, **kwargs)
        except errors.InvalidGrantError:
            # another request exchanged the same code at the same moment: take back what was
            # just issued, so a code never yields two live tokens
            issued = getattr(request, "onecity_access_token", None)
            if issued is not None and issued.pk:
                revoke_access_token(issued)
            raise
