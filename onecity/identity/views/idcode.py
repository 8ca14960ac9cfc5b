"""Identity code pages: the citizen's QR code, the published verification keys, and the staff
verification page. Thin: parse, call the idcode service, render."""

from __future__ import annotations

import segno
from django import forms
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from onecity.core.errors import ApplicationError, RateLimited
from onecity.core.ratelimit import ratelimit_hit
from onecity.identity.access import citizen_required, staff_required
from onecity.identity.enums import SigningKeyPurpose
from onecity.identity.services.idcode import MAX_GATE_CHARS, MAX_PAYLOAD_CHARS, idcode_issue, idcode_verify
from onecity.identity.services.signing_keys import signing_key_current, signing_keys_jwks

JWKS_MAX_AGE = 300  # seconds gates and partners may cache the published keys


def qr_svg(data: str, *, title: str) -> str:
    """An inline SVG QR code (error correction M), sized by CSS (no width/height attributes)."""
    code = segno.make(data, error="m", micro=False, boost_error=False)
    return code.svg_inline(scale=1, border=4, omitsize=True, title=title, svgclass="idcode-qr", dark="#000",
                           light="#fff")


def _idcode_context(request) -> dict:
    try:
        issued = idcode_issue(user=request.user)
    except ApplicationError as exc:
        if exc.code != "realname_required":
            raise
        return {"issued": None}
    return {
        "issued": issued,
        "qr": qr_svg(issued.token, title=_("Identity code QR code")),
        "refresh_seconds": max(issued.ttl_seconds - 10, 10),
    }


@never_cache
@require_GET
@citizen_required
def idcode(request):
    """The citizen's identity code: a QR code that renews itself every minute."""
    return render(request, "identity/idcode/page.html", _idcode_context(request))


@never_cache
@require_GET
@citizen_required
def idcode_fragment(request):
    """The code card alone, for htmx refresh. Without a verified real name (for instance after
    it was withdrawn while the page was open) htmx is sent to the full page, which explains."""
    context = _idcode_context(request)
    if context["issued"] is None:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("identity:idcode")
        return response
    return render(request, "identity/idcode/_card.html", context)


@require_GET
def idcode_keys(request):
    """The published identity-code verification keys (JWKS) for gates and partners. The first
    key is created here if no code has been issued yet, so gates can be set up before launch."""
    signing_key_current(purpose=SigningKeyPurpose.IDENTITY_CODE)
    response = JsonResponse(signing_keys_jwks(purpose=SigningKeyPurpose.IDENTITY_CODE),
                            content_type="application/jwk-set+json")
    response["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    response["Access-Control-Allow-Origin"] = "*"
    return response


class IdcodeVerifyForm(forms.Form):
    payload = forms.CharField(
        label=gettext_lazy("Scanned code"),
        max_length=MAX_PAYLOAD_CHARS,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false", "autofocus": True}),
        help_text=gettext_lazy("Scan the citizen's QR code with a scanner into this box, or paste its text."),
    )
    gate = forms.CharField(
        label=gettext_lazy("Gate id"),
        max_length=MAX_GATE_CHARS,
        required=False,
        help_text=gettext_lazy("With a gate id, each code is accepted only once at that gate."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required()
def idcode_verify_page(request):
    """Staff check of an identity code (a counter without a gate device)."""
    result = None
    status = 200
    if request.method == "POST":
        form = IdcodeVerifyForm(request.POST)
        if form.is_valid():
            try:
                ratelimit_hit("idcode_verify", f"user:{request.user.pk}")
                result = idcode_verify(payload=form.cleaned_data["payload"], gate=form.cleaned_data["gate"] or None)
            except RateLimited as exc:
                form.add_error(None, exc.message)
                status = 429
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                status = 400
        else:
            status = 400
        if result is not None:
            # keep the gate for the next scan, clear the code box
            form = IdcodeVerifyForm(initial={"gate": form.cleaned_data.get("gate", "")})
    else:
        form = IdcodeVerifyForm(initial={"gate": request.GET.get("gate", "")[:MAX_GATE_CHARS]})
    return render(request, "identity/idcode/verify.html", {"form": form, "result": result}, status=status)
