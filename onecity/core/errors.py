"""ApplicationError: the one exception services raise for a rule the caller broke.

The message is a translatable sentence for the person who caused it; the code is stable for
API clients. Views render the message; APIs return {"code", "message"}.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    status = 400

    def __init__(self, message: Any, *, code: str = "invalid", field: str | None = None, status: int | None = None):
        super().__init__(str(message))
        self.message = message
        self.code = code
        self.field = field
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return str(self.message)


class PermissionDenied(ApplicationError):
    status = 403

    def __init__(self, message: Any = None, *, code: str = "forbidden"):
        from django.utils.translation import gettext as _

        super().__init__(message or _("You are not allowed to do this."), code=code)


class NotFound(ApplicationError):
    """Raised for both "does not exist" and "not yours", so the two cannot be told apart."""

    status = 404

    def __init__(self, message: Any = None, *, code: str = "not_found"):
        from django.utils.translation import gettext as _

        super().__init__(message or _("Not found."), code=code)


class RateLimited(ApplicationError):
    status = 429

    def __init__(self, message: Any = None, *, retry_after: int = 60):
        from django.utils.translation import gettext as _

        super().__init__(message or _("Too many attempts. Please wait a moment and try again."), code="rate_limited")
        self.retry_after = retry_after
