"""The callback lane: requests that other systems send us on their own (a payment channel's
notification) go through Django without the middleware made for people in browsers.

A channel's notification needs no session, language negotiation, CSRF token, signed-in user,
messages, clickjacking header, htmx, elderly mode or sign-in lockout check: it is verified by its
signature, in its view. On the full stack those thirteen middleware cost about a fifth of the
endpoint's CPU per notification. Paths under `settings.CALLBACK_PATH_PREFIXES` are served by
`CallbackHandler` instead: Django's own WSGI handler (its request signals, so database
connections are kept and closed as on every request; URL resolution; error responses) with no
middleware but the check of the Host header against ALLOWED_HOSTS, and the site's default
language. Every other path goes through the full stack as before.

`warm_up` runs when a web worker loads the application, before it accepts a connection.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.urls import get_resolver
from django.utils import translation


class CallbackHandler(WSGIHandler):
    """Django's WSGI handler with an empty middleware stack plus the Host check."""

    def load_middleware(self, is_async=False):
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._host_checked)

    def _host_checked(self, request):
        request.get_host()  # DisallowedHost becomes a 400 here, as CommonMiddleware makes it elsewhere
        with translation.override(settings.LANGUAGE_CODE):  # not whatever this thread served last
            return self._get_response(request)


def with_callback_lane(full):
    """The WSGI application: callback paths to a `CallbackHandler`, the rest to `full`."""
    prefixes = tuple(settings.CALLBACK_PATH_PREFIXES)
    callbacks = CallbackHandler()

    def application(environ, start_response):
        lane = callbacks if environ.get("PATH_INFO", "").startswith(prefixes) else full
        return lane(environ, start_response)

    return application


def warm_up() -> None:
    """Before a web worker takes its first request: import every view (the URLconf is otherwise
    imported by the first request, about 2 s of CPU) and let each app load what its requests
    need (an app config's `warm_up`: the payment channels' keys)."""
    get_resolver().url_patterns  # noqa: B018 (the property imports the URLconf)
    for config in apps.get_app_configs():
        if hasattr(config, "warm_up"):
            config.warm_up()
