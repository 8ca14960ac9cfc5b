"""WeChat Pay APIv3: header signatures, freshness, AEAD_AES_256_GCM resources, trade bill."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from wechatpayv3.utils import rsa_sign

from onecity.payments.channels import (
    Channel,
    ChannelError,
    PaymentStatus,
    StatementKind,
    dedupe_key,
    should_apply,
)
from onecity.payments.channels.wechat import (
    BILL_COLUMNS,
    TOTAL_COLUMNS,
    WechatSandbox,
    WechatVerifier,
    parse_statement,
)

from .conftest import CHINA, NOW, statement_rows

LATER = NOW + timedelta(seconds=2)


def _notify(sandbox, **kw):
    args = {"trade_no": "4200000000202611240000000001", "out_trade_no": "OC01HZ0000000001", "amount_fen": 1234,
            "payer_id": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "sent_at": NOW, "notify_id": "EV-2018022511223320873",
            "paid_at": NOW - timedelta(seconds=3)}
    return sandbox.notification(**{**args, **kw})


def _resign(sandbox, headers, body: str) -> tuple[dict, bytes]:
    ts, nonce = headers["Wechatpay-Timestamp"], headers["Wechatpay-Nonce"]
    return {**headers, "Wechatpay-Signature": rsa_sign(sandbox.private_key, f"{ts}\n{nonce}\n{body}\n")}, body.encode()


def test_good_notification(wechat_sandbox):
    headers, body = _notify(wechat_sandbox)
    envelope = json.loads(body)
    assert envelope["event_type"] == "TRANSACTION.SUCCESS"
    assert envelope["resource"]["algorithm"] == "AEAD_AES_256_GCM"
    assert "OC01HZ0000000001" not in body.decode()  # the resource travels encrypted
    assert headers["Wechatpay-Serial"] == wechat_sandbox.serial
    n = wechat_sandbox.verifier().verify(headers, body, now=LATER)
    assert (n.channel, n.trade_no, n.out_trade_no, n.amount_fen, n.status, n.notify_id, n.payer_id) == (
        Channel.WECHAT, "4200000000202611240000000001", "OC01HZ0000000001", 1234, PaymentStatus.PAID,
        "EV-2018022511223320873", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    assert n.paid_at == datetime(2026, 11, 24, 9, 59, 57, tzinfo=CHINA)
    assert n.notified_at == NOW
    assert n.raw["resource"]["amount"] == {"total": 1234, "payer_total": 1234, "currency": "CNY",
                                           "payer_currency": "CNY"}
    assert "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" not in repr(n)


def test_refund_notification(wechat_sandbox):
    headers, body = _notify(wechat_sandbox, status=PaymentStatus.REFUNDED, refund_fen=234, notify_id="EV-2")
    assert json.loads(body)["event_type"] == "REFUND.SUCCESS"
    n = wechat_sandbox.verifier().verify(headers, body, now=LATER)
    assert (n.status, n.amount_fen, n.raw["resource"]["amount"]["refund"]) == (PaymentStatus.REFUNDED, 1234, 234)


def test_bad_signature(wechat_sandbox):
    headers, body = _notify(wechat_sandbox)
    probe = "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"][19:]  # WeChat's own signature probe
    for signature in (probe, "not base64 !", ""):
        with pytest.raises(ChannelError) as caught:
            wechat_sandbox.verifier().verify({**headers, "Wechatpay-Signature": signature}, body, now=LATER)
        assert caught.value.code == "bad_signature"


def test_tampered_body(wechat_sandbox):
    headers, body = _notify(wechat_sandbox)
    tampered = body.replace(b'"summary":"\xe6\x94\xaf\xe4\xbb\x98\xe6\x88\x90\xe5\x8a\x9f"', b'"summary":"x"')
    assert tampered != body
    with pytest.raises(ChannelError) as caught:
        wechat_sandbox.verifier().verify(headers, tampered, now=LATER)
    assert caught.value.code == "bad_signature"


def test_tampered_nonce_header(wechat_sandbox):
    headers, body = _notify(wechat_sandbox)
    with pytest.raises(ChannelError) as caught:
        wechat_sandbox.verifier().verify({**headers, "Wechatpay-Nonce": "0" * 32}, body, now=LATER)
    assert caught.value.code == "bad_signature"


@pytest.mark.parametrize("skew", [timedelta(minutes=-5, seconds=-1), timedelta(minutes=5, seconds=1),
                                  timedelta(hours=-3)])
def test_stale_timestamp(wechat_sandbox, skew):
    headers, body = _notify(wechat_sandbox, sent_at=NOW + skew)
    with pytest.raises(ChannelError) as caught:
        wechat_sandbox.verifier().verify(headers, body, now=NOW)
    assert caught.value.code == "stale"


def test_unknown_platform_certificate(wechat_sandbox):
    headers, body = _notify(WechatSandbox())
    with pytest.raises(ChannelError) as caught:
        wechat_sandbox.verifier().verify(headers, body, now=LATER)
    assert caught.value.code == "unknown_key"
    forged = {**headers, "Wechatpay-Serial": wechat_sandbox.serial}  # another key claiming our serial
    with pytest.raises(ChannelError) as caught:
        wechat_sandbox.verifier().verify(forged, body, now=LATER)
    assert caught.value.code == "bad_signature"


def test_wrong_apiv3_key_cannot_decrypt(wechat_sandbox):
    headers, body = _notify(wechat_sandbox)
    verifier = WechatVerifier(mchid=wechat_sandbox.mchid, apiv3_key="0" * 32,
                              platform_certificates=[wechat_sandbox.certificate])
    with pytest.raises(ChannelError) as caught:
        verifier.verify(headers, body, now=LATER)
    assert caught.value.code == "decrypt_failed"


def test_tampered_associated_data_fails_decryption(wechat_sandbox):
    headers, body = _notify(wechat_sandbox)
    envelope = json.loads(body)
    envelope["resource"]["associated_data"] = "refund"
    headers, body = _resign(wechat_sandbox, headers, json.dumps(envelope, ensure_ascii=False))
    with pytest.raises(ChannelError) as caught:
        wechat_sandbox.verifier().verify(headers, body, now=LATER)
    assert caught.value.code == "decrypt_failed"


def test_another_merchants_notification(wechat_sandbox):
    headers, body = _notify(wechat_sandbox, mchid="1900000999")
    with pytest.raises(ChannelError) as caught:
        wechat_sandbox.verifier().verify(headers, body, now=LATER)
    assert (caught.value.code, str(caught.value)) == ("wrong_merchant",
                                                     "The notification is for another merchant (1900000999).")


@pytest.mark.parametrize("total", [-1, 12.34, "12.34", None, True])
def test_signed_but_impossible_amount(wechat_sandbox, total):
    headers, body = _notify(wechat_sandbox)
    envelope = json.loads(body)
    resource = {"appid": "wx", "mchid": wechat_sandbox.mchid, "out_trade_no": "OC1", "transaction_id": "42",
                "trade_state": "SUCCESS", "amount": {"total": total}}
    envelope["resource"] = {**wechat_sandbox.encrypt(resource, "transaction"), "original_type": "transaction"}
    headers, body = _resign(wechat_sandbox, headers, json.dumps(envelope))
    with pytest.raises(ChannelError) as caught:
        wechat_sandbox.verifier().verify(headers, body, now=LATER)
    assert caught.value.code == "bad_amount"


@pytest.mark.parametrize("status", [PaymentStatus.PAID, PaymentStatus.PENDING, PaymentStatus.CLOSED,
                                    PaymentStatus.FAILED])
def test_trade_state_mapping(wechat_sandbox, status):
    headers, body = _notify(wechat_sandbox, status=status)
    assert wechat_sandbox.verifier().verify(headers, body, now=LATER).status == status


def test_duplicates_and_out_of_order_delivery(wechat_sandbox):
    verifier = wechat_sandbox.verifier()
    paid = verifier.verify(*_notify(wechat_sandbox), now=LATER)
    retry = verifier.verify(*_notify(wechat_sandbox, sent_at=NOW + timedelta(minutes=10)),
                            now=NOW + timedelta(minutes=10))
    refund = verifier.verify(*_notify(wechat_sandbox, status=PaymentStatus.REFUNDED, notify_id="EV-9"), now=LATER)
    assert dedupe_key(paid) == dedupe_key(retry) != dedupe_key(refund)
    assert should_apply(paid.status, refund.status) and not should_apply(refund.status, retry.status)


def test_trade_bill_round_trip_with_backtick_cells(wechat_sandbox):
    rows = statement_rows(payer_id="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    data = wechat_sandbox.statement(rows, date(2026, 11, 24))
    lines = data.decode("utf-8").splitlines()
    assert lines[0] == ",".join(BILL_COLUMNS)
    assert lines[1].startswith("`2026-11-24 09:30:05,`wxd678efh567hg6787,`1900000109,`0,`,"
                               "`2026112422001400000000000001,`OC01HZ0000000001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,"
                               "`NATIVE,`SUCCESS,`OTHERS,`CNY,`12.34,")
    assert all(cell.startswith("`") for cell in lines[3].split(","))
    assert lines[-2:] == [",".join(TOTAL_COLUMNS), "`3,`100012.34,`2.34,`0.00,`60.06,`100012.34,`2.34"]
    assert parse_statement(data) == rows
    assert parse_statement(b"\xef\xbb\xbf" + data) == rows  # with a byte-order mark
    assert parse_statement(data)[2].kind == StatementKind.REFUND


def test_trade_bill_totals_must_match(wechat_sandbox):
    data = wechat_sandbox.statement(statement_rows(payer_id="o1"), date(2026, 11, 24))
    with pytest.raises(ChannelError) as caught:
        parse_statement(data.replace(b"`3,`100012.34", b"`3,`100012.35"))
    assert caught.value.code == "statement_mismatch"
    lines = data.decode().splitlines()
    with pytest.raises(ChannelError) as caught:
        parse_statement("\r\n".join(lines[:1] + lines[2:]).encode())
    assert caught.value.code == "statement_mismatch"
    with pytest.raises(ChannelError) as caught:
        parse_statement(b"\xff\xfe")
    assert caught.value.code == "malformed"
