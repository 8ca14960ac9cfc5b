"""Ledger reads: accounts, balances, transfers, statements, the trial balance and a full
verification of the denormalised balances against the transfers."""

from __future__ import annotations

from django.db.models import Count, Q, Sum

from onecity.core.errors import NotFound
from onecity.ledger.dto import (
    AccountDTO,
    BalanceMismatch,
    Statement,
    StatementLine,
    TransferDTO,
    TrialBalance,
    TrialBalanceLine,
    VerifyReport,
)
from onecity.ledger.enums import POSTING_KINDS, TransferKind
from onecity.ledger.models import Account, Transfer

BALANCE_FIELDS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")


def account_to_dto(account: Account) -> AccountDTO:
    flags = frozenset(name for name in ("debits_must_not_exceed_credits", "credits_must_not_exceed_debits")
                      if getattr(account, name))
    return AccountDTO(public_id=account.public_id, kind=account.kind, owner=account.owner, currency=account.currency,
                      normal_side=account.normal_side, flags=flags, debits_posted=account.debits_posted,
                      credits_posted=account.credits_posted, debits_pending=account.debits_pending,
                      credits_pending=account.credits_pending)


def transfer_to_dto(transfer: Transfer) -> TransferDTO:
    return TransferDTO(
        transfer_id=transfer.transfer_id, kind=str(transfer.kind), debit=transfer.debit_account.public_id,
        credit=transfer.credit_account.public_id, amount=transfer.amount, currency=transfer.currency,
        code=transfer.code, pending_id=transfer.pending.transfer_id if transfer.pending_id else None,
        reverses_id=transfer.reverses.transfer_id if transfer.reverses_id else None, batch_id=transfer.batch_id,
        memo=transfer.memo, metadata=transfer.metadata, actor=transfer.actor, created_at=transfer.created_at,
        expires_at=transfer.expires_at)


def _account(public_id: str) -> Account:
    account = Account.objects.filter(public_id=public_id).first()
    if account is None:
        raise NotFound()
    return account


def account_get(*, account_id: str) -> AccountDTO:
    """The account with its four balance totals (NotFound if there is none)."""
    return account_to_dto(_account(account_id))


def account_find(*, kind: str, owner: str, currency: str = "CNY") -> AccountDTO | None:
    account = Account.objects.filter(kind=kind, owner=owner, currency=currency).first()
    return account_to_dto(account) if account else None


def account_list_for_owner(*, owner: str) -> list[AccountDTO]:
    return [account_to_dto(a) for a in Account.objects.filter(owner=owner).order_by("kind", "currency")]


def account_balance(*, account_id: str) -> int:
    """Posted balance on the account's normal side, in fen."""
    return account_get(account_id=account_id).balance


def transfer_get(*, transfer_id: str) -> TransferDTO:
    transfer = (Transfer.objects.select_related("debit_account", "credit_account", "pending", "reverses")
                .filter(transfer_id=transfer_id).first())
    if transfer is None:
        raise NotFound()
    return transfer_to_dto(transfer)


def transfer_remaining(*, transfer_id: str) -> int:
    """What is left of a transfer: of a hold, the amount still held (0 once posted or voided);
    of a posted transfer, the amount not yet reversed."""
    transfer = Transfer.objects.filter(transfer_id=transfer_id).first()
    if transfer is None:
        raise NotFound()
    if transfer.kind == TransferKind.PENDING:
        return 0 if Transfer.objects.filter(pending=transfer).exists() else transfer.amount
    reversed_ = Transfer.objects.filter(reverses=transfer).aggregate(total=Sum("amount"))["total"] or 0
    return transfer.amount - reversed_


def account_statement(*, account_id: str, after_seq: int = 0, limit: int = 200) -> Statement:
    """Posted movements of the account in ledger order with the running balance (normal side),
    from the first line after `after_seq`, at most `limit` lines."""
    account = _account(account_id)
    sign = 1 if account.normal_side == "debit" else -1
    touching = Q(debit_account=account) | Q(credit_account=account)
    before = Transfer.objects.filter(touching, kind__in=POSTING_KINDS, pk__lte=after_seq).aggregate(
        debits=Sum("amount", filter=Q(debit_account=account)), credits=Sum("amount", filter=Q(credit_account=account)))
    opening = sign * ((before["debits"] or 0) - (before["credits"] or 0))
    balance = opening
    lines = []
    for t in (Transfer.objects.filter(touching, kind__in=POSTING_KINDS, pk__gt=after_seq).order_by("pk")[:limit]):
        debit = t.amount if t.debit_account_id == account.pk else 0
        credit = t.amount if t.credit_account_id == account.pk else 0
        balance += sign * (debit - credit)
        lines.append(StatementLine(seq=t.pk, transfer_id=t.transfer_id, kind=t.kind, code=t.code, memo=t.memo,
                                   created_at=t.created_at, debit=debit, credit=credit, balance=balance))
    return Statement(account=account_to_dto(account), opening_balance=opening, lines=lines, closing_balance=balance)


def ledger_trial_balance() -> TrialBalance:
    """Per currency, the sums of the four balance totals over all accounts: debits equal credits
    in a sound ledger, for posted and for pending balances."""
    rows = (Account.objects.values("currency").order_by("currency")
            .annotate(accounts=Count("id"), dp=Sum("debits_posted"), cp=Sum("credits_posted"),
                      dq=Sum("debits_pending"), cq=Sum("credits_pending")))
    return TrialBalance(lines=[TrialBalanceLine(currency=r["currency"], accounts=r["accounts"], debits_posted=r["dp"],
                                                credits_posted=r["cp"], debits_pending=r["dq"],
                                                credits_pending=r["cq"]) for r in rows])


def _recomputed() -> dict[int, dict[str, int]]:
    """Balance totals of every account recomputed from the transfers alone."""
    totals: dict[int, dict[str, int]] = {}

    def add(rows, field: str) -> None:
        for pk, amount in rows:
            totals.setdefault(pk, dict.fromkeys(BALANCE_FIELDS, 0))[field] += amount or 0

    posting = Transfer.objects.filter(kind__in=POSTING_KINDS)
    add(posting.values("debit_account").annotate(s=Sum("amount")).values_list("debit_account", "s"),
        "debits_posted")
    add(posting.values("credit_account").annotate(s=Sum("amount")).values_list("credit_account", "s"),
        "credits_posted")
    open_holds = Transfer.objects.filter(kind=TransferKind.PENDING, resolutions__isnull=True)
    add(open_holds.values("debit_account").annotate(s=Sum("amount")).values_list("debit_account", "s"),
        "debits_pending")
    add(open_holds.values("credit_account").annotate(s=Sum("amount")).values_list("credit_account", "s"),
        "credits_pending")
    return totals


def ledger_verify() -> VerifyReport:
    """Recompute every account's totals from the transfers and compare them with the stored ones."""
    recomputed = _recomputed()
    mismatches = []
    accounts = 0
    for account in Account.objects.order_by("pk").iterator():
        accounts += 1
        expected = recomputed.get(account.pk, dict.fromkeys(BALANCE_FIELDS, 0))
        for field in BALANCE_FIELDS:
            if getattr(account, field) != expected[field]:
                mismatches.append(BalanceMismatch(account=account.public_id, field=field,
                                                  stored=getattr(account, field), recomputed=expected[field]))
    return VerifyReport(accounts=accounts, transfers=Transfer.objects.count(), mismatches=mismatches,
                        trial_balance=ledger_trial_balance())
