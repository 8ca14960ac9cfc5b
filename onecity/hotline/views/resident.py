"""Resident pages of the 12345 hotline: report a problem, my requests (list, detail with the
timeline, rating and reopening), the signed rating link from the SMS, photos behind an access
check, and the public knowledge base. Thin: parse, call a service or a query, render.

Reporting needs a signed-in resident's account, also for anonymous reports: "anonymous" means
the departments do not see who reported it, while the hotline can still tell the reporter the
outcome and the reporter can follow the request under "my requests". Requests filed here use
the channel "web" (the portal, on a phone or a desktop alike).
"""

from __future__ import annotations

from django.contrib import messages
from django.core import signing
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from onecity.core.errors import ApplicationError, NotFound
from onecity.core.masking import mask_phone
from onecity.hotline.enums import Channel
from onecity.hotline.forms_resident import RatingForm, RemindForm, ReopenForm, ReportForm
from onecity.hotline.selectors.knowledge import knowledge_search
from onecity.hotline.selectors.knowledge_public import knowledge_browse_public, knowledge_topics_public
from onecity.hotline.selectors.resident_cases import resident_case_detail, resident_case_list
from onecity.hotline.services import cases as case_services
from onecity.hotline.services.attachments import attachment_get_for_actor, attachment_thumbnail, case_report
from onecity.hotline.services.rating_link import rating_token_read
from onecity.hotline.services.supervision import case_remind
from onecity.identity.access import citizen_required

FORM_FIELDS = {"text", "category", "district", "address", "latitude", "longitude", "photos", "anonymous",
               "contact_phone"}


def _apply_error(form, exc: ApplicationError) -> None:
    form.add_error(exc.field if exc.field in FORM_FIELDS else None, str(exc.message))


@citizen_required
@require_http_methods(["GET", "POST"])
def report(request):
    masked = mask_phone(request.user.phone) if request.user.phone else ""
    form = ReportForm(request.POST or None, request.FILES or None, account_phone_masked=masked)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = case_report(
                actor=request.user, photos=form.checked_photos, channel=Channel.WEB, text=data["text"],
                category=data["category"], district=data["district"], address=data["address"],
                latitude=data["latitude"], longitude=data["longitude"], anonymous=data["anonymous"],
                contact_phone=data["contact_phone"] or None)
        except ApplicationError as exc:
            _apply_error(form, exc)
        else:
            return redirect("hotline:report_done", case_id=case.public_id)
    status = 422 if request.method == "POST" else 200
    return render(request, "hotline/resident/report.html", {"form": form}, status=status)


@citizen_required
def report_done(request, case_id: str):
    detail = _detail_or_404(request, case_id)
    return render(request, "hotline/resident/report_done.html", {"item": detail.summary})


@citizen_required
def my_list(request):
    return render(request, "hotline/resident/my_list.html", {"items": resident_case_list(actor=request.user)})


def _detail_or_404(request, case_id: str):
    try:
        return resident_case_detail(actor=request.user, case_id=case_id)
    except NotFound:
        raise Http404() from None


def _render_detail(request, case_id: str, *, rating_form=None, reopen_form=None, remind_form=None, status=200):
    detail = _detail_or_404(request, case_id)
    return render(request, "hotline/resident/my_detail.html", {
        "detail": detail, "item": detail.summary, "case": detail.summary.case,
        "rating_form": rating_form or RatingForm(), "reopen_form": reopen_form or ReopenForm(),
        "remind_form": remind_form or RemindForm(),
    }, status=status)


@citizen_required
def my_detail(request, case_id: str):
    return _render_detail(request, case_id)


def _rate(request, case_id: str, form: RatingForm) -> bool:
    if not form.is_valid():
        return False
    try:
        case_services.case_visit(actor=request.user, case_id=case_id, satisfaction=form.cleaned_data["satisfaction"],
                                 note=form.cleaned_data["note"])
    except NotFound:
        raise Http404() from None
    except ApplicationError as exc:
        form.add_error("note" if exc.field == "note" else None, str(exc.message))
        return False
    messages.success(request, _("Thank you. Your rating has been recorded."))
    return True


@citizen_required
@require_POST
def my_rate(request, case_id: str):
    form = RatingForm(request.POST)
    if _rate(request, case_id, form):
        return redirect("hotline:my_detail", case_id=case_id)
    return _render_detail(request, case_id, rating_form=form, status=422)


@citizen_required
@require_POST
def my_reopen(request, case_id: str):
    form = ReopenForm(request.POST)
    if form.is_valid():
        try:
            case_services.case_reopen(actor=request.user, case_id=case_id, reason=form.cleaned_data["reason"])
        except NotFound:
            raise Http404() from None
        except ApplicationError as exc:
            form.add_error("reason" if exc.field == "reason" else None, str(exc.message))
        else:
            messages.success(request, _("Your request has been reopened. The hotline will pass it on again."))
            return redirect("hotline:my_detail", case_id=case_id)
    return _render_detail(request, case_id, reopen_form=form, status=422)


@citizen_required
@require_POST
def my_remind(request, case_id: str):
    """催办: the resident asks the holding unit to hurry (once a day)."""
    form = RemindForm(request.POST)
    detail = _detail_or_404(request, case_id)
    if not detail.can_remind:
        messages.info(request, _("You already sent a reminder today. The department has been told."))
        return redirect("hotline:my_detail", case_id=case_id)
    if form.is_valid():
        try:
            case_remind(actor=request.user, case_id=case_id, note=form.cleaned_data["note"])
        except ApplicationError as exc:
            form.add_error("note" if exc.field == "note" else None, str(exc.message))
        else:
            messages.success(request, _("Your reminder has been sent to the department."))
            return redirect("hotline:my_detail", case_id=case_id)
    return _render_detail(request, case_id, remind_form=form, status=422)


@citizen_required
@require_http_methods(["GET", "POST"])
def rate_link(request, token: str):
    """The page the SMS links to: the signature binds the case and its reporter; the signed-in
    resident must be that reporter."""
    try:
        link = rating_token_read(token)
    except signing.SignatureExpired:
        return render(request, "hotline/resident/rate_link_invalid.html", {"expired": True}, status=410)
    except signing.BadSignature:
        return render(request, "hotline/resident/rate_link_invalid.html", {"expired": False}, status=400)
    if link.reporter_id != request.user.pk:
        raise Http404()
    detail = _detail_or_404(request, link.case_id)
    form = RatingForm(request.POST or None)
    if request.method == "POST":
        if not detail.can_rate:
            return redirect("hotline:my_detail", case_id=link.case_id)
        if _rate(request, link.case_id, form):
            return redirect("hotline:my_detail", case_id=link.case_id)
    return render(request, "hotline/resident/rate.html", {
        "detail": detail, "item": detail.summary, "case": detail.summary.case, "rating_form": form,
        "action": reverse("hotline:rate_link", args=[token]),
    }, status=422 if request.method == "POST" else 200)


def photo(request, photo_id: str, size: str = "full"):
    """A photo of a case the signed-in person may see (residents: their own; staff by their
    hotline access). Never cached by shared caches."""
    if not request.user.is_authenticated:
        raise Http404()
    try:
        attachment = attachment_get_for_actor(actor=request.user, attachment_id=photo_id)
    except NotFound:
        raise Http404() from None
    if size == "thumb":
        data, content_type = attachment_thumbnail(attachment)
    else:
        with attachment.file.open("rb") as fh:
            data = fh.read()
        content_type = attachment.content_type
    response = HttpResponse(data, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    return response


def answers(request):
    """The public knowledge base: search and browse by topic (no sign-in needed)."""
    q = (request.GET.get("q") or "").strip()[:100]
    topic = (request.GET.get("topic") or "").strip()[:60]
    searching = bool(q or topic)
    if q:
        entries = knowledge_search(q, public_only=True, topic=topic)
    else:
        entries = list(knowledge_browse_public(topic=topic)[:50 if topic else 10])
    return render(request, "hotline/resident/answers.html", {
        "q": q, "topic": topic, "entries": entries, "topics": knowledge_topics_public(), "searching": searching})

