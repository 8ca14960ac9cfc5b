"""The payee console (desktop, role payee_cashier): bills with filters, issue one, bulk import
with a row-error report, a bill with its code and history, the static payee code and the payments
made with it, collections by channel and day, and CSV/XLSX export of the bills and of the
static-code payments."""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from openpyxl import Workbook

from onecity.core.errors import ApplicationError, NotFound
from onecity.identity.access import staff_required
from onecity.identity.enums import Role
from onecity.payments import workflow
from onecity.payments.access import access_bill_by_id
from onecity.payments.enums import Channel
from onecity.payments.forms import (
    BillCancelForm,
    BillFilterForm,
    BillImportForm,
    BillIssueForm,
    CodePaymentFilterForm,
)
from onecity.payments.selectors import (
    CODE_PAYMENT_EXPORT_HEADER,
    EXPORT_HEADER,
    BillFilters,
    CodePaymentFilters,
    batches_for_payee,
    bill_attempts,
    bill_events,
    bill_export_rows,
    bill_list_for_payee,
    bill_refunds,
    code_payment_export_rows,
    code_payment_list_for_payee,
    collections_by_channel_and_day,
    collections_chart,
    payee_totals,
)
from onecity.payments.services.bills import BillInput, bill_cancel, bill_issue
from onecity.payments.services.codes import code_dynamic_issue, code_static_issue, qr_svg
from onecity.payments.services.common import yuan_to_fen
from onecity.payments.services.imports import bills_import

cashier_required = staff_required(Role.PAYEE_CASHIER)
EXPORT_FORMATS = ("csv", "xlsx")
ISSUE_FIELDS = {"kind", "title", "amount", "due_date", "resident_phone", "payer_id_number", "payer_name",
                "min_partial", "external_ref", "description"}


def _filters(request) -> tuple[BillFilterForm, BillFilters]:
    form = BillFilterForm(request.GET or None)
    if form.is_valid():
        d = form.cleaned_data
        return form, BillFilters(q=d["q"], state=d["state"], kind=d["kind"], due_from=d["due_from"],
                                 due_to=d["due_to"])
    return form, BillFilters()


@cashier_required
@require_GET
def bills(request):
    form, filters = _filters(request)
    page = Paginator(bill_list_for_payee(actor=request.user, filters=filters), 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "payments/console/bills.html",
                  {"filter_form": form, "page": page, "totals": payee_totals(actor=request.user),
                   "filters_query": query.urlencode()})


@cashier_required
@require_http_methods(["GET", "POST"])
def bill_new(request):
    form = BillIssueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            data = BillInput(
                kind=d["kind"], title=d["title"], amount_fen=yuan_to_fen(d["amount"]), due_date=d["due_date"],
                resident_phone=d["resident_phone"], payer_id_number=d["payer_id_number"], payer_name=d["payer_name"],
                allow_partial=d["allow_partial"],
                min_partial_fen=yuan_to_fen(d["min_partial"], field="min_partial") if d["min_partial"] else 0,
                external_ref=d["external_ref"], description=d["description"])
            bill = bill_issue(actor=request.user, data=data)
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in ISSUE_FIELDS else None, str(exc.message))
        else:
            messages.success(request, _("The bill was issued. The payer sees it in e-Fuzhou now."))
            return redirect("payments:console_bill", bill_id=bill.public_id)
    return render(request, "payments/console/bill_new.html", {"form": form},
                  status=422 if request.method == "POST" else 200)


def _bill_or_404(request, bill_id):
    try:
        return access_bill_by_id(request.user, bill_id)
    except NotFound:
        raise Http404 from None


@cashier_required
@require_GET
def bill_detail(request, bill_id: str):
    bill = _bill_or_404(request, bill_id)
    return render(request, "payments/console/bill.html", _bill_context(request, bill, BillCancelForm()))


def _bill_context(request, bill, cancel_form):
    context = {"bill": bill, "events": bill_events(bill=bill), "attempts": bill_attempts(bill=bill),
               "cancel_form": cancel_form, "cancellable": bill.state in workflow.BILL_TRANSITIONS["cancel"][0]
               and not bill.paid_fen, "refunds": bill_refunds(bill=bill)}
    if bill.state in workflow.PAYABLE_STATES:
        issued = code_dynamic_issue(actor=request.user, bill_id=bill.public_id)
        context.update(code=issued, qr=qr_svg(issued.url, title=bill.title))
    return context


@cashier_required
@require_POST
def bill_cancel_view(request, bill_id: str):
    bill = _bill_or_404(request, bill_id)
    form = BillCancelForm(request.POST)
    if form.is_valid():
        try:
            bill_cancel(actor=request.user, bill_id=bill.public_id, reason=form.cleaned_data["reason"])
        except NotFound:
            raise Http404 from None
        except ApplicationError as exc:
            form.add_error("reason" if exc.field == "reason" else None, str(exc.message))
        else:
            messages.success(request, _("The bill was cancelled."))
            return redirect("payments:console_bill", bill_id=bill.public_id)
    return render(request, "payments/console/bill.html", _bill_context(request, bill, form), status=422)


@cashier_required
@require_http_methods(["GET", "POST"])
def bills_import_view(request):
    form = BillImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        result = bills_import(actor=request.user, filename=upload.name, content=upload.read())
        if result.ok:
            messages.success(request, _("%(created)d bills issued, %(skipped)d already issued before (skipped).")
                             % {"created": result.created, "skipped": result.skipped})
            return redirect("payments:console_import")
    status = 422 if request.method == "POST" else 200
    return render(request, "payments/console/import.html",
                  {"form": form, "result": result, "batches": batches_for_payee(actor=request.user)}, status=status)


@cashier_required
@require_GET
def import_template(request):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="bills-template.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(["编号", "手机号", "身份证号", "姓名", "类型", "项目", "金额", "截止日期", "允许部分缴纳", "最低金额", "说明"])
    writer.writerow(["2026-FALL-0001", "13800138000", "", "", "学费", "2026年秋季学期学费", "2500.00", "2026-12-31",
                     "否", "", ""])
    return response


@cashier_required
@require_GET
def static_code(request):
    issued = code_static_issue(actor=request.user)
    return render(request, "payments/console/static_code.html",
                  {"code": issued, "qr": qr_svg(issued.url), "payee": request.user.organization})


@cashier_required
@require_GET
def collections(request):
    days = collections_by_channel_and_day(actor=request.user, days=30)
    return render(request, "payments/console/collections.html",
                  {"days": list(reversed(days)), "chart": collections_chart(days), "channels": Channel.choices,
                   "total_fen": sum(d.total_fen for d in days), "count": sum(d.count for d in days)})


def _table_export(*, fmt: str, name: str, header: tuple, rows: list[tuple]) -> HttpResponse:
    """A console list as a file: CSV (UTF-8 with a byte-order mark, which Excel opens as such) or
    XLSX, one heading row; the file is named after the list and the local time."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "xlsx":
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(name)
        sheet.append(list(header))
        for row in rows:
            sheet.append(list(row))
        buffer = io.BytesIO()
        workbook.save(buffer)
        response = HttpResponse(buffer.getvalue(),
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    else:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response.write("\ufeff")
        writer = csv.writer(response)
        writer.writerow(header)
        writer.writerows(rows)
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{fmt}"'
    return response


@cashier_required
@require_GET
def export(request, fmt: str):
    if fmt not in EXPORT_FORMATS:
        raise Http404
    _form, filters = _filters(request)
    return _table_export(fmt=fmt, name="bills", header=EXPORT_HEADER,
                         rows=bill_export_rows(actor=request.user, filters=filters))


def _code_payment_filters(request) -> tuple[CodePaymentFilterForm, CodePaymentFilters]:
    form = CodePaymentFilterForm(request.GET or None)
    if form.is_valid():
        d = form.cleaned_data
        return form, CodePaymentFilters(state=d["state"], channel=d["channel"], day=d["day"])
    return form, CodePaymentFilters()


@cashier_required
@require_GET
def code_payments(request):
    """The payments residents made with the unit's static code (no bill): each with its channel
    details and a way to refund it."""
    form, filters = _code_payment_filters(request)
    page = Paginator(code_payment_list_for_payee(actor=request.user, filters=filters), 25).get_page(
        request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "payments/console/code_payments.html",
                  {"filter_form": form, "page": page, "filters_query": query.urlencode()})


@cashier_required
@require_GET
def code_payments_export(request, fmt: str):
    if fmt not in EXPORT_FORMATS:
        raise Http404
    _form, filters = _code_payment_filters(request)
    return _table_export(fmt=fmt, name="code-payments", header=CODE_PAYMENT_EXPORT_HEADER,
                         rows=code_payment_export_rows(actor=request.user, filters=filters))
