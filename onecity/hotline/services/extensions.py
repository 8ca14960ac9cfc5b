"""延期申请: the holding unit asks for more working days; a dispatcher approves or refuses.

Approval adds the working days to the handling deadline (counted from the current deadline) and
moves the overall deadline to the new handling deadline when that is later. Both the request and
the case change by conditional UPDATE (request still pending, case still in a handling state with
the deadline the decision was computed from), so a double approval cannot extend twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core import calendar
from onecity.core.errors import ApplicationError, NotFound
from onecity.hotline.enums import Action, ExtensionState
from onecity.hotline.models import Case, ExtensionRequest
from onecity.hotline.services import notify
from onecity.hotline.services.base import apply, clean_text, conflict_error, load_for


def max_extension_days() -> int:
    return int(getattr(settings, "HOTLINE_MAX_EXTENSION_DAYS", 15))


@transaction.atomic
def case_extension_request(*, actor, case_id: str, days: int, reason: str) -> ExtensionRequest:
    case, transition = load_for(actor, case_id, Action.EXTENSION_REQUEST)
    try:
        days = int(days)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= max_extension_days():
        raise ApplicationError(_("An extension is between 1 and %(max)d working days.") % {"max": max_extension_days()},
                               code="extension_days", field="days")
    reason = clean_text(reason, field="reason", required=True, message=_("Please say why more time is needed."))
    now = timezone.now()
    try:
        with transaction.atomic():
            request = ExtensionRequest.objects.create(case=case, unit_id=actor.organization_id, requested_by=actor,
                                                      days=days, reason=reason, requested_at=now,
                                                      handle_due_before=case.handle_due_at)
    except IntegrityError:
        raise ApplicationError(_("An extension request for this case is already waiting for a decision."),
                               code="extension_pending") from None
    apply(actor=actor, case=case, transition=transition, now=now, note=reason,
          data={"request": request.public_id, "days": days})
    notify.in_app(notify.dispatchers_of(case), template="hotline.extension_requested", build=lambda: (
        _("Extension requested for %(number)s") % {"number": case.tracking_number},
        _("%(days)d more working days: %(reason)s") % {"days": days, "reason": reason}))
    return request


def _pending(actor, request_id: str, action: str) -> tuple[ExtensionRequest, Case, object]:
    request = ExtensionRequest.objects.filter(public_id=str(request_id or "")).select_related("case").first()
    if request is None:
        raise NotFound()
    case, transition = load_for(actor, request.case.public_id, action)
    if request.state != ExtensionState.PENDING:
        raise ApplicationError(_("This extension request has already been decided."), code="extension_decided",
                               status=409)
    return request, case, transition


@transaction.atomic
def case_extension_approve(*, actor, request_id: str, note: str = "") -> ExtensionRequest:
    request, case, transition = _pending(actor, request_id, Action.EXTENSION_APPROVE)
    note = clean_text(note, field="note", required=False, message="")
    now = timezone.now()
    old_due = case.handle_due_at
    new_due = calendar.add_working_days(old_due or now, request.days)
    new_overall = max(filter(None, [case.due_at, new_due]))
    if not ExtensionRequest.objects.filter(pk=request.pk, state=ExtensionState.PENDING).update(
            state=ExtensionState.APPROVED, decided_by=actor, decided_at=now, decision_note=note,
            handle_due_before=old_due, handle_due_after=new_due):
        raise conflict_error()
    if not Case.objects.filter(pk=case.pk, handle_due_at=old_due).update(
            handle_due_at=new_due, due_at=new_overall, extended_days=F("extended_days") + request.days):
        raise conflict_error()
    apply(actor=actor, case=case, transition=transition, now=now, note=note,
          data={"request": request.public_id, "days": request.days, "handle_due_at": new_due.isoformat()})
    request.refresh_from_db()
    notify.in_app(notify.unit_handlers(request.unit_id), template="hotline.extension_approved", build=lambda: (
        _("Extension approved for %(number)s") % {"number": case.tracking_number},
        _("The new deadline is %(due)s.") % {"due": timezone.localtime(new_due).strftime("%Y-%m-%d %H:%M")}))
    return request


@transaction.atomic
def case_extension_refuse(*, actor, request_id: str, note: str) -> ExtensionRequest:
    request, case, transition = _pending(actor, request_id, Action.EXTENSION_REFUSE)
    note = clean_text(note, field="note", required=True, message=_("Please say why the extension is refused."))
    now = timezone.now()
    if not ExtensionRequest.objects.filter(pk=request.pk, state=ExtensionState.PENDING).update(
            state=ExtensionState.REFUSED, decided_by=actor, decided_at=now, decision_note=note):
        raise conflict_error()
    apply(actor=actor, case=case, transition=transition, now=now, note=note, data={"request": request.public_id})
    request.refresh_from_db()
    notify.in_app(notify.unit_handlers(request.unit_id), template="hotline.extension_refused", build=lambda: (
        _("Extension refused for %(number)s") % {"number": case.tracking_number},
        _("Reason: %(reason)s") % {"reason": note}))
    return request
