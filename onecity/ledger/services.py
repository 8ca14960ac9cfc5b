"""Ledger writes. Every movement of money in OneCity goes through these functions.

    account_open          idempotent by (kind, owner, currency)
    transfer_post         single-phase transfer, idempotent by transfer_id
    transfer_pending      phase one of a two-phase transfer: a hold on pending balances
    pending_post          phase two: post all or part of a hold (the rest is released)
    pending_void          phase two: release a hold
    transfer_reverse      the only correction: the opposite movement, at most the original amount
    transfers_post_bulk   the fast path: many single-phase transfers in one transaction

Transfer ids are chosen by the caller (1-64 characters of letters, digits and ``:_.-``, e.g. a
ULID or "bill:<public id>:payment"). Posting the same id again with the same fields returns the
transfer already posted; with different fields it is refused. Balances change only through
conditional UPDATEs (`... WHERE credits_posted >= debits_posted + debits_pending + amount`), so a
limit holds under any number of parallel writers, never check-then-act; the account rows carry
the same limits as CHECK constraints. Every function owns its transaction: when it raises,
nothing changed.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core.audit import audit_record
from onecity.core.bulk import copy_in
from onecity.core.errors import ApplicationError
from onecity.ledger.dto import AccountDTO, BulkResult, TransferDTO, TransferRow
from onecity.ledger.enums import (
    ACCOUNT_FLAGS,
    DEFAULT_FLAGS,
    NORMAL_SIDE,
    REVERSIBLE_KINDS,
    AccountKind,
    TransferKind,
)
from onecity.ledger.models import Account, Transfer
from onecity.ledger.selectors import account_to_dto, transfer_to_dto

TRANSFER_ID_RE = re.compile(r"^[A-Za-z0-9:_.\-]{1,64}$")
CODE_RE = re.compile(r"^[a-z][a-z0-9_.]{0,31}$")
OWNER_RE = re.compile(r"^[a-z][a-z0-9_]*(:[A-Za-z0-9_.\-]+)?$")
CURRENCIES = frozenset({"CNY"})
MAX_AMOUNT = 10**15  # fen: ten trillion yuan, far above any real transfer, far below BIGINT
MEMO_MAX = 200

_BALANCE_SQL = (
    "UPDATE ledger_account SET debits_posted = debits_posted + %s, credits_posted = credits_posted + %s, "
    "debits_pending = debits_pending + %s, credits_pending = credits_pending + %s "
    "WHERE id = %s "
    "AND (NOT debits_must_not_exceed_credits OR credits_posted + %s >= debits_posted + %s + debits_pending + %s) "
    "AND (NOT credits_must_not_exceed_debits OR debits_posted + %s >= credits_posted + %s + credits_pending + %s)"
)
_INSERT_ONE_SQL = (
    "INSERT INTO ledger_transfer (transfer_id, kind, debit_account_id, credit_account_id, amount, currency, code, "
    "batch_id, memo, metadata, actor, created_at, expires_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
#: the bulk path on SQLite: one INSERT for up to _INSERT_ROWS transfers
_INSERT_SQL = (
    "INSERT INTO ledger_transfer (transfer_id, kind, debit_account_id, credit_account_id, amount, currency, code, "
    "batch_id, memo, metadata, actor, created_at) VALUES "
)
_INSERT_ROW = "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
#: the bulk path on PostgreSQL: COPY, which fires the same triggers and checks the same constraints
#: as INSERT. psycopg binds on the client: an executemany would have PostgreSQL parse and plan the
#: INSERT once per transfer, and a multi-row INSERT spends half the batch's time in psycopg
#: scanning its 12,000 placeholders.
_COPY_SQL = (
    "COPY ledger_transfer (transfer_id, kind, debit_account_id, credit_account_id, amount, currency, code, "
    "batch_id, memo, metadata, actor, created_at) FROM STDIN"
)
_INSERT_ROWS = 1000  # 12,000 parameters: within SQLite's 32,766


# --- helpers -------------------------------------------------------------------------------------

def actor_reference(actor: Any) -> str:
    """The opaque reference a transfer records for who posted it."""
    if actor is None:
        return ""
    if isinstance(actor, str):
        return actor[:80]
    public_id = getattr(actor, "public_id", None)
    return f"user:{public_id}" if public_id else ""


def _check_transfer_id(value: Any, field: str = "transfer_id") -> str:
    if not isinstance(value, str) or not TRANSFER_ID_RE.match(value):
        raise ApplicationError(
            _("A transfer id must be 1 to 64 letters, digits or the characters : _ . -."),
            code="transfer_id_invalid", field=field)
    return value


def _check_amount(value: Any, field: str = "amount") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value > MAX_AMOUNT:
        raise ApplicationError(_("The amount must be a whole number of fen greater than zero."),
                               code="amount_invalid", field=field)
    return value


def _check_code(value: Any) -> str:
    if not isinstance(value, str) or not CODE_RE.match(value):
        raise ApplicationError(
            _("A transfer code must be 1 to 32 lower-case letters, digits, dots or underscores."),
            code="code_invalid", field="code")
    return value


def _check_memo(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MEMO_MAX:
        raise ApplicationError(_("The memo can have at most %(max)d characters.") % {"max": MEMO_MAX},
                               code="memo_invalid", field="memo")
    return value


def _check_metadata(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ApplicationError(_("Transfer metadata must be a JSON object."), code="metadata_invalid",
                               field="metadata")
    return value


class _Acct(NamedTuple):
    """What a single transfer needs of an account (read with one raw query)."""

    pk: int
    public_id: str
    currency: str
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool


def _pair(debit: str, credit: str) -> tuple[_Acct, _Acct]:
    if debit == credit:
        raise ApplicationError(_("A transfer needs two different accounts."), code="same_account")
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, public_id, currency, debits_must_not_exceed_credits, credits_must_not_exceed_debits "
                       "FROM ledger_account WHERE public_id IN (%s, %s)", [debit, credit])
        found = {row[1]: _Acct(row[0], row[1], row[2], bool(row[3]), bool(row[4])) for row in cursor.fetchall()}
    for public_id in (debit, credit):
        if public_id not in found:
            raise ApplicationError(_("There is no ledger account %(id)s.") % {"id": public_id},
                                   code="account_not_found", status=404)
    debit_account, credit_account = found[debit], found[credit]
    if debit_account.currency != credit_account.currency:
        raise ApplicationError(_("Both accounts of a transfer must be in the same currency."),
                               code="currency_mismatch")
    return debit_account, credit_account


def _limit_error(account: Account | _Acct) -> ApplicationError:
    if account.debits_must_not_exceed_credits:
        return ApplicationError(
            _("Account %(id)s does not have enough balance for this transfer.") % {"id": account.public_id},
            code="balance_insufficient")
    return ApplicationError(
        _("This transfer would take account %(id)s beyond what is owed on it.") % {"id": account.public_id},
        code="balance_exceeded")


def _move(changes: dict[int, tuple[int, int, int, int]], accounts: dict[int, Account | _Acct]) -> None:
    """Apply (debits_posted, credits_posted, debits_pending, credits_pending) deltas, in account
    id order (so parallel writers lock rows in one order and cannot deadlock); a row whose limit
    the change would break is not updated, and the whole transaction is refused."""
    with connection.cursor() as cursor:
        for pk in sorted(changes):
            dp, cp, dq, cq = changes[pk]
            cursor.execute(_BALANCE_SQL, [dp, cp, dq, cq, pk, cp, dp, dq, dp, cp, cq])
            if cursor.rowcount != 1:
                raise _limit_error(accounts[pk])


def _same(existing: Transfer, **fields: Any) -> bool:
    return all(getattr(existing, name) == value for name, value in fields.items())


def _exists_differently(transfer_id: str) -> ApplicationError:
    return ApplicationError(
        _("Transfer %(id)s was already posted with different details.") % {"id": transfer_id},
        code="transfer_exists_different", field="transfer_id")


def _retrying(service: Callable[..., TransferDTO]) -> Callable[..., TransferDTO]:
    """Run the service in its own transaction (a savepoint inside a caller's). A parallel writer
    that takes the same transfer id (or resolves the same hold) between our look-up and our
    insert makes the insert fail on a unique index; the service then runs once more and finds
    that writer's row."""

    @functools.wraps(service)
    def run(**kwargs: Any) -> TransferDTO:
        try:
            with transaction.atomic():
                return service(**kwargs)
        except IntegrityError:
            with transaction.atomic():
                return service(**kwargs)
    return run


# --- accounts -------------------------------------------------------------------------------------

@transaction.atomic
def account_open(*, kind: str, owner: str, currency: str = "CNY", flags: Iterable[str] | None = None,
                 actor: Any = None) -> AccountDTO:
    """Open the account of `kind` for `owner` ("org:<public_id>", "user:<public_id>",
    "channel:<code>", "bank:<code>" or "platform"), or return it if it is open already. `flags`
    (None: the kind's defaults) are "debits_must_not_exceed_credits" and/or
    "credits_must_not_exceed_debits"; asking for an open account with other flags is refused."""
    if kind not in AccountKind.values:
        raise ApplicationError(_("There is no account kind %(kind)s.") % {"kind": kind}, code="kind_invalid",
                               field="kind")
    if not isinstance(owner, str) or len(owner) > 80 or not OWNER_RE.match(owner):
        raise ApplicationError(_('An account owner is a reference such as "org:<public id>" or "platform".'),
                               code="owner_invalid", field="owner")
    if currency not in CURRENCIES:
        raise ApplicationError(_("The ledger keeps accounts in CNY only."), code="currency_invalid",
                               field="currency")
    wanted = DEFAULT_FLAGS.get(kind, frozenset()) if flags is None else frozenset(flags)
    if not wanted <= ACCOUNT_FLAGS or len(wanted) > 1:
        raise ApplicationError(_("Choose at most one of the account limits debits_must_not_exceed_credits and "
                                 "credits_must_not_exceed_debits."), code="flags_invalid", field="flags")
    existing = Account.objects.filter(kind=kind, owner=owner, currency=currency).first()
    if existing is None:
        try:
            with transaction.atomic():
                existing = Account.objects.create(
                    kind=kind, owner=owner, currency=currency, normal_side=NORMAL_SIDE[kind],
                    debits_must_not_exceed_credits="debits_must_not_exceed_credits" in wanted,
                    credits_must_not_exceed_debits="credits_must_not_exceed_debits" in wanted)
        except IntegrityError:  # opened by a parallel caller a moment ago
            existing = Account.objects.get(kind=kind, owner=owner, currency=currency)
        else:
            audit_record(actor=actor if not isinstance(actor, str) else None, action="ledger.account_open",
                         object_type="ledger.account", object_id=existing.public_id,
                         detail={"kind": kind, "owner": owner, "currency": currency, "flags": sorted(wanted)})
    dto = account_to_dto(existing)
    if flags is not None and dto.flags != wanted:
        raise ApplicationError(_("That account is open already with other limits."), code="account_exists_different",
                               field="flags")
    return dto


# --- single transfers -----------------------------------------------------------------------------

def _post_one(*, kind: str, transfer_id: str, debit: str, credit: str, amount: int, code: str, memo: str,
              metadata: dict | None, actor: Any, expires_at: dt.datetime | None = None) -> TransferDTO:
    _check_transfer_id(transfer_id)
    _check_amount(amount)
    _check_code(code)
    _check_memo(memo)
    metadata = _check_metadata(metadata)
    debit_account, credit_account = _pair(debit, credit)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM ledger_transfer WHERE transfer_id = %s", [transfer_id])
        taken = cursor.fetchone()
    if taken:
        existing = Transfer.objects.select_related("debit_account", "credit_account").get(pk=taken[0])
        if not _same(existing, kind=kind, debit_account_id=debit_account.pk, credit_account_id=credit_account.pk,
                     amount=amount, code=code, memo=memo, metadata=metadata, pending_id=None, reverses_id=None,
                     expires_at=expires_at):
            raise _exists_differently(transfer_id)
        return transfer_to_dto(existing)
    now, actor_ref = timezone.now(), actor_reference(actor)
    ops = connection.ops
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_ONE_SQL, [transfer_id, str(kind), debit_account.pk, credit_account.pk, amount,
                                         debit_account.currency, code, "", memo, ops.adapt_json_value(metadata, None),
                                         actor_ref, ops.adapt_datetimefield_value(now),
                                         ops.adapt_datetimefield_value(expires_at)])
    if kind == TransferKind.POSTED:
        changes = {debit_account.pk: (amount, 0, 0, 0), credit_account.pk: (0, amount, 0, 0)}
    else:
        changes = {debit_account.pk: (0, 0, amount, 0), credit_account.pk: (0, 0, 0, amount)}
    _move(changes, {debit_account.pk: debit_account, credit_account.pk: credit_account})
    return TransferDTO(transfer_id=transfer_id, kind=str(kind), debit=debit, credit=credit, amount=amount,
                       currency=debit_account.currency, code=code, pending_id=None, reverses_id=None, batch_id="",
                       memo=memo, metadata=metadata, actor=actor_ref, created_at=now, expires_at=expires_at)


@_retrying
def transfer_post(*, transfer_id: str, debit: str, credit: str, amount: int, code: str, memo: str = "",
                  metadata: dict[str, Any] | None = None, actor: Any = None) -> TransferDTO:
    """Move `amount` fen from `debit` to `credit` (account public ids) at once."""
    return _post_one(kind=TransferKind.POSTED, transfer_id=transfer_id, debit=debit, credit=credit, amount=amount,
                     code=code, memo=memo, metadata=metadata, actor=actor)


@_retrying
def transfer_pending(*, transfer_id: str, debit: str, credit: str, amount: int, code: str, memo: str = "",
                     metadata: dict[str, Any] | None = None, expires_at: dt.datetime | None = None,
                     actor: Any = None) -> TransferDTO:
    """Hold `amount` fen: the pending balances move now, the posted ones only by `pending_post`.
    A hold counts against the debit account's limit at once. With `expires_at` the hold is
    voided by `pendings_void_expired` once that moment has passed and it is still open."""
    if expires_at is not None and (not isinstance(expires_at, dt.datetime) or timezone.is_naive(expires_at)):
        raise ApplicationError(_("A hold's expiry must be a moment with its time zone."), code="expires_at_invalid",
                               field="expires_at")
    return _post_one(kind=TransferKind.PENDING, transfer_id=transfer_id, debit=debit, credit=credit, amount=amount,
                     code=code, memo=memo, metadata=metadata, actor=actor, expires_at=expires_at)


def _resolve(*, kind: str, transfer_id: str, pending_id: str, amount: int | None, memo: str,
             actor: Any) -> TransferDTO:
    _check_transfer_id(transfer_id)
    _check_transfer_id(pending_id, "pending_id")
    _check_memo(memo)
    if amount is not None:
        _check_amount(amount)
    existing = Transfer.objects.select_related("debit_account", "credit_account", "pending").filter(
        transfer_id=transfer_id).first()
    if existing is not None:
        if existing.kind != kind or existing.pending is None or existing.pending.transfer_id != pending_id or (
                amount is not None and existing.amount != amount) or existing.memo != memo:
            raise _exists_differently(transfer_id)
        return transfer_to_dto(existing)
    pending = Transfer.objects.select_related("debit_account", "credit_account").filter(
        transfer_id=pending_id).first()
    if pending is None or pending.kind != TransferKind.PENDING:
        raise ApplicationError(_("There is no pending transfer %(id)s.") % {"id": pending_id},
                               code="pending_not_found", status=404, field="pending_id")
    if Transfer.objects.filter(pending=pending).exists():
        raise ApplicationError(_("Pending transfer %(id)s was already posted or voided.") % {"id": pending_id},
                               code="pending_resolved", field="pending_id")
    held = pending.amount
    if kind == TransferKind.POST_PENDING:
        amount = held if amount is None else amount
        if amount > held:
            raise ApplicationError(
                _("Only %(held)d fen are held by transfer %(id)s.") % {"held": held, "id": pending_id},
                code="amount_exceeds_pending", field="amount")
    else:
        amount = held
    transfer = Transfer(transfer_id=transfer_id, kind=kind, debit_account=pending.debit_account,
                        credit_account=pending.credit_account, amount=amount, currency=pending.currency,
                        code=pending.code, pending=pending, memo=memo, metadata={}, actor=actor_reference(actor),
                        created_at=timezone.now())
    transfer.save(force_insert=True)
    posted = amount if kind == TransferKind.POST_PENDING else 0
    _move({pending.debit_account_id: (posted, 0, -held, 0), pending.credit_account_id: (0, posted, 0, -held)},
          {pending.debit_account_id: pending.debit_account, pending.credit_account_id: pending.credit_account})
    return transfer_to_dto(transfer)


@_retrying
def pending_post(*, transfer_id: str, pending_id: str, amount: int | None = None, memo: str = "",
                 actor: Any = None) -> TransferDTO:
    """Post `amount` fen (None: all) of the hold `pending_id`; the rest of the hold is released.
    A hold is posted or voided once."""
    return _resolve(kind=TransferKind.POST_PENDING, transfer_id=transfer_id, pending_id=pending_id, amount=amount,
                    memo=memo, actor=actor)


@_retrying
def pending_void(*, transfer_id: str, pending_id: str, memo: str = "", actor: Any = None) -> TransferDTO:
    """Release the hold `pending_id` without posting anything."""
    return _resolve(kind=TransferKind.VOID_PENDING, transfer_id=transfer_id, pending_id=pending_id, amount=None,
                    memo=memo, actor=actor)


def pendings_void_expired(*, now: dt.datetime | None = None, limit: int = 1000) -> list[str]:
    """Void the open holds whose `expires_at` has passed (at most `limit`, oldest first); each
    void has the transfer id "<hold id>:expired", so a rerun or a parallel run voids nothing
    twice. Returns the ids of the holds voided by this call."""
    now = now or timezone.now()
    open_holds = (Transfer.objects.filter(kind=TransferKind.PENDING, expires_at__lte=now, resolutions__isnull=True)
                  .order_by("expires_at", "pk").values_list("transfer_id", flat=True)[:limit])
    voided = []
    for hold_id in list(open_holds):
        void_id = f"{hold_id}:expired" if len(hold_id) <= 56 else \
            f"expired:{hashlib.sha256(hold_id.encode()).hexdigest()[:56]}"
        try:
            pending_void(transfer_id=void_id, pending_id=hold_id, memo="expired")
        except ApplicationError as exc:
            if exc.code == "pending_resolved":  # posted or voided by someone else a moment ago
                continue
            raise
        voided.append(hold_id)
    return voided


@_retrying
def transfer_reverse(*, transfer_id: str, original_id: str, amount: int | None = None, memo: str = "",
                     actor: Any = None) -> TransferDTO:
    """Correct a posted transfer by the opposite movement of `amount` fen (None: all that is not
    reversed yet). Several partial reversals are allowed, never beyond the original amount."""
    _check_transfer_id(transfer_id)
    _check_transfer_id(original_id, "original_id")
    _check_memo(memo)
    if amount is not None:
        _check_amount(amount)
    existing = Transfer.objects.select_related("debit_account", "credit_account", "reverses").filter(
        transfer_id=transfer_id).first()
    if existing is not None:
        if existing.kind != TransferKind.REVERSAL or existing.reverses.transfer_id != original_id or (
                amount is not None and existing.amount != amount) or existing.memo != memo:
            raise _exists_differently(transfer_id)
        return transfer_to_dto(existing)
    # Lock the original (a row lock only: transfers are never updated) so parallel partial
    # reversals are counted one after the other.
    original = (Transfer.objects.select_for_update(of=("self",))
                .select_related("debit_account", "credit_account").filter(transfer_id=original_id).first())
    if original is None or original.kind not in REVERSIBLE_KINDS:
        raise ApplicationError(_("There is no posted transfer %(id)s to reverse.") % {"id": original_id},
                               code="original_not_found", status=404, field="original_id")
    reversed_so_far = sum(Transfer.objects.filter(reverses=original).values_list("amount", flat=True))
    left = original.amount - reversed_so_far
    if left <= 0:
        raise ApplicationError(_("Transfer %(id)s is reversed in full already.") % {"id": original_id},
                               code="reversed_already", field="original_id")
    amount = left if amount is None else amount
    if amount > left:
        raise ApplicationError(_("Only %(left)d fen of transfer %(id)s can still be reversed.")
                               % {"left": left, "id": original_id}, code="amount_exceeds_original", field="amount")
    transfer = Transfer(transfer_id=transfer_id, kind=TransferKind.REVERSAL, debit_account=original.credit_account,
                        credit_account=original.debit_account, amount=amount, currency=original.currency,
                        code=original.code, reverses=original, memo=memo, metadata={},
                        actor=actor_reference(actor), created_at=timezone.now())
    transfer.save(force_insert=True)
    _move({original.credit_account_id: (amount, 0, 0, 0), original.debit_account_id: (0, amount, 0, 0)},
          {original.credit_account_id: original.credit_account, original.debit_account_id: original.debit_account})
    audit_record(actor=actor if not isinstance(actor, str) else None, action="ledger.transfer_reverse",
                 object_type="ledger.transfer", object_id=transfer_id,
                 detail={"original": original_id, "amount": amount})
    return transfer_to_dto(transfer)


# --- bulk -----------------------------------------------------------------------------------------

def _row_error(index: int, row: TransferRow) -> ApplicationError:
    """The error for a row the fast check in `_validated` did not pass."""
    try:
        _check_transfer_id(row.transfer_id)
        _check_amount(row.amount)
        _check_code(row.code)
        _check_memo(row.memo)
        _check_metadata(row.metadata)
        if not isinstance(row.debit, str) or not isinstance(row.credit, str):
            raise ApplicationError(_("Name each account by its public id."), code="account_invalid")
        raise ApplicationError(_("A transfer needs two different accounts."), code="same_account")
    except ApplicationError as exc:
        return ApplicationError(_("Row %(n)d: %(error)s") % {"n": index + 1, "error": exc.message}, code=exc.code,
                                field=exc.field)


def _validated(rows: Sequence[TransferRow]) -> list[TransferRow]:
    """Check every row; drop exact repeats inside the batch, refuse differing repeats."""
    seen: dict[str, TransferRow] = {}
    id_ok, code_ok = TRANSFER_ID_RE.match, CODE_RE.match
    for index, row in enumerate(rows):
        amount, memo, metadata = row.amount, row.memo, row.metadata
        if not (type(amount) is int and 0 < amount <= MAX_AMOUNT and type(row.transfer_id) is str
                and id_ok(row.transfer_id) and type(row.code) is str and code_ok(row.code)
                and type(memo) is str and len(memo) <= MEMO_MAX and (metadata is None or type(metadata) is dict)
                and type(row.debit) is str and type(row.credit) is str and row.debit != row.credit):
            raise _row_error(index, row)
        before = seen.setdefault(row.transfer_id, row)
        if before is not row and before != row:
            raise _exists_differently(row.transfer_id)
    return list(seen.values())


def _select_in(sql: str, values: list[str], chunk: int = 2000) -> list[tuple]:
    """Rows of `sql` + " (values...)", asked in chunks (a raw query: no ORM cost per value)."""
    found: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(values), chunk):
            part = values[start:start + chunk]
            cursor.execute(f"{sql} ({', '.join(['%s'] * len(part))})", part)
            found.extend(cursor.fetchall())
    return found


class _LimitRefused(Exception):
    """Internal: a limit refused the batch's balance update; rolls the batch back."""

    def __init__(self, changes: dict[int, list[int]]):
        super().__init__("limit refused")
        self.changes = changes


def transfers_post_bulk(rows: Sequence[TransferRow], *, batch_id: str = "", actor: Any = None) -> BulkResult:
    """Post many single-phase transfers in one transaction: one executemany INSERT of the new
    rows and one conditional UPDATE per account touched, with the deltas summed per account
    (so a limit applies to the batch's net effect on each account).

    Rows whose transfer id is posted already with the same fields are skipped (a retried batch
    posts nothing twice); a row with a taken id and other fields, an unknown account or a limit
    the batch would break refuses the whole batch, and nothing changes. Called outside a
    transaction it owns one (the fast path); inside a caller's transaction it runs in a
    savepoint, which on SQLite costs about half the speed."""
    if batch_id:
        _check_transfer_id(batch_id, "batch_id")
    unique = _validated(rows)
    if not unique:
        return BulkResult(batch_id=batch_id, posted=0, skipped=0)
    actor_ref = actor_reference(actor)
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _bulk(unique, batch_id, actor_ref)
        except IntegrityError:  # a parallel batch took some of these ids between our look-up and insert
            if attempt == 2:
                raise
        except _LimitRefused as refused:
            # Rolled back by now: name the account whose limit the batch's net change breaks.
            for account in Account.objects.filter(pk__in=sorted(refused.changes)).order_by("pk"):
                d, c = refused.changes[account.pk]
                if (account.debits_must_not_exceed_credits
                        and account.debits_posted + d + account.debits_pending > account.credits_posted + c) or (
                        account.credits_must_not_exceed_debits
                        and account.credits_posted + c + account.credits_pending > account.debits_posted + d):
                    raise _limit_error(account) from None
            # a parallel writer changed the balances meanwhile: try again
    raise ApplicationError(_("The ledger is busy. Please post the batch again."), code="ledger_busy", status=503)


def _bulk(rows: list[TransferRow], batch_id: str, actor: str) -> BulkResult:
    public_ids = list({row.debit for row in rows} | {row.credit for row in rows})
    pks: dict[str, int] = {}
    currency: dict[str, str] = {}
    for public_id, pk, cur in _select_in("SELECT public_id, id, currency FROM ledger_account WHERE public_id IN",
                                         public_ids):
        pks[public_id] = pk
        currency[public_id] = cur
    if len(pks) != len(public_ids):
        missing = sorted(set(public_ids) - pks.keys())[0]
        raise ApplicationError(_("There is no ledger account %(id)s.") % {"id": missing}, code="account_not_found",
                               status=404)
    if len(set(currency.values())) > 1:
        for row in rows:
            if currency[row.debit] != currency[row.credit]:
                raise ApplicationError(_("Both accounts of a transfer must be in the same currency."),
                                       code="currency_mismatch")
    # Retries: ids posted already must carry the same fields (then they are skipped).
    taken = {transfer_id for (transfer_id,) in _select_in(
        "SELECT transfer_id FROM ledger_transfer WHERE transfer_id IN", [row.transfer_id for row in rows])}
    if taken:
        by_id = {row.transfer_id: row for row in rows}
        for transfer in Transfer.objects.filter(transfer_id__in=list(taken)).iterator():
            row = by_id[transfer.transfer_id]
            if not _same(transfer, kind=TransferKind.POSTED, debit_account_id=pks[row.debit],
                         credit_account_id=pks[row.credit], amount=row.amount, code=row.code, memo=row.memo,
                         metadata=row.metadata or {}):
                raise _exists_differently(transfer.transfer_id)
        rows = [row for row in rows if row.transfer_id not in taken]
        if not rows:
            return BulkResult(batch_id=batch_id, posted=0, skipped=len(taken))
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    no_metadata = ops.adapt_json_value({}, None)
    posted = TransferKind.POSTED.value
    changes: dict[int, list[int]] = {}
    params = []
    for r in rows:
        debit, credit = pks[r.debit], pks[r.credit]
        params.append((r.transfer_id, posted, debit, credit, r.amount, currency[r.debit], r.code, batch_id, r.memo,
                       ops.adapt_json_value(r.metadata, None) if r.metadata else no_metadata, actor, now))
        if debit in changes:
            changes[debit][0] += r.amount
        else:
            changes[debit] = [r.amount, 0]
        if credit in changes:
            changes[credit][1] += r.amount
        else:
            changes[credit] = [0, r.amount]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            copy_in(cursor, _COPY_SQL, params)
        else:
            for start in range(0, len(params), _INSERT_ROWS):
                chunk = params[start:start + _INSERT_ROWS]
                cursor.execute(_INSERT_SQL + ", ".join([_INSERT_ROW] * len(chunk)),
                               [value for row in chunk for value in row])
        order = sorted(changes)  # one lock order for every writer: no deadlock
        cursor.executemany(_BALANCE_SQL, [(d, c, 0, 0, pk, c, d, 0, d, c, 0) for pk in order
                                          for d, c in (changes[pk],)])
        if cursor.rowcount != len(order):
            raise _LimitRefused(changes)
    return BulkResult(batch_id=batch_id, posted=len(rows), skipped=len(taken))
