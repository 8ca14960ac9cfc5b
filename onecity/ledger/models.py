"""Ledger tables. Money moves only by inserting transfers; a transfer never changes.

A transfer is one row: it debits one account and credits another by the same amount, so every
transaction balances by construction (TigerBeetle's design). The database adds the rest: amount
> 0, two different accounts of one currency, the shape of each kind, one resolution per pending
transfer, no UPDATE or DELETE of a transfer (triggers, migration 0002), no balance below a
limit (CHECK constraints on the account row). Account balances are denormalised and updated in
the same transaction as the transfers, by conditional UPDATEs only (services.py).
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from onecity.core.ids import new_public_id
from onecity.ledger.enums import AccountKind, Side, TransferKind


class Account(models.Model):
    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    kind = models.CharField(_("kind"), max_length=32, choices=AccountKind.choices)
    owner = models.CharField(_("owner"), max_length=80, help_text=_('Opaque reference, e.g. "org:<public id>".'))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    normal_side = models.CharField(_("normal side"), max_length=6, choices=Side.choices)
    debits_must_not_exceed_credits = models.BooleanField(default=False)
    credits_must_not_exceed_debits = models.BooleanField(default=False)
    debits_posted = models.BigIntegerField(default=0)
    credits_posted = models.BigIntegerField(default=0)
    debits_pending = models.BigIntegerField(default=0)
    credits_pending = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        constraints = [
            models.UniqueConstraint(fields=["kind", "owner", "currency"], name="ledger_account_kind_owner_currency"),
            models.CheckConstraint(
                condition=Q(debits_posted__gte=0, credits_posted__gte=0, debits_pending__gte=0, credits_pending__gte=0),
                name="ledger_account_totals_not_negative"),
            models.CheckConstraint(
                condition=Q(debits_must_not_exceed_credits=False)
                | Q(credits_posted__gte=F("debits_posted") + F("debits_pending")),
                name="ledger_account_debits_within_credits"),
            models.CheckConstraint(
                condition=Q(credits_must_not_exceed_debits=False)
                | Q(debits_posted__gte=F("credits_posted") + F("credits_pending")),
                name="ledger_account_credits_within_debits"),
            models.CheckConstraint(condition=Q(normal_side__in=Side.values), name="ledger_account_normal_side"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.owner} {self.currency}"


class Transfer(models.Model):
    transfer_id = models.CharField(_("transfer id"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=TransferKind.choices)
    # The database keys for these two are (account, currency) pairs (migrations 0002/0003): one
    # check gives both the account's existence and the currency, which halves the per-row cost.
    debit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    credit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    amount = models.BigIntegerField(_("amount (fen)"))
    currency = models.CharField(max_length=3, default="CNY")
    code = models.CharField(_("code"), max_length=32, help_text=_("Why the money moved, e.g. bill_payment."))
    pending = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, db_index=False,
                                related_name="resolutions")
    reverses = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, db_index=False,
                                 related_name="reversals")
    batch_id = models.CharField(max_length=64, blank=True, default="")
    memo = models.CharField(max_length=200, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    actor = models.CharField(max_length=80, blank=True, default="")
    created_at = models.DateTimeField()
    # A hold's deadline: `pendings_void_expired` voids the holds past it (TigerBeetle's timeout).
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("ledger transfer")
        verbose_name_plural = _("ledger transfers")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_transfer_amount_positive"),
            models.CheckConstraint(condition=~Q(debit_account=F("credit_account")), name="ledger_transfer_two_accounts"),
            models.CheckConstraint(
                condition=(Q(kind__in=[TransferKind.POSTED, TransferKind.PENDING], pending__isnull=True,
                             reverses__isnull=True)
                           | Q(kind__in=[TransferKind.POST_PENDING, TransferKind.VOID_PENDING], pending__isnull=False,
                               reverses__isnull=True)
                           | Q(kind=TransferKind.REVERSAL, pending__isnull=True, reverses__isnull=False)),
                name="ledger_transfer_kind_shape"),
            # A hold is resolved (posted or voided) at most once, even by racing callers.
            models.UniqueConstraint(fields=["pending"], condition=Q(pending__isnull=False),
                                    name="ledger_transfer_pending_resolved_once"),
        ]
        indexes = [models.Index(fields=["reverses"], condition=Q(reverses__isnull=False),
                                name="ledger_transfer_reverses"),
                   models.Index(fields=["expires_at"], condition=Q(expires_at__isnull=False),
                                name="ledger_transfer_expires_at")]

    def __str__(self) -> str:
        return self.transfer_id
