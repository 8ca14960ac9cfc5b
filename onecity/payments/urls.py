from django.urls import path

from onecity.payments.views import channels, clearing, codes, console, refunds, resident

app_name = "payments"

urlpatterns = [
    # resident portal
    path("", resident.bills, name="bills"),
    path("bills/<str:bill_id>/", resident.bill_detail, name="bill"),
    path("bills/<str:bill_id>/pay", resident.bill_pay, name="bill_pay"),
    path("attempts/<str:attempt_id>/", resident.attempt_detail, name="attempt"),
    # 福码 code URLs (the image routes first: <str:token> would also match "….svg")
    path("c/<str:token>.svg", codes.code_svg, name="code_svg"),
    path("c/<str:token>.png", codes.code_png, name="code_png"),
    path("c/<str:token>", codes.code, name="code"),
    path("c/<str:token>/pay", codes.code_pay, name="code_pay"),
    path("c/<str:token>/attempts/<str:attempt_id>", codes.code_attempt, name="code_attempt"),
    # payment channels: notifications, and the sandbox cashier (demo and tests only)
    path("notify/<str:channel>/", channels.notify, name="notify"),
    path("sandbox/<str:channel>/<str:attempt_id>/", channels.sandbox_cashier, name="sandbox_cashier"),
    # payee console
    path("console/", console.bills, name="console"),
    path("console/bills/new", console.bill_new, name="console_bill_new"),
    path("console/bills/<str:bill_id>/", console.bill_detail, name="console_bill"),
    path("console/bills/<str:bill_id>/cancel", console.bill_cancel_view, name="console_bill_cancel"),
    path("console/import", console.bills_import_view, name="console_import"),
    path("console/import/template.csv", console.import_template, name="console_import_template"),
    path("console/code", console.static_code, name="console_static_code"),
    path("console/code-payments/", console.code_payments, name="console_code_payments"),
    path("console/code-payments/export.<str:fmt>", console.code_payments_export,
         name="console_code_payments_export"),
    path("console/collections", console.collections, name="console_collections"),
    path("console/export.<str:fmt>", console.export, name="console_export"),
    path("console/attempts/<str:attempt_id>/refund", refunds.refund_new, name="console_refund_new"),
    path("console/refunds/", refunds.refunds, name="console_refunds"),
    path("console/refunds/<str:refund_id>/decide", refunds.refund_decide, name="console_refund_decide"),
    # clearing: reconciliation (platform), settlements (decision 0020)
    path("clearing/reconciliation/", clearing.reconciliation, name="clearing_reconciliation"),
    path("clearing/reconciliation/<str:run_id>/", clearing.run_detail, name="clearing_run"),
    path("clearing/breaks/<str:break_id>/", clearing.break_work, name="clearing_break"),
    path("clearing/breaks/<str:break_id>/decision/", clearing.break_decision, name="clearing_break_decision"),
    path("clearing/refunds/", clearing.refunds_stuck, name="clearing_refunds"),
    path("clearing/refunds/<str:refund_id>/resolve/", clearing.refund_resolve_view, name="clearing_refund_resolve"),
    path("clearing/settlements/", clearing.settlements, name="settlements"),
    path("clearing/owing/<str:payee_id>/repayment/", clearing.owing_repayment, name="owing_repayment"),
    path("clearing/owing/<str:payee_id>/notice/", clearing.owing_notice, name="owing_notice"),
    path("clearing/settlements/<str:settlement_id>.<str:fmt>", clearing.settlement_file, name="settlement_file"),
]
