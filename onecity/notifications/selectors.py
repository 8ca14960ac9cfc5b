"""Reads of the notifications app."""

from __future__ import annotations

from django.db.models import QuerySet

from onecity.core.crypto import lookup_hash
from onecity.core.validators import normalise_phone
from onecity.notifications.enums import Channel, MessageState
from onecity.notifications.models import Message

# Templates whose body carries a secret (one-time codes). The resident message centre shows
# that such a message was sent but never its body: a stolen session must not be enough to read
# the code that proves possession of the phone (step-up, password reset).
SECRET_TEMPLATE_PREFIXES = ("otp_",)

RESIDENT_CHANNELS = (Channel.IN_APP, Channel.SMS)


def message_has_secret(message: Message) -> bool:
    return message.template.startswith(SECRET_TEMPLATE_PREFIXES)


def message_list_for_user(*, user) -> QuerySet[Message]:
    """The user's in-app and SMS messages, newest first."""
    return Message.objects.filter(recipient=user, channel__in=RESIDENT_CHANNELS).order_by("-created_at", "-id")


def message_unread_count_for_user(*, user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Message.objects.filter(
        recipient=user, channel__in=RESIDENT_CHANNELS, read_at__isnull=True, state=MessageState.DELIVERED
    ).count()


def message_unread_count_for_request(request) -> int:
    """The signed-in user's unread count, counted once per request (navigation badge, pages)."""
    cached = getattr(request, "_onecity_unread_messages", None)
    if cached is None:
        cached = message_unread_count_for_user(user=getattr(request, "user", None))
        request._onecity_unread_messages = cached
    return cached


def sms_list_for_dev_inbox(*, phone: str = "", limit: int = 50) -> list[Message]:
    """Sent SMS for the development inbox, newest first; `phone` filters by number."""
    messages = Message.objects.filter(channel=Channel.SMS).order_by("-created_at", "-id")
    if phone:
        messages = messages.filter(address_hash=lookup_hash(normalise_phone(phone), purpose="phone"))
    return list(messages[:limit])
