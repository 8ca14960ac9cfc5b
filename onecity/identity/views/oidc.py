"""OIDC provider pages and endpoints built on django-oauth-toolkit.

- `AuthorizeView` (`/o/authorize/`): sign-in (SSO through the session), `prompt`
  (none/login/consent), `max_age`, step-up for `acr_values`, the consent screen, then the
  authorization code. DOT's own view asks for approval based on earlier tokens; OneCity asks
  based on recorded consents instead.
- `DiscoveryView` (`/.well-known/openid-configuration`), `IntrospectView`
  (`/o/introspect/`, pairwise `sub`, a client sees only its own tokens), `LogoutView`
  (RP-initiated logout with OneCity's page).
- `consents` / `consent_revoke`: the citizen's list of authorised apps.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlparse

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.generic import View
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.models import get_access_token_model, get_application_model
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views.base import AuthorizationView as DotAuthorizationView
from oauth2_provider.views.mixins import OAuthLibMixin
from oauth2_provider.views.oidc import ConnectDiscoveryInfoView, RPInitiatedLogoutView
from oauthlib.common import Request as OauthlibRequest

from onecity.core.audit import client_ip
from onecity.core.errors import ApplicationError
from onecity.core.masking import mask_id_number, mask_name, mask_phone
from onecity.identity.enums import AssuranceLevel
from onecity.identity.models import ClientProfile, RealNameIdentity
from onecity.identity.selectors.oidc import consent_list_for_user
from onecity.identity.services.oidc import (
    CLIENT_SCOPES,
    consent_covers,
    consent_granted_scopes,
    consent_record,
    consent_revoke,
    pairwise_subject,
    personal_scopes,
    scopes_normalise,
)

ACR_RANK = {str(AssuranceLevel.L1): 1, str(AssuranceLevel.L2): 2}

#: what each scope releases, as the citizen is told on the consent screen
SCOPE_ITEMS = {
    "profile": [("name", gettext_lazy("Your display name"))],
    "phone": [("phone", gettext_lazy("Your mobile number (masked, e.g. 138****8000)"))],
    "realname": [
        ("legal_name", gettext_lazy("Your verified legal name")),
        ("id_number", gettext_lazy("Your resident ID number, masked (only the first and last characters)")),
        ("verified", gettext_lazy("Whether your real name has been verified")),
    ],
}
SCOPE_TITLES = {
    "profile": gettext_lazy("Basic profile"),
    "phone": gettext_lazy("Mobile number"),
    "realname": gettext_lazy("Real-name identity"),
}


def session_acr(request) -> str:
    acr = request.session.get("acr")
    return acr if acr in ACR_RANK else str(AssuranceLevel.L1)


def session_auth_time(request) -> int | None:
    value = request.session.get("auth_time")
    if isinstance(value, int | float):
        return int(value)
    if request.user.is_authenticated and request.user.last_login:
        return int(request.user.last_login.timestamp())
    return None


def required_acr_rank(acr_values: str | None) -> int:
    """The lowest OneCity level among the requested `acr_values` (any listed value satisfies
    the client); unknown values are ignored."""
    ranks = [ACR_RANK[v] for v in (acr_values or "").split() if v in ACR_RANK]
    return min(ranks) if ranks else 0


def client_profile(application) -> ClientProfile | None:
    return ClientProfile.objects.select_related("operator").filter(application=application).first()


def client_display_name(application, profile: ClientProfile | None = None) -> str:
    profile = profile if profile is not None else client_profile(application)
    if profile is None:
        return application.name
    if (get_language() or "").startswith("en") and profile.display_name_en:
        return profile.display_name_en
    return profile.display_name


def client_purpose(profile: ClientProfile | None) -> str:
    if profile is None:
        return ""
    if (get_language() or "").startswith("en") and profile.purpose_en:
        return profile.purpose_en
    return profile.purpose


@dataclass(frozen=True)
class DataItem:
    label: str
    value: str


def consent_items(user, scopes) -> list[dict]:
    """The data items a request would release, with the citizen's own (masked) values."""
    real = RealNameIdentity.objects.filter(user=user).first() if "realname" in scopes else None
    values = {
        "name": user.display_name or "—",
        "phone": mask_phone(user.phone) or "—",
        "legal_name": mask_name(real.legal_name) if real else _("Not verified yet"),
        "id_number": mask_id_number(real.id_number) if real else _("Not verified yet"),
        "verified": _("Yes") if real else _("No"),
    }
    groups = []
    for scope in scopes_normalise(scopes):
        if scope in SCOPE_ITEMS:
            groups.append({
                "scope": scope,
                "title": SCOPE_TITLES[scope],
                "items": [DataItem(str(label), values[key]) for key, label in SCOPE_ITEMS[scope]],
            })
    return groups


class ConsentDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("allow", "allow"), ("deny", "deny")])


def _strip_params(url: str, names: set[str]) -> str:
    parsed = urlparse(url)
    query = [(k, v) for k, v in parse_qsl(parsed.query, keep_blank_values=True) if k not in names]
    return parsed._replace(query=urlencode(query)).geturl()


class AuthorizeView(DotAuthorizationView):
    """The authorization endpoint. GET shows the consent screen when one is needed; the
    screen posts the decision back to the same URL, so the request is validated again
    exactly as it was shown."""

    template_name = "identity/oidc/consent.html"
    error_template_name = "identity/oidc/error.html"

    def render_to_response(self, context, status=200):
        return render(self.request, self.error_template_name, context, status=status)

    def get(self, request, *args, **kwargs):
        return self.authorize(request, decision=None)

    def post(self, request, *args, **kwargs):
        form = ConsentDecisionForm(request.POST)
        if not form.is_valid():
            return self.render_to_response({"message": _("Please choose Allow or Refuse.")}, status=400)
        return self.authorize(request, decision=form.cleaned_data["decision"])

    # --- helpers --------------------------------------------------------------------------
    def redirect_error(self, credentials, application, error: str, description: str = ""):
        params = {"error": error}
        if description:
            params["error_description"] = description
        if credentials.get("state"):
            params["state"] = credentials["state"]
        if oauth2_settings.COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS:
            params["iss"] = oauth2_settings.oauth2_authorization_server_issuer(self.request)
        redirect_uri = credentials["redirect_uri"]
        separator = "&" if "?" in redirect_uri else "?"
        return self.redirect(redirect_uri + separator + urlencode(params), application)

    def issue_code(self, request, scopes, credentials, application):
        try:
            uri, headers, body, status = self.create_authorization_response(
                request=request, scopes=" ".join(scopes), credentials=credentials, allow=True
            )
        except OAuthToolkitError as error:
            return self.error_response(error, application)
        return self.redirect(uri, application)

    def create_authorization_response(self, request, scopes, credentials, allow):
        # how the citizen signed in, for the ID token (see OneCityValidator.save_authorization_code)
        credentials = {**credentials, "onecity_acr": session_acr(request),
                       "onecity_auth_time": session_auth_time(request)}
        return super().create_authorization_response(request, scopes, credentials, allow)

    def reauthenticate(self, request):
        """`prompt=login` or an expired `max_age`: end the session and sign in again, then come
        back to this request without the parameter that forced it."""
        next_url = _strip_params(request.get_full_path(), {"prompt", "max_age"})
        logout(request)
        return redirect_to_login(next_url, self.get_login_url(), self.get_redirect_field_name())

    # --- the flow ---------------------------------------------------------------------------
    def authorize(self, request, decision):
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        application = get_application_model().objects.get(client_id=credentials["client_id"])
        params = request.GET
        prompt = set(params.get("prompt", "").split())

        # 1. authentication: prompt=login / max_age force a fresh sign-in
        if decision is None:
            if "login" in prompt:
                return self.reauthenticate(request)
            max_age = params.get("max_age", "")
            if max_age.isdigit():
                auth_time = session_auth_time(request)
                if auth_time is None or time.time() - auth_time > int(max_age):
                    if "none" in prompt:
                        return self.redirect_error(credentials, application, "login_required")
                    return self.reauthenticate(request)

        # 2. assurance level: step up with an SMS code when the client needs more
        if ACR_RANK[session_acr(request)] < required_acr_rank(params.get("acr_values")):
            if "none" in prompt or decision is not None:
                return self.redirect_error(credentials, application, "login_required",
                                           "A higher assurance level is required.")
            return HttpResponseRedirect(reverse("identity:step_up") + "?" + urlencode({"next": request.get_full_path()}))

        # 3. consent for personal data
        wanted = personal_scopes(scopes)
        if decision == "deny":
            with transaction.atomic():
                if wanted:
                    consent_record(user=request.user, application=application, scopes=scopes, allow=False,
                                   ip=client_ip(request))
            return self.redirect_error(credentials, application, "access_denied",
                                       "The citizen refused the request.")
        if decision == "allow":
            with transaction.atomic():
                if wanted:
                    consent_record(user=request.user, application=application, scopes=scopes, allow=True,
                                   ip=client_ip(request))
                return self.issue_code(request, scopes, credentials, application)

        covered = consent_covers(user=request.user, application=application, scopes=scopes)
        if "none" in prompt:
            if not covered:
                return self.redirect_error(credentials, application, "consent_required")
            return self.issue_code(request, scopes, credentials, application)
        if covered and "consent" not in prompt:
            return self.issue_code(request, scopes, credentials, application)
        return self.render_consent(request, application, scopes)

    def render_consent(self, request, application, scopes):
        profile = client_profile(application)
        already = consent_granted_scopes(user=request.user, application=application)
        context = {
            "application": application,
            "client_name": client_display_name(application, profile),
            "operator": profile.operator.display_name() if profile and profile.operator else "",
            "purpose": client_purpose(profile),
            "homepage": profile.homepage if profile else "",
            "groups": consent_items(request.user, scopes),
            "already_allowed": sorted(already),
            "form_action": request.get_full_path(),
            "redirect_host": urlparse(request.GET.get("redirect_uri", "")).netloc,
        }
        return render(request, self.template_name, context)


class DiscoveryView(ConnectDiscoveryInfoView):
    """OpenID Provider metadata, with what OneCity actually accepts."""

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        data = json.loads(response.content)
        data.update({
            "scopes_supported": list(CLIENT_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "subject_types_supported": ["pairwise"],
            "acr_values_supported": list(ACR_RANK),
            "prompt_values_supported": ["none", "login", "consent"],
            "claims_parameter_supported": False,
            "revocation_endpoint": self._get_endpoint_url(request, "revoke-token", required=True),
            "introspection_endpoint": self._get_endpoint_url(request, "introspect", required=True),
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "ui_locales_supported": ["zh-Hans", "en"],
        })
        response = JsonResponse(data)
        response["Access-Control-Allow-Origin"] = "*"
        return response


@method_decorator(csrf_exempt, name="dispatch")
class IntrospectView(OAuthLibMixin, View):
    """RFC 7662 token introspection for relying parties: the client authenticates with its
    id and secret and learns only about its own tokens; the subject is its pairwise `sub`
    (never a user name or phone number)."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        core = self.get_oauthlib_core()
        uri, http_method, body, headers = core._extract_params(request)
        oauth_request = OauthlibRequest(uri, http_method, body, headers)
        validator = core.server.request_validator
        if not validator.authenticate_client(oauth_request):
            response = JsonResponse({"error": "invalid_client"}, status=401)
            response["WWW-Authenticate"] = 'Basic realm="OneCity"'
            return response
        client = oauth_request.client
        token_value = request.POST.get("token")
        if not token_value:
            return JsonResponse({"error": "invalid_request", "error_description": "token is missing"}, status=400)
        checksum = hashlib.sha256(token_value.encode("utf-8")).hexdigest()
        token = (get_access_token_model().objects.select_related("user", "application")
                 .filter(token_checksum=checksum, application=client).first())
        if token is None or not token.is_valid():
            return JsonResponse({"active": False})
        data = {
            "active": True,
            "scope": token.scope,
            "client_id": client.client_id,
            "token_type": "Bearer",
            "exp": int(calendar.timegm(token.expires.timetuple())),
            "iat": int(calendar.timegm(token.created.timetuple())),
            "iss": oauth2_settings.oidc_issuer(request),
        }
        if token.user is not None:
            data["sub"] = pairwise_subject(token.user, client)
        return JsonResponse(data)


class LogoutView(RPInitiatedLogoutView):
    template_name = "identity/oidc/logout_confirm.html"


# --- the citizen's authorised apps -------------------------------------------------------------
@login_required
def consents(request):
    rows = consent_list_for_user(request.user)
    return render(request, "identity/oidc/consents.html", {"rows": rows})


@require_POST
@login_required
def consent_revoke_view(request, public_id: str):
    try:
        consent = consent_revoke(user=request.user, consent_public_id=public_id, ip=client_ip(request))
    except ApplicationError as error:
        if error.status == 404:
            raise Http404(error.message) from None
        messages.error(request, error.message)
    else:
        messages.success(request, _("You withdrew the permission of %(app)s. It can no longer use your data.")
                         % {"app": client_display_name(consent.application)})
    return redirect("identity:consents")
