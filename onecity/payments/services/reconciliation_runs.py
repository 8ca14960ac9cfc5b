"""Reconciliation runs (对账) and their breaks (decision 0020).

    reconciliation_import   read one channel's daily statement with that channel's parser, build
                            our side of the day (selectors.reconciliation_ours), run the engine
                            (reconciliation.reconcile, decision 0016) and store the run and its
                            breaks in one transaction; idempotent by (channel, day, file SHA-256)
    break_investigate       open → investigating, with a note
    break_resolve           open | investigating → resolved: accepted, or matched later
    break_adjustment_propose
                            open | investigating → pending_approval, with the amount to adjust
    break_adjustment_decide pending_approval → resolved as adjusted (a second person approves:
                            posts the ledger transfer `recon:<break id>` between the channel's
                            clearing account and suspense) | investigating (rejected, withdrawn)

Who may: the platform's finance staff (`payments.access.FINANCE_ROLES`); auditors read (views). A file that does
not parse is refused with the channel parser's sentence and nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict

import polars as pl
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core.audit import audit_record
from onecity.core.errors import ApplicationError, NotFound, PermissionDenied
from onecity.identity.access import has_role
from onecity.ledger.enums import AccountKind
from onecity.ledger.services import account_open, transfer_post
from onecity.payments.access import FINANCE_READER_ROLES, is_platform_finance
from onecity.payments.channels import ChannelError, alipay, unionpay, wallet, wechat
from onecity.payments.clearing import reconciliation_ours
from onecity.payments.enums import BreakResolution, BreakState, Channel, RunState
from onecity.payments.models import ReconciliationBreak, ReconciliationRun
from onecity.payments.reconciliation import (
    OURS_SCHEMA,
    STATEMENT_SCHEMA,
    ReconciliationError,
    reconcile,
    statement_day_end,
    statement_frame,
)

PARSERS = {Channel.ALIPAY: alipay.parse_statement, Channel.WECHAT: wechat.parse_statement,
           Channel.UNIONPAY: unionpay.parse_statement, Channel.CITY_WALLET: wallet.parse_statement}
MAX_STATEMENT_BYTES = 200 * 1024 * 1024
NOTE_MAX = 500


def can_reconcile(actor) -> bool:
    return is_platform_finance(actor)


def can_read_reconciliation(actor) -> bool:
    return actor is None or has_role(actor, *FINANCE_READER_ROLES)


def _require_reconciler(actor) -> None:
    if not can_reconcile(actor):
        raise PermissionDenied()


def _rows_json(frame: pl.DataFrame) -> list[dict]:
    return [{k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in row.items()}
            for row in frame.iter_rows(named=True)]


def _rows_frame(rows: list[dict], schema: dict) -> pl.DataFrame:
    data = {name: [r[name] for r in rows] for name in schema}
    data["occurred_at"] = [dt.datetime.fromisoformat(v) if v else None for v in data["occurred_at"]]
    return pl.DataFrame(data, schema=schema)


def reconciliation_import(*, actor, channel: str, day: dt.date, filename: str, content: bytes) -> ReconciliationRun:
    """Reconcile `content` (the channel's statement file of `day`) and store the run; the same
    file again returns the run stored the first time."""
    _require_reconciler(actor)
    if channel not in PARSERS:
        raise ApplicationError(_("Choose a payment channel."), code="channel_invalid", field="channel")
    if not isinstance(day, dt.date) or day >= timezone.localdate(timezone.now(), timezone=statement_day_end(day).tzinfo):
        raise ApplicationError(_("Choose a statement day before today."), code="day_invalid", field="day")
    if not content:
        raise ApplicationError(_("The statement file is empty."), code="statement_empty", field="file")
    if len(content) > MAX_STATEMENT_BYTES:
        raise ApplicationError(_("The statement file is larger than 200 MB."), code="statement_too_large",
                               field="file")
    digest = hashlib.sha256(content).hexdigest()
    existing = ReconciliationRun.objects.filter(channel=channel, day=day, file_sha256=digest).first()
    if existing is not None:
        return existing
    label = Channel(channel).label
    try:
        rows = PARSERS[channel](content)
    except ChannelError as exc:
        raise ApplicationError(_("This is not a readable %(channel)s statement: %(reason)s")
                               % {"channel": label, "reason": exc.message}, code="statement_unreadable",
                               field="file") from None
    previous = (ReconciliationRun.objects.filter(channel=channel, day=day - dt.timedelta(days=1), state=RunState.DONE)
                .order_by("-created_at", "-id").first())
    try:
        result = reconcile(
            statement_frame(rows, channel=channel), reconciliation_ours(channel=channel, day=day),
            day_end=statement_day_end(day),
            carried_statement=_rows_frame(previous.pending_statement, STATEMENT_SCHEMA) if previous else None,
            carried_ours=_rows_frame(previous.pending_ours, OURS_SCHEMA) if previous else None)
    except ReconciliationError as exc:
        raise ApplicationError(_("This %(channel)s statement cannot be reconciled: %(reason)s")
                               % {"channel": label, "reason": exc.message}, code="statement_unreadable",
                               field="file") from None
    try:
        return _store(actor=actor, channel=channel, day=day, filename=filename, digest=digest, result=result,
                      previous=previous)
    except IntegrityError:  # the same file imported at the same moment by someone else
        existing = ReconciliationRun.objects.filter(channel=channel, day=day, file_sha256=digest).first()
        if existing is None:
            raise
        return existing


def _summary_json(summary) -> dict:
    return {"matched": asdict(summary.matched), "pending": asdict(summary.pending),
            "breaks": {str(kind): asdict(totals) for kind, totals in summary.breaks.items()}}


@transaction.atomic
def _store(*, actor, channel, day, filename, digest, result, previous) -> ReconciliationRun:
    now = timezone.now()
    summary = result.summary
    run = ReconciliationRun.objects.create(
        channel=channel, day=day, filename=(filename or "statement")[:200], file_sha256=digest, state=RunState.DONE,
        statement_rows=summary.statement_rows, ours_rows=summary.ours_rows, matched_count=summary.matched.count,
        pending_count=summary.pending.count, break_count=summary.break_count, summary=_summary_json(summary),
        pending_statement=_rows_json(result.pending_statement), pending_ours=_rows_json(result.pending_ours),
        carried_from=previous, uploaded_by=actor, created_at=now, finished_at=now)
    ReconciliationBreak.objects.bulk_create([
        ReconciliationBreak(
            run=run, kind=r.kind.value, side=r.side.value, key=r.key[:140], trade_no=r.trade_no[:64],
            refund_no=r.refund_no[:64], out_trade_no=(r.out_trade_no or "")[:64], txn_kind=r.txn_kind.value,
            statement_amount_fen=r.statement_amount_fen, ours_amount_fen=r.ours_amount_fen,
            statement_fee_fen=r.statement_fee_fen, ours_fee_fen=r.ours_fee_fen, difference_fen=r.difference_fen,
            statement_occurred_at=r.statement_occurred_at, ours_occurred_at=r.ours_occurred_at,
            our_id=(r.our_id or "")[:64], carried=r.carried)
        for r in result.break_records()], batch_size=2000)
    audit_record(actor=actor, action="payments.reconciliation_imported", object_type="reconciliation_run",
                 object_id=run.public_id,
                 detail={"channel": channel, "day": day.isoformat(), "sha256": digest, "breaks": run.break_count,
                         "matched": run.matched_count, "pending": run.pending_count})
    return run


def _break_for_update(break_id: str) -> ReconciliationBreak:
    found = ReconciliationBreak.objects.select_for_update().filter(public_id=str(break_id or "")).first()
    if found is None:
        raise NotFound()
    return found


def _clean_note(note: str) -> str:
    note = " ".join(str(note or "").split())
    if not note:
        raise ApplicationError(_("Write a note saying what was found."), code="note_required", field="note")
    if len(note) > NOTE_MAX:
        raise ApplicationError(_("The note is longer than 500 characters."), code="note_too_long", field="note")
    return note


def _to_work(actor, break_id: str, note: str) -> tuple[ReconciliationBreak, str]:
    """What every step on a break checks first: the actor may reconcile, the break exists (now
    locked), the note is there and not too long."""
    _require_reconciler(actor)
    return _break_for_update(break_id), _clean_note(note)


@transaction.atomic
def break_investigate(*, actor, break_id: str, note: str) -> ReconciliationBreak:
    """Someone is looking into an open break (an investigating break may get a new note)."""
    brk, note = _to_work(actor, break_id, note)
    _unresolved(brk)
    brk.state, brk.note = BreakState.INVESTIGATING, note
    brk.save(update_fields=["state", "note"])
    audit_record(actor=actor, action="payments.break_investigating", object_type="reconciliation_break",
                 object_id=brk.public_id, detail={"note": note})
    return brk


def _unresolved(brk: ReconciliationBreak) -> None:
    if brk.state == BreakState.RESOLVED:
        raise ApplicationError(_("This break is already resolved."), code="break_resolved", status=409)
    if brk.state == BreakState.PENDING_APPROVAL:
        raise ApplicationError(_("An adjustment of this break awaits approval: approve or reject it first."),
                               code="break_pending_approval", status=409)


@transaction.atomic
def break_resolve(*, actor, break_id: str, resolution: str, note: str) -> ReconciliationBreak:
    """Close an open or investigated break as accepted or matched later; nothing is posted. An
    adjustment is proposed instead (`break_adjustment_propose`) and posted when a second person
    approves it."""
    brk, note = _to_work(actor, break_id, note)
    if resolution == BreakResolution.ADJUSTED or resolution not in BreakResolution.values:
        raise ApplicationError(_("Choose how the break was resolved."), code="resolution_invalid",
                               field="resolution")
    _unresolved(brk)
    brk.state, brk.resolution, brk.note = BreakState.RESOLVED, resolution, note
    brk.resolved_by, brk.resolved_at = actor, timezone.now()
    brk.save(update_fields=["state", "resolution", "note", "resolved_by", "resolved_at"])
    audit_record(actor=actor, action="payments.break_resolved", object_type="reconciliation_break",
                 object_id=brk.public_id, detail={"resolution": resolution, "note": note})
    return brk


@transaction.atomic
def break_adjustment_propose(*, actor, break_id: str, amount_fen: int, note: str) -> ReconciliationBreak:
    """Propose to settle an open or investigated break with a ledger adjustment of
    `amount_fen` (not zero): positive — the channel owes us more; negative — the other way.
    Nothing is posted until someone else approves it (`break_adjustment_decide`)."""
    brk, note = _to_work(actor, break_id, note)
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or not amount_fen:
        raise ApplicationError(_("An adjustment needs an amount other than zero."), code="adjustment_invalid",
                               field="adjust_amount_fen")
    if abs(amount_fen) > 10**12:
        raise ApplicationError(_("The adjustment is larger than any payment."), code="adjustment_invalid",
                               field="adjust_amount_fen")
    _unresolved(brk)
    brk.state, brk.adjustment_fen, brk.note = BreakState.PENDING_APPROVAL, amount_fen, note
    brk.proposed_by, brk.proposed_at = actor, timezone.now()
    brk.save(update_fields=["state", "adjustment_fen", "note", "proposed_by", "proposed_at"])
    audit_record(actor=actor, action="payments.break_adjustment_proposed", object_type="reconciliation_break",
                 object_id=brk.public_id, detail={"adjustment_fen": amount_fen, "note": note})
    return brk


@transaction.atomic
def break_adjustment_decide(*, actor, break_id: str, approve: bool, note: str) -> ReconciliationBreak:
    """Approve a proposed adjustment — it is posted as the ledger transfer `recon:<break id>`
    between the channel's clearing account and suspense, and the break is resolved as adjusted —
    or reject it: the break goes back to investigation with `note` as the reason (required) and
    nothing is posted. Only someone other than the proposer approves (four eyes), with an
    optional note added to the proposal's; the proposer may withdraw their own proposal by
    rejecting it."""
    _require_reconciler(actor)
    brk = _break_for_update(break_id)
    note = _clean_note(note) if not approve or str(note or "").strip() else ""
    if brk.state != BreakState.PENDING_APPROVAL:
        _unresolved(brk)  # refuses a resolved break
        raise ApplicationError(_("No adjustment of this break awaits approval."), code="no_proposal", status=409)
    proposal = {"adjustment_fen": brk.adjustment_fen, "proposed_by": brk.proposed_by.public_id,
                "proposal_note": brk.note}
    if not approve:
        brk.state, brk.adjustment_fen, brk.note = BreakState.INVESTIGATING, None, note
        brk.proposed_by = brk.proposed_at = None
        brk.save(update_fields=["state", "adjustment_fen", "note", "proposed_by", "proposed_at"])
        audit_record(actor=actor, action="payments.break_adjustment_rejected", object_type="reconciliation_break",
                     object_id=brk.public_id, detail={**proposal, "note": note})
        return brk
    if brk.proposed_by_id == actor.pk:
        raise ApplicationError(_("Someone other than the person who proposed an adjustment approves it."),
                               code="four_eyes", status=403)
    amount = brk.adjustment_fen
    clearing = account_open(kind=AccountKind.CHANNEL_CLEARING, owner=f"channel:{brk.run.channel}").public_id
    suspense = account_open(kind=AccountKind.SUSPENSE, owner="platform").public_id
    debit, credit = (clearing, suspense) if amount > 0 else (suspense, clearing)
    brk.transfer_id = f"recon:{brk.public_id}"
    transfer_post(transfer_id=brk.transfer_id, debit=debit, credit=credit, amount=abs(amount), code="recon_adjust",
                  memo=f"{brk.run.channel} {brk.run.day} {brk.kind} {brk.key}"[:200], actor=actor)
    brk.state, brk.resolution = BreakState.RESOLVED, BreakResolution.ADJUSTED
    brk.note = f"{brk.note} · {note}"[:NOTE_MAX] if note else brk.note
    brk.resolved_by, brk.resolved_at = actor, timezone.now()
    brk.save(update_fields=["state", "resolution", "note", "transfer_id", "resolved_by", "resolved_at"])
    audit_record(actor=actor, action="payments.break_resolved", object_type="reconciliation_break",
                 object_id=brk.public_id,
                 detail={**proposal, "resolution": BreakResolution.ADJUSTED, "note": note,
                         "transfer_id": brk.transfer_id})
    return brk
