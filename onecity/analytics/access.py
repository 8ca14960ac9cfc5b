"""Who may read the 12345 statistics, and which part (decision 0011).

- supervisors and administrators (the leaders' view): the whole city;
- department handlers: their own unit's figures only (the requests their organization holds as
  first-level unit or as sub-unit, as in the hotline's own visibility rule); a handler with no
  organization sees nothing;
- everybody else (operators, dispatchers, auditors, residents): no statistics.

The scope is decided here, on the server, from the signed-in person; no query parameter can
widen it.
"""

from __future__ import annotations

from dataclasses import dataclass

from onecity.analytics.models import CITY
from onecity.core.errors import PermissionDenied
from onecity.identity.access import is_staff_member, roles_of

LEADER_ROLES = ("supervisor", "administrator")
UNIT_ROLES = ("department_handler",)
#: every role that sees the dashboard (navigation)
STATS_ROLES = (*LEADER_ROLES, *UNIT_ROLES)


@dataclass(frozen=True)
class StatsScope:
    scope: int  # CITY, or the organization id of the unit
    is_city: bool


def stats_scope_for(user) -> StatsScope:
    """The figures `user` may see; PermissionDenied when none."""
    if is_staff_member(user):
        roles = roles_of(user)
        if roles & set(LEADER_ROLES) or user.is_superuser:
            return StatsScope(scope=CITY, is_city=True)
        if roles & set(UNIT_ROLES) and user.organization_id:
            return StatsScope(scope=user.organization_id, is_city=False)
    raise PermissionDenied()


#: who sees the 福码 statistics (decision 0018): the leaders only. Department handlers' units
#: collect no payments, payee cashiers have their own unit's collections in the payee console,
#: and auditors see no statistics (as for the 12345 figures).
PAYMENT_STATS_ROLES = LEADER_ROLES


def payment_stats_allowed(user) -> None:
    """PermissionDenied unless `user` may read the city's 福码 statistics."""
    if is_staff_member(user) and (roles_of(user) & set(PAYMENT_STATS_ROLES) or user.is_superuser):
        return
    raise PermissionDenied()
