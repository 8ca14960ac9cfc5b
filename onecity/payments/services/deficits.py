"""What a payee owes after its settlements (decision 0020): repayments and collection notices.

When refunds exceed a payee's collections, its settlements carry the deficit forward and the
next payouts cover it (services/settlement.py). A payee with no later collections — a school
between terms, a unit that stopped using 福码 — keeps owing; the platform's finance staff then:

    deficit_notice_send        a collection notice (催缴通知) to the payee's cashiers (in-app), with
                               the amount and where to pay it; at most one per payee a day
    deficit_recovery_record    the payee paid (part of) it back to the platform's settlement bank
                               account: recorded with the bank's reference (once per payee and
                               reference), posted as `recover:<id>` (settlement bank → payee
                               payable), and taken off what the next settlement carries in

Both read what is owed with `settlement.owed_locked`, which locks the payee's latest settlement,
so a repayment and a settlement of the same payee never both count the same deficit. Who may:
the platform's finance staff (`payments.access.FINANCE_ROLES`).
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core.audit import audit_record
from onecity.core.errors import ApplicationError, NotFound, PermissionDenied
from onecity.core.money import fen_text
from onecity.identity.enums import OrganizationKind, Role
from onecity.identity.selectors.accounts import organization_get_by_reference
from onecity.ledger.enums import AccountKind
from onecity.ledger.services import account_open, transfer_post
from onecity.notifications.dto import OutboxMessage
from onecity.notifications.enums import Channel as MessageChannel
from onecity.notifications.services import message_enqueue_many
from onecity.payments.access import is_platform_finance
from onecity.payments.models import DeficitNotice, DeficitRecovery
from onecity.payments.services.settlement import owed_locked

REFERENCE_MAX = 64
NOTE_MAX = 300
NOTICE_INTERVAL = dt.timedelta(hours=24)


def _require_finance(actor) -> None:
    if actor is None or not is_platform_finance(actor):
        raise PermissionDenied()


def _owing(payee_id: str):
    """(payee organization, its latest settlement locked, what it owes now); NotFound for an
    unknown payee (active or not: a unit that stopped taking payments may still owe), 409 when it
    owes nothing."""
    payee = organization_get_by_reference(str(payee_id or ""))
    if payee is None or payee.kind != OrganizationKind.PAYEE:
        raise NotFound()
    latest, owed = owed_locked(payee.pk)
    if not owed:
        raise ApplicationError(_("%(payee)s owes nothing.") % {"payee": payee.name}, code="nothing_owed",
                               status=409)
    return payee, latest, owed


@transaction.atomic
def deficit_recovery_record(*, actor, payee_id: str, amount_fen: int, bank_reference: str,
                            note: str = "") -> DeficitRecovery:
    """The payee `payee_id` (public id) paid `amount_fen` of what it owes into the platform's
    settlement bank account; `bank_reference` is the bank's reference of that transfer."""
    _require_finance(actor)
    reference = " ".join(str(bank_reference or "").split())
    note = " ".join(str(note or "").split())
    if not reference:
        raise ApplicationError(_("Enter the bank's reference of the repayment."), code="reference_required",
                               field="bank_reference")
    if len(reference) > REFERENCE_MAX:
        raise ApplicationError(_("The bank reference is longer than %(max)d characters.") % {"max": REFERENCE_MAX},
                               code="reference_too_long", field="bank_reference")
    if len(note) > NOTE_MAX:
        raise ApplicationError(_("The note is longer than %(max)d characters.") % {"max": NOTE_MAX},
                               code="note_too_long", field="note")
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise ApplicationError(_("Enter the amount repaid."), code="amount_invalid", field="amount")
    payee, latest, owed = _owing(payee_id)
    if amount_fen > owed:
        raise ApplicationError(_("%(payee)s owes %(owed)s: record at most that.")
                               % {"payee": payee.name, "owed": fen_text(owed, symbol="¥", grouping=True)},
                               code="amount_exceeds_owed", field="amount")
    if DeficitRecovery.objects.filter(payee=payee, bank_reference=reference).exists():
        raise ApplicationError(_("A repayment with this bank reference is already recorded."),
                               code="reference_taken", field="bank_reference", status=409)
    recovery = DeficitRecovery(payee=payee, settlement=latest, amount_fen=amount_fen, bank_reference=reference,
                               note=note, recorded_by=actor, recorded_at=timezone.now())
    recovery.transfer_id = f"recover:{recovery.public_id}"
    try:
        with transaction.atomic():
            recovery.save(force_insert=True)
    except IntegrityError:  # the same reference recorded at the same moment by someone else
        raise ApplicationError(_("A repayment with this bank reference is already recorded."),
                               code="reference_taken", field="bank_reference", status=409) from None
    bank = account_open(kind=AccountKind.SETTLEMENT_BANK, owner="platform").public_id
    payable = account_open(kind=AccountKind.PAYEE_PAYABLE, owner=f"org:{payee.public_id}").public_id
    transfer_post(transfer_id=recovery.transfer_id, debit=bank, credit=payable, amount=amount_fen,
                  code="deficit_recovery", memo=f"{payee.name} {reference}"[:200], actor=actor)
    audit_record(actor=actor, action="payments.deficit_recovered", object_type="deficit_recovery",
                 object_id=recovery.public_id,
                 detail={"payee": payee.public_id, "amount_fen": amount_fen, "bank_reference": reference,
                         "owed_before_fen": owed, "settlement": latest.public_id, "note": note})
    return recovery


@transaction.atomic
def deficit_notice_send(*, actor, payee_id: str) -> DeficitNotice:
    """Tell the payee's active cashiers (in-app) what it owes and how to pay it back; at most one
    notice per payee in NOTICE_INTERVAL."""
    _require_finance(actor)
    payee, latest, owed = _owing(payee_id)
    now = timezone.now()
    if DeficitNotice.objects.filter(payee=payee, sent_at__gt=now - NOTICE_INTERVAL).exists():
        raise ApplicationError(_("%(payee)s was sent a notice in the last 24 hours.") % {"payee": payee.name},
                               code="notice_recent", status=429)
    cashiers = list(get_user_model().objects.filter(organization=payee, is_active=True,
                                                    roles__role=Role.PAYEE_CASHIER).distinct().order_by("id"))
    if not cashiers:
        raise ApplicationError(_("%(payee)s has no active cashier to notify.") % {"payee": payee.name},
                               code="no_cashier", status=409)
    body = _("Collection notice: refunds exceeded %(payee)s's collections and %(owed)s is still owed. It is "
             "taken from the next payouts; to settle it now, transfer it to the platform's settlement account "
             "and tell the finance office the bank's reference.") % {
        "payee": payee.name, "owed": fen_text(owed, symbol="¥", grouping=True)}
    message_enqueue_many(messages=[OutboxMessage(channel=MessageChannel.IN_APP, template="payments_deficit_notice",
                                                 body=body, recipient=cashier) for cashier in cashiers])
    notice = DeficitNotice.objects.create(payee=payee, settlement=latest, owed_fen=owed, recipients=len(cashiers),
                                          sent_by=actor, sent_at=now)
    audit_record(actor=actor, action="payments.deficit_notice_sent", object_type="organization",
                 object_id=payee.public_id, detail={"owed_fen": owed, "recipients": len(cashiers)})
    return notice
