"""督办 (supervision) and 催办 (reminders): notes to the unit holding a case. Events, not states."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.hotline.enums import Action, SupervisionKind
from onecity.hotline.models import SupervisionNote
from onecity.hotline.services import notify
from onecity.hotline.services.base import apply, clean_text, load_for


def _note(*, actor, case_id: str, note: str, kind: str, action: str) -> SupervisionNote:
    case, transition = load_for(actor, case_id, action)
    note = clean_text(note, field="note", required=True, message=_("Please write the message to the unit."))
    now = timezone.now()
    row = SupervisionNote.objects.create(case=case, kind=kind, author=actor, unit_id=case.holder_id, note=note, at=now)
    apply(actor=actor, case=case, transition=transition, now=now, note=note, data={"unit": case.holder_id})
    supervise = kind == SupervisionKind.SUPERVISE
    notify.in_app(notify.unit_handlers(case.holder_id), template=f"hotline.{kind}", build=lambda: (
        (_("Supervision notice for %(number)s") if supervise else _("Reminder for %(number)s"))
        % {"number": case.tracking_number}, note))
    return row


@transaction.atomic
def case_supervise(*, actor, case_id: str, note: str) -> SupervisionNote:
    """督办: a supervisor's formal supervision notice."""
    return _note(actor=actor, case_id=case_id, note=note, kind=SupervisionKind.SUPERVISE, action=Action.SUPERVISE)


@transaction.atomic
def case_remind(*, actor, case_id: str, note: str) -> SupervisionNote:
    """催办: a reminder (the resident asking again, or hotline staff chasing)."""
    return _note(actor=actor, case_id=case_id, note=note, kind=SupervisionKind.REMIND, action=Action.REMIND)
