"""Elderly-friendly mode (适老化): larger type and higher contrast, remembered in a cookie."""

from __future__ import annotations

ELDERLY_COOKIE = "onecity_elderly"


class ElderlyModeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.elderly_mode = request.COOKIES.get(ELDERLY_COOKIE) == "1"
        return self.get_response(request)
