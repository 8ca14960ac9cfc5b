"""Template filters of the payments pages: the badge colour of a bill or attempt state."""

from django import template

register = template.Library()

BILL_BADGES = {"issued": "warning", "partially_paid": "info", "overdue": "danger", "paid": "success",
               "cancelled": "neutral", "refunded": "neutral"}
ATTEMPT_BADGES = {"created": "neutral", "pending": "info", "succeeded": "success", "failed": "danger",
                  "cancelled": "neutral", "expired": "neutral"}


@register.filter
def bill_badge(state: str) -> str:
    return BILL_BADGES.get(state, "neutral")


@register.filter
def attempt_badge(state: str) -> str:
    return ATTEMPT_BADGES.get(state, "neutral")
