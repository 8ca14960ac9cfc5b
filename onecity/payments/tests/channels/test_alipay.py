"""Alipay: RSA2 notifications verified by python-alipay-sdk, and the GBK statement zip."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import pytest

from onecity.payments.channels import (
    Channel,
    ChannelError,
    PaymentStatus,
    StatementKind,
    dedupe_key,
    should_apply,
)
from onecity.payments.channels.alipay import (
    DETAIL_COLUMNS,
    SUCCESS_RESPONSE,
    AlipaySandbox,
    AlipayVerifier,
    parse_statement,
    rsa2_sign,
)

from .conftest import CHINA, NOW, statement_rows


def _notify(sandbox, **kw):
    args = {"trade_no": "2026112422001414560500000001", "out_trade_no": "OC01HZ0000000001", "amount_fen": 1234,
            "payer_id": "2088102146225135", "sent_at": NOW, "notify_id": "ac05099524730693a8b330c5ecf72da9786",
            "paid_at": NOW - timedelta(seconds=3)}
    return sandbox.notification(**{**args, **kw})


def _params(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode()))


def test_good_notification(alipay_sandbox):
    headers, body = _notify(alipay_sandbox)
    assert headers == {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    params = _params(body)
    assert (params["trade_status"], params["total_amount"], params["sign_type"]) == ("TRADE_SUCCESS", "12.34", "RSA2")
    n = alipay_sandbox.verifier().verify(headers, body)
    assert (n.channel, n.trade_no, n.out_trade_no, n.amount_fen, n.status, n.notify_id, n.payer_id) == (
        Channel.ALIPAY, "2026112422001414560500000001", "OC01HZ0000000001", 1234, PaymentStatus.PAID,
        "ac05099524730693a8b330c5ecf72da9786", "2088102146225135")
    assert n.paid_at == datetime(2026, 11, 24, 9, 59, 57, tzinfo=CHINA)
    assert n.notified_at == datetime(2026, 11, 24, 10, 0, 0, tzinfo=CHINA)
    assert "2088102146225135" not in repr(n)
    assert SUCCESS_RESPONSE == b"success"


def test_the_sdk_and_the_sandbox_agree_on_the_signed_string(alipay_sandbox):
    """Signed by the sandbox's own code, checked by the SDK: one sorted k=v string, no sign/sign_type."""
    params = {"b": "2", "a": "1", "c": "中文 & 空格", "empty": ""}
    sign = rsa2_sign(alipay_sandbox.private_key, params)
    assert alipay_sandbox.verifier().sdk.verify({"a": "1", "b": "2", "c": "中文 & 空格"}, sign)
    assert not alipay_sandbox.verifier().sdk.verify({"a": "1", "b": "3", "c": "中文 & 空格"}, sign)


def test_the_openssl_check_agrees_with_the_sdks_own(alipay_sandbox):
    """The verifier's RSA step is cryptography's (OpenSSL); the SDK's pycryptodome one gives the
    same answer for a good signature, a changed message, another key's signature and garbage."""
    from alipay import AliPay

    sdk = alipay_sandbox.verifier().sdk
    message = "a=1&b=2&c=中文 & 空格"
    good = rsa2_sign(alipay_sandbox.private_key, {"a": "1", "b": "2", "c": "中文 & 空格"})
    other = rsa2_sign(AlipaySandbox().private_key, {"a": "1", "b": "2", "c": "中文 & 空格"})
    cases = [(message, good), (message.replace("2", "3"), good), (message, other), (message, good[:-4] + "AAA=")]
    assert [sdk._verify(m, sig) for m, sig in cases] == [True, False, False, False]
    assert [AliPay._verify(sdk, m, sig) for m, sig in cases] == [True, False, False, False]
    assert sdk._verify(message, "not base64!") is False


def test_bad_signature(alipay_sandbox):
    params = _params(_notify(alipay_sandbox)[1])
    other = AlipaySandbox()
    params["sign"] = rsa2_sign(other.private_key, params)
    with pytest.raises(ChannelError) as caught:
        alipay_sandbox.verifier().verify({}, urlencode(params).encode())
    assert caught.value.code == "bad_signature"


@pytest.mark.parametrize(("field", "value"), [("total_amount", "0.01"), ("trade_status", "TRADE_SUCCESS "),
                                              ("out_trade_no", "OC01HZ0000000002"), ("extra", "added")])
def test_tampered_body(alipay_sandbox, field, value):
    params = _params(_notify(alipay_sandbox)[1])
    params[field] = value
    with pytest.raises(ChannelError) as caught:
        alipay_sandbox.verifier().verify({}, urlencode(params).encode())
    assert caught.value.code == "bad_signature"


def test_wrong_key_and_wrong_application(alipay_sandbox):
    headers, body = _notify(alipay_sandbox)
    with pytest.raises(ChannelError) as caught:
        AlipaySandbox().verifier().verify(headers, body)  # holds another Alipay public key
    assert caught.value.code == "bad_signature"
    stranger = AlipayVerifier(app_id="2021000000009999", app_private_key_pem=alipay_sandbox.app_private_pem.decode(),
                              alipay_public_key_pem=alipay_sandbox.alipay_public_pem)
    with pytest.raises(ChannelError) as caught:
        stranger.verify(headers, body)
    assert caught.value.code == "wrong_merchant"
    assert str(caught.value) == "The notification is for another application (2021000000000001)."


def test_sign_type_rsa_is_refused(alipay_sandbox):
    params = _params(_notify(alipay_sandbox)[1])
    params["sign_type"] = "RSA"
    with pytest.raises(ChannelError) as caught:
        alipay_sandbox.verifier().verify({}, urlencode(params).encode())
    assert caught.value.code == "bad_signature"


def test_unsigned_or_garbled_body(alipay_sandbox):
    params = _params(_notify(alipay_sandbox)[1])
    del params["sign"]
    with pytest.raises(ChannelError) as caught:
        alipay_sandbox.verifier().verify({}, urlencode(params).encode())
    assert str(caught.value) == "The notification is malformed: parameter sign is missing."
    with pytest.raises(ChannelError) as caught:
        alipay_sandbox.verifier().verify({}, b"\xff\xfe")
    assert caught.value.code == "malformed"


@pytest.mark.parametrize(("amount_fen", "text"), [(1, "0.01"), (10, "0.10"), (100, "1.00"), (1999, "19.99"),
                                                  (100_000_000_00, "100000000.00")])
def test_amounts_in_yuan_become_exact_fen(alipay_sandbox, amount_fen, text):
    headers, body = _notify(alipay_sandbox, amount_fen=amount_fen)
    assert _params(body)["total_amount"] == text
    assert alipay_sandbox.verifier().verify(headers, body).amount_fen == amount_fen


def test_signed_but_impossible_amount_is_refused(alipay_sandbox):
    params = _params(_notify(alipay_sandbox)[1])
    params["total_amount"] = "12.345"
    params["sign"] = rsa2_sign(alipay_sandbox.private_key, params)
    with pytest.raises(ChannelError) as caught:
        alipay_sandbox.verifier().verify({}, urlencode(params).encode())
    assert caught.value.code == "bad_amount"


@pytest.mark.parametrize(("status", "trade_status"), [
    (PaymentStatus.PENDING, "WAIT_BUYER_PAY"), (PaymentStatus.PAID, "TRADE_SUCCESS"),
    (PaymentStatus.CLOSED, "TRADE_CLOSED"), (PaymentStatus.REFUNDED, "TRADE_SUCCESS"),
])
def test_trade_status_mapping(alipay_sandbox, status, trade_status):
    headers, body = _notify(alipay_sandbox, status=status)
    assert _params(body)["trade_status"] == trade_status
    assert alipay_sandbox.verifier().verify(headers, body).status == status


def test_trade_finished_is_paid(alipay_sandbox):
    params = _params(_notify(alipay_sandbox)[1])
    params["trade_status"] = "TRADE_FINISHED"
    params["sign"] = rsa2_sign(alipay_sandbox.private_key, params)
    assert alipay_sandbox.verifier().verify({}, urlencode(params).encode()).status == PaymentStatus.PAID


def test_duplicates_and_out_of_order_delivery(alipay_sandbox):
    verifier = alipay_sandbox.verifier()
    paid = verifier.verify(*_notify(alipay_sandbox))
    retry = verifier.verify(*_notify(alipay_sandbox, sent_at=NOW + timedelta(minutes=4)))
    refunded = verifier.verify(*_notify(alipay_sandbox, status=PaymentStatus.REFUNDED, notify_id="n2"))
    assert dedupe_key(paid) == dedupe_key(retry)
    # the refund overtakes the retried "paid": the late "paid" must not be applied
    assert should_apply(PaymentStatus.REFUNDED, retry.status) is False
    assert refunded.raw["refund_fee"] == "12.34"


def test_statement_zip_of_gbk_csv(alipay_sandbox):
    rows = statement_rows(payer_id="138****8000")
    data = alipay_sandbox.statement(rows, date(2026, 11, 24))
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = sorted(archive.namelist())
    assert names == ["20880000000000010156_20261124_业务明细(汇总).csv", "20880000000000010156_20261124_业务明细.csv"]
    raw = archive.read(names[1])
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    lines = raw.decode("gbk").splitlines()
    assert lines[:4] == ["#支付宝业务明细查询", "#账号：[20880000000000010156]",
                         "#起始日期：[2026年11月24日 00:00:00]   终止日期：[2026年11月25日 00:00:00]",
                         "#-----------------------------------------业务明细列表----------------------------------------"]
    assert next(csv.reader([lines[4]])) == DETAIL_COLUMNS
    assert lines[-3:] == ["#交易合计：2笔，商家实收共：100012.34元，商家优惠共：0.00元",
                          "#退款合计：1笔，商家实收退款共：-2.34元，商家优惠退款共：0.00元",
                          "#导出时间：[2026年11月25日 09:00:00]"]
    first = next(csv.reader([lines[5]]))
    assert first[:3] == ["2026112422001400000000000001\t", "OC01HZ0000000001\t", "交易\t"]
    assert first[22] == "-0.07\t"
    parsed = parse_statement(data)
    assert [(r.trade_no, r.kind, r.amount_fen, r.fee_fen, r.occurred_at, r.out_refund_no, r.payer_id) for r in parsed] == [
        (r.trade_no, r.kind, r.amount_fen, r.fee_fen, r.occurred_at, r.out_refund_no, r.payer_id) for r in rows]
    assert parsed[2].kind == StatementKind.REFUND and parsed[2].refund_no == ""  # Alipay lists only our request no


def test_statement_with_gbk_member_names_is_read(alipay_sandbox):
    """Alipay's own zips name members in GBK without zip's UTF-8 flag."""
    source = zipfile.ZipFile(io.BytesIO(alipay_sandbox.statement(statement_rows(payer_id="x"), date(2026, 11, 24))))

    class GbkName(zipfile.ZipInfo):
        def _encodeFilenameFlags(self):  # what Alipay's (Java) zip writer does
            return self.filename.encode("gbk"), self.flag_bits

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            target.writestr(GbkName(info.filename), source.read(info))
    data = buffer.getvalue()
    assert "业务明细".encode("gbk") in data and "业务明细".encode() not in data
    assert len(parse_statement(data)) == 3


def test_statement_summary_must_match(alipay_sandbox):
    data = alipay_sandbox.statement(statement_rows(payer_id="x"), date(2026, 11, 24))
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename.endswith("_业务明细.csv"):
                content = content.replace("商家实收共：100012.34元".encode("gbk"), "商家实收共：100012.35元".encode("gbk"))
            target.writestr(info, content)
    with pytest.raises(ChannelError) as caught:
        parse_statement(buffer.getvalue())
    assert caught.value.code == "statement_mismatch"
    with pytest.raises(ChannelError) as caught:
        parse_statement(b"PK not a zip")
    assert caught.value.code == "malformed"
