"""Channel notifications: store raw, verify, process once (decision 0017).

    notification_receive   the raw request (kept headers, body, sha256) in its own transaction,
                           before anything else — so nothing a channel said is ever lost
    notification_process   verify with the channel's verifier, then apply the trade it reports
                           to the payment attempt named by out_trade_no; re-runnable: a row
                           already decided is answered from what was decided
    notifications_process_pending   the job for rows stored but never processed (a crash)
    attempts_query_channel          the job for attempts whose notification never came: ask
                                    the channel, store its signed answer and process it alike

Processing a verified notification (results in enums.NotificationResult):

    unknown order (no attempt of this channel)    error            reply error 404, nothing else
    same dedupe key already processed             duplicate        reply success, nothing else
    older than the attempt's channel status       out_of_order     reply success, nothing else
    (channels.should_apply: a "paid" after "refunded" or "closed")
    paid, amount ≠ attempt's amount (fen)         amount_mismatch  reply error 422, nothing else
    paid                                          processed        attempt succeeded, bill paid,
                                                                   ledger posted (attempts.py)
    failed / closed                               processed        an open attempt fails
                                                                   (declined / timeout)
    pending / refunded                            processed        recorded on the attempt's
                                                                   channel status only (refunds
                                                                   are decided by the refund
                                                                   workflow, not by a notice)

A refund notification naming one of our refunds (WeChat Pay's REFUND.SUCCESS / REFUND.ABNORMAL /
REFUND.CLOSED: out_refund_no is the refund's public id) is that refund's result (kind refund,
dedupe key `<channel>:refund:<refund number>:<status>`):

    same dedupe key already processed, or the      duplicate        reply success, nothing else
    refund already ended the way it says
    refunded amount ≠ the refund's amount (fen)    amount_mismatch  reply error 422, nothing else
    the refund not sent, or ended the other way    error            reply error 409, nothing else
    succeeded / abnormal / closed                  processed        services.refunds.refund_settle:
                                                                   succeeded (the refund's effects)
                                                                   or failed (its amount freed)

A refund notification naming a refund that is not ours (made at the channel's merchant portal)
is recorded on the attempt's channel status, as before.

A bad signature, an unknown key, a stale timestamp or a malformed body: the row stays as
received, marked unverified (`rejected`), and the reply is an error 400 — nothing else changes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core.errors import ApplicationError
from onecity.payments import workflow
from onecity.payments.channels.base import (
    ChannelError,
    PaymentStatus,
    RefundStatus,
    check_amount,
    dedupe_key,
    should_apply,
)
from onecity.payments.channels.refunds import REFUND_ABNORMAL, REFUND_CLOSED, RefundAnswer
from onecity.payments.enums import (
    AttemptState,
    FailureCode,
    NotificationKind,
    NotificationResult,
    NotificationSource,
    RefundState,
)
from onecity.payments.gateways import Reply, channel_client, reply_error, reply_ok
from onecity.payments.models import ChannelNotification, PaymentAttempt, Refund
from onecity.payments.services.attempts import attempt_mark_failed, attempt_mark_succeeded
from onecity.payments.services.refunds import SETTLEABLE, refund_settle

R = NotificationResult
#: headers worth keeping: the ones channels sign with, and what says who sent it
_KEPT_HEADERS = ("content-type", "user-agent")
_KEPT_PREFIXES = ("wechatpay-", "onecity-wallet-")


@dataclass(frozen=True)
class NotificationOutcome:
    notification: ChannelNotification
    reply: Reply


def _kept(headers: Mapping[str, str]) -> dict[str, str]:
    kept = {}
    for name, value in headers.items():
        lower = str(name).lower()
        if lower in _KEPT_HEADERS or lower.startswith(_KEPT_PREFIXES):
            kept[lower] = str(value)[:2000]
    return kept


def notification_receive(*, channel: str, headers: Mapping[str, str], body: bytes, remote_addr: str | None = None,
                         source: str = NotificationSource.NOTIFY) -> ChannelNotification:
    """Store what the channel sent, as it came, in its own transaction: one INSERT, committed on
    its own (autocommit) when called outside a transaction, as the notify endpoint does — no
    BEGIN/COMMIT pair around it, the statement is the transaction."""
    return ChannelNotification.objects.create(
        channel=channel, source=source, headers=_kept(headers), body=body.decode("utf-8", errors="replace"),
        body_sha256=hashlib.sha256(body).hexdigest(), remote_addr=remote_addr or None, received_at=timezone.now())


def _reply_for(row: ChannelNotification) -> Reply:
    """The answer a decided row gets (again, when the channel re-sends it)."""
    if row.result in (R.PROCESSED, R.DUPLICATE, R.OUT_OF_ORDER):
        return reply_ok(row.channel)
    code = row.result_detail.split(":", 1)[0] or row.result
    status = {R.REJECTED: 400, R.AMOUNT_MISMATCH: 422}.get(row.result, 404 if code == "unknown_order" else 409)
    return reply_error(row.channel, status=status, code=code, message=row.result_detail)


def _decide(row: ChannelNotification, result: str, detail: str = "", **fields) -> NotificationOutcome:
    row.result, row.result_detail, row.processed_at = result, detail[:300], timezone.now()
    for name, value in fields.items():
        setattr(row, name, value)
    ChannelNotification.objects.filter(pk=row.pk).update(
        result=row.result, result_detail=row.result_detail, processed_at=row.processed_at, **fields)
    return NotificationOutcome(row, _reply_for(row))


class _Conflict(Exception):
    """The attempt's channel status moved while this notification was applied: try again."""


def _apply(row: ChannelNotification, note, verified: dict) -> NotificationOutcome:
    if note.refund is not None:
        refund = (Refund.objects.filter(public_id=note.refund.out_refund_no, attempt__public_id=note.out_trade_no,
                                        attempt__channel=row.channel).only("id", "public_id", "attempt_id", "state",
                                                                          "amount_fen").first())
        if refund is not None:
            return _apply_refund(row, note.refund, verified, refund)
    # the attempt (the columns decided on here) and whether this event was processed already, in one query
    attempt = (PaymentAttempt.objects.filter(public_id=note.out_trade_no, channel=row.channel)
               .only("id", "public_id", "channel", "state", "amount_fen", "channel_status")
               .annotate(event_processed=Exists(ChannelNotification.objects.filter(dedupe_key=row.dedupe_key,
                                                                                   result=R.PROCESSED)))
               .first())
    if attempt is None:
        return _decide(row, R.ERROR, f"unknown_order: {note.out_trade_no}", **verified)
    if attempt.event_processed:
        return _decide(row, R.DUPLICATE, attempt=attempt, **verified)
    current = PaymentStatus(attempt.channel_status) if attempt.channel_status else None
    if not should_apply(current, note.status):
        return _decide(row, R.OUT_OF_ORDER, f"{note.status} after {current}", attempt=attempt, **verified)
    if note.status == PaymentStatus.PAID:
        try:
            check_amount(note, expected_fen=attempt.amount_fen)
        except ChannelError as exc:
            return _decide(row, R.AMOUNT_MISMATCH, f"{exc.code}: {exc.message}", attempt=attempt, **verified)
    try:
        with transaction.atomic():
            # the notification's own rows first: the ledger posting (which locks the channel's
            # clearing account, one row per channel) comes last, so that lock is held for the
            # shortest time before COMMIT; the transaction is one whichever the order
            moved = PaymentAttempt.objects.filter(pk=attempt.pk, channel_status=attempt.channel_status).update(
                channel_status=note.status)
            if not moved:
                raise _Conflict
            now = timezone.now()
            ChannelNotification.objects.filter(pk=row.pk).update(result=R.PROCESSED, processed_at=now, attempt=attempt,
                                                                 **verified)
            if note.status == PaymentStatus.PAID:
                attempt_mark_succeeded(attempt_id=attempt.public_id, amount_fen=note.amount_fen,
                                       channel_trade_no=note.trade_no, payer_account_masked=note.payer_masked,
                                       at=note.paid_at or row.received_at)
            elif note.status in (PaymentStatus.FAILED, PaymentStatus.CLOSED) \
                    and attempt.state in workflow.OPEN_ATTEMPT_STATES:
                code = FailureCode.DECLINED if note.status == PaymentStatus.FAILED else FailureCode.TIMEOUT
                attempt_mark_failed(attempt_id=attempt.public_id, failure_code=code,
                                    detail=_("The channel reported the trade %(status)s.") % {"status": note.status})
    except ApplicationError as exc:
        if exc.code == "state_conflict":  # a parallel delivery changed the attempt first: look again
            raise _Conflict from None
        return _decide(row, R.ERROR, f"{exc.code}: {exc.message}", attempt=attempt, **verified)
    except IntegrityError:  # another delivery of the same event was processed a moment ago
        return _decide(row, R.DUPLICATE, attempt=attempt, **verified)
    row.result, row.processed_at, row.attempt = R.PROCESSED, now, attempt
    return NotificationOutcome(row, reply_ok(row.channel))


#: a refund notification's status → how the refund ends, and the answer it amounts to
_REFUND_ENDS = {RefundStatus.SUCCEEDED: RefundState.SUCCEEDED, RefundStatus.ABNORMAL: RefundState.FAILED,
                RefundStatus.CLOSED: RefundState.FAILED}
_REFUND_FAILURES = {RefundStatus.ABNORMAL: REFUND_ABNORMAL, RefundStatus.CLOSED: REFUND_CLOSED}


def _apply_refund(row: ChannelNotification, notice, verified: dict, refund: Refund) -> NotificationOutcome:
    """A refund notification of one of our refunds: settle the refund (services.refunds)."""
    verified = {**verified, "kind": NotificationKind.REFUND, "status": str(notice.status),
                "amount_fen": notice.amount_fen, "attempt_id": refund.attempt_id, "refund_id": refund.pk}
    for name, value in verified.items():
        setattr(row, name, value)
    ends = _REFUND_ENDS.get(notice.status)
    if ends is None:  # "still processing": nothing to settle
        return _decide(row, R.OUT_OF_ORDER, f"{notice.status} while {refund.state}", **verified)
    if ChannelNotification.objects.filter(dedupe_key=row.dedupe_key, result=R.PROCESSED).exists() \
            or refund.state == ends:
        return _decide(row, R.DUPLICATE, **verified)
    if notice.amount_fen != refund.amount_fen:
        return _decide(row, R.AMOUNT_MISMATCH, f"amount_mismatch: {notice.amount_fen} fen, the refund is "
                       f"{refund.amount_fen} fen", **verified)
    if refund.state not in SETTLEABLE:
        return _decide(row, R.ERROR, f"refund_state: {notice.status} for a refund {refund.state}", **verified)
    answer = RefundAnswer(ends == RefundState.SUCCEEDED, refund_no=notice.refund_no,
                          failure_code=_REFUND_FAILURES.get(notice.status, ""), message=str(notice.status),
                          amount_fen=notice.amount_fen)
    try:
        with transaction.atomic():
            now = timezone.now()
            ChannelNotification.objects.filter(pk=row.pk).update(result=R.PROCESSED, processed_at=now, **verified)
            if not refund_settle(refund_id=refund.public_id, answer=answer, source=row.source):
                raise _Conflict  # settled a moment ago by another path: look again
            if notice.status == RefundStatus.SUCCEEDED:
                PaymentAttempt.objects.filter(pk=refund.attempt_id).exclude(
                    channel_status=PaymentStatus.REFUNDED).update(channel_status=PaymentStatus.REFUNDED)
    except ApplicationError as exc:  # the refund's effects refused (the database's limits): nothing applied
        return _decide(row, R.ERROR, f"{exc.code}: {exc.message}", **verified)
    except IntegrityError:  # another delivery of the same event was processed a moment ago
        return _decide(row, R.DUPLICATE, **verified)
    row.result, row.processed_at = R.PROCESSED, now
    return NotificationOutcome(row, reply_ok(row.channel))


def notification_process(*, notification_id: str) -> NotificationOutcome:
    """Verify a stored notification and apply it (see the module docstring). Idempotent: a
    row already decided gets the same answer and changes nothing. The freshness window is
    measured against when the row was received, so a re-run after a crash still verifies."""
    return _process(ChannelNotification.objects.get(public_id=notification_id))


def _process(row: ChannelNotification) -> NotificationOutcome:
    if row.result != R.RECEIVED:
        return NotificationOutcome(row, _reply_for(row))
    try:
        client = channel_client(row.channel)
    except ApplicationError as exc:  # not configured: keep the row for later, the channel retries
        return NotificationOutcome(row, reply_error(row.channel, status=exc.status, code=exc.code,
                                                    message=str(exc.message)))
    try:
        note = client.verifier().verify(row.headers, row.body.encode("utf-8"), now=row.received_at)
    except ChannelError as exc:
        return _decide(row, R.REJECTED, f"{exc.code}: {exc.message}", verified=False)
    # what was verified is written with the outcome (one write, in the processing transaction)
    verified = {"verified": True, "dedupe_key": dedupe_key(note), "status": str(note.status),
                "out_trade_no": note.out_trade_no[:64], "amount_fen": note.amount_fen,
                "channel_trade_no": note.trade_no[:64]}
    for name, value in verified.items():
        setattr(row, name, value)
    for _try in range(3):
        try:
            return _apply(row, note, verified)
        except _Conflict:
            continue
    return _decide(row, R.ERROR, "state_conflict: " + _("The payment changed while this notification was applied."),
                   **verified)


def notification_handle(*, channel: str, headers: Mapping[str, str], body: bytes,
                        remote_addr: str | None = None) -> NotificationOutcome:
    """What the notify endpoint does: store, then process."""
    return _process(notification_receive(channel=channel, headers=headers, body=body, remote_addr=remote_addr))


def notifications_process_pending(*, older_than: dt.timedelta = dt.timedelta(minutes=1),
                                  now: dt.datetime | None = None, limit: int = 500) -> int:
    """Job: process rows stored but left unprocessed (the process stopped in between)."""
    cutoff = (now or timezone.now()) - older_than
    ids = list(ChannelNotification.objects.filter(result=R.RECEIVED, received_at__lte=cutoff)
               .order_by("received_at", "id").values_list("public_id", flat=True)[:limit])
    done = 0
    for public_id in ids:
        if notification_process(notification_id=public_id).notification.result != R.RECEIVED:
            done += 1
    return done


def attempts_query_channel(*, now: dt.datetime | None = None, older_than: dt.timedelta | None = None,
                           limit: int = 200) -> int:
    """Job: attempts pending longer than PAYMENTS_QUERY_AFTER_MINUTES with no notification
    are queried at their channel; a signed answer is stored (source=query) and processed like a
    notification. Returns how many answers were processed."""
    now = now or timezone.now()
    older_than = older_than or dt.timedelta(minutes=settings.PAYMENTS_QUERY_AFTER_MINUTES)
    attempts = (PaymentAttempt.objects.filter(state=AttemptState.PENDING, submitted_at__lte=now - older_than,
                                              notifications__isnull=True)
                .order_by("submitted_at", "id").values_list("public_id", "channel")[:limit])
    processed = 0
    for public_id, channel in attempts:
        try:
            answer = channel_client(channel).query(public_id)
        except ApplicationError:
            continue
        if answer is None:
            continue
        headers, body = answer
        row = notification_receive(channel=channel, headers=headers, body=body, source=NotificationSource.QUERY)
        if notification_process(notification_id=row.public_id).notification.result == R.PROCESSED:
            processed += 1
    return processed
