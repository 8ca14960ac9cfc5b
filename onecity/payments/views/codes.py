"""The 福码 URL `/pay/c/<token>`: verify the code, then route by the scanning app's User-Agent
(routing.py): a payment page for Alipay, WeChat, UnionPay or the e福州 app, or — in a plain
browser — a page explaining which apps can pay. `.svg` / `.png` give the QR code itself.

Anyone holding a valid code may pay with it (that is what a code is for); the pages show the
bill's payee, title, amount and the payer masked, nothing more."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from onecity.core.errors import ApplicationError, NotFound
from onecity.core.ids import new_public_id
from onecity.identity.access import is_citizen
from onecity.payments.enums import CodeKind, ScanApp
from onecity.payments.routing import CHANNEL_OF_APP, scan_app
from onecity.payments.selectors import attempt_for_code
from onecity.payments.services.attempts import attempt_create, attempt_submit
from onecity.payments.services.codes import CodeProblem, code_check, code_url, qr_png, qr_svg, qr_svg_document
from onecity.payments.services.common import yuan_to_fen
from onecity.payments.views.channels import sandbox_url

APPS_THAT_PAY = (ScanApp.CITY_APP, ScanApp.ALIPAY, ScanApp.WECHAT, ScanApp.UNIONPAY)


def _invalid(request, check):
    status = 404 if check.problem in (CodeProblem.TAMPERED, CodeProblem.UNKNOWN) else 410
    return render(request, "payments/code/invalid.html", {"message": check.message, "problem": check.problem},
                  status=status)


def _context(request, token, check, **extra):
    app = scan_app(request.headers.get("User-Agent"))
    return {"token": token, "code": check.code, "bill": check.bill, "payee": check.code.payee, "app": app,
            "app_label": ScanApp(app).label, "channel": CHANNEL_OF_APP.get(app), "apps": APPS_THAT_PAY,
            "is_static": check.code.kind == CodeKind.STATIC, "idem": new_public_id(), **extra}


@never_cache
@require_GET
def code(request, token: str):
    check = code_check(token)
    if not check.ok:
        return _invalid(request, check)
    context = _context(request, token, check)
    if context["app"] == ScanApp.BROWSER:
        context["qr"] = qr_svg(code_url(token))
        return render(request, "payments/code/browser.html", context)
    return render(request, "payments/code/pay.html", context)


@never_cache
@require_POST
def code_pay(request, token: str):
    check = code_check(token)
    if not check.ok:
        return _invalid(request, check)
    context = _context(request, token, check)
    if context["channel"] is None:
        context["qr"] = qr_svg(code_url(token))
        return render(request, "payments/code/browser.html", context, status=400)
    try:
        if context["is_static"]:
            amount = yuan_to_fen(request.POST.get("amount", ""))
        else:
            amount = check.bill.outstanding_fen
        attempt = attempt_create(bill_id=check.bill.public_id if check.bill else None, channel=context["channel"],
                                 amount_fen=amount, idempotency_key=request.POST.get("idem", ""),
                                 actor=request.user if is_citizen(request.user) else None, code_token=token)
        attempt = attempt_submit(attempt_id=attempt.public_id)
    except NotFound:
        raise Http404 from None
    except ApplicationError as exc:
        context.update(error=str(exc.message), amount=request.POST.get("amount", ""))
        return render(request, "payments/code/pay.html", context, status=422)
    target = reverse("payments:code_attempt", args=[token, attempt.public_id])
    if settings.PAYMENTS_SANDBOX:
        return redirect(sandbox_url(attempt=attempt, next_url=target))
    return redirect(target)


@never_cache
@require_GET
def code_attempt(request, token: str, attempt_id: str):
    check = code_check(token)
    if check.code is None:
        return _invalid(request, check)
    attempt = attempt_for_code(code=check.code, attempt_id=attempt_id)
    if attempt is None:
        raise Http404
    return render(request, "payments/code/attempt.html", {**_context(request, token, check), "attempt": attempt})


@require_GET
def code_svg(request, token: str):
    check = code_check(token)
    if not check.ok:
        raise Http404
    response = HttpResponse(qr_svg_document(code_url(token)), content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=60"
    return response


@require_GET
def code_png(request, token: str):
    check = code_check(token)
    if not check.ok:
        raise Http404
    response = HttpResponse(qr_png(code_url(token)), content_type="image/png")
    response["Cache-Control"] = "private, max-age=60"
    return response
