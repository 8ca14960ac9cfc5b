"""Who hears about a work order, and how: SMS to the resident, in-app messages to staff.

Every function writes its messages into the outbox inside the action's own transaction (a
transactional outbox), and their delivery is scheduled after commit: an action that rolls back
leaves no message and sends nothing. The messages of one call (an SMS and the unit's handlers,
say) go into the outbox with one INSERT. Messages are written in the platform's default language (zh-Hans): SMS and
in-app texts are read outside the sender's session.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import translation

from onecity.hotline.enums import Action
from onecity.hotline.models import Case, CaseEvent
from onecity.notifications.dto import OutboxMessage
from onecity.notifications.enums import Channel
from onecity.notifications.services import message_enqueue_many


def contact_phone_of(case: Case) -> str:
    """The number to text about a case: the contact number given, else the reporter's."""
    if case.contact_phone:
        return case.contact_phone
    if case.reporter_id and getattr(case.reporter, "phone", ""):
        return case.reporter.phone
    return ""


def _staff(role: str):
    """The active staff members holding `role`. (A user holds a role at most once, a unique
    constraint, so the join gives each of them once.)"""
    return get_user_model().objects.filter(is_active=True, kind="staff", roles__role=role).order_by("pk")


def staff_with_role(role: str, *, organization_id: int | None = None) -> list:
    """The active staff members holding `role` (of `organization_id`), as message recipients:
    only their ids are loaded."""
    users = _staff(role)
    if organization_id is not None:
        users = users.filter(organization_id=organization_id)
    return list(users.only("pk"))


def _render(build) -> tuple[str, str]:
    with translation.override(settings.LANGUAGE_CODE):
        subject, body = build()
        return str(subject), str(body)


def sms_to_reporter(case: Case, *, template: str, build) -> OutboxMessage | None:
    """The SMS telling the resident (None when the case has no number to text). `build()`
    returns (subject, body) and is called in the default language."""
    phone = contact_phone_of(case)
    if not phone:
        return None
    _subject, body = _render(build)
    if template == "hotline.replied" and case.reporter_id:  # a signed link to the rating page
        from onecity.hotline.services.rating_link import rating_link_days, rating_url

        url = rating_url(case_id=case.public_id, reporter_id=case.reporter_id)
        with translation.override(settings.LANGUAGE_CODE):
            body += " " + translation.gettext("Rate the outcome within %(days)d days: %(url)s") % {
                "days": rating_link_days(), "url": url}
    return OutboxMessage(channel=Channel.SMS, template=template, body=body, address=phone)


def in_app_to(users, *, template: str, build) -> list[OutboxMessage]:
    """The in-app messages to `users` (built once, in the default language)."""
    if not users:
        return []
    subject, body = _render(build)
    return [OutboxMessage(channel=Channel.IN_APP, template=template, subject=subject, body=body, recipient=user)
            for user in users]


def send_with_change(messages: list[OutboxMessage | None]) -> None:
    """Put `messages` in the outbox in the current transaction, with one INSERT: a transactional
    outbox, so a message exists if and only if the change that caused it commits. Delivery is
    scheduled after commit (notifications' message_enqueue_many)."""
    batch = [m for m in messages if m is not None]
    if batch:
        message_enqueue_many(messages=batch)


def sms_reporter(case: Case, *, template: str, build) -> None:
    """Text the resident (sent after commit; no-op when the case has no number to text)."""
    send_with_change([sms_to_reporter(case, template=template, build=build)])


def in_app(users, *, template: str, build) -> None:
    send_with_change(in_app_to(users, template=template, build=build))


def unit_handlers(organization_id: int | None) -> list:
    if organization_id is None:
        return []
    return units_handlers([organization_id]).get(organization_id, [])


def units_handlers(organization_ids) -> dict[int, list]:
    """The department handlers of each of `organization_ids` (units without one are absent),
    with one query."""
    handlers: dict[int, list] = {}
    for user in _staff("department_handler").filter(organization_id__in=organization_ids).only("pk", "organization_id"):
        handlers.setdefault(user.organization_id, []).append(user)
    return handlers


def dispatchers_of(case: Case) -> list:
    """The dispatcher who last dispatched the case (the one who must act on a return or an
    extension request); all active dispatchers when nobody did."""
    event = (CaseEvent.objects.filter(case=case, action=Action.DISPATCH, actor__isnull=False)
             .select_related("actor").order_by("-at", "-id").first())
    if event is not None and event.actor.is_active:
        return [event.actor]
    return staff_with_role("dispatcher")
