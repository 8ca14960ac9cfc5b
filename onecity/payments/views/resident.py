"""Resident pages: my bills (due and settled), a bill with its dynamic 福码 and pay buttons, and
a payment attempt's status."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from onecity.core.errors import ApplicationError, NotFound
from onecity.core.ids import new_public_id
from onecity.identity.access import citizen_required
from onecity.payments import workflow
from onecity.payments.access import access_attempt_by_id, access_bill_by_id
from onecity.payments.enums import Channel
from onecity.payments.selectors import bill_attempts, bill_events, bill_refunds, bills_for_resident
from onecity.payments.services.attempts import attempt_create, attempt_submit
from onecity.payments.services.codes import code_dynamic_issue, qr_svg
from onecity.payments.services.common import yuan_to_fen
from onecity.payments.views.channels import sandbox_url


@citizen_required
@require_GET
def bills(request):
    due, done = bills_for_resident(actor=request.user)
    return render(request, "payments/resident/bills.html",
                  {"due": due, "done": done, "due_total": sum(b.outstanding_fen for b in due)})


def _bill_context(request, bill, *, error: str = ""):
    context = {"bill": bill, "events": bill_events(bill=bill), "attempts": bill_attempts(bill=bill),
               "payable": bill.state in workflow.PAYABLE_STATES, "channels": Channel.choices,
               "idem": new_public_id(), "error": error,
               # what reaches the payer: refunds approved or processing at the channel (on their way) or done
               "refunds": [r for r in bill_refunds(bill=bill) if r.state in ("approved", "processing", "succeeded")]}
    if context["payable"]:
        issued = code_dynamic_issue(actor=request.user, bill_id=bill.public_id)
        context.update(code=issued, qr=qr_svg(issued.url, title=bill.title))
    return context


@citizen_required
@require_GET
def bill_detail(request, bill_id: str):
    try:
        bill = access_bill_by_id(request.user, bill_id)
    except NotFound:
        raise Http404 from None
    return render(request, "payments/resident/bill.html", _bill_context(request, bill))


@citizen_required
@require_POST
def bill_pay(request, bill_id: str):
    try:
        bill = access_bill_by_id(request.user, bill_id)
    except NotFound:
        raise Http404 from None
    try:
        attempt = attempt_create(bill_id=bill.public_id, channel=request.POST.get("channel", ""),
                                 amount_fen=_amount_fen(request, bill), idempotency_key=request.POST.get("idem", ""),
                                 actor=request.user)
        attempt = attempt_submit(attempt_id=attempt.public_id)
    except NotFound:
        raise Http404 from None
    except ApplicationError as exc:
        bill.refresh_from_db()
        return render(request, "payments/resident/bill.html", _bill_context(request, bill, error=str(exc.message)),
                      status=422)
    target = reverse("payments:attempt", args=[attempt.public_id])
    if settings.PAYMENTS_SANDBOX:
        return redirect(sandbox_url(attempt=attempt, next_url=target))
    return redirect(target)


def _amount_fen(request, bill) -> int:
    """The whole amount still due, or the part the resident typed (bills allowing parts)."""
    text = (request.POST.get("amount") or "").strip()
    if not text or not bill.allow_partial:
        return bill.outstanding_fen
    return yuan_to_fen(text)


@citizen_required
@require_GET
def attempt_detail(request, attempt_id: str):
    try:
        attempt = access_attempt_by_id(request.user, attempt_id)
    except NotFound:
        raise Http404 from None
    return render(request, "payments/resident/attempt.html", {"attempt": attempt, "bill": attempt.bill})
