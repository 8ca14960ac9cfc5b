"""What every channel adapter returns: typed notifications and statement rows, and the rules
that do not depend on a channel (amounts in fen, freshness, duplicates, delivery order).

Storage is not here: replay and duplicate detection need a table (the payments app's
notification model keeps `dedupe_key()` under a unique constraint); this module gives the
pure parts so that every channel's notification reduces to the same `ChannelNotification`.
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core.errors import ApplicationError
from onecity.core.masking import mask_card, mask_phone
from onecity.core.money import fen_text

CHINA = ZoneInfo("Asia/Shanghai")
FRESHNESS = timedelta(minutes=5)


class Channel(enum.StrEnum):
    WALLET = "wallet"
    ALIPAY = "alipay"
    WECHAT = "wechat"
    UNIONPAY = "unionpay"


class PaymentStatus(enum.StrEnum):
    """A channel's trade state, reduced to what the city's bill needs."""

    PENDING = "pending"    # created, the payer has not paid yet
    PAID = "paid"
    FAILED = "failed"      # the payer's attempt failed; the trade may still be paid later
    CLOSED = "closed"      # closed unpaid (timeout, cancelled)
    REFUNDED = "refunded"  # paid, then (partly or wholly) refunded


class RefundStatus(enum.StrEnum):
    """A channel's refund state, reduced (WeChat Pay's SUCCESS / PROCESSING / ABNORMAL / CLOSED)."""

    SUCCEEDED = "succeeded"
    PROCESSING = "processing"  # accepted; the result comes later (a refund notification, a query)
    ABNORMAL = "abnormal"      # did not reach the payer's account (a closed card): not refunded
    CLOSED = "closed"          # closed by the channel without paying it out: not refunded


@dataclass(frozen=True)
class RefundNotice:
    """What a refund notification says about one refund (amount in fen)."""

    out_refund_no: str  # ours: the refund's public id
    refund_no: str      # the channel's refund number
    amount_fen: int
    status: RefundStatus


# A notification moves a trade forward only: a "paid" that arrives after "refunded" (the
# channels retry for hours, and retries overtake each other) is old news and is not applied.
_RANK = {PaymentStatus.PENDING: 0, PaymentStatus.FAILED: 1, PaymentStatus.CLOSED: 2, PaymentStatus.PAID: 2,
         PaymentStatus.REFUNDED: 3}


class ChannelError(ApplicationError):
    """A notification or statement that must not be trusted; the message says why.

    Codes: bad_signature, unknown_key, bad_certificate, stale, decrypt_failed, malformed,
    bad_amount, wrong_merchant, amount_mismatch, statement_mismatch.
    """


def mask_payer(value: str | None) -> str:
    """Mobile numbers keep 3 + 4 digits, card numbers their last four, any other payer id
    (openid, Alipay buyer id) its first and last character around four stars, whatever its
    length (a 28-character openid would otherwise widen every table and tell its length)."""
    if not value:
        return ""
    if re.fullmatch(r"1[3-9][0-9]{9}", value):  # a mobile number (wallet accounts)
        return mask_phone(value)
    if re.fullmatch(r"[0-9*\s-]{12,}", value):  # a card number, whole or already masked by the channel
        return mask_card(value)
    return f"{value[0]}****{value[-1]}" if len(value) > 2 else "*" * len(value)


@dataclass(frozen=True)
class ChannelNotification:
    """One verified asynchronous notification, the same shape for every channel."""

    channel: Channel
    trade_no: str                 # the channel's transaction number
    out_trade_no: str             # ours: the order number we sent
    amount_fen: int
    status: PaymentStatus
    paid_at: datetime | None      # aware; when the payer paid (None until paid)
    notified_at: datetime | None  # aware; when the channel says it sent this notification
    notify_id: str                # the channel's id of this notification ("" if it has none)
    payer_id: str = field(repr=False, default="")
    raw: Mapping = field(repr=False, default_factory=dict, compare=False)
    refund: RefundNotice | None = None  # a refund notification: the refund it reports

    @property
    def payer_masked(self) -> str:
        return mask_payer(self.payer_id)

    def __repr__(self) -> str:
        return (f"ChannelNotification(channel={self.channel.value!r}, trade_no={self.trade_no!r}, "
                f"out_trade_no={self.out_trade_no!r}, amount_fen={self.amount_fen}, status={self.status.value!r}, "
                f"paid_at={self.paid_at!r}, notify_id={self.notify_id!r}, payer={self.payer_masked!r}, "
                f"refund={self.refund!r})")


class StatementKind(enum.StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"


@dataclass(frozen=True)
class StatementRow:
    """One line of a channel's daily statement. Amounts are positive fen; kind says the sign."""

    trade_no: str
    out_trade_no: str
    kind: StatementKind
    amount_fen: int
    fee_fen: int
    occurred_at: datetime          # aware
    refund_no: str = ""            # the channel's refund number for refunds
    out_refund_no: str = ""        # ours, for refunds
    payer_id: str = field(repr=False, default="")

    @property
    def payer_masked(self) -> str:
        return mask_payer(self.payer_id)

    def __repr__(self) -> str:
        return (f"StatementRow(trade_no={self.trade_no!r}, out_trade_no={self.out_trade_no!r}, "
                f"kind={self.kind.value!r}, amount_fen={self.amount_fen}, fee_fen={self.fee_fen}, "
                f"occurred_at={self.occurred_at!r}, refund_no={self.refund_no!r}, payer={self.payer_masked!r})")


def dedupe_key(notification: ChannelNotification) -> str:
    """The same trade reaching the same state is one event, however often it is delivered
    (channels retry until they get their success answer, and re-sign each retry). A refund's
    result is an event of that refund: one trade has many refunds."""
    if notification.refund is not None:
        refund = notification.refund
        return f"{notification.channel.value}:refund:{refund.refund_no or refund.out_refund_no}:{refund.status.value}"
    return f"{notification.channel.value}:{notification.trade_no}:{notification.status.value}"


def should_apply(current: PaymentStatus | None, incoming: PaymentStatus) -> bool:
    """Whether a notification moves the trade forward (False for out-of-order old news)."""
    return current is None or _RANK[incoming] > _RANK[current]


def check_amount(notification: ChannelNotification, *, expected_fen: int) -> None:
    """The channel says it collected what the bill asked for, to the fen."""
    if notification.amount_fen != expected_fen:
        raise ChannelError(
            _("The channel reports %(got)s fen for order %(order)s, but the bill is for %(want)s fen.")
            % {"got": notification.amount_fen, "order": notification.out_trade_no, "want": expected_fen},
            code="amount_mismatch")


_YUAN = re.compile(r"(0|[1-9][0-9]{0,11})(?:\.([0-9]{1,2}))?")


def yuan_to_fen(text: str, *, allow_negative: bool = False) -> int:
    """"12.34" -> 1234 exactly (decimal, never float); refuses 12.345, 1e3, 012, blanks."""
    raw = (text or "").strip()
    negative = allow_negative and raw.startswith("-")
    match = _YUAN.fullmatch(raw[1:] if negative else raw)
    if not match:
        raise ChannelError(_("%(value)r is not an amount in yuan with at most two decimals.") % {"value": text},
                           code="bad_amount")
    fen = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    return -fen if negative else fen


def fen_to_yuan(fen: int) -> str:
    """1234 → "12.34", as the channels' messages and statements write amounts."""
    return fen_text(fen)


def parse_fen(value: str | int) -> int:
    """An integer amount in fen as the channel sent it (1234 or "1234"); refuses signs, blanks, decimals."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**12:
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,12}", value):
        return int(value)
    raise ChannelError(_("%(value)r is not an amount in fen.") % {"value": value}, code="bad_amount")


def check_totals(rows: list[StatementRow], *, count: int, net_fen: int, fee_fen: int) -> None:
    net = sum(r.amount_fen if r.kind == StatementKind.PAYMENT else -r.amount_fen for r in rows)
    fees = sum(r.fee_fen for r in rows)
    if (len(rows), net, fees) != (count, net_fen, fee_fen):
        raise ChannelError(_("The statement's totals do not add up: it lists %(rows)d rows, %(net)d fen net and "
                             "%(fees)d fen fees, but its summary says %(count)d, %(sum_net)d and %(sum_fees)d.")
                           % {"rows": len(rows), "net": net, "fees": fees, "count": count, "sum_net": net_fen,
                              "sum_fees": fee_fen}, code="statement_mismatch")


def check_fresh(sent_at: datetime, *, now: datetime | None = None, window: timedelta = FRESHNESS) -> None:
    """Refuse a notification signed more than `window` before (or after) now: a replay."""
    now = now or timezone.now()
    if abs(now - sent_at) > window:
        raise ChannelError(_("The notification was signed at %(sent)s, more than %(minutes)d minutes from now.")
                           % {"sent": sent_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
                              "minutes": int(window.total_seconds() // 60)}, code="stale")


def malformed(what: str) -> ChannelError:
    return ChannelError(_("The notification is malformed: %(what)s.") % {"what": what}, code="malformed")


def bad_signature() -> ChannelError:
    return ChannelError(_("The notification's signature does not verify: it was not sent by the channel, "
                          "or it was changed on the way."), code="bad_signature")


def local_time(text: str, fmt: str) -> datetime:
    """A channel's wall-clock time string (Beijing time) as an aware datetime."""
    try:
        return datetime.strptime(text, fmt).replace(tzinfo=CHINA)
    except (TypeError, ValueError):
        raise malformed(_("%(value)r is not a time") % {"value": text}) from None


def lowercase_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """HTTP header names are case-insensitive (Django's request.headers is too)."""
    return {str(k).lower(): str(v) for k, v in headers.items()}


def key_file(directory: Path | None, name: str, create) -> bytes:
    """PEM bytes kept in `directory/name` (created on first use), or fresh ones without a directory.

    Several processes may create the same file at once (the web workers load the sandboxes as
    they start): each writes its own to a temporary file and links it into place, the first link
    wins, and every process returns the file that won, so all of them hold the same keys, and a
    certificate read back here matches the key it was issued from."""
    if directory is None:
        return create()
    path = Path(directory) / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{name}.")  # mode 0600
        try:
            with os.fdopen(descriptor, "wb") as out:
                out.write(create())
            with contextlib.suppress(FileExistsError):  # another process was first
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    return path.read_bytes()
