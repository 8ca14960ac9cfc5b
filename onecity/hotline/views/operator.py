"""The operator console (来电受理) and knowledge-base management (知识库).

Console: look up the caller by the number they call from (POST, so numbers stay out of URLs and
logs), search the knowledge base while talking, and take the request down on their behalf — or
answer it directly from a knowledge-base entry, which registers and closes it at once. Every
action works without a page reload (htmx fragments) and without JavaScript (full pages).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from onecity.core.audit import client_ip
from onecity.core.errors import ApplicationError
from onecity.hotline.access import hotline_roles
from onecity.hotline.forms_operator import (
    CallerLookupForm,
    ConsoleRequestForm,
    KnowledgeEntryForm,
    KnowledgeFilterForm,
    KnowledgeSearchForm,
    add_service_error,
)
from onecity.hotline.selectors.knowledge import (
    knowledge_get,
    knowledge_list,
    knowledge_search,
    knowledge_topics,
)
from onecity.hotline.selectors.operator import CONSOLE_ROLES, caller_lookup
from onecity.hotline.services.intake import INTAKE_ROLES, case_register
from onecity.hotline.services.knowledge import (
    KNOWLEDGE_ROLES,
    case_register_answered,
    knowledge_entry_create,
    knowledge_entry_deactivate,
    knowledge_entry_reactivate,
    knowledge_entry_update,
)
from onecity.identity.access import forbidden, staff_required
from onecity.identity.selectors.accounts import citizen_find_by_phone

KNOWLEDGE_PAGE_SIZE = 50
UNPROCESSABLE = 422  # htmx swaps 422 responses: the re-rendered form with its errors


def _can_register(user) -> bool:
    return bool(hotline_roles(user) & INTAKE_ROLES)


def _console_context(request, **parts) -> dict:
    context = {
        "lookup_form": CallerLookupForm(), "lookup": None,
        "kb_form": KnowledgeSearchForm(), "hits": None, "kb_query": "",
        "request_form": ConsoleRequestForm(initial={"channel": "phone"}), "picked": None,
        "can_register": _can_register(request.user),
    }
    context.update(parts)
    return context


def _console_page(request, status: int = 200, **parts):
    return render(request, "hotline/operator/console.html", _console_context(request, **parts), status=status)


@staff_required(*CONSOLE_ROLES)
@require_GET
def console(request):
    return _console_page(request)


@staff_required(*CONSOLE_ROLES)
@require_POST
def console_lookup(request):
    form = CallerLookupForm(request.POST)
    lookup = None
    if form.is_valid():
        try:
            lookup = caller_lookup(actor=request.user, phone=form.cleaned_data["phone"])
        except ValidationError as exc:
            form.add_error("phone", exc.messages[0])
    status = 200 if lookup is not None else UNPROCESSABLE
    request_form = ConsoleRequestForm(initial={"channel": "phone", "contact_phone": lookup.phone if lookup else ""})
    if request.htmx:
        return render(request, "hotline/operator/_caller.html", {
            "lookup_form": form, "lookup": lookup, "request_form": request_form, "oob": lookup is not None,
        }, status=status)
    return _console_page(request, status=status, lookup_form=form, lookup=lookup, request_form=request_form)


@staff_required(*CONSOLE_ROLES)
@require_GET
def console_knowledge(request):
    form = KnowledgeSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    hits = knowledge_search(query) if query else None
    if request.htmx:
        return render(request, "hotline/operator/_kb_results.html", {"hits": hits, "kb_query": query,
                                                                     "can_register": _can_register(request.user)})
    return _console_page(request, kb_form=form, hits=hits, kb_query=query)


@staff_required(*CONSOLE_ROLES)
@require_GET
def console_pick(request, public_id: str):
    if public_id == "none" and request.htmx:  # "do not use this answer": an empty slot
        return render(request, "hotline/operator/_answer_slot.html", {"picked": None})
    entry = knowledge_get(public_id, active_only=True)
    if entry is None:
        raise Http404
    form = ConsoleRequestForm(initial={"channel": "phone", "entry": entry.public_id, "answer": entry.answer})
    if request.htmx:
        return render(request, "hotline/operator/_answer_slot.html", {"request_form": form, "picked": entry})
    return _console_page(request, request_form=form, picked=entry)


def _caller_account(phone: str):
    """The resident account with this mobile number (the request then shows in their "my
    requests"), or None."""
    summary = citizen_find_by_phone(phone) if phone else None
    return get_user_model().objects.filter(pk=summary.user_id).first() if summary else None


@staff_required(*CONSOLE_ROLES)
@require_POST
def console_register(request):
    if not _can_register(request.user):
        return forbidden(request, _("Only hotline operators and dispatchers take requests down for callers."))
    form = ConsoleRequestForm(request.POST)
    entry_id = (request.POST.get("entry") or "").strip() if request.POST.get("action") == "answer" else ""
    picked = knowledge_get(entry_id, active_only=True) if entry_id else None
    case = None
    if form.is_valid():
        data = form.cleaned_data
        intake = {
            "channel": data["channel"], "text": data["text"], "title": data["title"], "category": data["category"],
            "district": data["district"], "address": data["address"], "urgency": data["urgency"],
            "anonymous": data["anonymous"], "contact_name": data["contact_name"],
            "contact_phone": data["contact_phone"], "reporter": None,
        }
        try:
            phone = data["contact_phone"].strip()
            intake["reporter"] = _caller_account(phone) if phone else None
            if entry_id:
                case = case_register_answered(actor=request.user, entry_id=entry_id, answer=data["answer"], **intake)
            else:
                case = case_register(actor=request.user, **intake)
        except ApplicationError as error:
            add_service_error(form, error)
    if case is None:
        if request.htmx:
            return render(request, "hotline/operator/_request_form.html",
                          {"request_form": form, "picked": picked, "can_register": True}, status=UNPROCESSABLE)
        return _console_page(request, status=UNPROCESSABLE, request_form=form, picked=picked)
    if request.htmx:  # the caller's history, refreshed with the new request (out of band)
        phone = form.cleaned_data["contact_phone"].strip()
        lookup = caller_lookup(actor=request.user, phone=phone) if phone else None
        return render(request, "hotline/operator/_created.html", {
            "case": case, "answered": bool(entry_id), "lookup": lookup,
            "lookup_form": CallerLookupForm(initial={"phone": phone}),
        })
    if entry_id:
        messages.success(request, _("Request %(number)s was answered directly and closed.")
                         % {"number": case.tracking_number})
    else:
        messages.success(request, _("Request %(number)s was registered.") % {"number": case.tracking_number})
    return redirect("hotline:console")


# --- knowledge base management -----------------------------------------------------------------
@staff_required(*KNOWLEDGE_ROLES)
@require_GET
def knowledge(request):
    form = KnowledgeFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {"q": "", "topic": "", "inactive": False}
    entries = knowledge_list(topic=filters["topic"], q=filters["q"], include_inactive=filters["inactive"])
    page = Paginator(entries, KNOWLEDGE_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "topics": knowledge_topics(), "filters": filters,
               "query_string": request.GET.copy()}
    context["query_string"].pop("page", None)
    template = "hotline/operator/_knowledge_table.html" if request.htmx and not request.htmx.boosted \
        else "hotline/operator/knowledge.html"
    return render(request, template, context)


def _entry_values(form: KnowledgeEntryForm) -> dict:
    data = form.cleaned_data
    return {name: data[name] for name in ("topic", "question", "answer", "keywords", "category", "source_unit",
                                          "is_public")}


@staff_required(*KNOWLEDGE_ROLES)
@require_http_methods(["GET", "POST"])
def knowledge_create(request):
    form = KnowledgeEntryForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            entry = knowledge_entry_create(actor=request.user, ip=client_ip(request), **_entry_values(form))
        except ApplicationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("The entry “%(question)s” was added.") % {"question": entry.question})
            return redirect("hotline:knowledge")
    return render(request, "hotline/operator/knowledge_form.html",
                  {"form": form, "entry": None, "topics": knowledge_topics()},
                  status=UNPROCESSABLE if form.is_bound else 200)


@staff_required(*KNOWLEDGE_ROLES)
@require_http_methods(["GET", "POST"])
def knowledge_edit(request, public_id: str):
    entry = knowledge_get(public_id)
    if entry is None:
        raise Http404
    initial = {"topic": entry.topic, "question": entry.question, "answer": entry.answer, "keywords": entry.keywords,
               "category": entry.category, "source_unit": entry.source_unit, "is_public": entry.is_public}
    form = KnowledgeEntryForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            entry = knowledge_entry_update(actor=request.user, entry_id=entry.public_id, ip=client_ip(request),
                                           **_entry_values(form))
        except ApplicationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("The entry “%(question)s” was saved.") % {"question": entry.question})
            return redirect("hotline:knowledge")
    return render(request, "hotline/operator/knowledge_form.html",
                  {"form": form, "entry": entry, "topics": knowledge_topics()},
                  status=UNPROCESSABLE if form.is_bound else 200)


def _set_active(request, public_id: str, *, active: bool):
    service = knowledge_entry_reactivate if active else knowledge_entry_deactivate
    try:
        entry = service(actor=request.user, entry_id=public_id, ip=client_ip(request))
    except ApplicationError as error:
        if error.status == 404:
            raise Http404 from None
        raise
    if request.htmx:
        entry = knowledge_get(entry.public_id)
        return render(request, "hotline/operator/_knowledge_row.html", {"entry": entry, "flash": True})
    messages.success(request, (_("The entry “%(question)s” is active again.") if active
                               else _("The entry “%(question)s” was deactivated.")) % {"question": entry.question})
    return redirect("hotline:knowledge")


@staff_required(*KNOWLEDGE_ROLES)
@require_POST
def knowledge_deactivate(request, public_id: str):
    return _set_active(request, public_id, active=False)


@staff_required(*KNOWLEDGE_ROLES)
@require_POST
def knowledge_reactivate(request, public_id: str):
    return _set_active(request, public_id, active=True)
