"""The channels' side of the payments app: the notify endpoints the channels POST to, and — in
the demo and tests only (settings.PAYMENTS_SANDBOX) — the sandbox cashier that plays a
channel's confirm screen and then posts its signed notification to our notify endpoint over
loopback, so a sandbox payment travels the same path as a real one (decision 0017)."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from onecity.payments.enums import Channel
from onecity.payments.gateways import channel_client
from onecity.payments.selectors import attempt_for_sandbox
from onecity.payments.services.notifications import notification_handle

#: the attempt page the cashier returns to must be one of ours
_NEXT_PREFIX = "/pay/"


@csrf_exempt
@require_POST
def notify(request, channel: str):
    """POST /pay/notify/<channel>/: store raw, verify, process, answer as the channel expects."""
    if channel not in Channel.values:
        raise Http404
    outcome = notification_handle(channel=channel, headers=request.headers, body=request.body,
                                  remote_addr=request.META.get("REMOTE_ADDR"))
    reply = outcome.reply
    return HttpResponse(reply.body, status=reply.status, content_type=reply.content_type)


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith(_NEXT_PREFIX) and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return ""


@never_cache
@require_http_methods(["GET", "POST"])
def sandbox_cashier(request, channel: str, attempt_id: str):
    """/pay/sandbox/<channel>/<attempt_id>/: the channel's confirm screen, played by the
    sandbox. Confirming makes the sandbox record the trade, sign its notification and POST it
    to /pay/notify/<channel>/ on this server; the page then shows what our endpoint answered."""
    if not settings.PAYMENTS_SANDBOX or channel not in Channel.values:
        raise Http404
    attempt = attempt_for_sandbox(channel=channel, attempt_id=attempt_id)
    if attempt is None:
        raise Http404
    context = {"attempt": attempt, "channel": channel, "channel_label": Channel(channel).label,
               "payee": attempt.payee, "next": _next(request)}
    if request.method == "POST":
        client = channel_client(channel)
        headers, body = client.pay(out_trade_no=attempt.public_id, amount_fen=attempt.amount_fen)
        url = request.build_absolute_uri(reverse("payments:notify", args=[channel]))
        try:
            response = httpx.post(url, content=body, headers=headers, timeout=30)
            delivered, answer = response.is_success, response.status_code
        except httpx.HTTPError as exc:
            delivered, answer = False, str(exc)
        attempt.refresh_from_db()
        context.update(done=True, delivered=delivered, answer=answer)
    return render(request, "payments/sandbox/cashier.html", context)


def sandbox_url(*, attempt, next_url: str) -> str:
    """Where the pay button leads in the sandbox."""
    return f"{reverse('payments:sandbox_cashier', args=[attempt.channel, attempt.public_id])}?{urlencode({'next': next_url})}"
