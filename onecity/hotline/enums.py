"""Choices of the hotline app: work-order states, channels, urgency, actions, satisfaction."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CaseState(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", pgettext_lazy("hotline", "Not accepted")
    ANSWERED = "answered", _("Answered directly")
    DISPATCHED = "dispatched", _("Dispatched")
    SUB_DISPATCHED = "sub_dispatched", _("Dispatched to a sub-unit")
    RETURNED = "returned", _("Returned by the unit")
    SIGNED = "signed", _("Signed for")
    IN_PROGRESS = "in_progress", _("Being handled")
    REPLIED = "replied", _("Replied")
    VISITED = "visited", _("Follow-up visit done")
    CLOSED = "closed", _("Closed")
    MERGED = "merged", _("Merged into another request")


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    WEB = "web", _("Website")
    APP = "app", _("Mobile app")
    WECHAT = "wechat", _("WeChat")
    MAYOR_MAILBOX = "mayor_mailbox", _("Mayor's mailbox")
    OPEN311 = "open311", _("Open311")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("Normal")
    URGENT = "urgent", _("Urgent")


class TimeUnit(models.TextChoices):
    """The same values as onecity.core.calendar's units."""

    HOURS = "hours", _("hours")
    WORKING_HOURS = "working_hours", _("working hours")
    WORKING_DAYS = "working_days", _("working days")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    BASICALLY_SATISFIED = "basically_satisfied", _("Basically satisfied")
    NOT_SATISFIED = "not_satisfied", _("Not satisfied")
    NOT_REACHED = "not_reached", _("Could not be reached")


class HotlineRole(models.TextChoices):
    """Who acts on a work order. The staff roles are identity roles; `reporter` is the citizen
    who filed the request and `system` the platform itself (periodic jobs)."""

    HOTLINE_OPERATOR = "hotline_operator", _("Hotline operator")
    DISPATCHER = "dispatcher", _("Dispatcher")
    DEPARTMENT_HANDLER = "department_handler", _("Department handler")
    SUPERVISOR = "supervisor", _("Supervisor")
    REPORTER = "reporter", _("Reporter")
    SYSTEM = "system", _("System")


class Action(models.TextChoices):
    REGISTER = "register", _("Registered")
    ACCEPT = "accept", _("Accepted")
    REJECT = "reject", pgettext_lazy("hotline", "Not accepted")
    ANSWER = "answer", _("Answered directly")
    DISPATCH = "dispatch", _("Dispatched")
    SUB_DISPATCH = "sub_dispatch", _("Dispatched to a sub-unit")
    RETURN = "return", _("Returned")
    SUB_RETURN = "sub_return", _("Returned by the sub-unit")
    SIGN = "sign", _("Signed for")
    START = "start", _("Handling started")
    REPLY = "reply", _("Replied")
    VISIT = "visit", _("Follow-up visit")
    CLOSE = "close", _("Closed")
    REDO = "redo", _("Sent back to be handled again")
    REOPEN = "reopen", _("Reopened")
    MERGE = "merge", _("Merged")
    EXTENSION_REQUEST = "extension_request", _("Extension requested")
    EXTENSION_APPROVE = "extension_approve", _("Extension approved")
    EXTENSION_REFUSE = "extension_refuse", _("Extension refused")
    SUPERVISE = "supervise", _("Supervision notice")
    REMIND = "remind", _("Reminder")
    ESCALATE = "escalate", _("Escalated as overdue")
    CLASSIFY = "classify", _("Categorised")


class ExtensionState(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


class SupervisionKind(models.TextChoices):
    SUPERVISE = "supervise", _("Supervision (督办)")
    REMIND = "remind", _("Reminder (催办)")


class Clock(models.TextChoices):
    OVERALL = "overall", _("Overall")
    SIGN = "sign", _("Signing")
    HANDLE = "handle", _("Handling")
