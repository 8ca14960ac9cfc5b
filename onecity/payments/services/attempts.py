"""Payment attempts: the seam between bills and the channel adapters.

    attempt_create  → created   (checks the amount against the bill; supersedes an open attempt)
    attempt_submit  → pending   (the order was placed with the channel)
    attempt_mark_succeeded / attempt_mark_failed / attempt_cancel / attempts_expire
    success_problem + attempts_record_successes   what attempt_mark_succeeded does, for a batch
                                                  (the notification applier, services/notifications.py)

All idempotent: replaying a call that already took effect returns the same attempt. Amounts are
integer fen; a succeeded attempt adds to the bill's paid_fen, never beyond its amount (what a
late or duplicate payment brings beyond that is kept as the attempt's `excess_fen`, to refund),
and is posted to the ledger in the same transaction (`_ledger_post`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core.audit import audit_event, audit_record, audit_record_many
from onecity.core.bulk import update_rows
from onecity.core.errors import ApplicationError, NotFound
from onecity.core.masking import mask_text
from onecity.core.money import fen_text
from onecity.identity.access import is_citizen
from onecity.ledger.dto import TransferRow
from onecity.ledger.enums import AccountKind
from onecity.ledger.services import account_open, transfers_post_bulk
from onecity.payments import workflow
from onecity.payments.access import access_bill_by_id
from onecity.payments.enums import AttemptState, Channel, CodeKind, FailureCode
from onecity.payments.models import Bill, PartnerClient, PaymentAttempt, PaymentCode
from onecity.payments.services.bills import bills_apply_payments
from onecity.payments.services.codes import code_check
from onecity.payments.services.common import (
    MAX_FEN,
    actor_or_none,
    client_key_for,
    idempotency_key_clean,
    idempotency_mismatch,
    request_hash,
)

#: how long an attempt waits for the payer before it expires
ATTEMPT_TTL = dt.timedelta(minutes=15)
A = AttemptState


def _bill_for(*, actor, bill_id: str, client_id: str, code: PaymentCode | None) -> Bill:
    if code is not None:
        if code.bill is None or code.bill.public_id != bill_id:
            raise NotFound()
        return code.bill
    if client_id:
        partner = PartnerClient.objects.filter(client_id=client_id).first()
        bill = Bill.objects.filter(public_id=bill_id, payee_id=partner.payee_id if partner else None).first()
        if bill is None:
            raise NotFound()
        return bill
    if actor is not None and not is_citizen(actor):
        raise NotFound()
    return access_bill_by_id(actor, bill_id)


def _amount_check(bill: Bill, amount_fen: int) -> None:
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise ApplicationError(_("The amount must be more than zero."), code="amount_positive", field="amount")
    if bill.state not in workflow.PAYABLE_STATES:
        raise ApplicationError(_("This bill cannot be paid any more: it is paid or was cancelled."),
                               code="bill_closed", status=409)
    outstanding = bill.amount_fen - bill.paid_fen
    if amount_fen > outstanding:
        raise ApplicationError(_("The amount is more than the ¥%(due)s still due on this bill.")
                               % {"due": f"{outstanding / 100:,.2f}"}, code="amount_too_large", field="amount")
    if amount_fen == outstanding:
        return
    if not bill.allow_partial:
        raise ApplicationError(_("This bill must be paid in full: ¥%(due)s.") % {"due": f"{outstanding / 100:,.2f}"},
                               code="partial_not_allowed", field="amount")
    if amount_fen < bill.min_partial_fen:
        raise ApplicationError(_("A part payment on this bill must be at least ¥%(min)s.")
                               % {"min": f"{bill.min_partial_fen / 100:,.2f}"}, code="amount_too_small",
                               field="amount")


def attempt_create(*, bill_id: str | None, channel: str, amount_fen: int, idempotency_key: str, actor,
                   code_token: str = "", client_id: str = "") -> PaymentAttempt:
    """Start paying `amount_fen` on a bill through `channel`, or — with a static payee code's
    `code_token` and no bill — pay the payee directly. Who may: the bill's resident (signed
    in), anyone holding a valid code for it (`code_token`), the payee's partner API client
    (`client_id`), or the system (actor None). An open attempt on the same bill is cancelled
    (`superseded`). Idempotent per (caller, `idempotency_key`): the same request returns the
    same attempt, a different one with the same key is refused (422)."""
    idempotency_key = idempotency_key_clean(idempotency_key)
    if channel not in Channel.values:
        raise ApplicationError(_("Choose a payment channel."), code="channel_invalid", field="channel")
    code = None
    if code_token:
        check = code_check(code_token)
        if not check.ok:
            raise ApplicationError(check.message, code=f"code_{check.problem}", status=409)
        code = check.code
    bill_id = (bill_id or "").strip() or None
    client_key = client_key_for(actor=actor, client_id=client_id, code_id=code.public_id if code else "")
    fingerprint = request_hash({"bill": bill_id, "channel": channel, "amount_fen": amount_fen,
                                "code": code.public_id if code else ""})
    existing = PaymentAttempt.objects.filter(client_key=client_key, idempotency_key=idempotency_key).first()
    if existing is not None:
        if existing.request_hash != fingerprint:
            raise idempotency_mismatch()
        return existing
    try:
        return _create(bill_id=bill_id, channel=channel, amount_fen=amount_fen, idempotency_key=idempotency_key,
                       actor=actor, code=code, client_id=client_id, client_key=client_key, fingerprint=fingerprint)
    except IntegrityError:
        existing = PaymentAttempt.objects.filter(client_key=client_key, idempotency_key=idempotency_key).first()
        if existing is None:
            raise ApplicationError(_("Another payment on this bill started at the same moment. Please try again."),
                                   code="attempt_conflict", status=409) from None
        if existing.request_hash != fingerprint:
            raise idempotency_mismatch() from None
        return existing


@transaction.atomic
def _create(*, bill_id, channel, amount_fen, idempotency_key, actor, code, client_id, client_key,
            fingerprint) -> PaymentAttempt:
    now = timezone.now()
    if bill_id is None:
        if code is None or code.kind != CodeKind.STATIC:
            raise NotFound()
        if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
            raise ApplicationError(_("The amount must be more than zero."), code="amount_positive", field="amount")
        if amount_fen > MAX_FEN:
            raise ApplicationError(_("The amount can be at most ¥10,000,000.00."), code="amount_too_large",
                                   field="amount")
        payee_id, bill = code.payee_id, None
    else:
        bill = _bill_for(actor=actor, bill_id=bill_id, client_id=client_id, code=code)
        _amount_check(bill, amount_fen)
        payee_id = bill.payee_id
        with transaction.atomic():  # supersede an open attempt on the bill (one open at a time: constraint)
            PaymentAttempt.objects.filter(bill=bill, state__in=workflow.OPEN_ATTEMPT_STATES).update(
                state=A.CANCELLED, failure_code=FailureCode.SUPERSEDED, finished_at=now, updated_at=now)
    with transaction.atomic():
        attempt = PaymentAttempt.objects.create(
            payee_id=payee_id, bill=bill, code=code, payer=actor_or_none(actor) if is_citizen(actor) else None,
            channel=channel, amount_fen=amount_fen, client_key=client_key, idempotency_key=idempotency_key,
            request_hash=fingerprint, created_at=now, expires_at=now + ATTEMPT_TTL, updated_at=now)
    audit_record(actor=actor, action="payments.attempt_create", object_type="payment_attempt",
                 object_id=attempt.public_id,
                 detail={"bill": bill_id or "", "channel": channel, "amount_fen": amount_fen, "client": client_id})
    return attempt


def _transition(attempt_id: str, action: str, **fields) -> tuple[PaymentAttempt, bool]:
    """Conditional UPDATE from the action's source states; (attempt, whether it changed)."""
    attempt = PaymentAttempt.objects.filter(public_id=attempt_id).first()
    if attempt is None:
        raise NotFound()
    if not workflow.attempt_can(action, attempt.state):
        return attempt, False
    now = timezone.now()
    changed = PaymentAttempt.objects.filter(pk=attempt.pk, state=attempt.state).update(
        state=workflow.attempt_target(action), updated_at=now, **fields)
    if not changed:
        raise _state_conflict()
    attempt.refresh_from_db()
    return attempt, True


def _state_conflict() -> ApplicationError:
    return ApplicationError(_("This payment changed a moment ago. Please reload and try again."),
                            code="state_conflict", status=409)


def _state_error(attempt: PaymentAttempt) -> ApplicationError:
    return ApplicationError(_("This payment is “%(state)s”: it cannot be changed this way.")
                            % {"state": A(attempt.state).label}, code="invalid_state", status=409)


@transaction.atomic
def attempt_submit(*, attempt_id: str, channel_trade_no: str = "", actor=None) -> PaymentAttempt:
    """created → pending: the order was placed with the channel (its trade number if known)."""
    fields = {"submitted_at": timezone.now()}
    if channel_trade_no:
        fields["channel_trade_no"] = channel_trade_no[:64]
    attempt, changed = _transition(attempt_id, "submit", **fields)
    if not changed and attempt.state != A.PENDING:
        raise _state_error(attempt)
    return attempt


@dataclass(frozen=True, slots=True)
class Success:
    """A channel's word that it collected `amount_fen` for `attempt` (read, with its payee, in the
    caller's transaction: SELECT … FOR UPDATE on PostgreSQL, under the write lock on SQLite)."""

    attempt: PaymentAttempt
    amount_fen: int
    channel_trade_no: str = ""
    payer_account_masked: str = ""
    at: dt.datetime | None = None


def success_problem(success: Success) -> ApplicationError | None:
    """Why a reported success cannot be recorded: another amount (422 `amount_mismatch`), an
    attempt already succeeded under another trade number, or a state that cannot succeed. None
    when it can — or when it is a replay of the recorded success, which records nothing."""
    attempt = success.attempt
    if success.amount_fen != attempt.amount_fen:
        return ApplicationError(_("The channel reported ¥%(got)s but the payment was for ¥%(want)s.")
                                % {"got": fen_text(success.amount_fen, grouping=True),
                                   "want": fen_text(attempt.amount_fen, grouping=True)},
                                code="amount_mismatch", status=422)
    if attempt.state == A.SUCCEEDED:
        if success.channel_trade_no and attempt.channel_trade_no \
                and success.channel_trade_no[:64] != attempt.channel_trade_no:
            return ApplicationError(_("This payment was already recorded with another trade number."),
                                    code="trade_no_mismatch", status=409)
        return None
    if not workflow.attempt_can("succeed", attempt.state):
        return _state_error(attempt)
    return None


def attempts_record_successes(successes: list[Success], *, actor=None) -> None:
    """Record successes that `success_problem` passed, inside the caller's transaction, for a
    batch as for one: attempts succeeded, bills paid (bills_apply_payments), what a bill could
    not absorb kept as the attempt's excess, the ledger posted in one bulk call, one audit row
    each. Replays of a recorded success are skipped. The attempts' objects are updated too."""
    attempts = [success.attempt for success in successes if success.attempt.state != A.SUCCEEDED]
    if not attempts:
        return
    now = timezone.now()
    for success in successes:
        attempt = success.attempt
        if attempt.state == A.SUCCEEDED:
            continue
        attempt.state, attempt.finished_at, attempt.failure_code, attempt.updated_at = (
            A.SUCCEEDED, success.at or now, "", now)
        if success.channel_trade_no:
            attempt.channel_trade_no = success.channel_trade_no[:64]
        if success.payer_account_masked:
            attempt.payer_account_masked = mask_text(success.payer_account_masked)[:40]
    on_bills = [attempt for attempt in attempts if attempt.bill_id]
    applied = bills_apply_payments([(attempt.bill_id, attempt.amount_fen, attempt, attempt.finished_at)
                                    for attempt in on_bills])
    for attempt, absorbed in zip(on_bills, applied, strict=True):
        attempt.excess_fen = attempt.amount_fen - absorbed
    update_rows(PaymentAttempt, ["state", "finished_at", "failure_code", "updated_at", "channel_trade_no",
                                 "payer_account_masked", "excess_fen"],
                [(a.pk, a.state, a.finished_at, a.failure_code, a.updated_at, a.channel_trade_no,
                  a.payer_account_masked, a.excess_fen) for a in attempts])
    _ledger_post(attempts)
    audit_record_many([audit_event(actor=actor, action="payments.attempt_succeeded", object_type="payment_attempt",
                                   object_id=attempt.public_id,
                                   detail={"amount_fen": attempt.amount_fen, "excess_fen": attempt.excess_fen,
                                           "channel": attempt.channel})
                       for attempt in attempts])


@transaction.atomic
def attempt_mark_succeeded(*, attempt_id: str, amount_fen: int, channel_trade_no: str = "",
                           payer_account_masked: str = "", actor=None, at: dt.datetime | None = None
                           ) -> PaymentAttempt:
    """The channel says the money arrived. `amount_fen` must equal the attempt's amount (else
    422 `amount_mismatch` and nothing changes). Replays of a recorded success return it."""
    attempt = PaymentAttempt.objects.select_for_update(of=("self",)).select_related("payee").filter(
        public_id=attempt_id).first()
    if attempt is None:
        raise NotFound()
    success = Success(attempt, amount_fen, channel_trade_no, payer_account_masked, at)
    problem = success_problem(success)
    if problem is not None:
        raise problem
    attempts_record_successes([success], actor=actor)
    return attempt


def _ledger_post(attempts: list[PaymentAttempt]) -> None:
    """The money succeeded attempts brought, in the ledger (same transaction, one bulk call,
    idempotent by transfer id): the channel owes it (channel clearing, debit); what the bill
    absorbed is owed to the payee (payee payable, credit); what it could not absorb waits in
    suspense for its refund. Transfer ids: "pay:<attempt public id>" and "pay:<attempt public id>:excess"."""
    def rows() -> list[TransferRow]:
        out = []
        for attempt in attempts:
            memo = f"{attempt.channel} {attempt.channel_trade_no}"[:200]
            clearing, payable, suspense = _accounts_of(attempt)
            applied = attempt.amount_fen - attempt.excess_fen
            if applied:
                out.append(_row(f"pay:{attempt.public_id}", clearing, payable, applied, "payment", memo))
            if attempt.excess_fen:
                out.append(_row(f"pay:{attempt.public_id}:excess", clearing, suspense, attempt.excess_fen,
                                "payment_excess", memo))
        return out

    try:
        transfers_post_bulk(rows())
    except ApplicationError as exc:
        if exc.code != "account_not_found":
            raise
        # a remembered account was opened in a transaction that was rolled back: forget the
        # accounts of this batch and open them again
        for key in {key for attempt in attempts for key in _accounts_of(attempt)}:
            _ledger_accounts.pop(key, None)
        transfers_post_bulk(rows())


def _row(transfer_id: str, debit: tuple[str, str], credit: tuple[str, str], amount: int, code: str,
         memo: str) -> TransferRow:
    return TransferRow(transfer_id, _account_id(*debit), _account_id(*credit), amount, code, memo)


def _accounts_of(attempt: PaymentAttempt) -> tuple[tuple[str, str], ...]:
    """(kind, owner) of the channel's clearing account, the payee's payable, the suspense account."""
    return ((AccountKind.CHANNEL_CLEARING, f"channel:{attempt.channel}"),
            (AccountKind.PAYEE_PAYABLE, f"org:{attempt.payee.public_id}"), (AccountKind.SUSPENSE, "platform"))


#: ledger account public ids by (kind, owner), per process: an account, once open, keeps its id
_ledger_accounts: dict[tuple[str, str], str] = {}


def _account_id(kind: str, owner: str) -> str:
    key = (kind, owner)
    if key not in _ledger_accounts:
        _ledger_accounts[key] = account_open(kind=kind, owner=owner).public_id
    return _ledger_accounts[key]


@transaction.atomic
def attempt_mark_failed(*, attempt_id: str, failure_code: str, detail: str = "", actor=None) -> PaymentAttempt:
    """The channel says the payment failed. Replays of a recorded failure return it."""
    if failure_code not in FailureCode.values:
        raise ApplicationError(_("Unknown failure code."), code="failure_code_invalid", field="failure_code")
    attempt = PaymentAttempt.objects.filter(public_id=attempt_id).first()
    if attempt is None:
        raise NotFound()
    if attempt.state == A.FAILED:
        return attempt
    attempt, changed = _transition(attempt_id, "fail", failure_code=failure_code, failure_detail=mask_text(detail)[:300],
                                   finished_at=timezone.now())
    if not changed:
        raise _state_error(attempt)
    audit_record(actor=actor, action="payments.attempt_failed", object_type="payment_attempt",
                 object_id=attempt.public_id, detail={"failure_code": failure_code})
    return attempt


@transaction.atomic
def attempt_cancel(*, attempt_id: str, actor) -> PaymentAttempt:
    """The payer (or the system) gives up on an open attempt."""
    attempt = PaymentAttempt.objects.filter(public_id=attempt_id).first()
    if attempt is None or (actor is not None and attempt.payer_id != getattr(actor, "pk", None)):
        raise NotFound()
    if attempt.state == A.CANCELLED:
        return attempt
    attempt, changed = _transition(attempt_id, "cancel", failure_code=FailureCode.PAYER_CANCELLED,
                                   finished_at=timezone.now())
    if not changed:
        raise _state_error(attempt)
    return attempt


@transaction.atomic
def attempts_expire(*, now: dt.datetime | None = None) -> int:
    """Periodic job: open attempts past `expires_at` expire. Idempotent."""
    now = now or timezone.now()
    return PaymentAttempt.objects.filter(state__in=workflow.OPEN_ATTEMPT_STATES, expires_at__lte=now).update(
        state=A.EXPIRED, failure_code=FailureCode.TIMEOUT, finished_at=now, updated_at=now)
