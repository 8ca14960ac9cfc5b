"""`{% load notifications %}{% unread_message_count as n %}`: the signed-in user's unread
messages, for the badge on the message-centre link. Queried only where a template asks."""

from django import template

from onecity.notifications.selectors import message_unread_count_for_request

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_message_count(context) -> int:
    request = context.get("request")
    return message_unread_count_for_request(request) if request is not None else 0
