"""The city wallet (福码钱包), our own channel: Ed25519-signed JSON notifications.

The wallet posts a JSON body with these headers (the same shape as WeChat Pay APIv3, with
Ed25519 instead of RSA, so one verification habit serves both):

    OneCity-Wallet-Timestamp   Unix seconds when it signed
    OneCity-Wallet-Nonce       random, 32 characters
    OneCity-Wallet-Key-Id      which of the wallet's keys signed (keys rotate)
    OneCity-Wallet-Signature   base64 Ed25519 signature of "timestamp\\nnonce\\nbody\\n"

Body: {"id", "event": "trade.paid|trade.closed|trade.refunded", "trade_no", "out_trade_no",
"amount_fen", "paid_at" (ISO 8601), "payer_id"}. Notifications older than five minutes are
refused (the wallet re-signs every retry). The daily statement is a UTF-8 CSV; its last line
totals count, amount and fees, and the parser checks them.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.utils import timezone
from django.utils.translation import gettext as _

from .base import (
    Channel,
    ChannelError,
    ChannelNotification,
    PaymentStatus,
    StatementKind,
    StatementRow,
    bad_signature,
    check_fresh,
    check_totals,
    key_file,
    lowercase_headers,
    malformed,
    parse_fen,
)

SUCCESS_STATUS = 204  # the wallet stops retrying on any 2xx
_EVENTS = {"trade.paid": PaymentStatus.PAID, "trade.closed": PaymentStatus.CLOSED,
           "trade.refunded": PaymentStatus.REFUNDED}
STATEMENT_HEADER = ["trade_no", "out_trade_no", "kind", "amount_fen", "fee_fen", "occurred_at", "refund_no",
                    "out_refund_no", "payer_id"]


def _message(timestamp: str, nonce: str, body: bytes) -> bytes:
    return timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"


class WalletVerifier:
    """Checks the wallet's notifications against its published Ed25519 public keys."""

    channel = Channel.WALLET

    def __init__(self, public_keys: Mapping[str, Ed25519PublicKey]):
        self.public_keys = dict(public_keys)

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: datetime | None = None) -> ChannelNotification:
        h = lowercase_headers(headers)
        try:
            timestamp, nonce = h["onecity-wallet-timestamp"], h["onecity-wallet-nonce"]
            kid, signature = h["onecity-wallet-key-id"], h["onecity-wallet-signature"]
        except KeyError as missing:
            raise malformed(_("header %(name)s is missing") % {"name": missing.args[0]}) from None
        key = self.public_keys.get(kid)
        if key is None:
            raise ChannelError(_("The notification is signed with key %(kid)s, which this platform does not know.")
                               % {"kid": kid}, code="unknown_key")
        if not timestamp.isdigit():
            raise malformed(_("the timestamp is not a number"))
        try:
            key.verify(base64.b64decode(signature, validate=True), _message(timestamp, nonce, body))
        except (InvalidSignature, ValueError):
            raise bad_signature() from None
        sent_at = datetime.fromtimestamp(int(timestamp), tz=UTC)
        check_fresh(sent_at, now=now)
        try:
            data = json.loads(body)
            status = _EVENTS[data["event"]]
            paid_at = datetime.fromisoformat(data["paid_at"]) if data.get("paid_at") else None
            return ChannelNotification(
                channel=self.channel, trade_no=str(data["trade_no"]), out_trade_no=str(data["out_trade_no"]),
                amount_fen=parse_fen(data["amount_fen"]), status=status, paid_at=paid_at, notified_at=sent_at,
                notify_id=str(data["id"]), payer_id=str(data.get("payer_id") or ""), raw=data)
        except (ValueError, KeyError, TypeError):
            raise malformed(_("the body is not a wallet trade event")) from None


def parse_statement(data: bytes) -> list[StatementRow]:
    """Read a wallet statement back; the totals line must match the rows."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ChannelError(_("The statement is not UTF-8 text."), code="malformed") from None
    lines = list(csv.reader(io.StringIO(text)))
    if not lines or lines[0] != STATEMENT_HEADER or not lines[-1] or lines[-1][0] != "# total":
        raise ChannelError(_("The file is not a wallet statement."), code="malformed")
    try:
        rows = [StatementRow(
            trade_no=cells[0], out_trade_no=cells[1], kind=StatementKind(cells[2]), amount_fen=parse_fen(cells[3]),
            fee_fen=parse_fen(cells[4]), occurred_at=datetime.fromisoformat(cells[5]), refund_no=cells[6],
            out_refund_no=cells[7], payer_id=cells[8]) for cells in lines[1:-1]]
        count, net_fen, fee_fen = int(lines[-1][1]), int(lines[-1][2]), int(lines[-1][3])
    except (ValueError, IndexError):
        raise ChannelError(_("The file is not a wallet statement."), code="malformed") from None
    check_totals(rows, count=count, net_fen=net_fen, fee_fen=fee_fen)
    return rows


class WalletSandbox:
    """The wallet as seen from outside: it signs notifications with its own key and writes
    its daily statement. Keys live in `directory` when given (so a separate process can
    play the wallet), else in memory."""

    def __init__(self, directory: Path | None = None, *, kid: str = "wallet-sandbox-1"):
        pem = key_file(directory, "wallet-ed25519.pem", lambda: Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        self.private_key = serialization.load_pem_private_key(pem, password=None)
        self.kid = kid

    def verifier(self) -> WalletVerifier:
        return WalletVerifier({self.kid: self.private_key.public_key()})

    def notification(self, *, trade_no: str, out_trade_no: str, amount_fen: int, payer_id: str = "",
                     status: PaymentStatus = PaymentStatus.PAID, paid_at: datetime | None = None,
                     sent_at: datetime | None = None, notify_id: str | None = None) -> tuple[dict[str, str], bytes]:
        sent_at = sent_at or timezone.now()
        event = {v: k for k, v in _EVENTS.items()}[status]
        body = json.dumps({
            "id": notify_id or secrets.token_hex(8), "event": event, "trade_no": trade_no,
            "out_trade_no": out_trade_no, "amount_fen": amount_fen,
            "paid_at": (paid_at or sent_at).isoformat() if status != PaymentStatus.CLOSED else None,
            "payer_id": payer_id,
        }, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp, nonce = str(int(sent_at.timestamp())), secrets.token_hex(16)
        signature = base64.b64encode(self.private_key.sign(_message(timestamp, nonce, body))).decode()
        headers = {"Content-Type": "application/json", "OneCity-Wallet-Timestamp": timestamp,
                   "OneCity-Wallet-Nonce": nonce, "OneCity-Wallet-Key-Id": self.kid,
                   "OneCity-Wallet-Signature": signature}
        return headers, body

    def statement(self, rows: Iterable[StatementRow], day: date) -> bytes:
        rows = list(rows)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(STATEMENT_HEADER)
        for r in rows:
            writer.writerow([r.trade_no, r.out_trade_no, r.kind.value, r.amount_fen, r.fee_fen,
                             r.occurred_at.isoformat(), r.refund_no, r.out_refund_no, r.payer_id])
        net = sum(r.amount_fen if r.kind == StatementKind.PAYMENT else -r.amount_fen for r in rows)
        writer.writerow(["# total", len(rows), net, sum(r.fee_fen for r in rows), day.isoformat()])
        return out.getvalue().encode("utf-8")
