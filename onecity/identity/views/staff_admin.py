"""Staff accounts console for administrators: list with filters, create, change roles, set a
temporary password, deactivate and reactivate.

Every view is for administrators only (others get the 403 page) and acts on staff accounts
only: a citizen's public id answers 404 like an unknown one. The rules (last administrator,
not oneself, password strength) live in the services; routine actions on the account page
answer htmx requests with the changed card only.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from onecity.core.audit import client_ip
from onecity.core.errors import ApplicationError, PermissionDenied
from onecity.identity.access import forbidden, staff_required
from onecity.identity.enums import OrganizationKind, Role
from onecity.identity.forms import (
    StaffCreateForm,
    StaffFilterForm,
    StaffPasswordFields,
    StaffRolesForm,
    StaffStatusForm,
    add_service_error,
)
from onecity.identity.selectors.accounts import (
    organization_choices_for_administrator,
    staff_get_for_administrator,
    staff_history_for_administrator,
    staff_list_for_administrator,
    staff_organizations_for_administrator,
)
from onecity.identity.services.accounts import (
    staff_create,
    staff_deactivate,
    staff_password_set,
    staff_reactivate,
    staff_roles_set,
)

PAGE_SIZE = 25
ORGANIZATION_OPTIONS_MAX = 200
STATUS_ACTIONS = {"deactivate": staff_deactivate, "reactivate": staff_reactivate}

#: what each role lets its holder do, shown next to its checkbox
ROLE_HINTS = {
    Role.HOTLINE_OPERATOR: gettext_lazy("Takes 12345 calls; looks up residents."),
    Role.DISPATCHER: gettext_lazy("Sends 12345 work orders to the departments."),
    Role.DEPARTMENT_HANDLER: gettext_lazy("Handles the work orders sent to their department."),
    Role.SUPERVISOR: gettext_lazy("Oversees deadlines and quality; looks up residents."),
    Role.APPLICATION_REVIEWER: gettext_lazy("Reviews online applications; looks up residents."),
    Role.PAYEE_CASHIER: gettext_lazy("Bills and payments of a school, hospital or other payee unit."),
    Role.FINANCE: gettext_lazy("福码 reconciliation, settlements and refunds stuck at a channel; approves a "
                               "colleague's ledger adjustment."),
    Role.AUDITOR: gettext_lazy("Reads the audit log."),
    Role.ADMINISTRATOR: gettext_lazy("Staff accounts, organizations and partner apps; sees every tool."),
}
HISTORY_LABELS = {
    "staff.create": gettext_lazy("Account created"),
    "staff.roles_set": gettext_lazy("Roles changed"),
    "staff.deactivate": gettext_lazy("Account deactivated"),
    "staff.reactivate": gettext_lazy("Account reactivated"),
    "staff.password_set": gettext_lazy("Temporary password set"),
}


def _organization_groups(organizations) -> list[tuple[str, list]]:
    """Organizations grouped by kind, in the order of OrganizationKind (for <optgroup>s)."""
    by_kind: dict[str, list] = {}
    for organization in organizations:
        by_kind.setdefault(organization.kind, []).append(organization)
    return [(label, by_kind[kind]) for kind, label in OrganizationKind.choices if kind in by_kind]


def _account_or_404(request, public_id: str):
    member = staff_get_for_administrator(actor=request.user, public_id=public_id)
    if member is None:
        raise Http404(_("Not found."))
    return member


def _role_labels(member) -> list[str]:
    return [Role(r.role).label for r in sorted(member.roles.all(), key=lambda r: list(Role.values).index(r.role))]


def _held_roles(member) -> list[str]:
    return [r.role for r in member.roles.all()]


def _role_label(value: str) -> str:
    return str(Role(value).label) if value in Role.values else value


def _role_options(bound_field, *, locked: tuple[str, ...] = ()) -> list[dict]:
    """The role checkboxes: value, translated label, what the role allows, checked or not.
    `locked` roles are shown checked and cannot be unticked (an administrator's own)."""
    chosen = {str(v) for v in (bound_field.value() or [])}
    return [{"value": value, "label": label, "hint": ROLE_HINTS.get(value, ""),
             "checked": value in chosen or value in locked, "locked": value in locked}
            for value, label in Role.choices]


def _history(request, member) -> list:
    events = staff_history_for_administrator(actor=request.user, user=member)
    for event in events:
        detail = event.detail or {}
        event.label = HISTORY_LABELS.get(event.action, event.action)
        if event.action == "staff.roles_set":
            parts = [f"+{_role_label(r)}" for r in detail.get("added", [])]
            parts += [f"−{_role_label(r)}" for r in detail.get("removed", [])]
            event.summary = _(", ").join(parts) if parts else ""
        elif event.action == "staff.create":
            event.summary = _(", ").join(_role_label(r) for r in detail.get("roles", []))
        else:
            event.summary = ""
    return events


def _fragment_status(status: int) -> int:
    """htmx swaps 422 answers (the layout's set-up), so a fragment can show its own errors."""
    return 422 if 400 <= status < 500 and status != 403 else status


@staff_required(Role.ADMINISTRATOR)
@require_GET
def staff_accounts(request):
    organizations = staff_organizations_for_administrator(actor=request.user)
    form = StaffFilterForm(request.GET or None, organizations=organizations)
    filters = form.filters() if form.is_bound else {}
    staff = staff_list_for_administrator(actor=request.user, **filters)
    page = Paginator(staff, PAGE_SIZE).get_page(request.GET.get("page"))
    for member in page.object_list:
        member.role_labels = _role_labels(member)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "filtered": any(
        value not in (None, "") for value in filters.values())}
    if request.htmx and not request.htmx.boosted:
        return render(request, "identity/staff/accounts_table.html", context)
    return render(request, "identity/staff/accounts.html", context)


@staff_required(Role.ADMINISTRATOR)
@require_http_methods(["GET", "POST"])
def staff_account_create(request):
    organizations = organization_choices_for_administrator(actor=request.user)
    form = StaffCreateForm(request.POST if request.method == "POST" else None, organizations=organizations,
                           initial={"roles": []})
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            member = staff_create(actor=request.user, username=data["username"], password=data["password"],
                                  display_name=data["display_name"], organization=data["organization"],
                                  roles=data["roles"], ip=client_ip(request))
        except PermissionDenied as exc:
            return forbidden(request, exc.message)
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Staff account %(username)s created. Give %(name)s the initial password "
                                        "in person.") % {"username": member.username, "name": member.display_name})
            return redirect("identity:staff_account", public_id=member.public_id)
    selected = form["organization"].value() if form.is_bound else ""
    # Shown again after an error: the list as narrowed by the search box, the choice kept.
    organization_query = request.POST.get("organization_q", "")[:100].strip() if form.is_bound else ""
    shown = (organization_choices_for_administrator(actor=request.user, query=organization_query)
             if organization_query else organizations)
    return render(request, "identity/staff/accounts_create.html", {
        "form": form, "role_options": _role_options(form["roles"]),
        "organization_groups": _organization_groups(shown), "selected_organization": selected,
        "organization_query": organization_query, "organization_count": len(organizations),
    }, status=400 if form.errors else 200)


@staff_required(Role.ADMINISTRATOR)
@require_GET
def staff_account_organizations(request):
    """The organization chooser's <option>s narrowed by what was typed in its search box."""
    query = request.GET.get("organization_q", "")[:100]
    organizations = organization_choices_for_administrator(actor=request.user, query=query,
                                                           limit=ORGANIZATION_OPTIONS_MAX)
    return render(request, "identity/staff/accounts_organization_options.html", {
        "organization_groups": _organization_groups(organizations), "query": query.strip(),
        "selected_organization": request.GET.get("organization", ""),
    })


def _account_context(request, member, **overrides) -> dict:
    is_self = member.pk == request.user.pk
    context = {
        "member": member,
        "is_self": is_self,
        "role_labels": _role_labels(member),
        "roles_form": StaffRolesForm(initial={"roles": _held_roles(member)}),
        "password_form": StaffPasswordFields(),
        "status_form": StaffStatusForm(),
        "history": _history(request, member),
    }
    context.update(overrides)
    context["role_options"] = _role_options(context["roles_form"]["roles"],
                                            locked=(Role.ADMINISTRATOR,) if is_self else ())
    return context


@staff_required(Role.ADMINISTRATOR)
@require_GET
def staff_account(request, public_id: str):
    member = _account_or_404(request, public_id)
    return render(request, "identity/staff/accounts_detail.html", _account_context(request, member))


def _account_action(request, member, *, form, action, template: str, card_key: str, done: str):
    """Run one account action and answer: the card (htmx) or the account page (a redirect on
    success, the page with the card's errors otherwise)."""
    status = 200
    if form.is_valid():
        try:
            action()
        except PermissionDenied as exc:
            return forbidden(request, exc.message)
        except ApplicationError as exc:
            add_service_error(form, exc)
            status = exc.status
        else:
            member = staff_get_for_administrator(actor=request.user, public_id=member.public_id)
            if not request.htmx:
                messages.success(request, done)
                return redirect("identity:staff_account", public_id=member.public_id)
            context = _account_context(request, member, done=done)
            return render(request, template, context)
    else:
        status = 400
    context = _account_context(request, member, **{card_key: form})
    if request.htmx:
        return render(request, template, context, status=_fragment_status(status))
    return render(request, "identity/staff/accounts_detail.html", context, status=status)


@staff_required(Role.ADMINISTRATOR)
@require_POST
def staff_account_roles(request, public_id: str):
    member = _account_or_404(request, public_id)
    form = StaffRolesForm(request.POST)
    return _account_action(
        request, member, form=form, template="identity/staff/accounts_roles.html", card_key="roles_form",
        done=_("Roles saved."),
        action=lambda: staff_roles_set(actor=request.user, user=member, roles=form.cleaned_data["roles"],
                                       ip=client_ip(request)))


@staff_required(Role.ADMINISTRATOR)
@require_POST
def staff_account_password(request, public_id: str):
    member = _account_or_404(request, public_id)
    form = StaffPasswordFields(request.POST)
    return _account_action(
        request, member, form=form, template="identity/staff/accounts_password.html", card_key="password_form",
        done=_("Temporary password set. Other sessions of this account have been signed out."),
        action=lambda: staff_password_set(actor=request.user, user=member, password=form.cleaned_data["password"],
                                          ip=client_ip(request)))


@staff_required(Role.ADMINISTRATOR)
@require_POST
def staff_account_status(request, public_id: str):
    member = _account_or_404(request, public_id)
    form = StaffStatusForm(request.POST)
    verb = form.data.get("action", "")
    done = (_("Account deactivated: it can no longer sign in.") if verb == "deactivate"
            else _("Account reactivated: it can sign in again with its roles."))
    return _account_action(
        request, member, form=form, template="identity/staff/accounts_status.html", card_key="status_form",
        done=done, action=lambda: STATUS_ACTIONS[form.cleaned_data["action"]](
            actor=request.user, user=member, ip=client_ip(request)))
