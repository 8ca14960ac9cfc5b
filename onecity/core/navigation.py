"""Navigation registry: the entries of the resident tab bar, of the resident top bar's icon tools
(`resident_tools`, e.g. the message bell) and of the staff sidebar.

`core` imports no domain app, so each app registers its own entries from its AppConfig.ready():

    from onecity.core.navigation import nav_register

    nav_register(area="staff", key="people", label=_("People"), url_name="identity:staff_people",
                 icon="user-search", order=20, roles=("supervisor", "administrator"))

Staff entries with `roles` are shown to staff members who hold at least one of those roles;
administrators (and Django superusers) see every entry. An entry's `badge(request)` (a count on
its link) is computed only for holders of `badge_roles` (default: `roles`), so an administrator
who sees every entry does not pay for, or see, counts of work that is not theirs. Entries without roles are shown to every
staff member. Resident entries are shown to everybody, resident tools to signed-in people. An entry whose `url_name` does not
resolve (the view has not landed yet) is skipped at render time; a test asserts that every
registered entry resolves once the whole project is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string

AREAS = ("resident", "resident_tools", "staff")
ADMINISTRATOR = "administrator"
STAFF_KIND = "staff"


@dataclass(frozen=True)
class NavEntry:
    area: str
    key: str
    label: Any  # a lazy translation
    url_name: str
    icon: str = ""
    order: int = 100
    roles: tuple[str, ...] = ()
    exact: bool = False  # active only on its own URL, not on pages below it
    badge: Callable[[Any], int] | None = None  # badge(request) -> count shown on the link (0 hides it)
    badge_label: Any = None  # what the count is, for screen readers (a lazy translation; default "unread")
    badge_roles: tuple[str, ...] = ()  # whose count it is (default: `roles`; none: everyone who sees it)

    def url(self) -> str | None:
        try:
            return reverse(self.url_name)
        except NoReverseMatch:
            return None


@dataclass(frozen=True)
class NavLink:
    """One entry as rendered for one request."""

    key: str
    label: Any
    url: str
    icon: str
    active: bool
    badge: int = 0
    badge_label: Any = None


_REGISTRY: dict[tuple[str, str], NavEntry] = {}


def nav_register(
    *,
    area: str,
    key: str,
    label: Any,
    url_name: str,
    icon: str = "",
    order: int = 100,
    roles: tuple[str, ...] | list[str] = (),
    exact: bool = False,
    badge: Callable[[Any], int] | None = None,
    badge_label: Any = None,
    badge_roles: tuple[str, ...] | list[str] = (),
) -> NavEntry:
    """Add (or replace, so that ready() may run twice) the entry `key` of `area`."""
    if area not in AREAS:
        raise ValueError(f"Unknown navigation area {area!r}; expected one of {AREAS}.")
    if not key or not url_name:
        raise ValueError("A navigation entry needs a key and a url_name.")
    entry = NavEntry(area=area, key=key, label=label, url_name=url_name, icon=icon, order=order,
                     roles=tuple(str(r) for r in roles), exact=exact, badge=badge, badge_label=badge_label,
                     badge_roles=tuple(str(r) for r in badge_roles))
    _REGISTRY[(area, key)] = entry
    return entry


def count_of(path: str) -> Callable[[Any], int]:
    """A badge that counts with the function at `path` ("package.module.function"), called as
    function(actor=request.user). It is imported when first counted: entries are registered in
    AppConfig.ready(), and importing an app's selectors there would cost every process (commands,
    the worker) their imports."""

    def badge(request) -> int:
        return import_string(path)(actor=request.user)

    return badge


def nav_unregister(*, area: str, key: str) -> None:
    _REGISTRY.pop((area, key), None)


def nav_entries(area: str) -> list[NavEntry]:
    """Every registered entry of an area, in display order (order, then key)."""
    return sorted((e for e in _REGISTRY.values() if e.area == area), key=lambda e: (e.order, e.key))


def user_roles(user) -> frozenset[str]:
    """The role names a staff member holds (StaffRole rows behind `user.roles`), cached per user object."""
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_onecity_role_names", None)
    if cached is not None:
        return cached
    roles = getattr(user, "roles", None)
    names = frozenset(roles.values_list("role", flat=True)) if roles is not None and hasattr(roles, "values_list") else frozenset()
    user._onecity_role_names = names
    return names


def entry_visible(entry: NavEntry, user) -> bool:
    if entry.area == "resident":
        return True
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if entry.area == "resident_tools":
        return True
    if getattr(user, "is_superuser", False):
        return True
    if getattr(user, "kind", None) != STAFF_KIND:
        return False
    held = user_roles(user)
    if ADMINISTRATOR in held or not entry.roles:
        return True
    return bool(held.intersection(entry.roles))


def badge_counted(entry: NavEntry, user) -> bool:
    """Whether `entry`'s count is computed for `user` (who sees the entry)."""
    roles = entry.badge_roles or entry.roles
    return not roles or bool(user_roles(user).intersection(roles))


def nav_links(area: str, request) -> list[NavLink]:
    """The entries of `area` that `request.user` may see and that resolve, with the active one
    marked; computed once per request (a page and its sidebar share the counts)."""
    if request is None:
        return _nav_links(area, request)
    key = (area, getattr(getattr(request, "user", None), "pk", None), request.path)
    cache = request.__dict__.setdefault("_onecity_nav_links", {})
    if key not in cache:
        cache[key] = _nav_links(area, request)
    return cache[key]


def _nav_links(area: str, request) -> list[NavLink]:
    user = getattr(request, "user", None) if request is not None else None
    links: list[NavLink] = []
    exact: dict[str, bool] = {}
    for entry in nav_entries(area):
        if not entry_visible(entry, user):
            continue
        url = entry.url()
        if url is None:
            continue
        counted = entry.badge is not None and request is not None and badge_counted(entry, user)
        badge = entry.badge(request) if counted else 0
        links.append(NavLink(key=entry.key, label=entry.label, url=url, icon=entry.icon, active=False,
                             badge=badge, badge_label=entry.badge_label))
        exact[entry.key] = entry.exact
    # Mark the single best match: the longest URL that is a prefix of the current path.
    if request is not None and links:
        path = request.path
        best = None
        for link in links:
            below = not exact[link.key] and link.url not in ("/", "/staff/") and path.startswith(link.url)
            matches = path == link.url or below
            if matches and (best is None or len(link.url) > len(best.url)):
                best = link
        if best is not None:
            links = [NavLink(**{**link.__dict__, "active": link is best}) for link in links]
    return links
