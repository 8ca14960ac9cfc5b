"""Resident message centre: the signed-in user's in-app and SMS messages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from onecity.core.errors import NotFound
from onecity.notifications.access import access_message_by_id
from onecity.notifications.selectors import (
    message_has_secret,
    message_list_for_user,
    message_unread_count_for_user,
)
from onecity.notifications.services import message_mark_all_read, message_mark_read

PAGE_SIZE = 20


def _item(message) -> dict:
    return {"message": message, "secret": message_has_secret(message)}


@require_GET
@login_required
def inbox(request):
    page = Paginator(message_list_for_user(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "notifications/inbox.html", {
        "page": page,
        "items": [_item(m) for m in page.object_list],
        "unread": message_unread_count_for_user(user=request.user),
    })


@require_POST
@login_required
def mark_read(request, public_id: str):
    try:
        message = access_message_by_id(request.user, public_id)
    except NotFound:
        raise Http404 from None
    message_mark_read(actor=request.user, message=message)
    if request.htmx:
        message.refresh_from_db()
        return render(request, "notifications/partials/inbox_item.html", {
            "item": _item(message),
            "unread": message_unread_count_for_user(user=request.user),
            "oob_unread": True,
        })
    return HttpResponseRedirect(reverse("notifications:inbox"))


@require_POST
@login_required
def mark_all_read(request):
    message_mark_all_read(actor=request.user)
    return HttpResponseRedirect(reverse("notifications:inbox"))
