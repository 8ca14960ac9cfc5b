"""Reads of the OIDC provider: the citizen's list of app permissions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from onecity.identity.enums import ConsentDecision
from onecity.identity.models import ClientProfile, Consent

STATE_ACTIVE = "active"
STATE_REPLACED = "replaced"
STATE_WITHDRAWN = "withdrawn"
STATE_REFUSED = "refused"

STATE_LABELS = {
    STATE_ACTIVE: _("Allowed"),
    STATE_REPLACED: _("Replaced by a later permission"),
    STATE_WITHDRAWN: _("Withdrawn"),
    STATE_REFUSED: _("Refused"),
}

SCOPE_LABELS = {
    "openid": _("Sign-in"),
    "profile": _("Display name"),
    "phone": _("Mobile number (masked)"),
    "realname": _("Legal name and masked ID number"),
}


@dataclass(frozen=True)
class ConsentRow:
    public_id: str
    app_name: str
    operator: str
    purpose: str
    items: list[str]
    decided_at: datetime
    revoked_at: datetime | None
    state: str
    state_label: str

    @property
    def can_revoke(self) -> bool:
        return self.state == STATE_ACTIVE


def _localised(profile: ClientProfile | None, zh: str, en: str, fallback: str) -> str:
    if profile is None:
        return fallback
    if (get_language() or "").startswith("en") and en:
        return en
    return zh or fallback


def consent_list_for_user(user) -> list[ConsentRow]:
    """Every decision the citizen made, newest first, with its state today."""
    consents = list(Consent.objects.filter(user=user).select_related("application").order_by("-decided_at", "-id"))
    profiles = {p.application_id: p for p in ClientProfile.objects.select_related("operator")
                .filter(application_id__in={c.application_id for c in consents})}
    newest_active: dict[int, int] = {}
    for consent in consents:  # newest first: the first active grant per app is the current one
        if consent.decision == ConsentDecision.GRANTED and consent.revoked_at is None:
            newest_active.setdefault(consent.application_id, consent.pk)
    rows = []
    for consent in consents:
        if consent.decision == ConsentDecision.DENIED:
            state = STATE_REFUSED
        elif consent.revoked_at is not None:
            state = STATE_WITHDRAWN
        elif newest_active.get(consent.application_id) == consent.pk:
            state = STATE_ACTIVE
        else:
            state = STATE_REPLACED
        profile = profiles.get(consent.application_id)
        rows.append(ConsentRow(
            public_id=consent.public_id,
            app_name=_localised(profile, profile.display_name if profile else "",
                                profile.display_name_en if profile else "", consent.application.name),
            operator=profile.operator.display_name() if profile and profile.operator else "",
            purpose=_localised(profile, consent.purpose, profile.purpose_en if profile else "", consent.purpose),
            items=[str(SCOPE_LABELS.get(s, s)) for s in consent.scope_list if s != "openid"],
            decided_at=consent.decided_at,
            revoked_at=consent.revoked_at,
            state=state,
            state_label=str(STATE_LABELS[state]),
        ))
    return rows
