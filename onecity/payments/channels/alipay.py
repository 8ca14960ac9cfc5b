"""Alipay (支付宝): asynchronous trade notifications and the daily business statement.

Notification: Alipay POSTs application/x-www-form-urlencoded parameters (notify_id,
notify_time, app_id, trade_no, out_trade_no, trade_status, total_amount in yuan, buyer_id,
gmt_payment, ..., sign_type=RSA2, sign). The signature is RSA2 (SHA256withRSA, base64) over
the parameters sorted by name and joined as k=v with "&", leaving out sign, sign_type and
empty values; it verifies with Alipay's public key. Verification is python-alipay-sdk's
(`AliPay.verify`). The merchant answers the plain text "success" or Alipay retries (8 times
over 25 hours), so one trade may be notified many times and out of order.

Statement (alipay.data.dataservice.bill.downloadurl.query, bill_type=trade): a zip holding
GBK-encoded CSV files "<pid>_<yyyymmdd>_业务明细.csv" (header comment lines starting with
"#", the column row, one row per trade or refund with tab-padded cells, "#交易合计" and
"#退款合计" summary lines) and "<pid>_<yyyymmdd>_业务明细(汇总).csv".
"""

from __future__ import annotations

import base64
import csv
import functools
import io
import re
import secrets
import zipfile
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from alipay import AliPay
from alipay.exceptions import AliPayException
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.utils import timezone
from django.utils.translation import gettext as _

from .base import (
    CHINA,
    Channel,
    ChannelError,
    ChannelNotification,
    PaymentStatus,
    StatementKind,
    StatementRow,
    bad_signature,
    fen_to_yuan,
    key_file,
    local_time,
    malformed,
    yuan_to_fen,
)

SUCCESS_RESPONSE = b"success"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DETAIL_COLUMNS = [
    "支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号", "门店名称", "操作员",
    "终端号", "对方账户", "订单金额（元）", "商家实收（元）", "支付宝红包（元）", "集分宝（元）", "支付宝优惠（元）",
    "商家优惠（元）", "券核销金额（元）", "券名称", "商家红包消费金额（元）", "卡消费金额（元）", "退款批次号/请求号",
    "服务费（元）", "分润（元）", "备注",
]
SUMMARY_COLUMNS = ["门店编号", "门店名称", "交易订单总笔数", "退款订单总笔数", "订单金额（元）", "商家实收（元）",
                   "支付宝优惠（元）", "商家优惠（元）", "卡消费金额（元）", "服务费（元）", "分润（元）", "实收净额（元）"]


def _status(params: Mapping[str, str]) -> PaymentStatus:
    refunded = bool(params.get("refund_fee")) and yuan_to_fen(params["refund_fee"]) > 0
    state = params.get("trade_status")
    if state == "WAIT_BUYER_PAY":
        return PaymentStatus.PENDING
    if state in ("TRADE_SUCCESS", "TRADE_FINISHED"):
        return PaymentStatus.REFUNDED if refunded else PaymentStatus.PAID
    if state == "TRADE_CLOSED":
        return PaymentStatus.REFUNDED if refunded else PaymentStatus.CLOSED
    raise malformed(_("unknown trade_status %(value)r") % {"value": state})


class _AliPay(AliPay):
    """python-alipay-sdk's client with its signature check done by `cryptography` (OpenSSL)
    instead of pycryptodome: the SDK still reads the key and builds the signed string (sorted
    parameters, the sign type checked and left out); only the RSA step changes, the same
    PKCS#1 v1.5 over SHA-256 (RSA2, the only sign type AlipayVerifier accepts). pycryptodome's took ≈ 0.9 ms of CPU per notification,
    OpenSSL's ≈ 0.1 ms."""

    @functools.cached_property
    def _openssl_public_key(self) -> rsa.RSAPublicKey:
        return serialization.load_der_public_key(self.alipay_public_key.export_key("DER"))

    def _verify(self, raw_content: str, signature: str) -> bool:
        try:
            self._openssl_public_key.verify(base64.b64decode(signature, validate=True), raw_content.encode(),
                                            padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True


class AlipayVerifier:
    """Verifies notifications for one Alipay application (app_id) with Alipay's public key."""

    channel = Channel.ALIPAY

    def __init__(self, *, app_id: str, app_private_key_pem: str, alipay_public_key_pem: str):
        self.app_id = app_id
        self.sdk = _AliPay(appid=app_id, app_notify_url=None, app_private_key_string=app_private_key_pem,
                          alipay_public_key_string=alipay_public_key_pem, sign_type="RSA2")

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: datetime | None = None) -> ChannelNotification:
        """`body` is the raw POST body; `headers` and `now` are unused (Alipay signs no time
        window: its retries run for 25 hours) and accepted so every channel verifies alike."""
        try:
            params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            raise malformed(_("the body is not form-encoded UTF-8")) from None
        return self.verify_params(params)

    def verify_params(self, params: Mapping[str, str]) -> ChannelNotification:
        params = dict(params)
        signature = params.pop("sign", "")
        if not signature:
            raise malformed(_("parameter %(name)s is missing") % {"name": "sign"})
        signed = {k: v for k, v in params.items() if v != ""}
        try:
            valid = self.sdk.verify(signed, signature)
        except (AliPayException, ValueError, TypeError):
            valid = False
        if not valid:
            raise bad_signature()
        if params.get("app_id") != self.app_id:
            raise ChannelError(_("The notification is for another application (%(app_id)s).")
                               % {"app_id": params.get("app_id")}, code="wrong_merchant")
        try:
            trade_no, out_trade_no, total = params["trade_no"], params["out_trade_no"], params["total_amount"]
            notify_time = local_time(params["notify_time"], TIME_FORMAT)
        except KeyError as missing:
            raise malformed(_("parameter %(name)s is missing") % {"name": missing.args[0]}) from None
        paid_at = local_time(params["gmt_payment"], TIME_FORMAT) if params.get("gmt_payment") else None
        return ChannelNotification(
            channel=self.channel, trade_no=trade_no, out_trade_no=out_trade_no, amount_fen=yuan_to_fen(total),
            status=_status(params), paid_at=paid_at, notified_at=notify_time, notify_id=params.get("notify_id", ""),
            payer_id=params.get("buyer_id", ""), raw=params)


# --- statement ------------------------------------------------------------------------------

def _member_name(info: zipfile.ZipInfo) -> str:
    """Alipay's zips name members in GBK without the UTF-8 flag; zipfile reads those as cp437."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _cells(line: list[str]) -> list[str]:
    return [c.strip().strip("\t") for c in line]


_TOTAL = re.compile(r"#(交易|退款)合计：(\d+)笔，商家实收(?:退款)?共：(-?[0-9.]+)元")


def parse_statement(data: bytes) -> list[StatementRow]:
    """Read the zip Alipay serves for a day; checks the summary lines against the rows."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = {_member_name(i): i for i in archive.infolist()}
        detail = next(i for name, i in members.items() if name.endswith("_业务明细.csv"))
        text = archive.read(detail).decode("gbk")
    except (zipfile.BadZipFile, StopIteration, UnicodeDecodeError):
        raise ChannelError(_("The file is not an Alipay statement (a zip with a GBK 业务明细 CSV)."),
                           code="malformed") from None
    rows: list[StatementRow] = []
    totals: dict[str, tuple[int, int]] = {}
    header_seen = False
    for line in csv.reader(io.StringIO(text)):
        if not line:
            continue
        if line[0].startswith("#"):
            match = _TOTAL.match(",".join(line))
            if match:
                totals[match.group(1)] = (int(match.group(2)), yuan_to_fen(match.group(3), allow_negative=True))
            continue
        cells = _cells(line)
        if not header_seen:
            if cells != DETAIL_COLUMNS:
                raise ChannelError(_("The Alipay statement's columns are not the ones expected."), code="malformed")
            header_seen = True
            continue
        col = dict(zip(DETAIL_COLUMNS, cells, strict=True))
        received = yuan_to_fen(col["商家实收（元）"], allow_negative=True)
        refund = col["业务类型"] == "退款"
        rows.append(StatementRow(
            trade_no=col["支付宝交易号"], out_trade_no=col["商户订单号"],
            kind=StatementKind.REFUND if refund else StatementKind.PAYMENT, amount_fen=abs(received),
            fee_fen=abs(yuan_to_fen(col["服务费（元）"] or "0", allow_negative=True)),
            occurred_at=local_time(col["完成时间"], TIME_FORMAT), out_refund_no=col["退款批次号/请求号"] if refund else "",
            payer_id=col["对方账户"]))
    payments = [r for r in rows if r.kind == StatementKind.PAYMENT]
    refunds = [r for r in rows if r.kind == StatementKind.REFUND]
    found = {"交易": (len(payments), sum(r.amount_fen for r in payments)),
             "退款": (len(refunds), -sum(r.amount_fen for r in refunds))}
    if set(totals) != {"交易", "退款"} or totals != found:
        raise ChannelError(_("The Alipay statement's summary lines do not match its rows."),
                           code="statement_mismatch")
    return rows


# --- sandbox --------------------------------------------------------------------------------

def _new_rsa_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _public_pem(private_pem: bytes) -> str:
    key = serialization.load_pem_private_key(private_pem, password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def rsa2_sign(private_key: rsa.RSAPrivateKey, params: Mapping[str, str]) -> str:
    """Alipay's RSA2 signature of a parameter set (as Alipay computes it, independently of the SDK)."""
    content = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("sign", "sign_type") and v != "")
    return base64.b64encode(private_key.sign(content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())).decode()


class AlipaySandbox:
    """Alipay's side: its own RSA key signs notifications; it writes the day's statement zip.
    It also keeps the merchant application's key pair so `verifier()` is ready to use."""

    def __init__(self, directory: Path | None = None, *, app_id: str = "2021000000000001",
                 pid: str = "2088000000000001"):
        self.app_id, self.pid = app_id, pid
        self.alipay_private_pem = key_file(directory, "alipay-platform.pem", _new_rsa_pem)
        self.app_private_pem = key_file(directory, "alipay-app.pem", _new_rsa_pem)
        self.private_key = serialization.load_pem_private_key(self.alipay_private_pem, password=None)
        self.alipay_public_pem = _public_pem(self.alipay_private_pem)

    def verifier(self) -> AlipayVerifier:
        return AlipayVerifier(app_id=self.app_id, app_private_key_pem=self.app_private_pem.decode(),
                              alipay_public_key_pem=self.alipay_public_pem)

    def notification(self, *, trade_no: str, out_trade_no: str, amount_fen: int, payer_id: str = "2088102146225135",
                     status: PaymentStatus = PaymentStatus.PAID, paid_at: datetime | None = None,
                     sent_at: datetime | None = None, notify_id: str | None = None,
                     refund_fen: int | None = None, subject: str = "福码缴费") -> tuple[dict[str, str], bytes]:
        sent_at = (sent_at or timezone.now()).astimezone(CHINA)
        paid_at = (paid_at or sent_at - timedelta(seconds=2)).astimezone(CHINA)
        trade_status = {PaymentStatus.PENDING: "WAIT_BUYER_PAY", PaymentStatus.PAID: "TRADE_SUCCESS",
                        PaymentStatus.CLOSED: "TRADE_CLOSED", PaymentStatus.REFUNDED: "TRADE_SUCCESS"}[status]
        params = {
            "notify_time": sent_at.strftime(TIME_FORMAT), "notify_type": "trade_status_sync",
            "notify_id": notify_id or secrets.token_hex(16), "charset": "utf-8", "version": "1.0",
            "app_id": self.app_id, "auth_app_id": self.app_id, "seller_id": self.pid,
            "trade_no": trade_no, "out_trade_no": out_trade_no, "trade_status": trade_status,
            "total_amount": fen_to_yuan(amount_fen), "subject": subject, "buyer_id": payer_id,
            "gmt_create": (paid_at - timedelta(seconds=30)).strftime(TIME_FORMAT),
        }
        if status in (PaymentStatus.PAID, PaymentStatus.REFUNDED):
            params.update({"receipt_amount": fen_to_yuan(amount_fen), "buyer_pay_amount": fen_to_yuan(amount_fen),
                           "gmt_payment": paid_at.strftime(TIME_FORMAT)})
        if status == PaymentStatus.REFUNDED:
            params.update({"refund_fee": fen_to_yuan(refund_fen if refund_fen is not None else amount_fen),
                           "out_biz_no": f"R{out_trade_no}", "gmt_refund": sent_at.strftime(TIME_FORMAT)})
        if status == PaymentStatus.CLOSED:
            params["gmt_close"] = sent_at.strftime(TIME_FORMAT)
        params["sign"] = rsa2_sign(self.private_key, params)
        params["sign_type"] = "RSA2"
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        return headers, urlencode(params).encode("ascii")

    def statement(self, rows: Iterable[StatementRow], day: date) -> bytes:
        rows = list(rows)
        start = f"{day:%Y年%m月%d日} 00:00:00"
        end = f"{day + timedelta(days=1):%Y年%m月%d日} 00:00:00"
        exported = f"{day + timedelta(days=1):%Y年%m月%d日} 09:00:00"
        head = ["#支付宝业务明细查询", f"#账号：[{self.pid}0156]", f"#起始日期：[{start}]   终止日期：[{end}]"]
        detail = io.StringIO()
        out = csv.writer(detail, lineterminator="\r\n")
        for line in head:
            out.writerow([line])
        out.writerow(["#-----------------------------------------业务明细列表----------------------------------------"])
        out.writerow(DETAIL_COLUMNS)
        for r in rows:
            refund = r.kind == StatementKind.REFUND
            received = -r.amount_fen if refund else r.amount_fen
            fee = r.fee_fen if refund else -r.fee_fen
            when = r.occurred_at.astimezone(CHINA).strftime(TIME_FORMAT)
            cells = [r.trade_no, r.out_trade_no, "退款" if refund else "交易", "福码缴费", when, when, "", "", "", "",
                     r.payer_id, fen_to_yuan(r.amount_fen), fen_to_yuan(received), "0.00", "0.00", "0.00", "0.00",
                     "0.00", "", "0.00", "0.00", r.out_refund_no if refund else "", fen_to_yuan(fee), "0.00", ""]
            out.writerow([f"{c}\t" for c in cells])
        payments = [r for r in rows if r.kind == StatementKind.PAYMENT]
        refunds = [r for r in rows if r.kind == StatementKind.REFUND]
        paid = sum(r.amount_fen for r in payments)
        back = sum(r.amount_fen for r in refunds)
        out.writerow(["#-----------------------------------------业务明细列表结束------------------------------------"])
        out.writerow([f"#交易合计：{len(payments)}笔，商家实收共：{fen_to_yuan(paid)}元，商家优惠共：0.00元"])
        out.writerow([f"#退款合计：{len(refunds)}笔，商家实收退款共：{fen_to_yuan(-back)}元，商家优惠退款共：0.00元"])
        out.writerow([f"#导出时间：[{exported}]"])

        summary = io.StringIO()
        out = csv.writer(summary, lineterminator="\r\n")
        for line in (head[0].replace("明细", "汇总"), *head[1:]):
            out.writerow([line])
        out.writerow(["#-----------------------------------------业务汇总列表----------------------------------------"])
        out.writerow(SUMMARY_COLUMNS)
        fees = sum(r.fee_fen for r in payments) - sum(r.fee_fen for r in refunds)
        out.writerow(["", "合计", len(payments), len(refunds), fen_to_yuan(paid), fen_to_yuan(paid - back), "0.00",
                      "0.00", "0.00", fen_to_yuan(-fees), "0.00", fen_to_yuan(paid - back - fees)])
        out.writerow(["#-----------------------------------------业务汇总列表结束------------------------------------"])
        out.writerow([f"#导出时间：[{exported}]"])

        buffer = io.BytesIO()
        stem = f"{self.pid}0156_{day:%Y%m%d}"
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{stem}_业务明细.csv", detail.getvalue().encode("gbk"))
            archive.writestr(f"{stem}_业务明细(汇总).csv", summary.getvalue().encode("gbk"))
        return buffer.getvalue()
