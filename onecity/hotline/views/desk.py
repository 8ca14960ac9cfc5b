"""The staff desk: where dispatchers, department handlers and supervisors work cases.

- `desk_case`: one case — details on the left; deadlines, the actions this person may take in
  this state (workflow.actions_for via selectors.desk.case_context) and the timeline on the right.
- `desk_case_act`: POST one action; calls the matching service. htmx requests get the case body
  (or one queue row) back without a page reload; errors are shown in place (status 422 for
  htmx so it swaps; otherwise the service's own status: 403, 409, 400 or 422 for a field).
- `desk_dispatch`, `desk_unit`, `desk_supervision`: the three queues with filters; the new and
  manual queues show each request's possible duplicates (selectors/similar.py) with a merge button.
- `desk_hotspots`: for supervisors and administrators, the hot spots of a recent window
  (selectors/hotspots.py) with their charts.

Views are thin: cases are loaded through hotline.access (another unit's case is a 404), rules
live in the services.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from onecity.core.errors import ApplicationError, NotFound
from onecity.hotline import forms_desk
from onecity.hotline.access import access_case_by_id, holder_for_state, hotline_roles
from onecity.hotline.models import Case
from onecity.hotline.selectors import case_get_for_actor, similar
from onecity.hotline.selectors import desk as q
from onecity.hotline.selectors import hotspots as hs
from onecity.hotline.services import cases as svc
from onecity.hotline.services import extensions as ext
from onecity.hotline.services import supervision as sup
from onecity.hotline.workflow import actions_for, close_condition
from onecity.identity.access import staff_required
from onecity.identity.selectors.accounts import organization_list_active

DESK_ROLES = ("hotline_operator", "dispatcher", "supervisor", "department_handler")
PAGE_SIZE = 50

#: what each action's button says, and its style
ACTION_LABELS = {
    "accept": gettext_lazy("Accept"),
    "reject": gettext_lazy("Do not accept"),
    "answer": gettext_lazy("Answer directly"),
    "merge": gettext_lazy("Merge as duplicate"),
    "classify": gettext_lazy("Change category"),
    "dispatch": gettext_lazy("Dispatch"),
    "sub_dispatch": gettext_lazy("Dispatch to a sub-unit"),
    "return": gettext_lazy("Return to dispatcher"),
    "sub_return": gettext_lazy("Return to the unit"),
    "sign": gettext_lazy("Sign for it"),
    "start": gettext_lazy("Start handling"),
    "reply": gettext_lazy("Reply with the outcome"),
    "visit": gettext_lazy("Record follow-up visit"),
    "close": pgettext_lazy("hotline action", "Close"),
    "redo": gettext_lazy("Send back to redo"),
    "reopen": gettext_lazy("Reopen"),
    "extension_request": gettext_lazy("Request an extension"),
    "extension_approve": gettext_lazy("Approve extension"),
    "extension_refuse": gettext_lazy("Refuse extension"),
    "supervise": gettext_lazy("Supervise (督办)"),
    "remind": gettext_lazy("Remind (催办)"),
}
DANGER_ACTIONS = {"reject", "return", "sub_return", "extension_refuse", "redo"}
#: actions shown first and opened by default, in this order
PRIMARY_ACTIONS = ("sign", "accept", "dispatch", "reply", "start", "visit", "close", "extension_approve")
#: field names the services use → the form's field names
FIELD_MAP = {"into_case_id": "into"}


def _actor(request):
    return request.user


def _load(request, public_id: str) -> Case:
    try:
        return access_case_by_id(_actor(request), public_id)
    except NotFound:
        raise Http404 from None


# --- actions -------------------------------------------------------------------------------------
def _perform(action: str, *, actor, case: Case, form) -> str:
    """Call the service for `action`; return the success sentence."""
    data = form.cleaned_data
    pid = case.public_id
    if action == "accept":
        case = svc.case_accept(actor=actor, case_id=pid, urgency=data.get("urgency") or None,
                               category_code=data.get("category") or None)
        return _("Accepted. The overall deadline is %(due)s.") % {"due": _local(case.due_at)}
    if action == "reject":
        svc.case_reject(actor=actor, case_id=pid, reason=data.get("reason", ""))
        return _("The request was not accepted; the resident is told the reason.")
    if action == "answer":
        svc.case_answer(actor=actor, case_id=pid, answer=data.get("answer", ""))
        return _("Answered and closed.")
    if action == "merge":
        into = data.get("into") or q.case_public_id_by_number(actor=actor, number=data.get("number", "")) \
            or data.get("number", "")
        if not into:
            raise ApplicationError(_("Please choose the request this one duplicates."), code="merge_target",
                                   field="into")
        svc.case_merge(actor=actor, case_id=pid, into_case_id=into, note=data.get("note", ""))
        return _("Merged into the other request.")
    if action == "classify":
        svc.case_classify(actor=actor, case_id=pid, category_code=data.get("category", ""))
        return _("Category changed.")
    if action == "dispatch":
        unit = form.unit_obj()
        case = svc.case_dispatch(actor=actor, case_id=pid, unit=unit, category_code=data.get("category") or None,
                                 note=data.get("note", ""))
        return _("Dispatched to %(unit)s; sign by %(due)s.") % {"unit": unit.display_name(),
                                                               "due": _local(case.sign_due_at)}
    if action == "sub_dispatch":
        subunit = form.subunit_obj()
        svc.case_sub_dispatch(actor=actor, case_id=pid, subunit=subunit, note=data.get("note", ""))
        return _("Dispatched to %(unit)s.") % {"unit": subunit.display_name()}
    if action in ("return", "sub_return"):
        svc.case_return(actor=actor, case_id=pid, reason=data.get("reason", ""))
        return _("Returned.")
    if action == "sign":
        case = svc.case_sign(actor=actor, case_id=pid)
        return _("Signed for. Handle by %(due)s.") % {"due": _local(case.handle_due_at)}
    if action == "start":
        svc.case_start(actor=actor, case_id=pid, note=data.get("note", ""))
        return _("Handling started.")
    if action == "reply":
        svc.case_reply(actor=actor, case_id=pid, reply=data.get("reply", ""))
        return _("Reply sent; the resident is told.")
    if action == "visit":
        svc.case_visit(actor=actor, case_id=pid, satisfaction=data.get("satisfaction", ""), note=data.get("note", ""))
        return _("Follow-up visit recorded.")
    if action == "close":
        svc.case_close(actor=actor, case_id=pid, note=data.get("note", ""))
        return _("Closed.")
    if action == "redo":
        svc.case_redo(actor=actor, case_id=pid, reason=data.get("reason", ""))
        return _("Sent back to the unit to be handled again.")
    if action == "reopen":
        svc.case_reopen(actor=actor, case_id=pid, reason=data.get("reason", ""))
        return _("Reopened; it is back with the dispatchers.")
    if action == "extension_request":
        ext.case_extension_request(actor=actor, case_id=pid, days=data.get("days") or 0,
                                   reason=data.get("reason", ""))
        return _("Extension requested; a dispatcher will decide.")
    if action in ("extension_approve", "extension_refuse"):
        request_id = data.get("request_id") or ""
        if not case.extension_requests.filter(public_id=request_id).exists():
            raise NotFound()
        if action == "extension_approve":
            ext.case_extension_approve(actor=actor, request_id=request_id, note=data.get("note", ""))
            return _("Extension approved.")
        ext.case_extension_refuse(actor=actor, request_id=request_id, note=data.get("note", ""))
        return _("Extension refused.")
    if action == "supervise":
        sup.case_supervise(actor=actor, case_id=pid, note=data.get("note", ""))
        return _("Supervision notice sent to the unit.")
    if action == "remind":
        sup.case_remind(actor=actor, case_id=pid, note=data.get("note", ""))
        return _("Reminder sent to the unit.")
    raise NotFound()


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _form_for(action: str, ctx: q.CaseContext, data=None):
    cls = forms_desk.ACTION_FORMS[action]
    prefix = action
    if cls is forms_desk.AcceptForm or cls is forms_desk.ClassifyForm:
        return cls(data, case=ctx.case, prefix=prefix)
    if cls is forms_desk.DispatchForm:
        return cls(data, case=ctx.case, proposed_unit_id=ctx.proposed_unit_id, prefix=prefix)
    if cls is forms_desk.SubDispatchForm:
        return cls(data, case=ctx.case, prefix=prefix)
    if cls is forms_desk.MergeForm:
        return cls(data, candidates=ctx.merge_candidates, prefix=prefix)
    if cls is forms_desk.ExtensionDecisionForm:
        initial = {"request_id": ctx.pending_extension.public_id} if ctx.pending_extension else {}
        return cls(data, initial=initial, prefix=prefix)
    return cls(data, prefix=prefix)


@dataclass
class ActionPanel:
    action: str
    label: str
    form: object
    danger: bool
    open: bool
    has_fields: bool
    message: str = ""


def _panels(ctx: q.CaseContext, failed: tuple[str, object] | None = None) -> list[ActionPanel]:
    order = {a: i for i, a in enumerate(PRIMARY_ACTIONS)}
    panels = []
    for action in sorted(ctx.actions, key=lambda a: order.get(a, len(order))):
        if action not in forms_desk.ACTION_FORMS:
            continue
        form = failed[1] if failed and failed[0] == action else _form_for(action, ctx)
        visible = list(form.visible_fields())
        panels.append(ActionPanel(action, str(ACTION_LABELS[action]), form, action in DANGER_ACTIONS,
                                  open=bool(failed and failed[0] == action), has_fields=bool(visible)))
    if panels and not any(p.open for p in panels) and panels[0].action in PRIMARY_ACTIONS and panels[0].has_fields:
        panels[0].open = True
    return panels


def _case_context(request, case: Case, *, failed=None, done: str = "", error: str = "") -> dict:
    actor = _actor(request)
    ctx = q.case_context(actor=actor, case=case)
    panels = _panels(ctx, failed)
    detail = case_get_for_actor(actor=actor, case_id=case.public_id)
    orgs = _org_names([ctx.proposed_unit_id])
    return {
        "case": case, "ctx": ctx, "detail": detail, "panels": panels, "done": done,
        # an error of an action no longer offered (state changed, or never allowed) shows above them
        "error": "" if failed and any(p.action == failed[0] for p in panels) else error,
        "timeline": list(reversed(detail.timeline)),
        "proposed_unit": orgs.get(ctx.proposed_unit_id), "case_url": reverse("hotline:desk_case", args=[case.public_id]),
        "back": _back_for(actor),
    }


def _org_names(ids) -> dict:
    """Active organizations by id (proposed units come from the active dispatch matrix)."""
    return {o.pk: o for o in organization_list_active().filter(pk__in=[i for i in ids if i])}


def _back_for(actor) -> tuple[str, str]:
    roles = hotline_roles(actor)
    if "dispatcher" in roles or "hotline_operator" in roles:
        return reverse("hotline:desk_dispatch"), _("Dispatch queue")
    if "supervisor" in roles:
        return reverse("hotline:desk_supervision"), _("Supervision")
    return reverse("hotline:desk_unit"), _("My unit's cases")


@require_GET
@staff_required(*DESK_ROLES)
def desk_case(request, public_id: str):
    case = _load(request, public_id)
    return render(request, "hotline/desk/case.html", _case_context(request, case))


@require_POST
@staff_required(*DESK_ROLES)
def desk_case_act(request, public_id: str, action: str):
    if action not in forms_desk.ACTION_FORMS:
        raise Http404
    actor = _actor(request)
    case = _load(request, public_id)
    row = request.POST.get("row", "")
    ctx = q.case_context(actor=actor, case=case)
    form = _form_for(action, ctx, data=request.POST)
    status, error, done = 200, None, ""
    if form.is_valid():
        try:
            done = _perform(action, actor=actor, case=case, form=form)
        except NotFound:
            raise Http404 from None
        except ApplicationError as exc:
            field = FIELD_MAP.get(exc.field or "", exc.field)
            form.add_error(field if field in form.fields else None, str(exc.message))
            error, status = str(exc.message), (422 if field in form.fields else exc.status)
    else:
        status = 422
        error = _("Please correct the marked fields.")
    case.refresh_from_db()
    if row and not request.htmx and not error:  # a queue's button without JavaScript: back to the queue
        messages.success(request, done)
        back = request.META.get("HTTP_REFERER", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
            back = reverse("hotline:desk_case", args=[case.public_id])
        return redirect(back)
    if row and request.htmx:
        return _row_response(request, case, queue=row, message=done or error or "", ok=not error, status=status)
    if request.htmx:
        context = _case_context(request, case, failed=(action, form) if error else None, done=done,
                                error=error or "")
        return render(request, "hotline/desk/_case_body.html", context, status=422 if error else 200)
    if error:
        context = _case_context(request, case, failed=(action, form), error=error)
        return render(request, "hotline/desk/case.html", context, status=status)
    messages.success(request, done)
    return redirect("hotline:desk_case", public_id=case.public_id)


# --- queues --------------------------------------------------------------------------------------
@dataclass
class QuickAction:
    action: str
    label: str
    fields: dict
    style: str = "btn-secondary"


@dataclass
class Row:
    case: Case
    deadline: q.DeadlineInfo
    suggestions: list
    proposed_unit: object | None  # an identity Organization
    quick: list
    message: str = ""
    ok: bool = True
    similar: list = field(default_factory=list)  # selectors.similar.SimilarCase: possible duplicates to merge into


def _quick_actions(case: Case, roles: set[str], queue: str, proposed,
                   suggestions: list) -> list[QuickAction]:
    allowed = actions_for(case.state, roles, close_condition(case.satisfaction))
    out: list[QuickAction] = []
    if queue in ("new", "manual", "returned"):
        if "accept" in allowed:
            if queue == "manual" and suggestions:
                for s in suggestions[:2]:
                    out.append(QuickAction("accept", _("Accept as %(category)s") % {"category": s.name},
                                           {"accept-category": s.code}))
            else:
                out.append(QuickAction("accept", _("Accept"), {}, "btn-primary"))
        if "dispatch" in allowed and proposed is not None:
            out.append(QuickAction("dispatch", _("Dispatch to %(unit)s") % {"unit": proposed.display_name()},
                                   {"dispatch-unit": proposed.pk}, "btn-primary"))
    if queue in ("to_sign", "due_soon", "overdue", "sub_units") and "sign" in allowed:
        out.append(QuickAction("sign", _("Sign for it"), {}, "btn-primary"))
    if queue == "in_progress" and "start" in allowed:
        out.append(QuickAction("start", _("Start handling"), {}))
    return out


def _row_roles(actor, base: set[str], case: Case) -> set[str]:
    """access.acting_roles for a staff member whose hotline roles (`base`) were read once for the
    whole page: department_handler counts only on cases their unit holds in this state."""
    roles = set(base)
    if "department_handler" in roles and (actor.organization_id is None
                                          or actor.organization_id != holder_for_state(case)):
        roles.discard("department_handler")
    return roles


#: queues whose rows show possible duplicates (the new requests a dispatcher may merge), and how many
DUPLICATE_QUEUES = ("new", "manual")
ROW_DUPLICATES = 2


def _rows(cases, actor, queue: str, now=None) -> list[Row]:
    cases = list(cases)
    now = now or timezone.now()
    base = hotline_roles(actor)
    suggestions = q.suggestions_for(cases)
    proposals = q.proposed_units((c.category_id, c.district_id) for c in cases)
    units = _org_names(proposals.values())
    roles = {case.pk: _row_roles(actor, base, case) for case in cases}
    mergeable = [c for c in cases if queue in DUPLICATE_QUEUES
                 and "merge" in actions_for(c.state, roles[c.pk], close_condition(c.satisfaction))]
    duplicates = similar.similar_for_cases(actor=actor, cases=mergeable, limit=ROW_DUPLICATES)
    rows = []
    for case in cases:
        proposed = units.get(proposals.get((case.category_id, case.district_id)))
        quick = _quick_actions(case, roles[case.pk], queue, proposed, suggestions.get(case.pk, []))
        rows.append(Row(case, q.current_deadline(case, now=now), suggestions.get(case.pk, []), proposed, quick,
                        similar=duplicates.get(case.pk, [])))
    return rows


def _row_response(request, case: Case, *, queue: str, message: str, ok: bool, status: int):
    if queue == "extension":
        extension = case.extension_requests.order_by("-requested_at", "-id").first()
        context = {"x": extension, "message": message, "ok": ok}
        return render(request, "hotline/desk/_extension_row.html", context, status=422 if not ok else 200)
    case = Case.objects.select_related(*q.CASE_RELATED).get(pk=case.pk)
    row = _rows([case], _actor(request), queue)[0]
    row.message, row.ok = message, ok
    if not ok and request.htmx:
        status = 422
    return render(request, "hotline/desk/_case_row.html", {"row": row, "queue": queue}, status=status)


def _filters(request) -> tuple[forms_desk.FilterForm, q.CaseFilters]:
    form = forms_desk.FilterForm(request.GET or None)
    filters = q.CaseFilters()
    if form.is_bound:
        form.is_valid()
        data = form.cleaned_data
        filters = q.CaseFilters(district=data.get("district"), category=data.get("category") or "",
                                channel=data.get("channel") or "", urgency=data.get("urgency") or "",
                                overdue=bool(data.get("overdue")), q=(data.get("q") or "").strip())
    return form, filters


def _tab(request, counts: list[tuple[str, object, int]]) -> str:
    """The tab asked for, else the first one with something in it."""
    keys = [key for key, _label, _count in counts]
    asked = request.GET.get("tab")
    if asked in keys:
        return asked
    return next((key for key, _label, count in counts if count), keys[0])


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without(request, *keys) -> str:
    params = request.GET.copy()
    for key in keys:
        params.pop(key, None)
    return params.urlencode()


def _tabbed(request, tab_labels, cases_for):
    """(tabs with their counts, the chosen tab, its page) for `cases_for(tab_key)` querysets."""
    lists = {key: cases_for(key) for key, _label in tab_labels}
    tabs = [(key, label, lists[key].count()) for key, label in tab_labels]
    tab = _tab(request, tabs)
    return tabs, tab, _page(request, lists[tab])


def _render_queue(request, *, template_title, lead, tabs, tab, page, queue, filter_form, extra=None):
    context = {
        "page_title": template_title, "lead": lead, "tabs": tabs, "tab": tab, "page": page,
        "rows": _rows(page.object_list, _actor(request), queue) if queue != "extension" else [],
        "queue": queue, "filter_form": filter_form, "filters_query": _query_without(request, "tab", "page"),
        "page_query": _query_without(request, "page"),
    }
    context.update(extra or {})
    return render(request, "hotline/desk/queue.html", context)


DISPATCH_TABS = (("new", gettext_lazy("New")), ("manual", gettext_lazy("Manual queue")),
                 ("returned", gettext_lazy("Returned")), ("extensions", gettext_lazy("Extension requests")))


@require_GET
@staff_required("dispatcher")
def desk_dispatch(request):
    actor = _actor(request)
    form, filters = _filters(request)
    now = timezone.now()
    lists = {"new": lambda: q.dispatch_new(actor=actor, filters=filters, now=now),
             "manual": lambda: q.dispatch_manual(actor=actor, filters=filters, now=now),
             "returned": lambda: q.dispatch_returned(actor=actor, filters=filters, now=now),
             "extensions": lambda: q.extensions_pending(actor=actor)}
    tabs, tab, page = _tabbed(request, DISPATCH_TABS, lambda key: lists[key]())
    return _render_queue(
        request, template_title=_("Dispatch queue"),
        lead=_("Accept new requests, dispatch them to the responsible unit, and decide on returns and extensions. "
               "Requests classified below %(threshold)d%% confidence wait in the manual queue.")
        % {"threshold": round(q.dispatch_threshold() * 100)},
        tabs=tabs, tab=tab, page=page, queue="extension" if tab == "extensions" else tab, filter_form=form,
        extra={"extensions": page.object_list if tab == "extensions" else []})


UNIT_TABS = (("to_sign", gettext_lazy("To sign")), ("in_progress", gettext_lazy("In progress")),
             ("due_soon", gettext_lazy("Due soon")), ("overdue", gettext_lazy("Overdue")),
             ("sub_units", gettext_lazy("With sub-units")))


@require_GET
@staff_required("department_handler")
def desk_unit(request):
    actor = _actor(request)
    form, filters = _filters(request)
    now = timezone.now()
    tabs, tab, page = _tabbed(request, UNIT_TABS,
                              lambda key: q.unit_cases(actor=actor, tab=key, filters=filters, now=now))
    org = actor.organization.display_name() if actor.organization_id else ""
    return _render_queue(
        request, template_title=_("My unit's cases"),
        lead=_("Requests dispatched to %(unit)s and its sub-units. Sign for new ones, reply before the deadline, "
               "or return what is not yours with a reason.") % {"unit": org},
        tabs=tabs, tab=tab, page=page, queue=tab, filter_form=form)


SUPERVISION_TABS = (("overdue", gettext_lazy("Overdue")), ("escalated", gettext_lazy("Escalated")),
                    ("not_satisfied", gettext_lazy("Not satisfied")))


@require_GET
@staff_required("supervisor")
def desk_supervision(request):
    actor = _actor(request)
    form, filters = _filters(request)
    now = timezone.now()
    tabs, tab, page = _tabbed(request, SUPERVISION_TABS,
                              lambda key: q.supervision_cases(actor=actor, tab=key, filters=filters, now=now))
    return _render_queue(
        request, template_title=_("Supervision"),
        lead=_("Overdue and escalated requests, and replies residents were not satisfied with. Open one to send a "
               "supervision notice (督办) or a reminder (催办), or to close or redo it after review."),
        tabs=tabs, tab=tab, page=page, queue=tab, filter_form=form)



# --- hot spots -----------------------------------------------------------------------------------
HOTSPOT_ROLES = ("supervisor", "administrator")
HOTSPOT_WINDOWS = (("24h", gettext_lazy("Last 24 hours")), ("7d", gettext_lazy("Last 7 days")),
                   ("30d", gettext_lazy("Last 30 days")))


@dataclass(frozen=True)
class HotspotRow:
    hotspot: hs.Hotspot
    district: str
    category: str  # "" when not categorised


_GOVERNMENT_OF = re.compile(r"^People's Government of (?P<place>.+?)(?:, Fuzhou)?$")


def _district_label(org) -> str:
    """鼓楼区 rather than 福州市鼓楼区人民政府; Gulou District rather than People's Government of
    Gulou District, Fuzhou."""
    name = org.display_name()
    if org.short_name and name == org.name:
        return org.short_name
    match = _GOVERNMENT_OF.match(name)
    return match["place"] if match else name


@require_GET
@staff_required(*HOTSPOT_ROLES)
def desk_hotspots(request):
    """Hot spots of a recent window (selectors/hotspots.py): what is rising, where."""
    window = hs.window_or_default(request.GET.get("window"))
    report = hs.hotspot_report(window=window)
    districts = {pk: _district_label(org) for pk, org in
                 _org_names({d for d, _c, _n in report.heat} | {h.district_id for h in report.hotspots}).items()}
    codes = {c for _d, c, _n in report.heat} | {h.category_code for h in report.hotspots}
    categories = hs.category_names(codes)
    window_label = dict(HOTSPOT_WINDOWS)[window]
    return render(request, "hotline/desk/hotspots.html", {
        "report": report, "window": window, "windows": HOTSPOT_WINDOWS, "min_requests": hs.MIN_REQUESTS,
        "rows": [HotspotRow(h, districts.get(h.district_id, ""), categories.get(h.category_code, h.category_code))
                 for h in report.hotspots],
        "can_open_cases": bool(hotline_roles(_actor(request))),
        "rising_chart": hs.rising_chart(report, district_names=districts, now_label=str(window_label),
                                        before_label=str(_("Previous period"))),
        "heat_chart": hs.heat_chart(report, district_names=districts, category_names=categories,
                                    uncategorised=str(_("Not categorised"))),
    })
