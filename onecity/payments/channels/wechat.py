"""WeChat Pay APIv3 (微信支付): payment and refund notifications, and the trade bill.

Notification: a JSON POST {"id", "create_time", "event_type": "TRANSACTION.SUCCESS" |
"REFUND.SUCCESS" | ..., "resource_type": "encrypt-resource", "resource": {"algorithm":
"AEAD_AES_256_GCM", "ciphertext", "nonce", "associated_data", "original_type"}} with headers

    Wechatpay-Timestamp   Unix seconds        Wechatpay-Nonce       random string
    Wechatpay-Serial      serial number of the platform certificate that signed
    Wechatpay-Signature   base64 RSA-SHA256 (PKCS#1 v1.5) of "timestamp\\nnonce\\nbody\\n"

The signature verifies with that platform certificate's public key; a timestamp more than
five minutes from now is refused (replay); the resource decrypts with the merchant's APIv3
key (AES-256-GCM, its nonce and associated data) into a transaction or refund whose amounts
are already in fen. The helpers are wechatpayv3's (`utils.rsa_verify`, `utils.aes_decrypt`).
The merchant answers HTTP 200/204 with no body; anything else makes WeChat retry.

Trade bill (GET /v3/bill/tradebill, bill_type=ALL): CSV whose first row names the columns in
Chinese; every data cell starts with a backtick (`) so spreadsheets keep long numbers as text;
then a totals header (总交易单数,...) and one backticked totals row.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import secrets
import string
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from django.utils import timezone
from django.utils.translation import gettext as _
from wechatpayv3.utils import aes_decrypt, rsa_sign, rsa_verify

from .base import (
    CHINA,
    Channel,
    ChannelError,
    ChannelNotification,
    PaymentStatus,
    RefundNotice,
    RefundStatus,
    StatementKind,
    StatementRow,
    bad_signature,
    check_fresh,
    fen_to_yuan,
    key_file,
    local_time,
    lowercase_headers,
    malformed,
    parse_fen,
    yuan_to_fen,
)

SUCCESS_STATUS = 204
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
BILL_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
BILL_COLUMNS = [
    "交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号", "用户标识", "交易类型",
    "交易状态", "付款银行", "货币种类", "应结订单金额", "代金券金额", "微信退款单号", "商户退款单号", "退款金额",
    "充值券退款金额", "退款类型", "退款状态", "商品名称", "商户数据包", "手续费", "费率", "订单金额", "申请退款金额",
    "费率备注",
]
TOTAL_COLUMNS = ["总交易单数", "应结订单总金额", "退款总金额", "充值券退款总金额", "手续费总金额", "订单总金额",
                 "申请退款总金额"]
_TRADE_STATES = {"SUCCESS": PaymentStatus.PAID, "REFUND": PaymentStatus.REFUNDED, "NOTPAY": PaymentStatus.PENDING,
                 "USERPAYING": PaymentStatus.PENDING, "CLOSED": PaymentStatus.CLOSED, "REVOKED": PaymentStatus.CLOSED,
                 "PAYERROR": PaymentStatus.FAILED}
#: a refund's status (refund notifications' refund_status, the refund query's status)
REFUND_STATES = {"SUCCESS": RefundStatus.SUCCEEDED, "PROCESSING": RefundStatus.PROCESSING,
                 "ABNORMAL": RefundStatus.ABNORMAL, "CLOSED": RefundStatus.CLOSED}
#: event_type of a refund notification by its refund_status
REFUND_EVENTS = {"SUCCESS": "REFUND.SUCCESS", "ABNORMAL": "REFUND.ABNORMAL", "CLOSED": "REFUND.CLOSED"}


def _public_keys(certificates: Iterable[x509.Certificate | str | bytes]) -> dict[str, object]:
    keys = {}
    for cert in certificates:
        if not isinstance(cert, x509.Certificate):
            cert = x509.load_pem_x509_certificate(cert.encode() if isinstance(cert, str) else cert)
        keys[format(cert.serial_number, "X")] = cert.public_key()
    return keys


class WechatVerifier:
    """Verifies and decrypts notifications for one merchant (mchid) and its APIv3 key."""

    channel = Channel.WECHAT

    def __init__(self, *, mchid: str, apiv3_key: str, platform_certificates: Iterable[x509.Certificate | str | bytes]):
        if len(apiv3_key.encode()) != 32:
            raise ValueError("an APIv3 key is 32 bytes")
        self.mchid, self.apiv3_key = mchid, apiv3_key
        self.keys = _public_keys(platform_certificates)

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: datetime | None = None) -> ChannelNotification:
        h = lowercase_headers(headers)
        try:
            timestamp, nonce = h["wechatpay-timestamp"], h["wechatpay-nonce"]
            serial, signature = h["wechatpay-serial"], h["wechatpay-signature"]
        except KeyError as missing:
            raise malformed(_("header %(name)s is missing") % {"name": missing.args[0]}) from None
        if h.get("wechatpay-signature-type", SIGNATURE_TYPE) != SIGNATURE_TYPE:
            raise malformed(_("unsupported signature type %(value)r") % {"value": h["wechatpay-signature-type"]})
        key = self.keys.get(serial.upper())
        if key is None:
            raise ChannelError(_("The notification is signed with platform certificate %(serial)s, which this "
                                 "platform does not know. Download the current platform certificates.")
                               % {"serial": serial}, code="unknown_key")
        if not timestamp.isdigit():
            raise malformed(_("the timestamp is not a number"))
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise malformed(_("the body is not UTF-8")) from None
        if not rsa_verify(timestamp, nonce, text, signature, key):
            raise bad_signature()
        sent_at = datetime.fromtimestamp(int(timestamp), tz=UTC)
        check_fresh(sent_at, now=now)
        try:
            envelope = json.loads(text)
            resource = envelope["resource"]
            if resource.get("algorithm") != "AEAD_AES_256_GCM":
                raise malformed(_("unsupported algorithm %(value)r") % {"value": resource.get("algorithm")})
            plain = aes_decrypt(resource["nonce"], resource["ciphertext"], resource.get("associated_data") or "",
                                self.apiv3_key)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise malformed(_("the body is not a WeChat Pay notification")) from None
        if plain is None:
            raise ChannelError(_("The notification's resource does not decrypt with this merchant's APIv3 key."),
                               code="decrypt_failed")
        try:
            data = json.loads(plain)
            return self._notification(envelope, data, sent_at)
        except (ValueError, KeyError, TypeError):
            raise malformed(_("the decrypted resource is not a transaction or refund")) from None

    def _notification(self, envelope: dict, data: dict, sent_at: datetime) -> ChannelNotification:
        if data["mchid"] != self.mchid:
            raise ChannelError(_("The notification is for another merchant (%(mchid)s).") % {"mchid": data["mchid"]},
                               code="wrong_merchant")
        success_time = datetime.fromisoformat(data["success_time"]) if data.get("success_time") else None
        refund = None
        if "refund_status" in data:
            status = PaymentStatus.REFUNDED if data["refund_status"] == "SUCCESS" else PaymentStatus.PAID
            payer = data.get("user_received_account", "")
            paid_at = None
            refund = RefundNotice(out_refund_no=data["out_refund_no"], refund_no=data["refund_id"],
                                  amount_fen=parse_fen(data["amount"]["refund"]),
                                  status=REFUND_STATES[data["refund_status"]])
        else:
            status = _TRADE_STATES[data["trade_state"]]
            payer = (data.get("payer") or {}).get("openid", "")
            paid_at = success_time
        return ChannelNotification(
            channel=self.channel, trade_no=data["transaction_id"], out_trade_no=data["out_trade_no"],
            amount_fen=parse_fen(data["amount"]["total"]), status=status, paid_at=paid_at, notified_at=sent_at,
            notify_id=envelope["id"], payer_id=payer, raw={"envelope": envelope, "resource": data}, refund=refund)


# --- trade bill -----------------------------------------------------------------------------

def _unbacktick(cell: str) -> str:
    return cell[1:] if cell.startswith("`") else cell


def parse_statement(data: bytes) -> list[StatementRow]:
    """Read a trade bill (bill_type=ALL); the totals row must match the rows."""
    try:
        lines = [line for line in csv.reader(io.StringIO(data.decode("utf-8-sig"))) if line]
    except UnicodeDecodeError:
        raise ChannelError(_("The file is not a WeChat Pay trade bill."), code="malformed") from None
    if len(lines) < 3 or lines[0] != BILL_COLUMNS or lines[-2] != TOTAL_COLUMNS:
        raise ChannelError(_("The file is not a WeChat Pay trade bill."), code="malformed")
    rows = []
    try:
        for line in lines[1:-2]:
            col = dict(zip(BILL_COLUMNS, (_unbacktick(c) for c in line), strict=True))
            refund = col["交易状态"] == "REFUND"
            rows.append(StatementRow(
                trade_no=col["微信订单号"], out_trade_no=col["商户订单号"],
                kind=StatementKind.REFUND if refund else StatementKind.PAYMENT,
                amount_fen=yuan_to_fen(col["退款金额"] if refund else col["应结订单金额"]),
                fee_fen=abs(yuan_to_fen(col["手续费"], allow_negative=True)),
                occurred_at=local_time(col["交易时间"], BILL_TIME_FORMAT), refund_no=col["微信退款单号"] if refund else "",
                out_refund_no=col["商户退款单号"] if refund else "", payer_id=col["用户标识"]))
        totals = dict(zip(TOTAL_COLUMNS, (_unbacktick(c) for c in lines[-1]), strict=True))
        count, paid = int(totals["总交易单数"]), yuan_to_fen(totals["应结订单总金额"])
        refunded, fees = yuan_to_fen(totals["退款总金额"]), yuan_to_fen(totals["手续费总金额"], allow_negative=True)
    except ValueError:
        raise ChannelError(_("The file is not a WeChat Pay trade bill."), code="malformed") from None
    payments = [r for r in rows if r.kind == StatementKind.PAYMENT]
    refunds = [r for r in rows if r.kind == StatementKind.REFUND]
    found = (len(rows), sum(r.amount_fen for r in payments), sum(r.amount_fen for r in refunds),
             sum(r.fee_fen for r in payments) - sum(r.fee_fen for r in refunds))
    if found != (count, paid, refunded, fees):
        raise ChannelError(_("The WeChat Pay trade bill's totals do not match its rows."), code="statement_mismatch")
    return rows


# --- sandbox --------------------------------------------------------------------------------

def _new_rsa_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _new_apiv3_key() -> bytes:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _i in range(32)).encode()


class WechatSandbox:
    """WeChat Pay's side: a platform key and certificate that sign notifications, the
    merchant's APIv3 key that encrypts their resources, and the daily trade bill."""

    def __init__(self, directory: Path | None = None, *, mchid: str = "1900000109", appid: str = "wxd678efh567hg6787"):
        self.mchid, self.appid = mchid, appid
        self.private_key = serialization.load_pem_private_key(
            key_file(directory, "wechat-platform.pem", _new_rsa_pem), password=None)
        self.apiv3_key = key_file(directory, "wechat-apiv3.key", _new_apiv3_key).decode()
        self.certificate = x509.load_pem_x509_certificate(key_file(directory, "wechat-platform-cert.pem", self._cert))
        self.serial = format(self.certificate.serial_number, "X")

    def _cert(self) -> bytes:
        name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tenpay.com"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA (sandbox)")])
        now = datetime.now(UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self.private_key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=3650))
                .sign(self.private_key, hashes.SHA256()))
        return cert.public_bytes(serialization.Encoding.PEM)

    def verifier(self) -> WechatVerifier:
        return WechatVerifier(mchid=self.mchid, apiv3_key=self.apiv3_key, platform_certificates=[self.certificate])

    def encrypt(self, plain: dict, associated_data: str) -> dict:
        nonce = "".join(secrets.choice(string.ascii_letters + string.digits) for _i in range(12))
        ciphertext = AESGCM(self.apiv3_key.encode()).encrypt(
            nonce.encode(), json.dumps(plain, ensure_ascii=False).encode(), associated_data.encode())
        return {"algorithm": "AEAD_AES_256_GCM", "ciphertext": base64.b64encode(ciphertext).decode(),
                "nonce": nonce, "associated_data": associated_data}

    def notification(self, *, trade_no: str, out_trade_no: str, amount_fen: int, payer_id: str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
                     status: PaymentStatus = PaymentStatus.PAID, paid_at: datetime | None = None,
                     sent_at: datetime | None = None, notify_id: str | None = None,
                     refund_fen: int | None = None, mchid: str | None = None) -> tuple[dict[str, str], bytes]:
        """A payment notification (TRANSACTION.SUCCESS); status=REFUNDED gives a REFUND.SUCCESS
        for a whole-trade refund named after the trade (see refund_notification)."""
        sent_at = sent_at or timezone.now()
        paid_at = (paid_at or sent_at - timedelta(seconds=2)).astimezone(CHINA)
        if status == PaymentStatus.REFUNDED:
            return self.refund_notification(trade_no=trade_no, out_trade_no=out_trade_no, total_fen=amount_fen,
                                            refund_fen=refund_fen if refund_fen is not None else amount_fen,
                                            out_refund_no=f"R{out_trade_no}", refund_id=f"50000{trade_no[-20:]}",
                                            sent_at=sent_at, notify_id=notify_id, mchid=mchid)
        state = {v: k for k, v in _TRADE_STATES.items() if k not in ("USERPAYING", "REVOKED")}[status]
        resource = {"appid": self.appid, "mchid": mchid or self.mchid, "out_trade_no": out_trade_no,
                    "transaction_id": trade_no, "trade_type": "NATIVE", "trade_state": state,
                    "trade_state_desc": "支付成功", "bank_type": "OTHERS", "attach": "",
                    "payer": {"openid": payer_id},
                    "amount": {"total": amount_fen, "payer_total": amount_fen, "currency": "CNY",
                               "payer_currency": "CNY"}}
        if status == PaymentStatus.PAID:
            resource["success_time"] = paid_at.isoformat()
        return self._signed(event="TRANSACTION.SUCCESS", summary="支付成功", kind="transaction", resource=resource,
                            sent_at=sent_at, notify_id=notify_id)

    def refund_notification(self, *, trade_no: str, out_trade_no: str, out_refund_no: str, refund_id: str,
                            total_fen: int, refund_fen: int, refund_status: str = "SUCCESS",
                            sent_at: datetime | None = None, notify_id: str | None = None,
                            mchid: str | None = None) -> tuple[dict[str, str], bytes]:
        """A refund-result notification: event_type REFUND.SUCCESS / REFUND.ABNORMAL /
        REFUND.CLOSED (refund_status SUCCESS / ABNORMAL / CLOSED), the refund encrypted as the
        resource (AEAD_AES_256_GCM), signed like every notification."""
        sent_at = sent_at or timezone.now()
        resource = {"mchid": mchid or self.mchid, "out_trade_no": out_trade_no, "transaction_id": trade_no,
                    "out_refund_no": out_refund_no, "refund_id": refund_id, "refund_status": refund_status,
                    "user_received_account": "支付用户零钱",
                    "amount": {"total": total_fen, "refund": refund_fen, "payer_total": total_fen,
                               "payer_refund": refund_fen}}
        if refund_status == "SUCCESS":
            resource["success_time"] = sent_at.astimezone(CHINA).isoformat()
        summary = {"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}[refund_status]
        return self._signed(event=REFUND_EVENTS[refund_status], summary=summary, kind="refund", resource=resource,
                            sent_at=sent_at, notify_id=notify_id)

    def _signed(self, *, event: str, summary: str, kind: str, resource: dict, sent_at: datetime,
                notify_id: str | None) -> tuple[dict[str, str], bytes]:
        envelope = {"id": notify_id or f"EV-{secrets.token_hex(10)}", "create_time": sent_at.astimezone(CHINA).isoformat(),
                    "resource_type": "encrypt-resource", "event_type": event, "summary": summary,
                    "resource": {**self.encrypt(resource, kind), "original_type": kind}}
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
        timestamp, nonce = str(int(sent_at.timestamp())), secrets.token_hex(16).upper()
        headers = {"Content-Type": "application/json", "Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": nonce,
                   "Wechatpay-Serial": self.serial, "Wechatpay-Signature-Type": SIGNATURE_TYPE,
                   "Wechatpay-Signature": rsa_sign(self.private_key, f"{timestamp}\n{nonce}\n{body}\n")}
        return headers, body.encode("utf-8")

    def statement(self, rows: Iterable[StatementRow], day: date) -> bytes:
        rows = list(rows)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(BILL_COLUMNS)
        for r in rows:
            refund = r.kind == StatementKind.REFUND
            fee = -r.fee_fen if refund else r.fee_fen
            cells = [r.occurred_at.astimezone(CHINA).strftime(BILL_TIME_FORMAT), self.appid, self.mchid, "0", "",
                     r.trade_no, r.out_trade_no, r.payer_id, "NATIVE", "REFUND" if refund else "SUCCESS", "OTHERS",
                     "CNY", "0.00" if refund else fen_to_yuan(r.amount_fen), "0.00",
                     r.refund_no if refund else "0", r.out_refund_no if refund else "0",
                     fen_to_yuan(r.amount_fen) if refund else "0.00", "0.00", "ORIGINAL" if refund else "",
                     "SUCCESS" if refund else "", "福码缴费", "", fen_to_yuan(fee), "0.60%",
                     "0.00" if refund else fen_to_yuan(r.amount_fen), fen_to_yuan(r.amount_fen) if refund else "0.00",
                     ""]
            writer.writerow([f"`{c}" for c in cells])
        payments = [r for r in rows if r.kind == StatementKind.PAYMENT]
        refunds = [r for r in rows if r.kind == StatementKind.REFUND]
        paid, back = sum(r.amount_fen for r in payments), sum(r.amount_fen for r in refunds)
        fees = sum(r.fee_fen for r in payments) - sum(r.fee_fen for r in refunds)
        writer.writerow(TOTAL_COLUMNS)
        writer.writerow([f"`{c}" for c in (len(rows), fen_to_yuan(paid), fen_to_yuan(back), "0.00",
                                           fen_to_yuan(fees), fen_to_yuan(paid), fen_to_yuan(back))])
        return out.getvalue().encode("utf-8")
