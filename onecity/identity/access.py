"""Who may do what: roles of staff members and the view decorators that enforce them.

- `has_role(user, *roles)`: an active staff member holding at least one of `roles`
  (with no roles given: any active staff member).
- `@staff_required(*roles)`: anonymous visitors are sent to sign in; signed-in people without
  the role get the 403 page.
- `@citizen_required`: the same for citizen-only pages.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render

from onecity.identity.enums import Role, UserKind

#: roles that may look people up and, with a stated reason, see their full numbers
PEOPLE_ROLES = (Role.HOTLINE_OPERATOR, Role.APPLICATION_REVIEWER, Role.SUPERVISOR, Role.ADMINISTRATOR)
#: roles that may read the audit log
AUDIT_ROLES = (Role.AUDITOR, Role.ADMINISTRATOR)


def is_staff_member(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active and user.kind == UserKind.STAFF)


def is_citizen(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active and user.kind == UserKind.CITIZEN)


def roles_of(user) -> set[str]:
    """The role codes a staff member holds (empty for everyone else)."""
    if not is_staff_member(user):
        return set()
    return set(user.roles.values_list("role", flat=True))


def has_role(user, *roles: str) -> bool:
    if not is_staff_member(user):
        return False
    if not roles:
        return True
    return user.roles.filter(role__in=[str(r) for r in roles]).exists()


def forbidden(request, message=None):
    """The 403 page."""
    layout = "staff/base.html" if is_staff_member(request.user) else "resident/base.html"
    return render(request, "identity/forbidden.html", {"message": message, "layout": layout}, status=403)


def staff_required(*roles: str):
    """View decorator: an active staff member holding one of `roles` (any staff member when
    no roles are given)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *roles):
                return forbidden(request)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def citizen_required(view):
    """View decorator: a signed-in citizen."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_citizen(request.user):
            return forbidden(request)
        return view(request, *args, **kwargs)

    return wrapped
