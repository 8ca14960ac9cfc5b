"""PasswordChangeRequiredMiddleware: someone signed in with a password an administrator chose
(a temporary password) can do nothing but choose their own, or sign out."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect

# Paths that stay reachable: the password page itself, signing out, assets, language and
# elderly-mode switches, health checks.
ALWAYS_OPEN = ("/i18n/", "/ui/", "/healthz", "/readyz")


class PasswordChangeRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "must_change_password", False):
            target = reverse("identity:password_change")
            path = request.path
            if path not in (target, reverse("identity:logout")) and not path.startswith(
                    (settings.STATIC_URL, *ALWAYS_OPEN)):
                url = f"{target}?{urlencode({'next': request.get_full_path()})}"
                if request.headers.get("HX-Request") == "true":  # runs before HtmxMiddleware
                    return HttpResponseClientRedirect(url)
                return redirect(url)
        return self.get_response(request)
