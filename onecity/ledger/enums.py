"""Ledger enums: account kinds (with their normal side and default limits) and transfer kinds."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Side(models.TextChoices):
    DEBIT = "debit", _("Debit")
    CREDIT = "credit", _("Credit")


class AccountKind(models.TextChoices):
    """What an account holds. The owner reference says whose it is ("org:<public_id>",
    "user:<public_id>", "channel:<code>", "bank:<code>", "platform")."""

    PAYEE_PAYABLE = "payee_payable", _("Payee payable")  # collected for a payee, not yet settled
    CHANNEL_CLEARING = "channel_clearing", _("Channel clearing")  # due from a payment channel
    SETTLEMENT_BANK = "settlement_bank", _("Settlement bank")  # the platform's bank account
    FEE_INCOME = "fee_income", _("Fee income")
    CHANNEL_FEE_EXPENSE = "channel_fee_expense", _("Channel fee expense")
    RESIDENT_WALLET = "resident_wallet", _("Resident wallet")  # owed to a resident
    CREDIT_RECEIVABLE = "credit_receivable", _("Credit receivable")  # pay-later owed by a resident
    SUSPENSE = "suspense", _("Suspense")  # unmatched money awaiting investigation


#: The side on which each kind's balance is normally positive (assets and expenses: debit;
#: liabilities and income: credit).
NORMAL_SIDE: dict[str, str] = {
    AccountKind.PAYEE_PAYABLE: Side.CREDIT,
    AccountKind.CHANNEL_CLEARING: Side.DEBIT,
    AccountKind.SETTLEMENT_BANK: Side.DEBIT,
    AccountKind.FEE_INCOME: Side.CREDIT,
    AccountKind.CHANNEL_FEE_EXPENSE: Side.DEBIT,
    AccountKind.RESIDENT_WALLET: Side.CREDIT,
    AccountKind.CREDIT_RECEIVABLE: Side.DEBIT,
    AccountKind.SUSPENSE: Side.DEBIT,
}

#: Default limits per kind: a wallet never goes below zero; a receivable is never repaid beyond
#: what is owed. A payee's payable has no limit: a refund of a payment already settled to the
#: payee takes it below zero (the payee owes the platform until its next settlement nets it off,
#: decision 0020), and the channel has returned the money by then, so the ledger must record it.
DEFAULT_FLAGS: dict[str, frozenset[str]] = {
    AccountKind.RESIDENT_WALLET: frozenset({"debits_must_not_exceed_credits"}),
    AccountKind.CREDIT_RECEIVABLE: frozenset({"credits_must_not_exceed_debits"}),
}

ACCOUNT_FLAGS = frozenset({"debits_must_not_exceed_credits", "credits_must_not_exceed_debits"})


class TransferKind(models.TextChoices):
    POSTED = "posted", _("Posted")  # single-phase: moves posted balances at once
    PENDING = "pending", pgettext_lazy("ledger transfer kind", "Pending")  # phase one: a hold on pending balances
    POST_PENDING = "post_pending", _("Pending posted")  # phase two: posts (part of) a hold
    VOID_PENDING = "void_pending", _("Pending voided")  # phase two: releases a hold
    REVERSAL = "reversal", _("Reversal")  # the only correction: the opposite movement


#: Kinds that move posted balances (a pending transfer and its void move only pending ones).
POSTING_KINDS = frozenset({TransferKind.POSTED, TransferKind.POST_PENDING, TransferKind.REVERSAL})
#: Kinds a reversal may undo.
REVERSIBLE_KINDS = frozenset({TransferKind.POSTED, TransferKind.POST_PENDING})
