"""Choices of the payments app: bill kinds and states, channels, payment-attempt, refund, code,
batch and channel-notification states. Values are stable API strings; labels are translated."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class BillKind(models.TextChoices):
    TUITION = "tuition", _("Tuition")
    BOARDING = "boarding", _("Boarding fee")
    HOSPITAL = "hospital", _("Hospital fee")
    FINE = "fine", _("Fine")
    UTILITY = "utility", _("Utilities")
    PARKING = "parking", _("Parking")
    OTHER = "other", pgettext_lazy("bill kind", "Other")


class BillState(models.TextChoices):
    ISSUED = "issued", pgettext_lazy("bill", "Due")
    PARTIALLY_PAID = "partially_paid", _("Partly paid")
    OVERDUE = "overdue", _("Overdue")
    PAID = "paid", _("Paid")
    CANCELLED = "cancelled", pgettext_lazy("bill", "Cancelled")
    REFUNDED = "refunded", _("Refunded")


class BillAction(models.TextChoices):
    ISSUE = "issue", _("Issued")
    PAY_PART = "pay_part", _("Part payment received")
    PAY_FULL = "pay_full", _("Paid in full")
    OVERDUE = "overdue", _("Became overdue")
    CANCEL = "cancel", _("Cancelled by the payee")
    REFUND_PART = "refund_part", _("Part refunded")
    REFUND_FULL = "refund_full", _("Refunded in full")


class Channel(models.TextChoices):
    """Where a payment is made. `city_wallet` is the e福州 app's own wallet."""

    ALIPAY = "alipay", _("Alipay")
    WECHAT = "wechat", pgettext_lazy("payment channel", "WeChat Pay")
    UNIONPAY = "unionpay", _("UnionPay")
    CITY_WALLET = "city_wallet", _("e-Fuzhou wallet")


class AttemptState(models.TextChoices):
    CREATED = "created", pgettext_lazy("payment attempt", "Created")
    PENDING = "pending", _("Waiting for the payment app")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", pgettext_lazy("payment", "Failed")
    CANCELLED = "cancelled", pgettext_lazy("payment attempt", "Cancelled")
    EXPIRED = "expired", _("Expired")


class FailureCode(models.TextChoices):
    """Why an attempt did not succeed (stable codes; channels' own codes map onto these)."""

    DECLINED = "declined", _("The payment app declined the payment.")
    INSUFFICIENT_FUNDS = "insufficient_funds", _("There was not enough money in the account.")
    PAYER_CANCELLED = "payer_cancelled", _("The payer cancelled the payment.")
    SUPERSEDED = "superseded", _("A newer payment attempt replaced this one.")
    TIMEOUT = "timeout", _("The payment was not completed in time.")
    BILL_CLOSED = "bill_closed", _("The bill was cancelled or already paid.")
    CHANNEL_ERROR = "channel_error", _("The payment app reported an error.")
    AMOUNT_MISMATCH = "amount_mismatch", _("The payment app reported a different amount.")


class RefundState(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    PROCESSING = "processing", pgettext_lazy("refund", "Processing at the channel")
    REJECTED = "rejected", _("Rejected")
    SUCCEEDED = "succeeded", _("Refunded")
    FAILED = "failed", pgettext_lazy("payment", "Failed")


class CodeKind(models.TextChoices):
    STATIC = "static", _("Static payee code")
    DYNAMIC = "dynamic", _("Dynamic bill code")


class NotificationResult(models.TextChoices):
    RECEIVED = "received", _("Received, not processed yet")
    PROCESSED = "processed", _("Processed")
    DUPLICATE = "duplicate", _("Duplicate, already processed")
    REJECTED = "rejected", _("Signature did not verify")
    OUT_OF_ORDER = "out_of_order", _("Older than what was already applied, not applied")
    AMOUNT_MISMATCH = "amount_mismatch", _("Amount did not match, not applied")
    ERROR = "error", _("Could not be processed")


class NotificationKind(models.TextChoices):
    PAYMENT = "payment", pgettext_lazy("notification kind", "Payment")
    REFUND = "refund", pgettext_lazy("notification kind", "Refund")


class NotificationSource(models.TextChoices):
    NOTIFY = "notify", _("Sent by the channel")
    QUERY = "query", _("Answer to our query")


class ScanApp(models.TextChoices):
    """The app that opened a 福码 URL, told apart by its User-Agent (decision 0014)."""

    ALIPAY = "alipay", _("Alipay")
    WECHAT = "wechat", pgettext_lazy("scanning app", "WeChat")
    UNIONPAY = "unionpay", _("UnionPay")
    CITY_APP = "city_app", _("e-Fuzhou app")
    BROWSER = "browser", _("Web browser")


class RunState(models.TextChoices):
    """A reconciliation run (decision 0020)."""

    RUNNING = "running", _("Running")
    DONE = "done", _("Reconciled")
    FAILED = "failed", pgettext_lazy("reconciliation run", "Failed")


class BreakKind(models.TextChoices):
    """What a reconciliation break is (the engine's reconciliation.BreakKind values)."""

    MISSING_HERE = "missing_here", _("On the channel, not here")
    MISSING_THERE = "missing_there", _("Here, not on the channel")
    AMOUNT_MISMATCH = "amount_mismatch", _("Amount differs")
    FEE_MISMATCH = "fee_mismatch", _("Fee differs")
    DUPLICATE = "duplicate", _("Duplicate")


class BreakState(models.TextChoices):
    OPEN = "open", pgettext_lazy("reconciliation break", "Open")
    INVESTIGATING = "investigating", _("Under investigation")
    PENDING_APPROVAL = "pending_approval", _("Adjustment awaiting approval")
    RESOLVED = "resolved", _("Resolved")


class BreakResolution(models.TextChoices):
    ADJUSTED = "adjusted", _("Adjusted with a ledger transfer")
    ACCEPTED = "accepted", _("Accepted as it is")
    MATCHED_LATER = "matched_later", _("Matched later")


class SettlementState(models.TextChoices):
    SETTLED = "settled", _("Settled")
    DEFICIT = "deficit", _("Refunds exceeded collections: carried to the next payout")
