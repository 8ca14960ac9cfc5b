"""Channel clients: what the platform asks of a payment channel beyond verifying its
notifications — the verifier itself, the reply the channel expects, and a trade query.

    client = channel_client(Channel.ALIPAY)
    client.verifier().verify(headers, body)       → channels.ChannelNotification or ChannelError
    client.query(out_trade_no)                    → (headers, body) signed by the channel, or None
    client.refund(RefundRequest(...))             → RefundAnswer (the channel's synchronous answer)
    client.refund_query(RefundQuery(...))         → RefundAnswer (a refund's status at the channel)

`settings.PAYMENTS_CHANNEL_CLIENT` names the factory (channel → client). The default,
`sandbox_client`, plays the four channels offline (only when settings.PAYMENTS_SANDBOX is
true): the channels' own sandboxes in onecity.payments.channels sign with keys kept under
settings.PAYMENTS_CHANNEL_KEY_DIR/<channel>/ (made on first use), and the sandbox remembers
the trades its cashier page took (one JSON file per trade) so it can answer queries. Refunds
are answered at once, except at the channels listed in settings.PAYMENTS_SANDBOX_REFUND_PROCESSING,
which answer "processing" (WeChat PROCESSING, Alipay fund_change N, UnionPay 05, the wallet's
"processing"); such a refund is finished by `refund_finish` (which gives the signed refund
notification WeChat Pay would post) or, if nobody finished it, succeeds when first queried. A
production factory returns clients holding the real channels' public keys and certificates
and calling their query APIs; the rest of the platform does not change.

Replies (what each channel takes as "received, stop retrying"): Alipay the text `success`,
UnionPay the text `ok`, WeChat Pay and the city wallet HTTP 204 with no body. Anything else
makes the channel retry; errors are answered with a 4xx and the channel's error shape.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from onecity.core.errors import ApplicationError
from onecity.payments.channels import alipay, refunds, unionpay, wallet, wechat
from onecity.payments.channels.base import CHINA, PaymentStatus, RefundStatus
from onecity.payments.channels.refunds import RefundAnswer, RefundQuery, RefundRequest
from onecity.payments.enums import Channel

#: our channel names (payments.enums.Channel) → the adapters' (channels.base.Channel)
ADAPTER_NAME = {Channel.CITY_WALLET: "wallet", Channel.ALIPAY: "alipay", Channel.WECHAT: "wechat",
                Channel.UNIONPAY: "unionpay"}
_SANDBOXES = {Channel.CITY_WALLET: wallet.WalletSandbox, Channel.ALIPAY: alipay.AlipaySandbox,
              Channel.WECHAT: wechat.WechatSandbox, Channel.UNIONPAY: unionpay.UnionpaySandbox}


@dataclass(frozen=True)
class Reply:
    """An HTTP answer to a channel: status, body, content type."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


def reply_ok(channel: str) -> Reply:
    if channel == Channel.ALIPAY:
        return Reply(200, alipay.SUCCESS_RESPONSE)
    if channel == Channel.UNIONPAY:
        return Reply(200, unionpay.SUCCESS_RESPONSE)
    return Reply(wechat.SUCCESS_STATUS if channel == Channel.WECHAT else wallet.SUCCESS_STATUS)


def reply_error(channel: str, *, status: int, code: str, message: str) -> Reply:
    """A refusal the channel understands (it will retry): Alipay and UnionPay read anything but
    their success text as failure; WeChat Pay wants {"code": "FAIL", "message"}; the wallet
    {"code", "message"}."""
    if channel in (Channel.ALIPAY, Channel.UNIONPAY):
        return Reply(status, b"fail")
    payload = {"code": "FAIL" if channel == Channel.WECHAT else code, "message": message}
    return Reply(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json")


class Verifier(Protocol):
    def verify(self, headers, body: bytes, *, now: datetime | None = None): ...


class ChannelClient(Protocol):
    channel: str

    def verifier(self) -> Verifier: ...

    def query(self, out_trade_no: str) -> tuple[dict[str, str], bytes] | None: ...

    def refund(self, request: RefundRequest) -> RefundAnswer: ...

    def refund_query(self, query: RefundQuery) -> RefundAnswer: ...


def _trade_no(channel: str, at: datetime) -> str:
    """A trade number in the channel's own shape."""
    local = at.astimezone(CHINA)
    if channel == Channel.ALIPAY:
        return f"{local:%Y%m%d}2200{secrets.randbelow(10**16):016d}"
    if channel == Channel.WECHAT:
        return f"42000{secrets.randbelow(10**5):05d}{local:%Y%m%d}{secrets.randbelow(10**10):010d}"
    if channel == Channel.UNIONPAY:
        return f"{local:%m%d%H%M%S}{secrets.randbelow(10**11):011d}"
    return f"W{local:%Y%m%d%H%M%S}{secrets.token_hex(6).upper()}"


class SandboxClient:
    """One channel played offline: its sandbox signs, a trades directory remembers."""

    def __init__(self, channel: str, directory: Path):
        self.channel = channel
        self.directory = Path(directory)
        self.sandbox = _SANDBOXES[channel](self.directory)
        self._verifier = self.sandbox.verifier()

    def verifier(self) -> Verifier:
        return self._verifier

    def _trade_path(self, out_trade_no: str) -> Path:
        if not out_trade_no.isalnum():
            raise ApplicationError(_("There is no such order."), code="unknown_order", status=404)
        return self.directory / "trades" / f"{out_trade_no}.json"

    def _trade(self, out_trade_no: str) -> dict | None:
        try:
            return json.loads(self._trade_path(out_trade_no).read_text())
        except FileNotFoundError:
            return None

    def _remember(self, out_trade_no: str, trade: dict) -> None:
        path = self._trade_path(out_trade_no)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        temporary.write_text(json.dumps(trade))
        os.replace(temporary, path)

    def pay(self, *, out_trade_no: str, amount_fen: int, status: PaymentStatus = PaymentStatus.PAID,
            payer_id: str | None = None) -> tuple[dict[str, str], bytes]:
        """The payer confirmed at the channel's cashier: the channel records the trade (the same
        trade number if it had one) and signs the notification it will post."""
        now = timezone.now()
        trade = self._trade(out_trade_no) or {"trade_no": _trade_no(self.channel, now), "amount_fen": amount_fen}
        trade.update(status=str(status), paid_at=now.isoformat() if status == PaymentStatus.PAID else None)
        self._remember(out_trade_no, trade)
        return self._notification(out_trade_no, trade, payer_id=payer_id)

    def _notification(self, out_trade_no: str, trade: dict, *, payer_id: str | None = None):
        extra = {"payer_id": payer_id} if payer_id else {}
        paid_at = datetime.fromisoformat(trade["paid_at"]) if trade.get("paid_at") else None
        return self.sandbox.notification(trade_no=trade["trade_no"], out_trade_no=out_trade_no,
                                         amount_fen=trade["amount_fen"], status=PaymentStatus(trade["status"]),
                                         paid_at=paid_at, **extra)

    def query(self, out_trade_no: str) -> tuple[dict[str, str], bytes] | None:
        """The trade's current state, signed as a notification (as the channels sign their query
        answers), or None when the channel never saw the order."""
        trade = self._trade(out_trade_no)
        if trade is None or trade["status"] == PaymentStatus.PENDING:
            return None
        return self._notification(out_trade_no, trade)

    def trade_no(self, out_trade_no: str) -> str:
        """The channel's trade number of an order its cashier took ("" if none)."""
        trade = self._trade(out_trade_no)
        return trade["trade_no"] if trade else ""

    def refund(self, request: RefundRequest) -> RefundAnswer:
        """Send a refund in the channel's request shape; the sandbox answers as the channel
        would (refunds.reply) and the answer is read back (refunds.parse_reply). The sandbox keeps
        each trade's refunds by refund number: a repeat gets the same answer, and refunds never
        exceed the payment."""
        adapter = ADAPTER_NAME[self.channel]
        body = json.loads(json.dumps(refunds.request_body(adapter, request)))  # as sent on the wire
        status, answer = self._refund_answer(adapter, body)
        return refunds.parse_reply(adapter, status, answer, request=body)

    def _refund_answer(self, adapter: str, body: dict) -> tuple[int, dict]:
        order_key, out_refund_no, amount_fen = refunds.read_request(adapter, body)
        with _lock:
            out_trade_no = order_key if adapter != "unionpay" else self._order_of_trade(order_key)
            trade = self._trade(out_trade_no) if out_trade_no and out_trade_no.isalnum() else None
            if trade is None or trade["status"] not in (PaymentStatus.PAID, PaymentStatus.REFUNDED):
                return refunds.reply(adapter, body=body, error=refunds.TRADE_NOT_FOUND)
            done = trade.setdefault("refunds", {})
            if out_refund_no not in done:
                if _held_fen(done) + amount_fen > trade["amount_fen"]:
                    return refunds.reply(adapter, body=body, error=refunds.AMOUNT_EXCEEDED)
                later = self.channel in settings.PAYMENTS_SANDBOX_REFUND_PROCESSING
                done[out_refund_no] = {"amount_fen": amount_fen, "refund_no": _trade_no(self.channel, timezone.now()),
                                       "status": RefundStatus.PROCESSING if later else RefundStatus.SUCCEEDED}
                self._remember(out_trade_no, trade)
            item = done[out_refund_no]
            return refunds.reply(adapter, body=body, refund_no=item["refund_no"], trade_no=trade["trade_no"],
                                 refunded_total_fen=_held_fen(done),
                                 processing=_refund_status(item) == RefundStatus.PROCESSING)

    def refund_query(self, query: RefundQuery) -> RefundAnswer:
        """Ask the channel about one refund, in its query shape. A refund still processing at the
        sandbox is finished (succeeded) by this first question: by the time the platform asks,
        the channel is done."""
        adapter = ADAPTER_NAME[self.channel]
        body = json.loads(json.dumps(refunds.query_body(adapter, query)))
        with _lock:
            trade = self._trade(query.out_trade_no) if query.out_trade_no.isalnum() else None
            item = (trade or {}).get("refunds", {}).get(refunds.query_refund_no(adapter, body))
            if item is not None and _refund_status(item) == RefundStatus.PROCESSING:
                item["status"] = RefundStatus.SUCCEEDED
                self._remember(query.out_trade_no, trade)
            status, answer = refunds.query_reply(
                adapter, body=body, status=_refund_status(item) if item else None,
                refund_no=item["refund_no"] if item else "", trade_no=trade["trade_no"] if trade else "",
                out_trade_no=query.out_trade_no, amount_fen=item["amount_fen"] if item else 0,
                total_fen=trade["amount_fen"] if trade else 0)
        return refunds.parse_query(adapter, status, answer, request=body)

    def refund_finish(self, *, out_trade_no: str, out_refund_no: str,
                      status: RefundStatus = RefundStatus.SUCCEEDED) -> tuple[dict[str, str], bytes] | None:
        """The channel finishes a refund it answered "processing": `status` is its result
        (succeeded, abnormal or closed). Returns the signed refund notification WeChat Pay posts
        (REFUND.SUCCESS / REFUND.ABNORMAL / REFUND.CLOSED); the other channels' results are
        found by the refund query (None)."""
        with _lock:
            trade = self._trade(out_trade_no)
            item = (trade or {}).get("refunds", {}).get(out_refund_no)
            if item is None:
                raise ApplicationError(_("There is no such refund."), code="unknown_refund", status=404)
            item["status"] = RefundStatus(status)
            self._remember(out_trade_no, trade)
        if self.channel != Channel.WECHAT:
            return None
        wire = {v: k for k, v in wechat.REFUND_STATES.items()}[RefundStatus(status)]
        return self.sandbox.refund_notification(trade_no=trade["trade_no"], out_trade_no=out_trade_no,
                                                out_refund_no=out_refund_no, refund_id=item["refund_no"],
                                                total_fen=trade["amount_fen"], refund_fen=item["amount_fen"],
                                                refund_status=wire)

    def _order_of_trade(self, trade_no: str) -> str:
        """UnionPay names the original by its queryId: find the order that has it."""
        for path in sorted((self.directory / "trades").glob("*.json")):
            if json.loads(path.read_text()).get("trade_no") == trade_no:
                return path.stem
        return ""


def _refund_status(item: dict) -> RefundStatus:
    return RefundStatus(item.get("status", RefundStatus.SUCCEEDED))


def _held_fen(done: dict) -> int:
    """What a trade's refunds take at the sandbox: succeeded and processing ones."""
    return sum(item["amount_fen"] for item in done.values()
               if _refund_status(item) in (RefundStatus.SUCCEEDED, RefundStatus.PROCESSING))


_clients: dict[tuple[str, str], SandboxClient] = {}
_lock = threading.Lock()


def sandbox_client(channel: str) -> SandboxClient:
    """The sandbox of `channel`, one per process and key directory (keys load once)."""
    if not settings.PAYMENTS_SANDBOX:
        raise ApplicationError(_("Payment channels are not configured on this server."), code="channel_unconfigured",
                               status=503)
    if channel not in _SANDBOXES:
        raise ApplicationError(_("There is no payment channel %(channel)s.") % {"channel": channel},
                               code="channel_invalid", status=404)
    directory = Path(settings.PAYMENTS_CHANNEL_KEY_DIR) / ADAPTER_NAME[channel]
    key = (channel, str(directory))
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = SandboxClient(channel, directory)
    return client


def channel_client(channel: str) -> ChannelClient:
    """The configured client of `channel` (settings.PAYMENTS_CHANNEL_CLIENT)."""
    if channel not in Channel.values:
        raise ApplicationError(_("There is no payment channel %(channel)s.") % {"channel": channel},
                               code="channel_invalid", status=404)
    return import_string(settings.PAYMENTS_CHANNEL_CLIENT)(channel)
