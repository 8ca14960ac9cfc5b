"""The only way views load owned messages: another user's message and a missing one look the same."""

from __future__ import annotations

from onecity.core.errors import NotFound
from onecity.notifications.models import Message
from onecity.notifications.selectors import RESIDENT_CHANNELS


def access_message_by_id(actor, public_id: str) -> Message:
    if not getattr(actor, "is_authenticated", False):
        raise NotFound()
    message = Message.objects.filter(
        public_id=public_id, recipient=actor, channel__in=RESIDENT_CHANNELS
    ).first()
    if message is None:
        raise NotFound()
    return message
