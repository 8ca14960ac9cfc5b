"""Staff console: home (what awaits this staff member — the sidebar's counts — and what they can
do), people look-up with audited unmasking, and the audit log for auditors."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods, require_POST

from onecity.core.audit import client_ip
from onecity.core.errors import ApplicationError
from onecity.core.navigation import nav_links
from onecity.identity.access import AUDIT_ROLES, PEOPLE_ROLES, roles_of, staff_required
from onecity.identity.enums import Role
from onecity.identity.forms import AuditFilterForm, PeopleSearchForm, UnmaskForm, add_service_error
from onecity.identity.selectors.accounts import (
    audit_actions,
    audit_list_for_auditor,
    person_get_for_staff,
    person_search_for_staff,
    search_kind,
)
from onecity.identity.services.people import UNMASK_FIELDS, person_unmask

AUDIT_PAGE_SIZE = 50


def _url_or_empty(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


@staff_required()
def staff_home(request):
    user = request.user
    held = roles_of(user)
    tools = []
    if held & set(PEOPLE_ROLES):
        tools.append({"url": reverse("identity:staff_people"), "icon": "users",
                      "title": _("Look up a resident"),
                      "text": _("Find a resident by exact mobile or ID number; full numbers only with a reason.")})
    idcode_url = _url_or_empty("identity:idcode_verify")
    if idcode_url:
        tools.append({"url": idcode_url, "icon": "qrcode", "title": _("Verify an identity code"),
                      "text": _("Check a resident's identity code (身份码) at a service counter.")})
    if held & set(AUDIT_ROLES):
        tools.append({"url": reverse("identity:staff_audit"), "icon": "list-search", "title": _("Audit log"),
                      "text": _("Who did what to whose data, when and why.")})
    if user.is_staff and Role.ADMINISTRATOR in held:
        tools.append({"url": reverse("admin:index"), "icon": "settings", "title": pgettext("Django admin site", "Administration"),
                      "text": _("Organizations, staff accounts and partner apps.")})
    role_labels = [Role(r).label for r in sorted(held)]
    waiting = [link for link in nav_links("staff", request) if link.badge]
    return render(request, "identity/staff/home.html", {"tools": tools, "role_labels": role_labels,
                                                        "waiting": waiting})


@staff_required(*PEOPLE_ROLES)
@require_http_methods(["GET", "POST"])
def staff_people(request):
    # POST, not GET: numbers typed here must not end up in URLs, access logs or browser history.
    form = PeopleSearchForm(request.POST if request.method == "POST" else None)
    results, searched = [], False
    if form.is_bound and form.is_valid():
        query = form.cleaned_data["q"]
        if not search_kind(query):
            form.add_error("q", _("Please enter a complete 11-digit mobile number or an 18-character ID number."))
        else:
            searched = True
            results = person_search_for_staff(actor=request.user, query=query)
    return render(request, "identity/staff/people.html", {
        "form": form, "results": results, "searched": searched, "unmask_form": UnmaskForm(),
    }, status=400 if form.is_bound and form.errors else 200)


@staff_required(*PEOPLE_ROLES)
@require_POST
def staff_person_unmask(request, public_id: str):
    """Show one full value of a resident's personal data, after recording the reason."""
    person = person_get_for_staff(actor=request.user, public_id=public_id)
    if person is None:
        raise Http404(_("Not found."))
    form = UnmaskForm(request.POST)
    value, field_label, status = "", "", 200
    if form.is_valid():
        try:
            value = person_unmask(actor=request.user, person_public_id=public_id, field=form.cleaned_data["field"],
                                  reason=form.cleaned_data["reason"], ip=client_ip(request))
            field_label = UNMASK_FIELDS[form.cleaned_data["field"]]
        except ApplicationError as exc:
            add_service_error(form, exc)
            status = exc.status
    else:
        status = 400
    context = {"person": person, "form": form, "value": value, "field_label": field_label}
    template = "identity/staff/_unmask.html" if request.htmx else "identity/staff/person.html"
    if request.htmx and 400 <= status < 500 and status != 403:
        status = 422  # the layout's htmx set-up swaps 422 answers: the fragment shows its own errors
    return render(request, template, context, status=status)


@staff_required(*AUDIT_ROLES)
def staff_audit(request):
    form = AuditFilterForm(request.GET or None)
    filters = {}
    if form.is_bound and form.is_valid():
        filters = {
            "action": form.cleaned_data["action"].strip(),
            "actor_username": form.cleaned_data["actor"].strip(),
            "date_from": form.cleaned_data["date_from"],
            "date_to": form.cleaned_data["date_to"],
        }
    events = audit_list_for_auditor(actor=request.user, **filters)
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    for event in page.object_list:
        event.detail_pairs = [(key, ", ".join(map(str, value)) if isinstance(value, list) else value)
                              for key, value in (event.detail or {}).items()]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "identity/staff/audit.html", {
        "form": form, "page": page, "actions": audit_actions(), "query": query.urlencode(),
    }, status=400 if form.is_bound and form.errors else 200)
