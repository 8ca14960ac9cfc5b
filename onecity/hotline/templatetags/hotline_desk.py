"""Template filters of the staff desk: state and action names with their badge classes."""

from __future__ import annotations

from django import template

from onecity.hotline.enums import Action, CaseState, Channel, Urgency

register = template.Library()

STATE_BADGES = {
    CaseState.REGISTERED: "badge-warning", CaseState.ACCEPTED: "badge-warning", CaseState.RETURNED: "badge-danger",
    CaseState.DISPATCHED: "badge-info", CaseState.SUB_DISPATCHED: "badge-info", CaseState.SIGNED: "badge-info",
    CaseState.IN_PROGRESS: "badge-info", CaseState.REPLIED: "badge-success", CaseState.VISITED: "badge-success",
    CaseState.CLOSED: "badge-neutral", CaseState.ANSWERED: "badge-neutral", CaseState.REJECTED: "badge-danger",
    CaseState.MERGED: "badge-neutral",
}


def _label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "")


@register.filter
def state_badge(state: str) -> str:
    return STATE_BADGES.get(state, "badge-neutral")


@register.filter
def state_label(state: str) -> str:
    return _label(CaseState, state)


@register.filter
def action_label(action: str) -> str:
    return _label(Action, action)


@register.filter
def channel_label(channel: str) -> str:
    return _label(Channel, channel)


@register.filter
def urgency_label(urgency: str) -> str:
    return _label(Urgency, urgency)


@register.filter
def org_name(org) -> str:
    return org.display_name() if org is not None else ""


@register.filter
def lookup(mapping, key):
    return mapping.get(key) if mapping else None
