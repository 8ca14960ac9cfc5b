"""Refunds (退款) of succeeded payment attempts: requested, approved by a second person, sent
back through the original channel, reflected in the ledger (decision 0019).

    refund_request   a payee cashier (or the payee's partner-API client) asks to give back
                     `amount_fen` of a succeeded attempt, with a reason → requested
    refund_approve   another cashier of the same payee approves → approved, then the channel
                     client's refund call: succeeded (attempt and bill refunded_fen, bill state,
                     ledger reversal, audit, resident message), failed (failure_code only), or
                     processing (the channel accepted it; the result comes later)
    refund_reject    another cashier of the same payee refuses, with a note → rejected
    refund_settle    the channel's later result of a refund sent to it (its refund notification,
                     services/notifications.py, or the query below): succeeded or failed, with the
                     same effects as an immediate answer
    refunds_query_channel   the job for refunds processing longer than
                     PAYMENTS_REFUND_QUERY_AFTER_MINUTES: ask the channel, settle what it decided
    refund_resolve   the platform's finance staff settle by hand a refund the channel left
                     processing for PAYMENTS_REFUND_RESOLVE_AFTER_HOURS (24), after confirming its
                     result with the channel: refunded or not, with a note, audited

Never more than what remains: a request locks the attempt's row (an UPDATE of it, which is a
row lock on PostgreSQL and the write lock on SQLite) before it adds up the attempt's refunded
amount and the refunds still requested or approved, so two requests at the same time are
counted one after the other. The database backs this (attempt and bill refunded ≤ paid) and
the four-eyes rule (approver ≠ requester).

Ledger: a refund reverses `pay:<attempt id>` by the part the bill had absorbed
(`refund:<refund id>`: payee payable debited, channel clearing credited) and, for an attempt
that brought more than its bill could take, first reverses `pay:<attempt id>:excess` by the
part that waited in suspense (`refund:<refund id>:excess`). The channel is called outside the
database transaction (the approval is committed first); an approval whose answer was lost
stays `approved` and is sent again, with the same refund number, when the approver repeats it.
A processing refund holds its amount (nothing more can be asked back) and is in the ledger only
once it succeeded; one that fails frees it. Every move is a conditional UPDATE from the states
it may leave, so an immediate answer, a notification and the query job racing each other
settle a refund once.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core.audit import audit_record
from onecity.core.errors import ApplicationError, NotFound, PermissionDenied
from onecity.core.money import fen_text
from onecity.ledger.services import transfer_reverse
from onecity.notifications.enums import Channel as MessageChannel
from onecity.notifications.services import message_enqueue
from onecity.payments import workflow
from onecity.payments.access import cashier_payee_id, is_platform_finance, require_cashier
from onecity.payments.channels.refunds import RefundAnswer, RefundQuery, RefundRequest
from onecity.payments.enums import AttemptState, BillAction, BillState, Channel, RefundState
from onecity.payments.gateways import channel_client
from onecity.payments.models import BillEvent, IdempotencyKey, PartnerClient, PaymentAttempt, Refund
from onecity.payments.selectors import refund_remaining_fen
from onecity.payments.services.bills import bill_locked
from onecity.payments.services.common import (
    actor_or_none,
    client_key_for,
    idempotency_key_clean,
    idempotency_mismatch,
    request_hash,
)

S = RefundState
REASON_MAX = 300
NOTE_MAX = 300
#: the states a channel's result may settle: sent and answered "later" (processing), or sent and
#: the answer not recorded yet (approved: a notification may overtake the synchronous answer)
SETTLEABLE = (S.APPROVED, S.PROCESSING)
logger = logging.getLogger(__name__)


def _payee_of(*, actor, client_id: str) -> int:
    if client_id:
        partner = PartnerClient.objects.filter(client_id=client_id).first()
        if partner is None:
            raise NotFound()
        return partner.payee_id
    return require_cashier(actor)


def _state_error(refund: Refund) -> ApplicationError:
    return ApplicationError(_("This refund is %(state)s already and cannot be decided again.")
                            % {"state": refund.get_state_display()}, code="refund_state", status=409)


def _clean_amount(amount_fen) -> int:
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise ApplicationError(_("The refund amount must be more than zero."), code="amount_positive",
                               field="amount")
    return amount_fen


def _clean_reason(reason) -> str:
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise ApplicationError(_("Give the reason for the refund."), code="reason_required", field="reason")
    if len(reason) > REASON_MAX:
        raise ApplicationError(_("The reason can be at most %(max)d characters.") % {"max": REASON_MAX},
                               code="reason_too_long", field="reason")
    return reason


@transaction.atomic
def refund_request(*, actor, attempt_id: str, amount_fen: int, reason: str, idempotency_key: str,
                   client_id: str = "") -> Refund:
    """Ask to give back `amount_fen` of a succeeded attempt. A repeat with the same key and the
    same request returns the refund asked for then; the same key for another request is refused."""
    payee_id = _payee_of(actor=actor, client_id=client_id)
    key = idempotency_key_clean(idempotency_key)
    attempt = PaymentAttempt.objects.filter(public_id=str(attempt_id or ""), payee_id=payee_id).first()
    if attempt is None:
        raise NotFound()
    amount_fen, reason = _clean_amount(amount_fen), _clean_reason(reason)
    requester = actor_or_none(actor)
    client_key = client_key_for(actor=requester, client_id=client_id)
    fingerprint = request_hash({"attempt": attempt.public_id, "amount_fen": amount_fen, "reason": reason})
    if client_id:  # a partner's key names one request of that client, whatever the attempt
        record = IdempotencyKey.objects.filter(client_key=client_key, operation="refund_request", key=key).first()
        if record is not None:
            if record.request_hash != fingerprint:
                raise idempotency_mismatch()
            return Refund.objects.get(public_id=record.object_id)
    existing = Refund.objects.filter(attempt=attempt, idempotency_key=key).first()
    if existing is not None:
        if (existing.amount_fen, existing.reason, existing.requested_by_id) != (
                amount_fen, reason, getattr(requester, "pk", None)):
            raise idempotency_mismatch()
        return existing
    if attempt.state != AttemptState.SUCCEEDED:
        raise ApplicationError(_("Only a payment that succeeded can be refunded."), code="attempt_not_succeeded",
                               status=409)
    now = timezone.now()
    # lock the attempt before adding up what is held, so parallel requests count one after the other
    PaymentAttempt.objects.filter(pk=attempt.pk).update(updated_at=now)
    attempt.refresh_from_db(fields=["refunded_fen", "amount_fen"])
    remaining = refund_remaining_fen(attempt)
    if amount_fen > remaining:
        raise ApplicationError(
            _("Only ¥%(left)s of this payment can still be refunded (¥%(paid)s paid, the rest refunded or "
              "waiting for approval).") % {"left": fen_text(max(remaining, 0), grouping=True), "paid": fen_text(attempt.amount_fen, grouping=True)},
            code="refund_exceeds_remaining", field="amount", status=409)
    try:
        with transaction.atomic():
            refund = Refund.objects.create(attempt=attempt, bill_id=attempt.bill_id, payee_id=attempt.payee_id,
                                           amount_fen=amount_fen, reason=reason, requested_by=requester,
                                           idempotency_key=key, created_at=now, updated_at=now)
            if client_id:
                IdempotencyKey.objects.create(client_key=client_key, operation="refund_request", key=key,
                                              request_hash=fingerprint, object_id=refund.public_id, created_at=now)
    except IntegrityError:  # the same key a moment ago
        raise idempotency_mismatch() from None
    audit_record(actor=requester, action="payments.refund_requested", object_type="refund", object_id=refund.public_id,
                 detail={"attempt": attempt.public_id, "amount_fen": amount_fen, "client": client_id})
    return refund


def _refund_for_decider(actor, refund_id: str) -> Refund:
    payee_id = cashier_payee_id(actor)
    if payee_id is None:
        require_cashier(actor)
    refund = (Refund.objects.select_related("attempt", "attempt__payee", "bill")
              .filter(public_id=str(refund_id or ""), payee_id=payee_id).first())
    if refund is None:
        raise NotFound()
    return refund


def _four_eyes(actor, refund: Refund) -> None:
    if refund.requested_by_id == actor.pk:
        raise ApplicationError(_("You asked for this refund yourself: another cashier of your unit must decide it."),
                               code="four_eyes", status=403)


def _decide(refund: Refund, *, actor, target: str, note: str) -> bool:
    now = timezone.now()
    moved = Refund.objects.filter(pk=refund.pk, state=S.REQUESTED).update(
        state=target, approved_by=actor, decided_at=now, decision_note=note, updated_at=now)
    if moved:
        refund.state, refund.approved_by, refund.decided_at, refund.decision_note = target, actor, now, note
    return bool(moved)


def refund_approve(*, actor, refund_id: str, note: str = "") -> Refund:
    """Approve a requested refund (another cashier of the same payee), then send it through the
    attempt's channel and record the answer. Repeating it (the same approver) returns the
    decided refund, or sends an approved one whose answer was lost again."""
    refund = _refund_for_decider(actor, refund_id)
    note = " ".join(str(note or "").split())[:300]
    with transaction.atomic():
        if refund.state == S.REQUESTED:
            _four_eyes(actor, refund)
            if not _decide(refund, actor=actor, target=S.APPROVED, note=note):
                refund.refresh_from_db()
                raise _state_error(refund)
            audit_record(actor=actor, action="payments.refund_approved", object_type="refund",
                         object_id=refund.public_id, detail={"amount_fen": refund.amount_fen})
        elif refund.approved_by_id != actor.pk or refund.state == S.REJECTED:
            raise _state_error(refund)
    if refund.state == S.APPROVED:
        refund = _send(refund, actor=actor)
    return refund


def refund_reject(*, actor, refund_id: str, note: str) -> Refund:
    """Refuse a requested refund (another cashier of the same payee), with a note."""
    refund = _refund_for_decider(actor, refund_id)
    note = " ".join(str(note or "").split())
    if refund.state == S.REJECTED and refund.approved_by_id == actor.pk:
        return refund
    _note_checked(note, missing=_("Say why the refund is rejected."))
    if refund.state != S.REQUESTED:
        raise _state_error(refund)
    _four_eyes(actor, refund)
    with transaction.atomic():
        if not _decide(refund, actor=actor, target=S.REJECTED, note=note):
            refund.refresh_from_db()
            raise _state_error(refund)
        audit_record(actor=actor, action="payments.refund_rejected", object_type="refund",
                     object_id=refund.public_id, detail={"amount_fen": refund.amount_fen})
    return refund


def _note_checked(note: str, *, missing: str) -> None:
    """A person's note on a refund decision: required (`missing` says what it should say), at
    most NOTE_MAX characters."""
    if not note:
        raise ApplicationError(missing, code="note_required", field="note")
    if len(note) > NOTE_MAX:
        raise ApplicationError(_("The note can be at most %(max)d characters.") % {"max": NOTE_MAX},
                               code="note_too_long", field="note")


def _send(refund: Refund, *, actor) -> Refund:
    """The channel client's refund call (outside any transaction of ours), then its answer."""
    attempt = refund.attempt
    request = RefundRequest(out_trade_no=attempt.public_id, trade_no=attempt.channel_trade_no,
                            out_refund_no=refund.public_id, amount_fen=refund.amount_fen,
                            total_fen=attempt.amount_fen, reason=refund.reason)
    try:
        answer = channel_client(attempt.channel).refund(request)
    except ApplicationError as exc:  # no channel configured: the refund fails, nothing else changes
        answer = RefundAnswer(False, failure_code=exc.code[:24], message=str(exc.message))
    with transaction.atomic():
        if answer.processing:
            _process(refund, actor=actor, answer=answer)
        else:
            _finish(refund, actor=actor, answer=answer, source="answer")
    refund.refresh_from_db()
    return refund


def _process(refund: Refund, *, actor, answer: RefundAnswer) -> bool:
    """approved → processing: the channel took the refund and will tell the result later."""
    now = timezone.now()
    moved = Refund.objects.filter(pk=refund.pk, state=S.APPROVED).update(
        state=S.PROCESSING, channel_refund_no=answer.refund_no[:64], processing_at=now, updated_at=now)
    if moved:
        audit_record(actor=actor, action="payments.refund_processing", object_type="refund",
                     object_id=refund.public_id, detail={"amount_fen": refund.amount_fen, "channel": answer.message[:200]})
    return bool(moved)


def _finish(refund: Refund, *, actor, answer: RefundAnswer, source: str) -> bool:
    """approved or processing → succeeded (the effects, `_apply`) or failed (nothing but the
    state: what the refund held is free again). False when the refund had left those states
    (settled a moment ago by another answer): nothing changes."""
    now = timezone.now()
    if not answer.ok:
        failure_code = answer.failure_code[:24]
        moved = Refund.objects.filter(pk=refund.pk, state__in=SETTLEABLE).update(
            state=S.FAILED, failure_code=failure_code, finished_at=now, updated_at=now)
        if moved:
            audit_record(actor=actor, action="payments.refund_failed", object_type="refund", object_id=refund.public_id,
                         detail={"failure_code": failure_code, "channel": answer.message[:200], "source": source})
        return bool(moved)
    refund_no = (answer.refund_no or refund.channel_refund_no or refund.public_id)[:64]
    if not Refund.objects.filter(pk=refund.pk, state__in=SETTLEABLE).update(
            state=S.SUCCEEDED, channel_refund_no=refund_no, finished_at=now, updated_at=now):
        return False
    refund.channel_refund_no = refund_no
    _apply(refund, actor=actor, at=now)
    return True


def _amount_mismatch(refund: Refund, amount_fen: int) -> ApplicationError:
    return ApplicationError(
        _("The channel reports %(got)s fen for refund %(refund)s, but the refund is for %(want)s fen.")
        % {"got": amount_fen, "refund": refund.public_id, "want": refund.amount_fen}, code="amount_mismatch",
        status=422)


@transaction.atomic
def refund_settle(*, refund_id: str, answer: RefundAnswer, source: str) -> bool:
    """The channel's result of a refund it was sent (`source`: notify or query): succeeded or
    failed, with the effects of an immediate answer. The amount the channel names must be the
    refund's, to the fen (else amount_mismatch, nothing changes). Returns False, changing
    nothing, for a refund already settled (a repeat, or the other path was first) or not sent."""
    refund = Refund.objects.select_related("attempt", "bill").get(public_id=refund_id)
    if answer.processing:
        return False
    if answer.amount_fen is not None and answer.amount_fen != refund.amount_fen:
        raise _amount_mismatch(refund, answer.amount_fen)
    return _finish(refund, actor=None, answer=answer, source=source)


def refund_resolve_hours() -> int:
    """How many hours a refund must have been processing before the platform's finance staff may
    settle it by hand (the channel's notification and the query job come first)."""
    return settings.PAYMENTS_REFUND_RESOLVE_AFTER_HOURS


def refund_resolvable_since() -> dt.datetime:
    """A refund processing since before this moment may be settled by hand."""
    return timezone.now() - dt.timedelta(hours=refund_resolve_hours())


def refund_resolve(*, actor, refund_id: str, refunded: bool, note: str) -> Refund:
    """The platform's finance staff settle by hand a refund its channel left processing (Alipay's query, for
    one, never answers "failed"), after confirming the result with the channel itself (its
    merchant portal, its service line): refunded — the effects of a success (attempt and bill,
    ledger reversal, the payer's message) — or not refunded — failed, the held amount free again.
    Only after `refund_resolve_hours()` in processing; `note` (who confirmed what, the channel's
    reference) is required and kept in the audit row. A refund no longer processing changes
    nothing (409)."""
    if actor is None or not is_platform_finance(actor):
        raise PermissionDenied()
    note = (note or "").strip()
    _note_checked(note, missing=_("Say how the channel confirmed the result (who, when, its reference)."))
    refund = Refund.objects.select_related("attempt", "bill").filter(public_id=refund_id).first()
    if refund is None:
        raise NotFound()
    if refund.state != S.PROCESSING:
        raise _state_error(refund)
    if refund.processing_at > refund_resolvable_since():
        raise ApplicationError(
            _("This refund has been processing for less than %(hours)d hours: the channel's own answer comes "
              "first.") % {"hours": refund_resolve_hours()}, code="refund_too_recent", status=409)
    answer = RefundAnswer(refunded, failure_code="" if refunded else "confirmed_not_refunded", message=note)
    with transaction.atomic():
        if not _finish(refund, actor=actor, answer=answer, source="manual"):
            refund.refresh_from_db()
            raise _state_error(refund)
        audit_record(actor=actor, action="payments.refund_resolved", object_type="refund",
                     object_id=refund.public_id, detail={"refunded": refunded, "note": note,
                                                         "amount_fen": refund.amount_fen})
    refund.refresh_from_db()
    return refund


def refunds_query_channel(*, now: dt.datetime | None = None, older_than: dt.timedelta | None = None,
                          limit: int = 200) -> int:
    """Job: refunds processing longer than PAYMENTS_REFUND_QUERY_AFTER_MINUTES are asked about at
    their channel; a result (succeeded or failed) settles them, "still processing" leaves them
    for the next run. Returns how many were settled."""
    now = now or timezone.now()
    older_than = older_than or dt.timedelta(minutes=settings.PAYMENTS_REFUND_QUERY_AFTER_MINUTES)
    rows = list(Refund.objects.filter(state=S.PROCESSING, processing_at__lte=now - older_than)
                .select_related("attempt").order_by("processing_at", "id")[:limit])
    settled = 0
    for refund in rows:
        attempt = refund.attempt
        query = RefundQuery(out_trade_no=attempt.public_id, trade_no=attempt.channel_trade_no,
                            out_refund_no=refund.public_id, refund_no=refund.channel_refund_no)
        try:
            answer = channel_client(attempt.channel).refund_query(query)
            settled += refund_settle(refund_id=refund.public_id, answer=answer, source="query")
        except ApplicationError as exc:  # not configured, or the channel names another amount: asked again
            logger.warning("refund %s not settled by the query: %s", refund.public_id, exc.code)
    return settled


def _apply(refund: Refund, *, actor, at) -> None:
    """Money went back: attempt and bill refunded amounts, the bill's state, the ledger."""
    attempt = PaymentAttempt.objects.select_related("payee").get(pk=refund.attempt_id)
    amount = refund.amount_fen
    from_excess = min(amount, max(attempt.excess_fen - attempt.refunded_fen, 0))
    from_bill = amount - from_excess
    if not PaymentAttempt.objects.filter(pk=attempt.pk, refunded_fen__lte=F("amount_fen") - amount).update(
            refunded_fen=F("refunded_fen") + amount, updated_at=at):
        raise ApplicationError(_("This refund is more than what is left of the payment."),
                               code="refund_exceeds_remaining", status=409)
    if attempt.bill_id and from_bill:
        bill = bill_locked(attempt.bill_id)
        refunded = bill.refunded_fen + from_bill
        state = workflow.bill_state_after_refund(state=bill.state, paid_fen=bill.paid_fen, refunded_fen=refunded)
        action = BillAction.REFUND_FULL if state == BillState.REFUNDED else BillAction.REFUND_PART
        if not workflow.bill_can(action, bill.state):
            raise ApplicationError(_("The bill cannot take a refund in its state."), code="state_conflict",
                                   status=409)
        type(bill).objects.filter(pk=bill.pk).update(refunded_fen=refunded, state=state, updated_at=at)
        BillEvent.objects.create(bill=bill, action=action, from_state=bill.state, to_state=state, amount_fen=from_bill,
                                 actor=actor_or_none(actor), attempt=attempt, note=refund.reason[:300], at=at)
    memo = f"refund {attempt.channel} {refund.channel_refund_no}"[:200]
    if from_excess:
        transfer_reverse(transfer_id=f"refund:{refund.public_id}:excess", original_id=f"pay:{attempt.public_id}:excess",
                         amount=from_excess, memo=memo)
    if from_bill:
        transfer_reverse(transfer_id=f"refund:{refund.public_id}", original_id=f"pay:{attempt.public_id}",
                         amount=from_bill, memo=memo)
    audit_record(actor=actor, action="payments.refund_succeeded", object_type="refund", object_id=refund.public_id,
                 detail={"attempt": attempt.public_id, "amount_fen": amount, "channel": attempt.channel})
    recipient_id = attempt.payer_id or (refund.bill.resident_id if refund.bill_id else None)
    if recipient_id:
        body = _("Refunded ¥%(amount)s, back to %(channel)s the way it was paid: %(title)s") % {
            "amount": fen_text(amount, grouping=True), "channel": Channel(attempt.channel).label,
            "title": refund.bill.title if refund.bill_id else attempt.payee.name}
        recipient = get_user_model().objects.get(pk=recipient_id)
        transaction.on_commit(lambda: message_enqueue(channel=MessageChannel.IN_APP, template="payments_refund",
                                                      body=body, recipient=recipient))
