"""Clearing pages (desktop, decision 0020). "Finance staff" are the platform's
(`payments.access.FINANCE_ROLES`: role finance, and administrators).

- Reconciliation (platform level): finance staff upload a channel's statement, see the runs
  and work the breaks (investigate, resolve, propose an adjustment; a colleague approves or
  rejects it; htmx swaps the row); auditors read the same pages.
- Settlements: a payee cashier sees their unit's settlements, finance staff and auditors all
  of them; each with its CSV and XLSX statement as generated, and a chart of net per day.
- Refunds still processing at their channel (finance staff and auditors): past
  PAYMENTS_REFUND_RESOLVE_AFTER_HOURS finance staff settle one by hand, once the channel
  confirmed its result (services/refunds.py `refund_resolve`).
- Payees owing (on the settlements page): what a payee still owes after its settlements, since
  when, and its latest collection notice; the platform's finance staff record a repayment or
  send a notice (services/deficits.py). A payee cashier sees their own unit's.
Another payee's settlement, like an unknown one, is 404.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from onecity.core.errors import ApplicationError, NotFound, PermissionDenied
from onecity.core.money import fen_text
from onecity.identity.access import forbidden, staff_required
from onecity.identity.enums import Role
from onecity.payments.access import FINANCE_READER_ROLES, is_platform_finance
from onecity.payments.clearing import (
    break_get,
    breaks_of_run,
    payees_owing,
    refunds_processing,
    runs_recent,
    settlement_chart,
    settlements_visible_to,
)
from onecity.payments.enums import BreakKind, BreakResolution, BreakState, Channel
from onecity.payments.services.common import yuan_to_fen
from onecity.payments.services.deficits import NOTE_MAX as RECOVERY_NOTE_MAX
from onecity.payments.services.deficits import REFERENCE_MAX, deficit_notice_send, deficit_recovery_record
from onecity.payments.services.reconciliation_runs import NOTE_MAX as BREAK_NOTE_MAX
from onecity.payments.services.reconciliation_runs import (
    break_adjustment_decide,
    break_adjustment_propose,
    break_investigate,
    break_resolve,
    can_reconcile,
    reconciliation_import,
)
from onecity.payments.services.refunds import (
    NOTE_MAX,
    refund_resolvable_since,
    refund_resolve,
    refund_resolve_hours,
)

reconciliation_readers = staff_required(*FINANCE_READER_ROLES)
settlement_readers = staff_required(*FINANCE_READER_ROLES, Role.PAYEE_CASHIER)


class StatementUploadForm(forms.Form):
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), choices=Channel.choices)
    day = forms.DateField(label=gettext_lazy("Statement day"), widget=forms.DateInput(attrs={"type": "date"}))
    file = forms.FileField(label=gettext_lazy("Statement file"),
                           help_text=gettext_lazy("The file exactly as the channel gave it."))


class RefundResolveForm(forms.Form):
    outcome = forms.ChoiceField(label=gettext_lazy("The channel confirmed"), widget=forms.RadioSelect, choices=[
        ("refunded", gettext_lazy("Refunded to the payer")), ("not_refunded", gettext_lazy("Not refunded"))])
    note = forms.CharField(label=gettext_lazy("How it was confirmed"), max_length=NOTE_MAX,
                           help_text=gettext_lazy("Who confirmed it, when, and the channel's reference."))


class RepaymentForm(forms.Form):
    amount = forms.CharField(label=gettext_lazy("Amount repaid (yuan)"), max_length=20)
    bank_reference = forms.CharField(label=gettext_lazy("Bank reference"), max_length=REFERENCE_MAX)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=RECOVERY_NOTE_MAX, required=False)


class BreakFilterForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), required=False,
                             choices=[("", gettext_lazy("All kinds")), *BreakKind.choices])
    state = forms.ChoiceField(label=gettext_lazy("State"), required=False,
                              choices=[("", gettext_lazy("All states")), *BreakState.choices])


class BreakResolveForm(forms.Form):
    resolution = forms.ChoiceField(label=gettext_lazy("How resolved"), required=False, choices=[
        ("", gettext_lazy("Investigating")),
        *[(value, gettext_lazy("Propose an adjustment (a colleague approves)") if value == BreakResolution.ADJUSTED
           else label) for value, label in BreakResolution.choices]])
    note = forms.CharField(label=gettext_lazy("Note"), max_length=BREAK_NOTE_MAX)
    adjustment = forms.CharField(label=gettext_lazy("Adjustment (yuan, − for less)"), required=False, max_length=20)


class BreakDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", gettext_lazy("Approve")), ("reject", gettext_lazy("Reject"))])
    note = forms.CharField(label=gettext_lazy("Note"), max_length=BREAK_NOTE_MAX, required=False)


@reconciliation_readers
@require_http_methods(["GET", "POST"])
def reconciliation(request):
    form = StatementUploadForm()
    status = 200
    if request.method == "POST":
        if not can_reconcile(request.user):
            return forbidden(request)
        form = StatementUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                run = reconciliation_import(actor=request.user, channel=form.cleaned_data["channel"],
                                            day=form.cleaned_data["day"], filename=upload.name,
                                            content=upload.read())
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, _("Statement reconciled: %(breaks)s breaks.") % {"breaks": run.break_count})
                return redirect("payments:clearing_run", run_id=run.public_id)
        status = 422
    page = Paginator(runs_recent(), 30).get_page(request.GET.get("page"))
    return render(request, "payments/clearing/reconciliation.html",
                  {"form": form, "page": page, "can_reconcile": can_reconcile(request.user)}, status=status)


@reconciliation_readers
@require_GET
def run_detail(request, run_id: str):
    filters = BreakFilterForm(request.GET or None)
    kind = state = ""
    if filters.is_valid():
        kind, state = filters.cleaned_data["kind"], filters.cleaned_data["state"]
    try:
        run, breaks = breaks_of_run(run_id=run_id, kind=kind, state=state)
    except NotFound:
        raise Http404 from None
    page = Paginator(breaks, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "payments/clearing/run.html",
                  {"run": run, "page": page, "filters": filters, "query": query.urlencode() + "&" if query else "", "can_reconcile": can_reconcile(request.user),
                   "resolve_form": BreakResolveForm()})


def _adjustment_fen(text: str) -> int | None:
    """Yuan as typed ("-12.30", "−0.5", "") → fen, None when empty; ApplicationError otherwise."""
    text = text.strip().replace("−", "-")
    if not text:
        return None
    amount = yuan_to_fen(text.lstrip("-"))
    return -amount if text.startswith("-") else amount


def _break_row(request, break_id: str, brk, error: str):
    """The break's row again (htmx), or back to its run with the error as a message."""
    if brk is None:
        try:
            brk = break_get(break_id=break_id)
        except NotFound:
            raise Http404 from None
    if request.headers.get("HX-Request"):
        return render(request, "payments/clearing/_break_row.html",
                      {"b": brk, "error": error, "can_reconcile": can_reconcile(request.user),
                       "resolve_form": BreakResolveForm()}, status=422 if error else 200)
    if error:
        messages.error(request, error)
    return redirect("payments:clearing_run", run_id=brk.run.public_id)


@reconciliation_readers
@require_POST
def break_work(request, break_id: str):
    """Investigate (no resolution), resolve, or propose an adjustment of a break; an htmx request
    gets the row back."""
    form = BreakResolveForm(request.POST)
    error = ""
    brk = None
    if form.is_valid():
        d = form.cleaned_data
        try:
            if not d["resolution"]:
                brk = break_investigate(actor=request.user, break_id=break_id, note=d["note"])
            elif d["resolution"] == BreakResolution.ADJUSTED:
                brk = break_adjustment_propose(actor=request.user, break_id=break_id, note=d["note"],
                                               amount_fen=_adjustment_fen(d["adjustment"]))
            elif d["adjustment"].strip():
                error = _("Only an adjustment carries an amount.")
            else:
                brk = break_resolve(actor=request.user, break_id=break_id, resolution=d["resolution"],
                                    note=d["note"])
        except PermissionDenied:
            return forbidden(request)
        except NotFound:
            raise Http404 from None
        except ApplicationError as exc:
            error = exc.message
    else:
        error = _("Write a note saying what was found.")
    return _break_row(request, break_id, brk, error)


@reconciliation_readers
@require_POST
def break_decision(request, break_id: str):
    """Approve or reject (withdraw, for its proposer) the adjustment proposed for a break."""
    form = BreakDecisionForm(request.POST)
    error = ""
    brk = None
    if form.is_valid():
        try:
            brk = break_adjustment_decide(actor=request.user, break_id=break_id,
                                          approve=form.cleaned_data["decision"] == "approve",
                                          note=form.cleaned_data["note"])
        except PermissionDenied:
            return forbidden(request)
        except NotFound:
            raise Http404 from None
        except ApplicationError as exc:
            error = exc.message
    else:
        error = _("Choose whether to approve the adjustment (a note is at most %(max)d characters).") % {
            "max": BREAK_NOTE_MAX}
    return _break_row(request, break_id, brk, error)


def _act_then_back(request, back: str, act, said):
    """A form's POST that goes back to the page `back`: `act()` (the service call), then `said(its
    result)` as the success message, or the service's refusal as an error message; someone who
    may not act gets the 403 page, an unknown object the 404."""
    try:
        result = act()
    except PermissionDenied:
        return forbidden(request)
    except NotFound:
        raise Http404 from None
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, said(result))
    return redirect(back)


@settlement_readers
@require_GET
def settlements(request):
    rows = settlements_visible_to(request.user)
    page = Paginator(rows, 30).get_page(request.GET.get("page"))
    return render(request, "payments/clearing/settlements.html",
                  {"page": page, "chart": settlement_chart(rows), "owing": payees_owing(request.user),
                   "can_collect": is_platform_finance(request.user), "reference_max": REFERENCE_MAX,
                   "recovery_note_max": RECOVERY_NOTE_MAX})


@settlement_readers
@require_POST
def owing_repayment(request, payee_id: str):
    """Record that a payee paid back (part of) what it owes (the platform's finance staff)."""
    form = RepaymentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the amount repaid and the bank's reference."))
        return redirect("payments:settlements")
    d = form.cleaned_data
    return _act_then_back(
        request, "payments:settlements",
        lambda: deficit_recovery_record(actor=request.user, payee_id=payee_id, amount_fen=yuan_to_fen(d["amount"]),
                                        bank_reference=d["bank_reference"], note=d["note"]),
        lambda recovery: _("Repayment of %(amount)s recorded.") % {
            "amount": fen_text(recovery.amount_fen, symbol="¥", grouping=True)})


@settlement_readers
@require_POST
def owing_notice(request, payee_id: str):
    """Send a payee's cashiers a collection notice (the platform's finance staff)."""
    return _act_then_back(
        request, "payments:settlements", lambda: deficit_notice_send(actor=request.user, payee_id=payee_id),
        lambda notice: ngettext("Collection notice sent to %(count)d cashier.",
                                "Collection notice sent to %(count)d cashiers.",
                                notice.recipients) % {"count": notice.recipients})


@settlement_readers
@require_GET
def settlement_file(request, settlement_id: str, fmt: str):
    if fmt not in ("csv", "xlsx"):
        raise Http404
    settlement = settlements_visible_to(request.user).filter(public_id=settlement_id).first()
    if settlement is None:
        raise Http404
    if fmt == "csv":
        response = HttpResponse(bytes(settlement.statement_csv), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(bytes(settlement.statement_xlsx),
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="settlement-{settlement.day:%Y%m%d}.{fmt}"'
    return response


@reconciliation_readers
@require_GET
def refunds_stuck(request):
    page = Paginator(refunds_processing(), 30).get_page(request.GET.get("page"))
    return render(request, "payments/clearing/refunds.html",
                  {"page": page, "due": refund_resolvable_since(), "hours": refund_resolve_hours(),
                   "note_max": NOTE_MAX, "can_resolve": is_platform_finance(request.user)})


@reconciliation_readers
@require_POST
def refund_resolve_view(request, refund_id: str):
    form = RefundResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose what the channel confirmed and say how it was confirmed (at most "
                                  "%(max)d characters).") % {"max": NOTE_MAX})
        return redirect("payments:clearing_refunds")
    return _act_then_back(
        request, "payments:clearing_refunds",
        lambda: refund_resolve(actor=request.user, refund_id=refund_id,
                               refunded=form.cleaned_data["outcome"] == "refunded", note=form.cleaned_data["note"]),
        lambda refund: _("Refund settled by hand: %(state)s.") % {"state": refund.get_state_display()})
