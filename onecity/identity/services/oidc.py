"""Writes of the OIDC provider: client registration, consent decisions and their revocation,
and the pairwise subject a client sees.

- `client_create` registers a province or city app (a confidential authorization-code client
  signing ID tokens with RS256) and returns its secret once.
- `consent_record` stores a citizen's allow/refuse decision (one row per decision).
- `consent_revoke` withdraws an app's access: the consent is marked revoked and every access
  and refresh token the app holds for the citizen is revoked, with an audit row.
- `pairwise_subject` is the `sub` a client sees: stable for that client, unlinkable across
  clients (OIDC Core §8.1).

See docs/decisions/0002-oidc-provider.md.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_refresh_token_model,
    revoke_access_token,
)

from onecity.core.audit import audit_record
from onecity.core.errors import ApplicationError, NotFound
from onecity.identity.enums import ConsentDecision
from onecity.identity.models import ClientProfile, Consent

#: scopes that release personal data and therefore need the citizen's consent
PERSONAL_DATA_SCOPES = ("profile", "phone", "realname")
#: scopes a relying party may ask for at the authorization endpoint
CLIENT_SCOPES = ("openid", *PERSONAL_DATA_SCOPES)

NAME_MAX = 60
PURPOSE_MAX = 300


@dataclass(frozen=True)
class ClientCredentials:
    """A new client's credentials; the secret is shown once and stored only hashed."""

    client_id: str
    client_secret: str
    name: str
    redirect_uris: list[str]


# --- pairwise subjects ----------------------------------------------------------------------------
def pairwise_subject(user, application) -> str:
    """HMAC-SHA256 of the user's public id under the server secret and the client's salt.

    The same citizen gets the same `sub` from one client every time, and two clients cannot
    link their subjects without the server secret.
    """
    profile = ClientProfile.objects.filter(application=application).only("pairwise_salt").first()
    salt = profile.pairwise_salt if profile else application.client_id
    key = settings.OIDC_PAIRWISE_KEY.encode("utf-8")
    message = f"{salt}\x1f{user.public_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# --- clients --------------------------------------------------------------------------------------
def _uris_clean(uris: list[str] | None, *, field: str, required: bool) -> list[str]:
    cleaned: list[str] = []
    validator = URLValidator(schemes=["https", "http"])
    for uri in uris or []:
        uri = (uri or "").strip()
        if not uri:
            continue
        try:
            validator(uri)
        except ValidationError:
            raise ApplicationError(
                _("“%(uri)s” is not a valid web address.") % {"uri": uri}, code="redirect_uri_invalid", field=field
            ) from None
        if "#" in uri:
            raise ApplicationError(
                _("A redirect address cannot contain a fragment (#)."), code="redirect_uri_fragment", field=field
            )
        if uri not in cleaned:
            cleaned.append(uri)
    if required and not cleaned:
        raise ApplicationError(_("Give at least one redirect address."), code="redirect_uri_required", field=field)
    return cleaned


@transaction.atomic
def client_create(*, actor, name: str, redirect_uris: list[str], display_name_en: str = "", purpose: str = "",
                  purpose_en: str = "", operator=None,
                  post_logout_redirect_uris: list[str] | None = None) -> ClientCredentials:
    """Register a relying party: a confidential authorization-code client (PKCE S256 is
    required of every client), RS256 ID tokens, and the profile citizens are shown."""
    Application = get_application_model()
    name = " ".join((name or "").split())
    if not name:
        raise ApplicationError(_("Give the app a name citizens will recognise."), code="name_required", field="name")
    if len(name) > NAME_MAX:
        raise ApplicationError(_("The name can have at most %(max)d characters.") % {"max": NAME_MAX},
                               code="name_length", field="name")
    purpose = (purpose or "").strip()
    if len(purpose) > PURPOSE_MAX:
        raise ApplicationError(_("The purpose can have at most %(max)d characters.") % {"max": PURPOSE_MAX},
                               code="purpose_length", field="purpose")
    redirects = _uris_clean(redirect_uris, field="redirect_uris", required=True)
    logout_redirects = _uris_clean(post_logout_redirect_uris, field="post_logout_redirect_uris", required=False)

    from oauth2_provider.generators import generate_client_secret

    secret = generate_client_secret()
    application = Application(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(redirects),
        post_logout_redirect_uris=" ".join(logout_redirects),
        algorithm=Application.RS256_ALGORITHM,
        client_secret=secret,  # hashed by Application.save(); `secret` is the only plaintext copy
        hash_client_secret=True,
        skip_authorization=False,
    )
    application.save()
    ClientProfile.objects.create(
        application=application,
        display_name=name,
        display_name_en=(display_name_en or "").strip()[:120],
        purpose=purpose,
        purpose_en=(purpose_en or "").strip()[:600],
        operator=operator,
        pairwise_salt=secrets.token_hex(32),
    )
    audit_record(actor=actor, action="oidc.client_create", object_type="oidc_client",
                 object_id=application.client_id, detail={"name": name, "redirect_uris": redirects})
    return ClientCredentials(client_id=application.client_id, client_secret=secret, name=name,
                             redirect_uris=redirects)


# --- consents -------------------------------------------------------------------------------------
def scopes_normalise(scopes) -> list[str]:
    """Scopes in a stable order (openid first, then the personal-data scopes)."""
    if isinstance(scopes, str):
        scopes = scopes.split()
    wanted = set(scopes)
    ordered = [s for s in CLIENT_SCOPES if s in wanted]
    return ordered + sorted(wanted - set(ordered))


def personal_scopes(scopes) -> set[str]:
    return set(scopes_normalise(scopes)) & set(PERSONAL_DATA_SCOPES)


def consent_granted_scopes(*, user, application) -> set[str]:
    """Personal-data scopes the citizen currently allows this app: those of the newest
    permission not withdrawn (each permission holds everything allowed so far; refusing a
    later request for more data leaves it in force; withdrawing ends every permission)."""
    latest = (Consent.objects.filter(user=user, application=application, decision=ConsentDecision.GRANTED,
                                     revoked_at__isnull=True)
              .order_by("-decided_at", "-id").first())
    return personal_scopes(latest.scopes) if latest else set()


def consent_covers(*, user, application, scopes) -> bool:
    """True when the app may receive `scopes` without asking the citizen again."""
    wanted = personal_scopes(scopes)
    return not wanted or wanted <= consent_granted_scopes(user=user, application=application)


@transaction.atomic
def consent_record(*, user, application, scopes, allow: bool, ip: str | None = None) -> Consent:
    """Record the citizen's decision on an app's request for personal data.

    Allowing keeps what was allowed before: the new row holds the union of the requested and
    the previously allowed scopes, so the latest row always states the whole permission.
    """
    requested = personal_scopes(scopes)
    if not requested:
        raise ApplicationError(_("This request asks for no personal data."), code="consent_not_needed")
    if allow:
        decided = requested | consent_granted_scopes(user=user, application=application)
        decision = ConsentDecision.GRANTED
    else:
        decided = requested
        decision = ConsentDecision.DENIED
    profile = ClientProfile.objects.filter(application=application).first()
    consent = Consent.objects.create(
        user=user,
        application=application,
        scopes=" ".join(scopes_normalise(decided)),
        purpose=(profile.purpose if profile else "")[:300],
        decision=decision,
    )
    audit_record(actor=user, action=f"oidc.consent_{decision}", subject_user=user, object_type="consent",
                 object_id=consent.public_id, ip=ip,
                 detail={"client_id": application.client_id, "scopes": consent.scopes})
    return consent


def _tokens_revoke(*, user, application) -> int:
    """Revoke every access and refresh token, and every unused code, of the app for the user."""
    AccessToken = get_access_token_model()
    RefreshToken = get_refresh_token_model()
    Grant = get_grant_model()
    count = 0
    for token in list(AccessToken.objects.filter(user=user, application=application)):
        revoke_access_token(token)
        count += 1
    for refresh in list(RefreshToken.objects.filter(user=user, application=application, revoked__isnull=True)):
        refresh.revoke()
        count += 1
    Grant.objects.filter(user=user, application=application).delete()
    return count


@transaction.atomic
def consent_revoke(*, user, consent_public_id: str, ip: str | None = None) -> Consent:
    """Withdraw the permission given to an app: the consent is marked revoked and the app's
    tokens for this citizen stop working at once. The app must ask again next time."""
    consent = (Consent.objects.select_for_update().select_related("application")
               .filter(public_id=consent_public_id, user=user).first())
    if consent is None:
        raise NotFound()
    if consent.decision != ConsentDecision.GRANTED:
        raise ApplicationError(_("You refused this request, so there is nothing to withdraw."),
                               code="consent_not_granted")
    if consent.revoked_at is not None:
        raise ApplicationError(_("You have already withdrawn this permission."), code="consent_already_revoked")
    now = timezone.now()
    # every still-active permission for the app ends together: the app loses all access
    Consent.objects.filter(user=user, application=consent.application, decision=ConsentDecision.GRANTED,
                           revoked_at__isnull=True).update(revoked_at=now)
    consent.refresh_from_db()
    revoked = _tokens_revoke(user=user, application=consent.application)
    audit_record(actor=user, action="oidc.consent_revoke", subject_user=user, object_type="consent",
                 object_id=consent.public_id, ip=ip,
                 detail={"client_id": consent.application.client_id, "tokens_revoked": revoked})
    return consent
