"""Tables of 福码 payments: payee profiles, partner clients, bills and their events, import
batches, payment codes, payment attempts, channel notifications, refunds and API idempotency keys.

Organizations and people are referenced by string (`identity.Organization`,
settings.AUTH_USER_MODEL), the hotline's convention; this module imports nothing from identity.
Money is integer fen. The database holds the invariants (amounts positive, paid ≤ amount,
refunded ≤ paid, unique external references, trade numbers and idempotency keys); state
machines are in workflow.py and every write goes through services.py. Personal data of payers
who are not registered residents is stored encrypted (EncryptedTextField), found by keyed hash
(`*_hash`) and shown masked (`*_masked`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from onecity.core.fields import EncryptedTextField
from onecity.core.ids import new_public_id
from onecity.core.masking import mask_name
from onecity.payments.enums import (
    AttemptState,
    BillAction,
    BillKind,
    BillState,
    BreakKind,
    BreakResolution,
    BreakState,
    Channel,
    CodeKind,
    FailureCode,
    NotificationKind,
    NotificationResult,
    NotificationSource,
    RefundState,
    RunState,
    SettlementState,
)

ORG = "identity.Organization"
USER = settings.AUTH_USER_MODEL


class PayeeProfile(models.Model):
    """Payment settings of a payee unit (an identity Organization of kind `payee`)."""

    payee = models.OneToOneField(ORG, on_delete=models.PROTECT, related_name="payment_profile",
                                 verbose_name=_("payee unit"))
    is_enabled = models.BooleanField(_("accepts payments"), default=True)
    static_code_enabled = models.BooleanField(_("static code enabled"), default=True)
    settlement_account_name = models.CharField(_("settlement account name"), max_length=100, blank=True)
    settlement_account = EncryptedTextField(_("settlement account number"), blank=True)
    settlement_account_masked = models.CharField(_("settlement account"), max_length=32, blank=True)
    #: {"alipay": "2088…", "wechat": "1900…"}: the payee's merchant ids at each channel
    channel_merchant_ids = models.JSONField(_("channel merchant ids"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("payee profile")
        verbose_name_plural = _("payee profiles")

    def __str__(self) -> str:
        return str(self.payee)


class PartnerClient(models.Model):
    """A partner-API client (OAuth client-credentials `client_id`) acting for one payee unit."""

    client_id = models.CharField(_("client id"), max_length=100, unique=True)
    payee = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="+", verbose_name=_("payee unit"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("partner client")
        verbose_name_plural = _("partner clients")

    def __str__(self) -> str:
        return self.client_id


class BillBatch(models.Model):
    """One bulk import (CSV/XLSX): written only when every row was valid (all or nothing)."""

    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    payee = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="+", verbose_name=_("payee unit"))
    filename = models.CharField(_("file name"), max_length=200)
    file_sha256 = models.CharField(max_length=64)
    row_count = models.PositiveIntegerField(_("rows"))
    created_count = models.PositiveIntegerField(_("bills created"))
    total_fen = models.PositiveBigIntegerField(_("total"))
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("bill import")
        verbose_name_plural = _("bill imports")

    def __str__(self) -> str:
        return self.filename


class Bill(models.Model):
    """A bill (缴费单) a payee unit issued to a resident. States: workflow.py.

    The payer is a registered resident (`resident`), or a person named on the bill only
    (`payer_*`, encrypted; e.g. a pupil's guardian who has not registered yet), or both.
    """

    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    payee = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="+", verbose_name=_("payee unit"))
    resident = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="bills",
                                 verbose_name=_("resident"))
    payer_name = EncryptedTextField(_("payer name"), blank=True)
    payer_name_masked = models.CharField(_("payer"), max_length=40, blank=True)
    payer_id_number = EncryptedTextField(_("payer ID number"), blank=True)
    payer_id_number_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    payer_phone = EncryptedTextField(_("payer mobile number"), blank=True)
    payer_phone_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    payer_masked = models.CharField(_("payer number"), max_length=40, blank=True)  # 138****8000 / 3***X

    kind = models.CharField(_("kind"), max_length=16, choices=BillKind.choices)
    title = models.CharField(_("title"), max_length=120)
    description = models.CharField(_("details"), max_length=500, blank=True)
    amount_fen = models.PositiveBigIntegerField(_("amount (fen)"))
    paid_fen = models.PositiveBigIntegerField(_("paid (fen)"), default=0)
    refunded_fen = models.PositiveBigIntegerField(_("refunded (fen)"), default=0)
    due_date = models.DateField(_("due date"))
    allow_partial = models.BooleanField(_("part payments allowed"), default=False)
    min_partial_fen = models.PositiveBigIntegerField(_("smallest part payment (fen)"), default=0)
    state = models.CharField(_("state"), max_length=16, choices=BillState.choices, default=BillState.ISSUED,
                             db_index=True)
    external_ref = models.CharField(_("external reference"), max_length=64, blank=True)
    batch = models.ForeignKey(BillBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="bills",
                              verbose_name=_("import"))
    issued_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    issued_by_client = models.CharField(max_length=100, blank=True)  # partner-API client id
    issued_at = models.DateTimeField(_("issued at"), db_index=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(_("reason"), max_length=300, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("bill")
        verbose_name_plural = _("bills")
        indexes = [
            models.Index(fields=["payee", "state", "due_date"]),
            models.Index(fields=["payee", "-issued_at"]),
            models.Index(fields=["resident", "state"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="pay_bill_amount_positive"),
            models.CheckConstraint(condition=Q(paid_fen__lte=F("amount_fen")), name="pay_bill_paid_le_amount"),
            models.CheckConstraint(condition=Q(refunded_fen__lte=F("paid_fen")), name="pay_bill_refunded_le_paid"),
            models.CheckConstraint(condition=Q(min_partial_fen__lte=F("amount_fen")),
                                   name="pay_bill_min_partial_le_amount"),
            models.CheckConstraint(condition=~Q(state="paid") | Q(paid_fen=F("amount_fen")),
                                   name="pay_bill_paid_state_matches"),
            models.CheckConstraint(condition=~Q(state="cancelled") | Q(paid_fen=0),
                                   name="pay_bill_cancelled_unpaid"),
            models.CheckConstraint(condition=Q(resident__isnull=False) | ~Q(payer_name_masked=""),
                                   name="pay_bill_has_payer"),
            models.UniqueConstraint(fields=["payee", "external_ref"], condition=~Q(external_ref=""),
                                    name="pay_bill_external_ref_unique_per_payee"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def outstanding_fen(self) -> int:
        return self.amount_fen - self.paid_fen

    @property
    def payer_label(self) -> str:
        """Who pays, masked: the name on the bill, else the resident's display name."""
        return self.payer_name_masked or (mask_name(str(self.resident)) if self.resident_id else "")


class BillEvent(models.Model):
    """Append-only history of a bill: every transition with its actor and amount."""

    bill = models.ForeignKey(Bill, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=16, choices=BillAction.choices)
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16)
    amount_fen = models.BigIntegerField(default=0)
    actor = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    attempt = models.ForeignKey("PaymentAttempt", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.bill_id} {self.action}"


class PaymentCode(models.Model):
    """A 福码: a URL QR code on the platform's own domain. `static` belongs to a payee (the
    payer enters the amount) and does not expire; `dynamic` belongs to one bill, expires
    (`expires_at`) and is signed. The token in the URL is a django.core.signing value naming
    this row (`public_id`), signed under the key `key_id` (decision 0014)."""

    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    kind = models.CharField(_("kind"), max_length=8, choices=CodeKind.choices)
    payee = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="+", verbose_name=_("payee unit"))
    bill = models.ForeignKey(Bill, null=True, blank=True, on_delete=models.CASCADE, related_name="codes")
    key_id = models.CharField(max_length=16)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("payment code")
        verbose_name_plural = _("payment codes")
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="static") & Q(bill__isnull=True) & Q(expires_at__isnull=True))
                | (Q(kind="dynamic") & Q(bill__isnull=False) & Q(expires_at__isnull=False)),
                name="pay_code_kind_shape"),
            models.UniqueConstraint(fields=["payee"], condition=Q(kind="static") & Q(revoked_at__isnull=True),
                                    name="pay_code_one_static_per_payee"),
        ]

    def __str__(self) -> str:
        return self.public_id


class PaymentAttempt(models.Model):
    """One try to pay: a bill (or, through a static code, a payee directly) through a channel.
    States: workflow.py. `client_key` names who supplied `idempotency_key` (`user:<public id>`,
    `api:<client id>`, `code:<code public id>`); the pair is unique, and `request_hash`
    fingerprints what was asked, so a replay gets the same attempt and a different request with
    the same key is refused."""

    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    payee = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="+", verbose_name=_("payee unit"))
    bill = models.ForeignKey(Bill, null=True, blank=True, on_delete=models.PROTECT, related_name="attempts")
    code = models.ForeignKey(PaymentCode, null=True, blank=True, on_delete=models.PROTECT, related_name="attempts")
    payer = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    amount_fen = models.PositiveBigIntegerField(_("amount (fen)"))
    excess_fen = models.PositiveBigIntegerField(default=0)  # received but beyond what the bill was owed
    refunded_fen = models.PositiveBigIntegerField(default=0)
    state = models.CharField(_("state"), max_length=16, choices=AttemptState.choices, default=AttemptState.CREATED,
                             db_index=True)
    failure_code = models.CharField(_("failure"), max_length=24, choices=FailureCode.choices, blank=True)
    failure_detail = models.CharField(max_length=300, blank=True)  # the channel's own code/message, masked
    channel_trade_no = models.CharField(_("channel trade number"), max_length=64, blank=True)
    payer_account_masked = models.CharField(_("payer account"), max_length=40, blank=True)
    #: the furthest trade state a verified channel notification reported (channels.PaymentStatus)
    channel_status = models.CharField(max_length=16, blank=True)
    client_key = models.CharField(max_length=120)
    idempotency_key = models.CharField(max_length=64)
    request_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("payment attempt")
        verbose_name_plural = _("payment attempts")
        indexes = [
            models.Index(fields=["payee", "state", "finished_at"]),
            models.Index(fields=["bill", "state"]),
            models.Index(fields=["state", "expires_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="pay_attempt_amount_positive"),
            models.CheckConstraint(condition=Q(excess_fen__lte=F("amount_fen")), name="pay_attempt_excess_le_amount"),
            models.CheckConstraint(condition=Q(refunded_fen__lte=F("amount_fen")),
                                   name="pay_attempt_refunded_le_amount"),
            models.CheckConstraint(condition=Q(state__in=["failed", "cancelled", "expired"]) | Q(failure_code=""),
                                   name="pay_attempt_failure_code_only_when_unsuccessful"),
            models.UniqueConstraint(fields=["client_key", "idempotency_key"], name="pay_attempt_idempotency_unique"),
            models.UniqueConstraint(fields=["channel", "channel_trade_no"], condition=~Q(channel_trade_no=""),
                                    name="pay_attempt_trade_no_unique_per_channel"),
            models.UniqueConstraint(fields=["bill"], condition=Q(state__in=["created", "pending"]),
                                    name="pay_attempt_one_open_per_bill"),
        ]

    def __str__(self) -> str:
        return self.public_id


class ChannelNotification(models.Model):
    """A notification (callback) from a payment channel, stored raw before anything is done
    with it, then marked with the outcome of verification and processing. A channel's answer to
    our trade query is stored and processed the same way (`source` = query). Once verified, the
    trade it reports is copied out (`dedupe_key`, `status`, `out_trade_no`, `amount_fen`,
    `channel_trade_no`, `paid_at`, `payer_account_masked`: what the applier needs, so that it does
    not verify the stored bytes again); one processed row per dedupe key (constraint):
    redeliveries become `duplicate`. A refund notification is `kind` refund (the applier reads
    it from the stored bytes again); one of our refunds' names the `refund`, and its `status` and
    `amount_fen` are the refund's (channels.RefundStatus, the refunded amount)."""

    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    source = models.CharField(max_length=8, choices=NotificationSource.choices, default=NotificationSource.NOTIFY)
    kind = models.CharField(max_length=8, choices=NotificationKind.choices, default=NotificationKind.PAYMENT)
    dedupe_key = models.CharField(max_length=140, blank=True, db_index=True)
    status = models.CharField(max_length=16, blank=True)  # channels.PaymentStatus once verified
    out_trade_no = models.CharField(max_length=64, blank=True)
    amount_fen = models.BigIntegerField(null=True, blank=True)
    headers = models.JSONField(default=dict)
    body = models.TextField()
    # body_sha256 and received_at have no index of their own (migration 0008): no query looks a
    # notification up by them, and every index is paid for by each notification's INSERT
    body_sha256 = models.CharField(max_length=64)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    received_at = models.DateTimeField()
    verified = models.BooleanField(null=True)  # None: not checked yet
    result = models.CharField(max_length=16, choices=NotificationResult.choices, default=NotificationResult.RECEIVED)
    result_detail = models.CharField(max_length=300, blank=True)
    channel_trade_no = models.CharField(max_length=64, blank=True, db_index=True)
    paid_at = models.DateTimeField(null=True, blank=True)  # when the payer paid, as the channel says
    payer_account_masked = models.CharField(max_length=40, blank=True)
    attempt = models.ForeignKey(PaymentAttempt, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="notifications")
    refund = models.ForeignKey("Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="notifications")
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("channel notification")
        verbose_name_plural = _("channel notifications")
        indexes = [models.Index(fields=["result", "received_at"])]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], condition=Q(result="processed"),
                                    name="pay_notification_processed_once"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.received_at:%Y-%m-%d %H:%M:%S}"


class Refund(models.Model):
    """Money given back from a succeeded attempt. States: workflow.py. Requested by a payee
    cashier, approved by another person (constraint), then sent to the channel; a channel that
    answers "result later" leaves it `processing` (since `processing_at`) until its refund
    notification or the refund query says how it ended."""

    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    attempt = models.ForeignKey(PaymentAttempt, on_delete=models.PROTECT, related_name="refunds")
    bill = models.ForeignKey(Bill, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds")
    payee = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="+")
    amount_fen = models.PositiveBigIntegerField(_("amount (fen)"))
    reason = models.CharField(_("reason"), max_length=300)
    state = models.CharField(_("state"), max_length=16, choices=RefundState.choices, default=RefundState.REQUESTED,
                             db_index=True)
    requested_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)
    channel_refund_no = models.CharField(max_length=64, blank=True)
    failure_code = models.CharField(max_length=24, blank=True)
    idempotency_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_index=True)
    processing_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="pay_refund_amount_positive"),
            models.CheckConstraint(condition=Q(approved_by__isnull=True) | Q(requested_by__isnull=True)
                                   | ~Q(approved_by=F("requested_by")), name="pay_refund_four_eyes"),
            models.UniqueConstraint(fields=["attempt", "idempotency_key"], name="pay_refund_idempotency_unique"),
            models.UniqueConstraint(fields=["attempt", "channel_refund_no"], condition=~Q(channel_refund_no=""),
                                    name="pay_refund_channel_no_unique"),
            models.CheckConstraint(condition=~Q(state="processing") | Q(processing_at__isnull=False),
                                   name="pay_refund_processing_since"),
        ]

    def __str__(self) -> str:
        return self.public_id


class IdempotencyKey(models.Model):
    """An `Idempotency-Key` a partner used for a create call: the same key and the same request
    body give back the same object; the same key with a different body is refused."""

    client_key = models.CharField(max_length=120)
    operation = models.CharField(max_length=32)
    key = models.CharField(max_length=64)
    request_hash = models.CharField(max_length=64)
    object_id = models.CharField(max_length=26)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client_key", "operation", "key"], name="pay_idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.key}"


class ReconciliationRun(models.Model):
    """One channel's daily statement matched against our side (decision 0020). Re-importing the
    same file (channel, day, SHA-256) gives back this run; a different file for the same day is
    a new run. `pending_statement` / `pending_ours` hold the rows carried to the next day's run
    (the engine's input schemas, times in ISO 8601)."""

    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    day = models.DateField(_("statement day"))
    filename = models.CharField(_("file name"), max_length=200)
    file_sha256 = models.CharField(max_length=64)
    state = models.CharField(_("state"), max_length=16, choices=RunState.choices, default=RunState.RUNNING)
    statement_rows = models.PositiveIntegerField(_("statement rows"), default=0)
    ours_rows = models.PositiveIntegerField(_("our rows"), default=0)
    matched_count = models.PositiveIntegerField(_("matched"), default=0)
    pending_count = models.PositiveIntegerField(_("carried to the next day"), default=0)
    break_count = models.PositiveIntegerField(_("breaks"), default=0)
    #: the engine's summary: {"matched": Totals, "pending": Totals, "breaks": {kind: Totals}}
    summary = models.JSONField(default=dict)
    pending_statement = models.JSONField(default=list)
    pending_ours = models.JSONField(default=list)
    carried_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-day", "channel", "-created_at", "-id"]
        verbose_name = _("reconciliation run")
        verbose_name_plural = _("reconciliation runs")
        constraints = [
            models.UniqueConstraint(fields=["channel", "day", "file_sha256"], name="pay_recon_run_file_once"),
            models.CheckConstraint(condition=Q(pending_count__lte=F("statement_rows") + F("ours_rows")),
                                   name="pay_recon_run_pending_le_rows"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.day}"


class ReconciliationBreak(models.Model):
    """One break of a run, worked to resolution: open → investigating → resolved (accepted, or
    matched later), or → pending_approval (an adjustment proposed) → resolved (adjusted with the
    ledger transfer `recon:<public id>`, approved by someone other than the proposer) or back to
    investigating (rejected or withdrawn)."""

    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, related_name="breaks")
    kind = models.CharField(_("kind"), max_length=16, choices=BreakKind.choices)
    side = models.CharField(_("side"), max_length=16)
    key = models.CharField(max_length=140)
    trade_no = models.CharField(_("channel trade number"), max_length=64)
    refund_no = models.CharField(max_length=64, blank=True)
    out_trade_no = models.CharField(_("order number"), max_length=64, blank=True)
    txn_kind = models.CharField(max_length=8)
    statement_amount_fen = models.BigIntegerField(null=True, blank=True)
    ours_amount_fen = models.BigIntegerField(null=True, blank=True)
    statement_fee_fen = models.BigIntegerField(null=True, blank=True)
    ours_fee_fen = models.BigIntegerField(null=True, blank=True)
    difference_fen = models.BigIntegerField(_("difference (fen)"))
    statement_occurred_at = models.DateTimeField(null=True, blank=True)
    ours_occurred_at = models.DateTimeField(null=True, blank=True)
    our_id = models.CharField(max_length=64, blank=True)
    carried = models.BooleanField(default=False)
    state = models.CharField(_("state"), max_length=16, choices=BreakState.choices, default=BreakState.OPEN,
                             db_index=True)
    resolution = models.CharField(_("resolution"), max_length=16, choices=BreakResolution.choices, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    adjustment_fen = models.BigIntegerField(null=True, blank=True)
    transfer_id = models.CharField(max_length=64, blank=True)
    proposed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "id"]
        verbose_name = _("reconciliation break")
        verbose_name_plural = _("reconciliation breaks")
        constraints = [
            models.CheckConstraint(condition=Q(state="resolved", resolved_at__isnull=False) & ~Q(resolution="")
                                   | ~Q(state="resolved") & Q(resolution="", resolved_at__isnull=True),
                                   name="pay_recon_break_resolution_when_resolved"),
            models.CheckConstraint(condition=~Q(resolution="adjusted") | (~Q(transfer_id="")
                                                                          & Q(adjustment_fen__isnull=False)
                                                                          & ~Q(adjustment_fen=0)),
                                   name="pay_recon_break_adjusted_has_transfer"),
            models.CheckConstraint(condition=Q(resolution="adjusted") | Q(transfer_id="") & (
                Q(adjustment_fen__isnull=True) | Q(state="pending_approval")),
                name="pay_recon_break_transfer_only_when_adjusted"),
            models.CheckConstraint(condition=~Q(state="pending_approval") | (
                Q(adjustment_fen__isnull=False) & ~Q(adjustment_fen=0) & Q(proposed_by__isnull=False)
                & Q(proposed_at__isnull=False)), name="pay_recon_break_proposal_complete"),
            # four eyes: an adjustment is approved by someone other than its proposer (breaks
            # adjusted before proposals existed have no proposer)
            models.CheckConstraint(condition=~Q(resolution="adjusted") | Q(proposed_by__isnull=True)
                                   | ~Q(proposed_by=F("resolved_by")), name="pay_recon_break_four_eyes"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class Settlement(models.Model):
    """T+1 settlement of one payee's day D (decision 0020): gross collected, channel fees,
    refunds, net (negative: refunds exceeded the day's collections). A deficit is carried
    forward: the payee's next settlements pay out their net less what it still owes
    (payout = net − carried in + carried out, and a settlement either pays out or carries).
    Posted to the ledger as the transfers in `transfer_ids`; the statement files are kept as
    generated (their SHA-256 beside them)."""

    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    payee = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="+", verbose_name=_("payee unit"))
    day = models.DateField(_("business day"))
    payment_count = models.PositiveIntegerField(_("payments"))
    refund_count = models.PositiveIntegerField(_("refunds"))
    gross_fen = models.PositiveBigIntegerField(_("gross"))
    fees_fen = models.PositiveBigIntegerField(_("fees"))
    refunds_fen = models.PositiveBigIntegerField(_("refunds"))
    net_fen = models.BigIntegerField(_("net"))
    carried_in_fen = models.PositiveBigIntegerField(_("deficit carried in"), default=0)
    # what went to the payee's bank account; negative only on settlements made before deficits
    # were carried forward (payments 0006), when the payee paid a deficit in
    payout_fen = models.BigIntegerField(_("paid out"), default=0)
    carried_out_fen = models.PositiveBigIntegerField(_("deficit carried forward"), default=0)
    state = models.CharField(_("state"), max_length=16, choices=SettlementState.choices)
    transfer_ids = models.JSONField(default=list)
    statement_csv = models.BinaryField()
    statement_csv_sha256 = models.CharField(max_length=64)
    statement_xlsx = models.BinaryField()
    statement_xlsx_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-day", "payee_id"]
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")
        constraints = [
            models.UniqueConstraint(fields=["payee", "day"], name="pay_settlement_once_per_payee_day"),
            models.CheckConstraint(condition=Q(net_fen=F("gross_fen") - F("fees_fen") - F("refunds_fen")),
                                   name="pay_settlement_net_is_gross_less_fees_and_refunds"),
            models.CheckConstraint(condition=Q(fees_fen__lte=F("gross_fen")), name="pay_settlement_fees_le_gross"),
            models.CheckConstraint(condition=Q(state="settled", net_fen__gte=0) | Q(state="deficit", net_fen__lt=0),
                                   name="pay_settlement_state_matches_net"),
            models.CheckConstraint(
                condition=Q(payout_fen=F("net_fen") - F("carried_in_fen") + F("carried_out_fen")),
                name="pay_settlement_payout_is_net_less_carried"),
            models.CheckConstraint(condition=Q(payout_fen__lte=0) | Q(carried_out_fen=0),
                                   name="pay_settlement_pays_out_or_carries"),
        ]

    def __str__(self) -> str:
        return f"{self.payee_id} {self.day}"


class DeficitRecovery(models.Model):
    """A payee paid back what its settlements carried forward (decision 0020): money into the
    platform's settlement bank account, recorded by the platform's finance staff with the bank's
    reference. Posted as the ledger transfer `recover:<public id>` (settlement bank → payee
    payable) and taken off what the payee's latest settlement (`settlement`, locked while
    recording) carried forward, so the next settlement carries in only the rest."""

    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    payee = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="+", verbose_name=_("payee unit"))
    settlement = models.ForeignKey(Settlement, on_delete=models.PROTECT, related_name="recoveries")
    amount_fen = models.PositiveBigIntegerField(_("amount"))
    bank_reference = models.CharField(_("bank reference"), max_length=64)
    note = models.CharField(_("note"), max_length=300, blank=True)
    transfer_id = models.CharField(max_length=64)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("deficit repayment")
        verbose_name_plural = _("deficit repayments")
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="pay_recovery_amount_positive"),
            models.UniqueConstraint(fields=["payee", "bank_reference"], name="pay_recovery_reference_once"),
        ]

    def __str__(self) -> str:
        return f"{self.payee_id} {self.amount_fen} {self.bank_reference}"


class DeficitNotice(models.Model):
    """A collection notice (催缴通知) sent to a payee's cashiers about what it owes: at most one per
    payee a day (decision 0020)."""

    payee = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="+", verbose_name=_("payee unit"))
    settlement = models.ForeignKey(Settlement, on_delete=models.PROTECT, related_name="notices")
    owed_fen = models.PositiveBigIntegerField(_("owed"))
    recipients = models.PositiveSmallIntegerField()
    sent_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = _("collection notice")
        verbose_name_plural = _("collection notices")

    def __str__(self) -> str:
        return f"{self.payee_id} {self.owed_fen} {self.sent_at:%Y-%m-%d}"
