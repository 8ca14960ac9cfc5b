"""Channel notifications: verify, store raw, acknowledge, apply once — in batches (decision 0017).

    notification_handle    the notify endpoint: the signature checked (pure computation), the
                           raw request stored with that outcome in one INSERT (its own
                           transaction), the answer given — success for a verified row, which is
                           ours from then on, error 400 for a rejected one — and the applier
                           scheduled (tasks.notifications_apply_soon)
    notifications_apply    the applier (a task-queue job, queued at most once at a time): the
                           verified rows waiting, oldest first, 200 to a transaction; the
                           statements per batch do not grow with its size
    notification_receive   the raw request alone (no verification): the query job's answers
    notification_process   verify and apply one stored row now; re-runnable: a row already
                           decided is answered from what was decided
    notifications_process_pending   the job for rows stored but never decided (a crash)
    attempts_query_channel          the job for attempts whose notification never came: ask
                                    the channel, store its signed answer and process it alike

Applying a verified notification (results in enums.NotificationResult, on the row, for the
payee's staff and the reconciliation; the channel was answered success already):

    unknown order (no attempt of this channel)    error            nothing else
    same dedupe key already processed             duplicate        nothing else
    older than the attempt's channel status       out_of_order     nothing else
    (channels.should_apply: a "paid" after "refunded" or "closed")
    paid, amount ≠ attempt's amount (fen)         amount_mismatch  nothing else
    paid, but the attempt cannot succeed          error            nothing else
    (succeeded under another trade number, cancelled…)
    paid                                          processed        attempt succeeded, bill paid,
                                                                   ledger posted (attempts.py)
    failed / closed                               processed        an open attempt fails
                                                                   (declined / timeout)
    pending / refunded                            processed        recorded on the attempt's
                                                                   channel status only (refunds
                                                                   are decided by the refund
                                                                   workflow, not by a notice)

A refund notification naming one of our refunds (applied on its own, in the batch's
transaction; WeChat Pay's REFUND.SUCCESS / REFUND.ABNORMAL /
REFUND.CLOSED: out_refund_no is the refund's public id) is that refund's result (kind refund,
dedupe key `<channel>:refund:<refund number>:<status>`):

    same dedupe key already processed, or the      duplicate        nothing else
    refund already ended the way it says
    refunded amount ≠ the refund's amount (fen)    amount_mismatch  nothing else
    the refund not sent, or ended the other way    error            nothing else
    succeeded / abnormal / closed                  processed        services.refunds.refund_settle:
                                                                   succeeded (the refund's effects)
                                                                   or failed (its amount freed)

A refund notification naming a refund that is not ours (made at the channel's merchant portal)
is recorded on the attempt's channel status, as before.

A bad signature, an unknown key, a stale timestamp or a malformed body: the row is stored
unverified (`rejected`) and the reply is an error 400 — nothing else changes. (Query answers and
rows left over from a crash are verified by the applier, with the same outcome.)
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core.bulk import insert_row, update_rows
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
from onecity.payments.channels.base import (
    ChannelNotification as ChannelNotice,
)
from onecity.payments.channels.refunds import REFUND_ABNORMAL, REFUND_CLOSED, RefundAnswer
from onecity.payments.enums import (
    AttemptState,
    Channel,
    FailureCode,
    NotificationKind,
    NotificationResult,
    NotificationSource,
    RefundState,
)
from onecity.payments.gateways import Reply, channel_client, reply_error, reply_ok
from onecity.payments.models import ChannelNotification, PaymentAttempt, Refund
from onecity.payments.services.attempts import (
    Success,
    attempt_mark_failed,
    attempts_record_successes,
    success_problem,
)
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
                         source: str = NotificationSource.NOTIFY, received_at=None, **outcome) -> ChannelNotification:
    """Store what the channel sent, as it came, in its own transaction: one INSERT, committed on
    its own (autocommit) when called outside a transaction, as the notify endpoint does — no
    BEGIN/COMMIT pair around it, the statement is the transaction. `outcome`: the verification's
    columns, when the caller verified before storing (notification_handle)."""
    return insert_row(ChannelNotification(
        channel=channel, source=source, headers=_kept(headers), body=body.decode("utf-8", errors="replace"),
        body_sha256=hashlib.sha256(body).hexdigest(), remote_addr=remote_addr or None,
        received_at=received_at or timezone.now(), **outcome))


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


def _refund_notice(row: ChannelNotification, note, verified: dict) -> NotificationOutcome | None:
    """A refund notification naming one of our refunds, applied on its own (they are few); None
    for everything else, which the batch applies."""
    if note.refund is None:
        return None
    refund = (Refund.objects.filter(public_id=note.refund.out_refund_no, attempt__public_id=note.out_trade_no,
                                    attempt__channel=row.channel).only("id", "public_id", "attempt_id", "state",
                                                                      "amount_fen").first())
    if refund is None:
        return None
    return _apply_refund(row, note.refund, verified, refund)


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


def _verified_fields(note) -> dict:
    """What verification established, as the row's columns."""
    return {"verified": True, "kind": NotificationKind.REFUND if note.refund else NotificationKind.PAYMENT,
            "dedupe_key": dedupe_key(note), "status": str(note.status), "out_trade_no": note.out_trade_no[:64],
            "amount_fen": note.amount_fen, "channel_trade_no": note.trade_no[:64], "paid_at": note.paid_at,
            "payer_account_masked": note.payer_masked[:40]}


def _stored_note(row: ChannelNotification) -> ChannelNotice:
    """A verified payment notification as its row's columns hold it (no second verification)."""
    return ChannelNotice(channel=Channel(row.channel), trade_no=row.channel_trade_no, out_trade_no=row.out_trade_no,
                         amount_fen=row.amount_fen, status=PaymentStatus(row.status), paid_at=row.paid_at,
                         notified_at=None, notify_id="")


def notification_handle(*, channel: str, headers: Mapping[str, str], body: bytes,
                        remote_addr: str | None = None) -> NotificationOutcome:
    """What the notify endpoint does: verify the signature (pure computation), store the raw
    request with the verification's outcome (one INSERT, its own transaction), answer. A
    verified row is acknowledged at once — it is ours now, durably — and applied by the
    applier (`notifications_apply`, scheduled here) a moment later; a rejected one is answered
    400 and changes nothing. A channel that is not configured: the row is kept unverified for
    later and the answer is 503, so the channel retries."""
    received_at = timezone.now()
    try:
        verifier = channel_client(channel).verifier()
    except ApplicationError as exc:
        row = notification_receive(channel=channel, headers=headers, body=body, remote_addr=remote_addr)
        return NotificationOutcome(row, reply_error(channel, status=exc.status, code=exc.code, message=str(exc.message)))
    try:
        fields = _verified_fields(verifier.verify(headers, body, now=received_at))
    except ChannelError as exc:
        fields = {"verified": False, "result": R.REJECTED, "result_detail": f"{exc.code}: {exc.message}"[:300],
                  "processed_at": received_at}
    row = notification_receive(channel=channel, headers=headers, body=body, remote_addr=remote_addr,
                               received_at=received_at, **fields)
    if row.result == R.REJECTED:
        return NotificationOutcome(row, _reply_for(row))
    from onecity.payments.tasks import notifications_apply_soon

    notifications_apply_soon()
    return NotificationOutcome(row, reply_ok(channel))


def notification_process(*, notification_id: str) -> NotificationOutcome:
    """Verify a stored notification and apply it now (see the module docstring): the query job
    and the pending job use it. Idempotent: a row already decided gets the same answer and
    changes nothing. The freshness window is measured against when the row was received, so a
    re-run after a crash still verifies."""
    row = ChannelNotification.objects.get(public_id=notification_id)
    if row.result == R.RECEIVED:
        try:
            channel_client(row.channel)
        except ApplicationError as exc:  # not configured: keep the row for later, the channel retries
            return NotificationOutcome(row, reply_error(row.channel, status=exc.status, code=exc.code,
                                                        message=str(exc.message)))
        _apply_batch([row.pk])
        row.refresh_from_db()
    return NotificationOutcome(row, _reply_for(row))


#: rows applied per transaction: large enough to spread the statements' cost, small enough
#: that SQLite's one writer lock is held only briefly (tens of milliseconds)
APPLY_BATCH = 200


def notifications_apply(*, limit: int = 20_000) -> int:
    """Job: apply verified rows waiting (oldest first, APPLY_BATCH to a transaction) until none
    is left or `limit` were decided. Returns how many rows were decided."""
    done = 0
    while done < limit:
        ids = list(ChannelNotification.objects.filter(result=R.RECEIVED, verified=True)
                   .order_by("id").values_list("id", flat=True)[:APPLY_BATCH])
        decided = _apply_batch(ids) if ids else 0
        if not decided:
            break
        done += decided
    return done


def notifications_process_pending(*, older_than: dt.timedelta = dt.timedelta(minutes=1),
                                  now: dt.datetime | None = None, limit: int = 500) -> int:
    """Job: rows stored but left undecided for `older_than` (a crash before the applier ran, or a
    channel configured only later): verified again and applied. Returns how many were decided."""
    cutoff = (now or timezone.now()) - older_than
    ids = list(ChannelNotification.objects.filter(result=R.RECEIVED, received_at__lte=cutoff)
               .order_by("id").values_list("id", flat=True)[:limit])
    return sum(_apply_batch(ids[i:i + APPLY_BATCH]) for i in range(0, len(ids), APPLY_BATCH))


def _apply_batch(ids: list[int]) -> int:
    """Decide the rows `ids` that are still undecided, in one transaction. Should one row make
    the transaction fail (a delivery of the same event decided by a parallel applier a moment
    ago, a refund settled by another path meanwhile), the rows are decided one by one instead,
    so that row's trouble stays its own."""
    for _try in range(3):
        try:
            with transaction.atomic():
                return _apply_locked(ids)
        except (IntegrityError, _Conflict):
            if len(ids) > 1:
                return sum(_apply_batch([pk]) for pk in ids)
    row = ChannelNotification.objects.get(pk=ids[0])
    _decide(row, R.ERROR, "state_conflict: " + _("The payment changed while this notification was applied."))
    return 1


def _apply_locked(ids: list[int]) -> int:
    """The batch, inside its transaction (rows, then attempts, locked in id order)."""
    rows = list(ChannelNotification.objects.select_for_update().filter(pk__in=ids, result=R.RECEIVED).order_by("id"))
    verifiers, notes, decided = {}, [], 0
    for row in rows:
        if row.verified and row.kind == NotificationKind.PAYMENT:
            notes.append((row, _stored_note(row)))
            continue
        if row.channel not in verifiers:
            try:
                verifiers[row.channel] = channel_client(row.channel).verifier()
            except ApplicationError:  # not configured: the row waits
                verifiers[row.channel] = None
        if verifiers[row.channel] is None:
            continue
        try:  # from the stored bytes: a row never verified, or a refund notification
            note = verifiers[row.channel].verify(row.headers, row.body.encode("utf-8"), now=row.received_at)
        except ChannelError as exc:
            _decide(row, R.REJECTED, f"{exc.code}: {exc.message}", verified=False)
            decided += 1
            continue
        verified = _verified_fields(note)
        for name, value in verified.items():
            setattr(row, name, value)
        if _refund_notice(row, note, verified) is not None:
            decided += 1
            continue
        notes.append((row, note))
    return decided + _apply_payments(notes)


def _apply_payments(notes: list) -> int:
    """Payment notifications (see the module docstring's table), decided in order with the
    batch's own effects in view (a duplicate or an older status later in the batch is seen as
    such), then written together: successes through attempts_record_successes (bills, ledger,
    audit), channel statuses and the rows' results each in one round trip."""
    if not notes:
        return 0
    attempts = {(a.channel, a.public_id): a for a in PaymentAttempt.objects.select_for_update(of=("self",))
                .select_related("payee").only(*_ATTEMPT_COLUMNS, "payee__public_id")
                .filter(public_id__in={note.out_trade_no for _row, note in notes}).order_by("id")}
    processed = _processed_keys({row.dedupe_key for row, _note in notes})
    successes, statuses, outcomes = [], {}, []
    for row, note in notes:
        attempt = attempts.get((row.channel, note.out_trade_no))
        result, detail = R.PROCESSED, ""
        current = PaymentStatus(attempt.channel_status) if attempt and attempt.channel_status else None
        if attempt is None:
            result, detail = R.ERROR, f"unknown_order: {note.out_trade_no}"
        elif row.dedupe_key in processed:
            result = R.DUPLICATE
        elif not should_apply(current, note.status):
            result, detail = R.OUT_OF_ORDER, f"{note.status} after {current}"
        elif note.status == PaymentStatus.PAID:
            result, detail = _paid(attempt, note, row, successes)
        elif note.status in (PaymentStatus.FAILED, PaymentStatus.CLOSED) \
                and attempt.state in workflow.OPEN_ATTEMPT_STATES:
            code = FailureCode.DECLINED if note.status == PaymentStatus.FAILED else FailureCode.TIMEOUT
            attempt.state = attempt_mark_failed(
                attempt_id=attempt.public_id, failure_code=code,
                detail=_("The channel reported the trade %(status)s.") % {"status": note.status}).state
        if result == R.PROCESSED:
            attempt.channel_status = statuses[attempt.pk] = str(note.status)
            processed.add(row.dedupe_key)
        outcomes.append((row, result, detail, attempt))
    attempts_record_successes(successes)
    update_rows(PaymentAttempt, ["channel_status"], statuses.items())
    now = timezone.now()
    update_rows(ChannelNotification, ["result", "result_detail", "processed_at", "attempt", *_VERIFIED_COLUMNS],
                [(row.pk, result, detail[:300], now, attempt.pk if attempt else None,
                  *(getattr(row, name) for name in _VERIFIED_COLUMNS)) for row, result, detail, attempt in outcomes])
    return len(outcomes)


def _processed_keys(keys: set[str]) -> set[str]:
    """Which of `keys` a processed row already has. Looked up through the dedupe key's own
    index and filtered here: with `result = 'processed'` in the WHERE clause, SQLite's planner
    chose the (result, received_at) index instead and read every processed row of the table
    on each batch."""
    return {key for key, result in ChannelNotification.objects.filter(dedupe_key__in=keys).order_by()
            .values_list("dedupe_key", "result") if result == R.PROCESSED}


_ATTEMPT_COLUMNS = ("id", "public_id", "channel", "state", "amount_fen", "channel_status", "bill", "payee",
                    "channel_trade_no", "payer_account_masked", "excess_fen", "finished_at", "failure_code",
                    "updated_at")
_VERIFIED_COLUMNS = ("verified", "kind", "dedupe_key", "status", "out_trade_no", "amount_fen", "channel_trade_no",
                     "paid_at", "payer_account_masked")


def _paid(attempt: PaymentAttempt, note, row: ChannelNotification, successes: list[Success]) -> tuple[str, str]:
    """A verified "paid" for `attempt`: its amount checked to the fen, then the success queued."""
    try:
        check_amount(note, expected_fen=attempt.amount_fen)
    except ChannelError as exc:
        return R.AMOUNT_MISMATCH, f"{exc.code}: {exc.message}"
    success = Success(attempt, note.amount_fen, note.trade_no, row.payer_account_masked,
                      note.paid_at or row.received_at)
    problem = success_problem(success)
    if problem is not None:
        return R.ERROR, f"{problem.code}: {problem.message}"
    successes.append(success)
    return R.PROCESSED, ""


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
