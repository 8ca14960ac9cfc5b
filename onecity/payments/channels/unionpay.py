"""UnionPay (银联) online payments, acp 5.1.0: back notifications and the settlement file.

Notification: UnionPay POSTs form-encoded fields to the merchant's backUrl (version=5.1.0,
encoding=UTF-8, signMethod=01, txnType 01 consume / 04 refund / 31 cancel, txnSubType, bizType,
accessType, merId, orderId, txnTime yyyyMMddHHmmss, txnAmt in fen, currencyCode=156, queryId,
respCode, respMsg, traceNo, traceTime, settleDate, accNo (masked by UnionPay), signPubKeyCert,
signature). As in UnionPay's acp SDK (SDKUtil.validate for 5.1.0 / signMethod 01):

1. the signing certificate travels in signPubKeyCert (PEM); it must chain to UnionPay's root
   through the configured intermediate (acp_*_middle.cer, acp_*_root.cer), be within its
   validity, and its subject CN ("<type>@<id>@中国银联股份有限公司@<n>") must name UnionPay;
2. the string to sign is every field but `signature`, sorted by name, "k=v" joined with "&";
3. its SHA-256 digest as lower-case hex is signed with SHA256withRSA (PKCS#1 v1.5); the
   signature field is base64.

The merchant answers HTTP 200 (body "ok"); otherwise UnionPay retries.

Settlement file: the acp file download (fileTransfer, fileType=00) delivers fixed-width text
files per merchant. We read one layout, modelled on the 全渠道流水文件 (INN…ZM_<merId>):
GBK text, one record per line, fixed-width fields separated by one space, amounts as
12-digit zero-padded fen, and a trailer line "TOTAL <count> <net fen> <fees fen>" (our own,
so the parser can check completeness). Column widths are in `STATEMENT_FIELDS`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
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
    check_totals,
    key_file,
    local_time,
    malformed,
    parse_fen,
)

SUCCESS_RESPONSE = b"ok"
UNIONPAY_COMPANY = "中国银联股份有限公司"
TIME_FORMAT = "%Y%m%d%H%M%S"
_TXN_TYPES = {"01": StatementKind.PAYMENT, "04": StatementKind.REFUND}
STATEMENT_FIELDS = [  # (name, width)
    ("txnType", 2), ("queryId", 21), ("orderId", 40), ("txnTime", 14), ("txnAmt", 12), ("fee", 12),
    ("accNo", 19), ("respCode", 2), ("origQryId", 21),
]


def _bad_certificate(reason: str) -> ChannelError:
    return ChannelError(_("The notification's signing certificate is not trusted: %(reason)s.") % {"reason": reason},
                        code="bad_certificate")


def signing_string(fields: Mapping[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "signature")


def _digest_hex(fields: Mapping[str, str]) -> bytes:
    return hashlib.sha256(signing_string(fields).encode("utf-8")).hexdigest().encode("ascii")


#: signing certificates already proven to chain to (root, intermediate), by their PEM text: the
#: chain's signatures never change, so each is checked once per process; the validity dates, the
#: issuer's CA flag and the subject are checked on every notification
_chained: dict[tuple[x509.Certificate, x509.Certificate, str], x509.Certificate] = {}


class UnionpayVerifier:
    """Verifies back notifications for one merchant (merId) against UnionPay's CA chain."""

    channel = Channel.UNIONPAY

    def __init__(self, *, mer_id: str, root_certificate: x509.Certificate | bytes,
                 intermediate_certificate: x509.Certificate | bytes, check_company: bool = True):
        load = lambda c: c if isinstance(c, x509.Certificate) else x509.load_pem_x509_certificate(c)  # noqa: E731
        self.mer_id, self.root, self.middle = mer_id, load(root_certificate), load(intermediate_certificate)
        self.check_company = check_company

    def signing_certificate(self, pem: str, *, now: datetime | None = None) -> x509.Certificate:
        """The certificate in signPubKeyCert, once it is proven to be UnionPay's (step 1)."""
        now = now or timezone.now()
        cert = _chained.get((self.root, self.middle, pem))
        if cert is None:
            try:
                cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
            except ValueError:
                raise _bad_certificate(_("signPubKeyCert is not a PEM certificate")) from None
            try:
                cert.verify_directly_issued_by(self.middle)
                self.middle.verify_directly_issued_by(self.root)
            except (ValueError, TypeError, InvalidSignature):
                raise _bad_certificate(_("it does not chain to UnionPay's root certificate")) from None
            if len(_chained) >= 64:  # a handful of signing certificates are in use at a time
                _chained.clear()
            _chained[(self.root, self.middle, pem)] = cert
        for c in (cert, self.middle):
            if not c.not_valid_before_utc <= now <= c.not_valid_after_utc:
                raise _bad_certificate(_("it is not valid at this time"))
        try:
            if not self.middle.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
                raise _bad_certificate(_("its issuer is not a certificate authority"))
        except x509.ExtensionNotFound:
            raise _bad_certificate(_("its issuer is not a certificate authority")) from None
        cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        parts = str(cn[0].value).split("@") if cn else []
        if self.check_company and (len(parts) < 3 or parts[2] != UNIONPAY_COMPANY):
            raise _bad_certificate(_("it was not issued to UnionPay"))
        return cert

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: datetime | None = None) -> ChannelNotification:
        try:
            fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            raise malformed(_("the body is not form-encoded UTF-8")) from None
        return self.verify_fields(fields, now=now)

    def verify_fields(self, fields: Mapping[str, str], *, now: datetime | None = None) -> ChannelNotification:
        fields = dict(fields)
        for name in ("version", "signMethod", "signPubKeyCert", "signature"):
            if not fields.get(name):
                raise malformed(_("field %(name)s is missing") % {"name": name})
        if fields["version"] != "5.1.0" or fields["signMethod"] != "01":
            raise malformed(_("version %(version)s with signMethod %(method)s is not supported")
                            % {"version": fields["version"], "method": fields["signMethod"]})
        cert = self.signing_certificate(fields["signPubKeyCert"], now=now)
        try:
            cert.public_key().verify(base64.b64decode(fields["signature"], validate=True), _digest_hex(fields),
                                     padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            raise bad_signature() from None
        if fields.get("merId") != self.mer_id:
            raise ChannelError(_("The notification is for another merchant (%(mer_id)s).")
                               % {"mer_id": fields.get("merId")}, code="wrong_merchant")
        try:
            txn_type, resp_code = fields["txnType"], fields["respCode"]
            order_id, query_id, amount = fields["orderId"], fields["queryId"], fields["txnAmt"]
            txn_time = local_time(fields["txnTime"], TIME_FORMAT)
        except KeyError as missing:
            raise malformed(_("field %(name)s is missing") % {"name": missing.args[0]}) from None
        if resp_code not in ("00", "A6"):
            status = PaymentStatus.FAILED
        elif txn_type == "01":
            status = PaymentStatus.PAID
        elif txn_type == "04":
            status = PaymentStatus.REFUNDED
        elif txn_type == "31":
            status = PaymentStatus.CLOSED
        else:
            raise malformed(_("unknown txnType %(value)r") % {"value": txn_type})
        trade_no = (fields.get("origQryId") or query_id) if txn_type in ("04", "31") else query_id
        return ChannelNotification(
            channel=self.channel, trade_no=trade_no, out_trade_no=order_id, amount_fen=parse_fen(amount),
            status=status, paid_at=txn_time if status == PaymentStatus.PAID else None, notified_at=None,
            notify_id=query_id, payer_id=fields.get("accNo", ""), raw=fields)


# --- settlement file ------------------------------------------------------------------------

def parse_statement(data: bytes) -> list[StatementRow]:
    try:
        lines = data.decode("gbk").splitlines()
    except UnicodeDecodeError:
        raise ChannelError(_("The file is not a UnionPay settlement file."), code="malformed") from None
    if not lines or not lines[-1].startswith("TOTAL "):
        raise ChannelError(_("The file is not a UnionPay settlement file."), code="malformed")
    rows = []
    width = sum(w for _n, w in STATEMENT_FIELDS) + len(STATEMENT_FIELDS) - 1
    try:
        for line in lines[:-1]:
            if len(line) != width:
                raise ValueError(line)
            col, at = {}, 0
            for name, w in STATEMENT_FIELDS:
                col[name] = line[at:at + w].strip()
                at += w + 1
            refund = _TXN_TYPES[col["txnType"]] == StatementKind.REFUND
            rows.append(StatementRow(
                trade_no=col["origQryId"] if refund else col["queryId"], out_trade_no=col["orderId"],
                kind=_TXN_TYPES[col["txnType"]], amount_fen=parse_fen(col["txnAmt"].lstrip("0") or "0"),
                fee_fen=parse_fen(col["fee"].lstrip("0") or "0"), occurred_at=local_time(col["txnTime"], TIME_FORMAT),
                refund_no=col["queryId"] if refund else "", payer_id=col["accNo"]))
        _label, count, net, fees = lines[-1].split()
        count, net, fees = int(count), int(net), int(fees)
    except (ValueError, KeyError):
        raise ChannelError(_("The file is not a UnionPay settlement file."), code="malformed") from None
    check_totals(rows, count=count, net_fen=net, fee_fen=fees)
    return rows


# --- sandbox --------------------------------------------------------------------------------

def _new_rsa_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _certificate(*, subject: str, key, issuer_name: x509.Name | None, issuer_key, ca: bool,
                 days: int = 3650) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "China UnionPay (sandbox)"),
                      x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name or name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    return builder.sign(issuer_key, hashes.SHA256())


class UnionpaySandbox:
    """UnionPay's side: a root CA, an intermediate CA and a signing certificate issued to
    "中国银联股份有限公司"; signs back notifications; writes the settlement file."""

    def __init__(self, directory: Path | None = None, *, mer_id: str = "777290058110048"):
        self.mer_id = mer_id
        pem = lambda c: c.public_bytes(serialization.Encoding.PEM)  # noqa: E731
        self.root_key = serialization.load_pem_private_key(key_file(directory, "up-root.pem", _new_rsa_pem), None)
        self.middle_key = serialization.load_pem_private_key(key_file(directory, "up-middle.pem", _new_rsa_pem), None)
        self.sign_key = serialization.load_pem_private_key(key_file(directory, "up-sign.pem", _new_rsa_pem), None)
        self.root = x509.load_pem_x509_certificate(key_file(directory, "acp_test_root.cer", lambda: pem(_certificate(
            subject="CFCA TEST CS CA (sandbox root)", key=self.root_key, issuer_name=None,
            issuer_key=self.root_key, ca=True))))
        self.middle = x509.load_pem_x509_certificate(key_file(directory, "acp_test_middle.cer", lambda: pem(
            _certificate(subject="CFCA TEST OCA1 (sandbox)", key=self.middle_key, issuer_name=self.root.subject,
                         issuer_key=self.root_key, ca=True))))
        self.sign_cert = x509.load_pem_x509_certificate(key_file(directory, "acp_test_sign.cer", lambda: pem(
            _certificate(subject=f"041@Z12400000001@{UNIONPAY_COMPANY}@00000001", key=self.sign_key,
                         issuer_name=self.middle.subject, issuer_key=self.middle_key, ca=False, days=730))))

    def verifier(self) -> UnionpayVerifier:
        return UnionpayVerifier(mer_id=self.mer_id, root_certificate=self.root, intermediate_certificate=self.middle)

    def sign(self, fields: dict[str, str], *, key=None, certificate: x509.Certificate | None = None) -> dict[str, str]:
        """Add signPubKeyCert and signature as UnionPay does (another key/cert: for tests)."""
        cert = certificate or self.sign_cert
        fields = {**fields, "signPubKeyCert": cert.public_bytes(serialization.Encoding.PEM).decode()}
        signature = (key or self.sign_key).sign(_digest_hex(fields), padding.PKCS1v15(), hashes.SHA256())
        return {**fields, "signature": base64.b64encode(signature).decode()}

    def notification(self, *, trade_no: str, out_trade_no: str, amount_fen: int, payer_id: str = "6216261000000000018",
                     status: PaymentStatus = PaymentStatus.PAID, paid_at: datetime | None = None,
                     sent_at: datetime | None = None, notify_id: str | None = None,
                     refund_fen: int | None = None) -> tuple[dict[str, str], bytes]:
        """`trade_no` is UnionPay's queryId of the consume; a refund gets its own queryId
        (`notify_id`) and carries the consume's in origQryId."""
        sent_at = (sent_at or timezone.now()).astimezone(CHINA)
        txn_time = (paid_at or sent_at - timedelta(seconds=2)).astimezone(CHINA)
        txn_type = {PaymentStatus.PAID: "01", PaymentStatus.FAILED: "01", PaymentStatus.REFUNDED: "04",
                    PaymentStatus.CLOSED: "31"}[status]
        fields = {
            "version": "5.1.0", "encoding": "UTF-8", "signMethod": "01", "txnType": txn_type,
            "txnSubType": "01" if txn_type == "01" else "00", "bizType": "000201", "accessType": "0",
            "merId": self.mer_id, "orderId": out_trade_no, "txnTime": txn_time.strftime(TIME_FORMAT),
            "txnAmt": str(amount_fen if txn_type == "01" or refund_fen is None else refund_fen),
            "currencyCode": "156", "queryId": trade_no if txn_type == "01" else (notify_id or secrets.token_hex(10)),
            "respCode": "00" if status != PaymentStatus.FAILED else "61", "respMsg": "成功[0000000]",
            "traceNo": f"{secrets.randbelow(10**6):06d}", "traceTime": txn_time.strftime("%m%d%H%M%S"),
            "settleAmt": str(amount_fen), "settleCurrencyCode": "156", "settleDate": txn_time.strftime("%m%d"),
            "accNo": f"{payer_id[:6]}*********{payer_id[-4:]}",
        }
        if txn_type != "01":
            fields["origQryId"] = trade_no
        headers = {"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"}
        return headers, urlencode(self.sign(fields)).encode("ascii")

    def statement(self, rows: Iterable[StatementRow], day: date) -> bytes:
        rows = list(rows)
        lines = []
        for r in rows:
            refund = r.kind == StatementKind.REFUND
            values = {"txnType": "04" if refund else "01", "queryId": r.refund_no if refund else r.trade_no,
                      "orderId": r.out_trade_no, "txnTime": r.occurred_at.astimezone(CHINA).strftime(TIME_FORMAT),
                      "txnAmt": f"{r.amount_fen:012d}", "fee": f"{r.fee_fen:012d}", "accNo": r.payer_id,
                      "respCode": "00", "origQryId": r.trade_no if refund else ""}
            too_long = [name for name, w in STATEMENT_FIELDS if len(values[name]) > w]
            if too_long:
                raise ValueError(f"{', '.join(too_long)} too long for the settlement file layout")
            lines.append(" ".join(values[name].ljust(w) for name, w in STATEMENT_FIELDS))
        net = sum(-r.amount_fen if r.kind == StatementKind.REFUND else r.amount_fen for r in rows)
        lines.append(f"TOTAL {len(rows)} {net} {sum(r.fee_fen for r in rows)}")
        return ("\r\n".join(lines) + "\r\n").encode("gbk")
