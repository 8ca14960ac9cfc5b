"""Refunds in the payee console: ask for one from a paid bill's payment or from a payment made
with the static payee code (back to the bill, or to the list of those payments), the list of refunds
with the ones waiting for this cashier's approval first, approve or reject (decision 0019)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from onecity.core.errors import ApplicationError, NotFound
from onecity.core.ids import new_public_id
from onecity.identity.access import staff_required
from onecity.identity.enums import Role
from onecity.payments.access import access_attempt_by_id
from onecity.payments.forms import RefundDecisionForm, RefundForm
from onecity.payments.selectors import refund_remaining_fen, refunds_awaiting, refunds_for_payee
from onecity.payments.services.common import yuan_to_fen
from onecity.payments.services.refunds import refund_approve, refund_reject, refund_request

cashier_required = staff_required(Role.PAYEE_CASHIER)


def _attempt_or_404(request, attempt_id):
    try:
        return access_attempt_by_id(request.user, attempt_id)
    except NotFound:
        raise Http404 from None


@cashier_required
@require_http_methods(["GET", "POST"])
def refund_new(request, attempt_id: str):
    attempt = _attempt_or_404(request, attempt_id)
    form = RefundForm(request.POST or None, initial={"idem": new_public_id()})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            refund_request(actor=request.user, attempt_id=attempt.public_id, amount_fen=yuan_to_fen(d["amount"]),
                           reason=d["reason"], idempotency_key=d["idem"])
        except NotFound:
            raise Http404 from None
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in ("amount", "reason") else None, str(exc.message))
        else:
            messages.success(request, _("The refund was asked for. Another cashier of your unit must approve it "
                                        "before the money goes back."))
            if attempt.bill_id:
                return redirect("payments:console_bill", bill_id=attempt.bill.public_id)
            return redirect("payments:console_code_payments")
    return render(request, "payments/console/refund_new.html",
                  {"attempt": attempt, "form": form, "remaining_fen": refund_remaining_fen(attempt)},
                  status=422 if request.method == "POST" else 200)


@cashier_required
@require_GET
def refunds(request):
    rows = refunds_for_payee(actor=request.user)
    waiting = list(refunds_awaiting(actor=request.user))
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    return render(request, "payments/console/refunds.html",
                  {"waiting": waiting, "page": page, "decision_form": RefundDecisionForm()})


@cashier_required
@require_POST
def refund_decide(request, refund_id: str):
    form = RefundDecisionForm(request.POST)
    action = request.POST.get("action")
    if action not in ("approve", "reject") or not form.is_valid():
        messages.error(request, _("Choose approve or reject; a note can be at most 300 characters."))
        return redirect("payments:console_refunds")
    note = form.cleaned_data["note"]
    try:
        if action == "approve":
            refund = refund_approve(actor=request.user, refund_id=refund_id, note=note)
        else:
            refund = refund_reject(actor=request.user, refund_id=refund_id, note=note)
    except NotFound:
        raise Http404 from None
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        if refund.state == "succeeded":
            messages.success(request, _("Approved. The money went back to the payer through the channel."))
        elif refund.state == "processing":
            messages.success(request, _("Approved. The channel accepted the refund and reports its result later; "
                                        "it shows as processing until then."))
        elif refund.state == "failed":
            messages.error(request, _("Approved, but the channel did not refund it (%(code)s). Nothing else "
                                      "changed.") % {"code": refund.failure_code})
        else:
            messages.success(request, _("The refund was rejected."))
    return redirect("payments:console_refunds")
