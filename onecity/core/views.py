"""Front-end views owned by core: the elderly-friendly mode switch (适老化)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from onecity.core.middleware import ELDERLY_COOKIE

ELDERLY_COOKIE_AGE = 365 * 24 * 3600


def safe_next(request: HttpRequest, default: str = "/") -> str:
    """The local URL to go back to: POSTed `next`, else the Referer, else `default`."""
    for candidate in (request.POST.get("next"), request.GET.get("next"), request.headers.get("referer")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return default


@require_POST
def elderly_toggle(request: HttpRequest) -> HttpResponseRedirect:
    """Switch elderly mode on or off (`mode` = "on" / "off"; anything else toggles) and go back."""
    mode = request.POST.get("mode", "")
    enable = {"on": True, "off": False}.get(mode, not getattr(request, "elderly_mode", False))
    response = HttpResponseRedirect(safe_next(request))
    if enable:
        response.set_cookie(
            ELDERLY_COOKIE, "1", max_age=ELDERLY_COOKIE_AGE, samesite="Lax", httponly=True,
            secure=settings.SESSION_COOKIE_SECURE,
        )
    else:
        response.delete_cookie(ELDERLY_COOKIE, samesite="Lax")
    return response
