"""Development SMS inbox: every SMS the outbox sent, full text, so a demo user can read a code.
Exists only when settings.DEV_INBOX is true; a 404 otherwise."""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from onecity.core.masking import mask_phone
from onecity.core.validators import normalise_phone, validate_phone
from onecity.notifications.selectors import message_has_secret, sms_list_for_dev_inbox

REFRESH_SECONDS = 3
_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def one_time_code_in(message) -> str:
    """The 6-digit code of a one-time-code SMS, shown large so a demo user spots it."""
    if not message_has_secret(message):
        return ""
    match = _CODE.search(message.body)
    return match.group(1) if match else ""


class PhoneFilterForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number"), required=False, max_length=20, validators=[validate_phone],
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel", "placeholder": "13800000000"}),
    )

    def clean_phone(self) -> str:
        return normalise_phone(self.cleaned_data["phone"])


@never_cache
@require_GET
def dev_inbox(request):
    if not settings.DEV_INBOX:
        raise Http404
    form = PhoneFilterForm(request.GET if request.GET.get("phone", "").strip() else None)
    if form.is_bound and not form.is_valid():
        phone, sent = "", []
    else:
        phone = form.cleaned_data["phone"] if form.is_bound else ""
        sent = sms_list_for_dev_inbox(phone=phone)
    context = {"form": form, "phone": phone, "phone_masked": mask_phone(phone),
               "sent": [{"message": m, "code": one_time_code_in(m)} for m in sent],
               "refresh_seconds": REFRESH_SECONDS}
    template = "notifications/partials/dev_inbox_list.html" if request.htmx else "notifications/dev_inbox.html"
    response = render(request, template, context)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
