from __future__ import annotations

from django.conf import settings


def site(request):
    return {
        "elderly_mode": getattr(request, "elderly_mode", False),
        "dev_inbox_enabled": settings.DEV_INBOX,
        "base_url": settings.BASE_URL,
    }
