"""Bills: validate, issue (one at a time, by a payee cashier or a partner API client), cancel,
mark overdue, and apply received money. States and transitions: workflow.py."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core.audit import audit_record
from onecity.core.bulk import update_rows
from onecity.core.crypto import lookup_hash
from onecity.core.errors import ApplicationError, NotFound, PermissionDenied
from onecity.core.masking import mask_id_number, mask_name, mask_phone
from onecity.core.validators import normalise_phone
from onecity.identity.selectors.accounts import citizen_find_by_id_number, citizen_find_by_phone
from onecity.payments import workflow
from onecity.payments.access import access_bill_by_id, cashier_payee_id
from onecity.payments.enums import AttemptState, BillAction, BillKind, BillState, FailureCode
from onecity.payments.models import (
    Bill,
    BillEvent,
    IdempotencyKey,
    PartnerClient,
    PaymentAttempt,
    PaymentCode,
)
from onecity.payments.services.common import (
    MAX_FEN,
    actor_or_none,
    client_key_for,
    idempotency_key_clean,
    idempotency_mismatch,
    request_hash,
)

TITLE_MAX = 120
DESCRIPTION_MAX = 500
EXTERNAL_REF_MAX = 64
NAME_MAX = 40
REASON_MAX = 300


@dataclass(frozen=True)
class BillInput:
    """What a payee says about a new bill. The payer: `resident_phone` or `payer_id_number`
    finds a registered resident; without one, `payer_name` is required and the bill is for a
    person named on it (encrypted; shown masked)."""

    kind: str
    title: str
    amount_fen: int
    due_date: dt.date
    resident_phone: str = ""
    payer_id_number: str = ""
    payer_name: str = ""
    allow_partial: bool = False
    min_partial_fen: int = 0
    external_ref: str = ""
    description: str = ""


@dataclass(frozen=True)
class CleanBill:
    """A validated BillInput with its payer resolved."""

    data: BillInput
    resident_id: int | None
    phone: str
    id_number: str

    def fingerprint(self) -> dict:
        return {**asdict(self.data), "due_date": self.data.due_date.isoformat()}


def _error(message, *, code: str, field: str) -> ApplicationError:
    return ApplicationError(message, code=code, field=field)


def bill_clean(data: BillInput, *, today: dt.date | None = None) -> CleanBill:
    """Validate a bill and find its payer; the first problem is an ApplicationError naming the field."""
    today = today or timezone.localdate()
    if data.kind not in BillKind.values:
        raise _error(_("Choose the kind of bill."), code="kind_invalid", field="kind")
    title = (data.title or "").strip()
    if not title:
        raise _error(_("Give the bill a title, e.g. “2026年秋季学期学费”."), code="title_required", field="title")
    if len(title) > TITLE_MAX:
        raise _error(_("The title can have at most %(max)d characters.") % {"max": TITLE_MAX},
                     code="title_length", field="title")
    description = (data.description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise _error(_("The details can have at most %(max)d characters.") % {"max": DESCRIPTION_MAX},
                     code="description_length", field="description")
    if not isinstance(data.amount_fen, int) or isinstance(data.amount_fen, bool) or data.amount_fen <= 0:
        raise _error(_("The amount must be more than zero."), code="amount_positive", field="amount")
    if data.amount_fen > MAX_FEN:
        raise _error(_("The amount can be at most ¥10,000,000.00."), code="amount_too_large", field="amount")
    if not isinstance(data.due_date, dt.date):
        raise _error(_("Enter the due date as YYYY-MM-DD."), code="due_date_format", field="due_date")
    if data.due_date < today:
        raise _error(_("The due date cannot be in the past."), code="due_date_past", field="due_date")
    min_partial = data.min_partial_fen or 0
    if data.allow_partial:
        if min_partial < 0 or min_partial > data.amount_fen:
            raise _error(_("The smallest part payment must be between ¥0.00 and the bill's amount."),
                         code="min_partial_range", field="min_partial")
    elif min_partial:
        raise _error(_("A smallest part payment only applies when part payments are allowed."),
                     code="min_partial_without_partial", field="min_partial")
    external_ref = (data.external_ref or "").strip()
    if len(external_ref) > EXTERNAL_REF_MAX:
        raise _error(_("The reference can have at most %(max)d characters.") % {"max": EXTERNAL_REF_MAX},
                     code="external_ref_length", field="external_ref")
    payer_name = (data.payer_name or "").strip()
    if len(payer_name) > NAME_MAX:
        raise _error(_("The payer's name can have at most %(max)d characters.") % {"max": NAME_MAX},
                     code="payer_name_length", field="payer_name")

    phone = normalise_phone(data.resident_phone or "") if data.resident_phone else ""
    if data.resident_phone and len(phone) != 11:
        raise _error(_("Enter the payer's 11-digit mobile number."), code="phone_format", field="resident_phone")
    id_number = (data.payer_id_number or "").strip().upper()
    if id_number and len(id_number) != 18:
        raise _error(_("A resident ID number has 18 characters: 17 digits and a final digit or X."),
                     code="id_format", field="payer_id_number")
    if not phone and not id_number:
        raise _error(_("Enter the payer's mobile number or resident ID number."), code="payer_required",
                     field="resident_phone")
    found = (citizen_find_by_phone(phone) if phone else None) or (
        citizen_find_by_id_number(id_number) if id_number else None)
    if found is None and not payer_name:
        raise _error(_("No registered resident has this number. Enter the payer's name to issue the bill to them "
                       "anyway: they will see it once they register with this mobile number."),
                     code="payer_not_found", field="payer_name")
    clean = BillInput(kind=data.kind, title=title, amount_fen=data.amount_fen, due_date=data.due_date,
                      resident_phone=phone, payer_id_number=id_number, payer_name=payer_name,
                      allow_partial=bool(data.allow_partial), min_partial_fen=min_partial if data.allow_partial else 0,
                      external_ref=external_ref, description=description)
    return CleanBill(data=clean, resident_id=found.user_id if found else None, phone=phone, id_number=id_number)


def _payee_for(*, actor, client_id: str, payee_id: int | None) -> int:
    if actor is None and not client_id and payee_id is not None:  # the system (demo seed, jobs)
        return payee_id
    if client_id:
        partner = PartnerClient.objects.filter(client_id=client_id).first()
        if partner is None:
            raise PermissionDenied(_("This API client is not linked to a payee unit. Ask the platform operator to "
                                     "link it before issuing bills."), code="client_not_payee")
        return partner.payee_id
    payee_id = cashier_payee_id(actor)
    if payee_id is None:
        raise PermissionDenied()
    return payee_id


def _same_bill(bill: Bill, clean: CleanBill) -> bool:
    d = clean.data
    return (bill.kind == d.kind and bill.title == d.title and bill.amount_fen == d.amount_fen
            and bill.due_date == d.due_date and bill.allow_partial == d.allow_partial
            and bill.min_partial_fen == d.min_partial_fen and bill.resident_id == clean.resident_id
            and bill.payer_phone_hash == (lookup_hash(clean.phone, purpose="phone") if clean.phone else "")
            and bill.payer_id_number_hash == (lookup_hash(clean.id_number, purpose="id_number")
                                              if clean.id_number else ""))


def external_ref_conflict(ref: str) -> ApplicationError:
    return ApplicationError(
        _("The reference “%(ref)s” was already used for a different bill. Use a new reference or cancel the "
          "old bill.") % {"ref": ref}, code="external_ref_conflict", field="external_ref", status=409)


def bill_create_row(*, payee_id: int, clean: CleanBill, actor, client_id: str = "", batch=None,
                    now: dt.datetime | None = None) -> Bill:
    """Insert one validated bill with its `issue` event (inside the caller's transaction)."""
    now = now or timezone.now()
    d = clean.data
    masked = mask_phone(clean.phone) if clean.phone else mask_id_number(clean.id_number)
    bill = Bill.objects.create(
        payee_id=payee_id, resident_id=clean.resident_id,
        payer_name=d.payer_name, payer_name_masked=mask_name(d.payer_name),
        payer_id_number=clean.id_number,
        payer_id_number_hash=lookup_hash(clean.id_number, purpose="id_number") if clean.id_number else "",
        payer_phone=clean.phone, payer_phone_hash=lookup_hash(clean.phone, purpose="phone") if clean.phone else "",
        payer_masked=masked, kind=d.kind, title=d.title, description=d.description, amount_fen=d.amount_fen,
        due_date=d.due_date, allow_partial=d.allow_partial, min_partial_fen=d.min_partial_fen,
        external_ref=d.external_ref, batch=batch, issued_by=actor_or_none(actor), issued_by_client=client_id,
        issued_at=now, updated_at=now,
    )
    BillEvent.objects.create(bill=bill, action=BillAction.ISSUE, to_state=BillState.ISSUED, amount_fen=d.amount_fen,
                             actor=actor_or_none(actor), at=now)
    return bill


@transaction.atomic
def bill_issue(*, actor, data: BillInput, client_id: str = "", idempotency_key: str = "",
               payee_id: int | None = None) -> Bill:
    """Issue one bill for the actor's payee unit (a payee cashier), a partner API client's, or —
    for the system (actor None, no client) — the payee `payee_id`.

    Idempotent twice over: a non-empty `external_ref` already used by the payee for the same
    bill returns that bill (a different bill → 409); an `idempotency_key` (partner API) already
    used with the same request returns the same bill (a different request → 422).
    """
    payee_id = _payee_for(actor=actor, client_id=client_id, payee_id=payee_id)
    clean = bill_clean(data)
    client_key = client_key_for(actor=actor, client_id=client_id)
    fingerprint = request_hash({"payee": payee_id, **clean.fingerprint()})
    if idempotency_key:
        idempotency_key = idempotency_key_clean(idempotency_key)
        record = IdempotencyKey.objects.filter(client_key=client_key, operation="bill_issue",
                                               key=idempotency_key).first()
        if record is not None:
            if record.request_hash != fingerprint:
                raise idempotency_mismatch()
            return Bill.objects.get(public_id=record.object_id)
    ref = clean.data.external_ref
    if ref:
        existing = Bill.objects.filter(payee_id=payee_id, external_ref=ref).first()
        if existing is not None:
            if not _same_bill(existing, clean):
                raise external_ref_conflict(ref)
            return existing
    now = timezone.now()
    try:
        with transaction.atomic():
            bill = bill_create_row(payee_id=payee_id, clean=clean, actor=actor, client_id=client_id, now=now)
            if idempotency_key:
                IdempotencyKey.objects.create(client_key=client_key, operation="bill_issue", key=idempotency_key,
                                              request_hash=fingerprint, object_id=bill.public_id, created_at=now)
    except IntegrityError:
        # a concurrent request with the same reference or key won: answer as the replay would
        if idempotency_key:
            record = IdempotencyKey.objects.filter(client_key=client_key, operation="bill_issue",
                                                   key=idempotency_key).first()
            if record is not None:
                if record.request_hash != fingerprint:
                    raise idempotency_mismatch() from None
                return Bill.objects.get(public_id=record.object_id)
        existing = Bill.objects.filter(payee_id=payee_id, external_ref=ref).first() if ref else None
        if existing is not None and _same_bill(existing, clean):
            return existing
        raise external_ref_conflict(ref) from None
    audit_record(actor=actor, action="payments.bill_issue", object_type="bill", object_id=bill.public_id,
                 detail={"payee": payee_id, "amount_fen": bill.amount_fen, "kind": bill.kind,
                         "client": client_id})
    return bill


def bill_locked(pk: int) -> Bill:
    """The one place the payments app locks a bill row (SELECT … FOR UPDATE)."""
    return Bill.objects.select_for_update().get(pk=pk)


@transaction.atomic
def bill_cancel(*, actor, bill_id: str, reason: str) -> Bill:
    """A payee cashier withdraws an unpaid bill: open payment attempts are cancelled and its
    codes revoked."""
    payee_id = cashier_payee_id(actor)
    if payee_id is None:
        raise NotFound()
    bill = access_bill_by_id(actor, bill_id)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Say why the bill is cancelled."), code="reason_required", field="reason")
    if len(reason) > REASON_MAX:
        raise ApplicationError(_("The reason can have at most %(max)d characters.") % {"max": REASON_MAX},
                               code="reason_length", field="reason")
    bill = bill_locked(bill.pk)
    if not workflow.bill_can(BillAction.CANCEL, bill.state) or bill.paid_fen:
        raise ApplicationError(_("Only a bill with nothing paid yet can be cancelled."), code="invalid_state",
                               status=409)
    now = timezone.now()
    from_state = bill.state
    Bill.objects.filter(pk=bill.pk).update(state=BillState.CANCELLED, cancelled_at=now, cancel_reason=reason,
                                           updated_at=now)
    PaymentAttempt.objects.filter(bill=bill, state__in=workflow.OPEN_ATTEMPT_STATES).update(
        state=AttemptState.CANCELLED, failure_code=FailureCode.BILL_CLOSED, finished_at=now, updated_at=now)
    PaymentCode.objects.filter(bill=bill, revoked_at__isnull=True).update(revoked_at=now)
    BillEvent.objects.create(bill=bill, action=BillAction.CANCEL, from_state=from_state, to_state=BillState.CANCELLED,
                             actor=actor_or_none(actor), note=reason, at=now)
    audit_record(actor=actor, action="payments.bill_cancel", object_type="bill", object_id=bill.public_id,
                 reason=reason)
    bill.refresh_from_db()
    return bill


@transaction.atomic
def bills_mark_overdue(*, today: dt.date | None = None) -> int:
    """Daily job: bills past their due date and not fully paid become overdue. Idempotent."""
    today = today or timezone.localdate()
    now = timezone.now()
    sources = workflow.BILL_TRANSITIONS[BillAction.OVERDUE][0]
    ids = list(Bill.objects.filter(state__in=sources, due_date__lt=today).values_list("pk", "state"))
    changed = 0
    for pk, state in ids:
        if Bill.objects.filter(pk=pk, state=state).update(state=BillState.OVERDUE, updated_at=now):
            BillEvent.objects.create(bill_id=pk, action=BillAction.OVERDUE, from_state=state,
                                     to_state=BillState.OVERDUE, at=now)
            changed += 1
    return changed


def bills_apply_payments(payments: list[tuple[int, int, PaymentAttempt, dt.datetime]]) -> list[int]:
    """Add received money to bills, in order (inside the caller's transaction; the bills are
    locked here, in primary-key order): `payments` holds (bill pk, amount fen, attempt, when).
    Returns the part each bill absorbed; the rest (bill closed or already paid meanwhile) is
    excess. One SELECT, one UPDATE round trip and one INSERT of bill events for the whole batch."""
    bills = {bill.pk: bill for bill in Bill.objects.select_for_update().filter(
        pk__in={pk for pk, *_rest in payments}).order_by("pk")}
    applied_list, events, changed = [], [], {}
    for bill_pk, amount_fen, attempt, at in payments:
        bill = bills[bill_pk]
        applied = min(amount_fen, bill.amount_fen - bill.paid_fen) if bill.state in workflow.PAYABLE_STATES else 0
        applied_list.append(max(applied, 0))
        if applied <= 0:
            continue
        paid = bill.paid_fen + applied
        state = workflow.bill_state_after_payment(state=bill.state, amount_fen=bill.amount_fen, paid_fen=paid)
        events.append(BillEvent(bill=bill, action=BillAction.PAY_FULL if state == BillState.PAID else BillAction.PAY_PART,
                                from_state=bill.state, to_state=state, amount_fen=applied, attempt=attempt, at=at))
        bill.paid_fen, bill.state, bill.updated_at = paid, state, at
        bill.paid_at = at if state == BillState.PAID else None
        changed[bill.pk] = bill
    update_rows(Bill, ["paid_fen", "state", "updated_at", "paid_at"],
                [(bill.pk, bill.paid_fen, bill.state, bill.updated_at, bill.paid_at) for bill in changed.values()])
    BillEvent.objects.bulk_create(events)
    return applied_list
