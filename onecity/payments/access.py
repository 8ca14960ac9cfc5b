"""Who may see a bill or a payment attempt (anything else is NotFound: "not yours" and "does not
exist" look the same).

- residents: bills issued to them, and bills issued by mobile number to a person who has not
  registered yet whose number is theirs (keyed-hash match); their own payment attempts;
- payee cashiers (role `payee_cashier` in an organization of kind `payee`): their unit's bills
  and attempts;
- the system (actor None): everything.

The platform's finance work — reconciliation, settlements, refunds stuck at a channel — is done
by `FINANCE_ROLES` (`is_platform_finance`); auditors read it.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from onecity.core.crypto import lookup_hash
from onecity.core.errors import NotFound, PermissionDenied
from onecity.identity.access import has_role, is_citizen
from onecity.identity.enums import OrganizationKind, Role
from onecity.payments.models import Bill, PaymentAttempt

#: the platform's finance staff, and administrators (who keep every tool in a small deployment)
FINANCE_ROLES = (Role.FINANCE, Role.ADMINISTRATOR)
#: who reads the platform's finance pages
FINANCE_READER_ROLES = (*FINANCE_ROLES, Role.AUDITOR)


def is_platform_finance(actor) -> bool:
    """The system (None) or a member of the platform's finance staff."""
    return actor is None or has_role(actor, *FINANCE_ROLES)


def cashier_payee_id(actor) -> int | None:
    """The payee unit a payee cashier works for; None for everyone else."""
    if actor is None or not has_role(actor, Role.PAYEE_CASHIER) or not actor.organization_id:
        return None
    if actor.organization.kind != OrganizationKind.PAYEE:
        return None
    return actor.organization_id


def require_cashier(actor) -> int:
    payee_id = cashier_payee_id(actor)
    if payee_id is None:
        raise PermissionDenied()
    return payee_id


def _resident_filter(actor) -> Q:
    condition = Q(resident_id=actor.pk)
    if actor.phone:
        condition |= Q(resident__isnull=True, payer_phone_hash=lookup_hash(actor.phone, purpose="phone"))
    return condition


def bills_visible_to(actor) -> QuerySet[Bill]:
    bills = Bill.objects.all()
    if actor is None:
        return bills
    if is_citizen(actor):
        return bills.filter(_resident_filter(actor))
    payee_id = cashier_payee_id(actor)
    if payee_id is not None:
        return bills.filter(payee_id=payee_id)
    return bills.none()


def access_bill_by_id(actor, bill_id: str) -> Bill:
    """The bill with public id `bill_id` if `actor` may see it; NotFound otherwise."""
    bill = bills_visible_to(actor).filter(public_id=str(bill_id or "")).select_related("payee").first()
    if bill is None:
        raise NotFound()
    return bill


def attempts_visible_to(actor) -> QuerySet[PaymentAttempt]:
    attempts = PaymentAttempt.objects.all()
    if actor is None:
        return attempts
    if is_citizen(actor):
        return attempts.filter(payer_id=actor.pk)
    payee_id = cashier_payee_id(actor)
    if payee_id is not None:
        return attempts.filter(payee_id=payee_id)
    return attempts.none()


def access_attempt_by_id(actor, attempt_id: str) -> PaymentAttempt:
    attempt = attempts_visible_to(actor).filter(public_id=str(attempt_id or "")).select_related("bill").first()
    if attempt is None:
        raise NotFound()
    return attempt
