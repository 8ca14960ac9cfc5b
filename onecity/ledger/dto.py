"""Typed values that cross the ledger's boundary. Accounts are named by their public id,
transfers by their client-supplied transfer id; amounts are integer fen."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class AccountDTO:
    public_id: str
    kind: str
    owner: str
    currency: str
    normal_side: str  # "debit" or "credit"
    flags: frozenset[str]
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    @property
    def balance(self) -> int:
        """Posted balance on the account's normal side (positive when it holds what it should)."""
        if self.normal_side == "debit":
            return self.debits_posted - self.credits_posted
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        """Normal-side balance less the holds that would reduce it."""
        if self.normal_side == "debit":
            return self.debits_posted - self.credits_posted - self.credits_pending
        return self.credits_posted - self.debits_posted - self.debits_pending


@dataclass(frozen=True, slots=True)
class TransferDTO:
    transfer_id: str
    kind: str
    debit: str  # account public id
    credit: str  # account public id
    amount: int
    currency: str
    code: str
    pending_id: str | None
    reverses_id: str | None
    batch_id: str
    memo: str
    metadata: dict[str, Any]
    actor: str
    created_at: dt.datetime
    expires_at: dt.datetime | None = None  # a hold's deadline


@dataclass(frozen=True, slots=True)
class TransferRow:
    """One row of a bulk posting (a single-phase transfer)."""

    transfer_id: str
    debit: str  # account public id
    credit: str  # account public id
    amount: int
    code: str
    memo: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BulkResult:
    batch_id: str
    posted: int  # rows inserted by this call
    skipped: int  # rows already posted with the same fields (retries)


@dataclass(frozen=True, slots=True)
class StatementLine:
    seq: int  # position in the ledger; pass the last one as `after_seq` for the next page
    transfer_id: str
    kind: str
    code: str
    memo: str
    created_at: dt.datetime
    debit: int  # fen debited to this account by this transfer (0 if credited)
    credit: int
    balance: int  # posted balance on the normal side after this line


@dataclass(frozen=True, slots=True)
class Statement:
    account: AccountDTO
    opening_balance: int
    lines: list[StatementLine]
    closing_balance: int


@dataclass(frozen=True, slots=True)
class TrialBalanceLine:
    currency: str
    accounts: int
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    @property
    def balanced(self) -> bool:
        return self.debits_posted == self.credits_posted and self.debits_pending == self.credits_pending


@dataclass(frozen=True, slots=True)
class TrialBalance:
    lines: list[TrialBalanceLine]

    @property
    def balanced(self) -> bool:
        return all(line.balanced for line in self.lines)


@dataclass(frozen=True, slots=True)
class BalanceMismatch:
    account: str  # public id
    field: str  # debits_posted, credits_posted, debits_pending or credits_pending
    stored: int
    recomputed: int


@dataclass(frozen=True, slots=True)
class VerifyReport:
    accounts: int
    transfers: int
    mismatches: list[BalanceMismatch]
    trial_balance: TrialBalance

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.trial_balance.balanced
