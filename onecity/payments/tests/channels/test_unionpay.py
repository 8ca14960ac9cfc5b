"""UnionPay acp 5.1.0: certificate-chained signatures and the fixed-width settlement file."""

from __future__ import annotations

from dataclasses import replace
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
from onecity.payments.channels.unionpay import (
    UnionpaySandbox,
    UnionpayVerifier,
    _certificate,
    parse_statement,
    signing_string,
)

from .conftest import CHINA, NOW, statement_rows


def _notify(sandbox, **kw):
    args = {"trade_no": "582611240959570000001", "out_trade_no": "OC01HZ0000000001", "amount_fen": 1234,
            "payer_id": "6216261000000000018", "sent_at": NOW, "paid_at": NOW - timedelta(seconds=3)}
    return sandbox.notification(**{**args, **kw})


def _fields(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode()))


def test_good_notification(unionpay_sandbox):
    headers, body = _notify(unionpay_sandbox)
    fields = _fields(body)
    assert (fields["version"], fields["signMethod"], fields["txnAmt"], fields["accNo"]) == (
        "5.1.0", "01", "1234", "621626*********0018")
    assert fields["signPubKeyCert"].startswith("-----BEGIN CERTIFICATE-----")
    n = unionpay_sandbox.verifier().verify(headers, body, now=NOW)
    assert (n.channel, n.trade_no, n.out_trade_no, n.amount_fen, n.status, n.notify_id) == (
        Channel.UNIONPAY, "582611240959570000001", "OC01HZ0000000001", 1234, PaymentStatus.PAID,
        "582611240959570000001")
    assert n.paid_at == datetime(2026, 11, 24, 9, 59, 57, tzinfo=CHINA)
    assert "payer='**** 0018'" in repr(n) and "6216" not in repr(n)


def test_signing_string_is_sorted_and_leaves_out_the_signature():
    assert signing_string({"txnAmt": "1", "accessType": "0", "signature": "x", "bizType": ""}) == (
        "accessType=0&bizType=&txnAmt=1")


def test_refund_notification(unionpay_sandbox):
    headers, body = _notify(unionpay_sandbox, status=PaymentStatus.REFUNDED, refund_fen=234,
                            notify_id="582611241100000000002")
    n = unionpay_sandbox.verifier().verify(headers, body, now=NOW)
    assert (n.status, n.trade_no, n.notify_id, n.amount_fen) == (
        PaymentStatus.REFUNDED, "582611240959570000001", "582611241100000000002", 234)


def test_bad_signature(unionpay_sandbox):
    fields = _fields(_notify(unionpay_sandbox)[1])
    fields["signature"] = fields["signature"][:-8] + "AAAAAAA="
    with pytest.raises(ChannelError) as caught:
        unionpay_sandbox.verifier().verify({}, urlencode(fields).encode(), now=NOW)
    assert caught.value.code == "bad_signature"


@pytest.mark.parametrize(("field", "value"), [("txnAmt", "1"), ("orderId", "OC01HZ0000000002"), ("respCode", "05")])
def test_tampered_body(unionpay_sandbox, field, value):
    fields = _fields(_notify(unionpay_sandbox)[1])
    fields[field] = value
    with pytest.raises(ChannelError) as caught:
        unionpay_sandbox.verifier().verify({}, urlencode(fields).encode(), now=NOW)
    assert caught.value.code == "bad_signature"


def test_certificate_not_chained_to_the_root(unionpay_sandbox):
    other = UnionpaySandbox()  # another CA issuing a certificate with the very same subject
    headers, body = _notify(other)
    with pytest.raises(ChannelError) as caught:
        unionpay_sandbox.verifier().verify(headers, body, now=NOW)
    assert caught.value.code == "bad_certificate"
    assert str(caught.value) == ("The notification's signing certificate is not trusted: "
                                 "it does not chain to UnionPay's root certificate.")


def test_certificate_not_issued_to_unionpay(unionpay_sandbox):
    s = unionpay_sandbox
    merchant_cert = _certificate(subject="041@Z12400000001@福州某商户@00000001", key=s.sign_key,
                                 issuer_name=s.middle.subject, issuer_key=s.middle_key, ca=False)
    fields = s.sign({k: v for k, v in _fields(_notify(s)[1]).items() if k not in ("signature", "signPubKeyCert")},
                    certificate=merchant_cert)
    with pytest.raises(ChannelError) as caught:
        s.verifier().verify({}, urlencode(fields).encode(), now=NOW)
    assert str(caught.value) == "The notification's signing certificate is not trusted: it was not issued to UnionPay."


def test_signature_by_a_key_other_than_the_certificates(unionpay_sandbox):
    s = unionpay_sandbox
    unsigned = {k: v for k, v in _fields(_notify(s)[1]).items() if k not in ("signature", "signPubKeyCert")}
    fields = s.sign(unsigned, key=s.middle_key)  # the real cert attached, signed with another key
    with pytest.raises(ChannelError) as caught:
        s.verifier().verify({}, urlencode(fields).encode(), now=NOW)
    assert caught.value.code == "bad_signature"


def test_expired_certificate(unionpay_sandbox):
    headers, body = _notify(unionpay_sandbox)
    with pytest.raises(ChannelError) as caught:
        unionpay_sandbox.verifier().verify(headers, body, now=NOW + timedelta(days=800))
    assert str(caught.value) == "The notification's signing certificate is not trusted: it is not valid at this time."


def test_garbage_certificate(unionpay_sandbox):
    fields = _fields(_notify(unionpay_sandbox)[1])
    fields["signPubKeyCert"] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"
    with pytest.raises(ChannelError) as caught:
        unionpay_sandbox.verifier().verify({}, urlencode(fields).encode(), now=NOW)
    assert caught.value.code == "bad_certificate"


def test_wrong_merchant_and_old_versions(unionpay_sandbox):
    s = unionpay_sandbox
    headers, body = _notify(s)
    stranger = UnionpayVerifier(mer_id="777290058110049", root_certificate=s.root, intermediate_certificate=s.middle)
    with pytest.raises(ChannelError) as caught:
        stranger.verify(headers, body, now=NOW)
    assert caught.value.code == "wrong_merchant"
    fields = _fields(body)
    fields["version"] = "5.0.0"
    with pytest.raises(ChannelError) as caught:
        s.verifier().verify({}, urlencode(fields).encode(), now=NOW)
    assert str(caught.value) == ("The notification is malformed: version 5.0.0 with signMethod 01 "
                                 "is not supported.")


@pytest.mark.parametrize("amount", ["12.34", "-1", "", "1 "])
def test_signed_but_impossible_amount(unionpay_sandbox, amount):
    s = unionpay_sandbox
    unsigned = {k: v for k, v in _fields(_notify(s)[1]).items() if k not in ("signature", "signPubKeyCert")}
    fields = s.sign({**unsigned, "txnAmt": amount})
    with pytest.raises(ChannelError) as caught:
        s.verifier().verify({}, urlencode(fields).encode(), now=NOW)
    assert caught.value.code == "bad_amount"


def test_failed_payment_and_duplicates(unionpay_sandbox):
    verifier = unionpay_sandbox.verifier()
    failed = verifier.verify(*_notify(unionpay_sandbox, status=PaymentStatus.FAILED), now=NOW)
    paid = verifier.verify(*_notify(unionpay_sandbox), now=NOW)
    again = verifier.verify(*_notify(unionpay_sandbox), now=NOW + timedelta(hours=1))
    assert failed.status == PaymentStatus.FAILED
    assert should_apply(failed.status, paid.status)
    assert dedupe_key(paid) == dedupe_key(again) == "unionpay:582611240959570000001:paid"


def _unionpay_rows(payer_id: str):
    """UnionPay's queryIds are 21 characters."""
    return [replace(r, trade_no=r.trade_no[-21:], refund_no=r.refund_no[-21:]) for r in statement_rows(payer_id=payer_id)]


def test_settlement_file_round_trip(unionpay_sandbox):
    rows = _unionpay_rows("621626*********0018")
    data = unionpay_sandbox.statement(rows, date(2026, 11, 24))
    lines = data.decode("gbk").split("\r\n")
    assert lines[0] == ("01 422001400000000000001 OC01HZ0000000001"
                        + " " * 25 + "20261124093005 000000001234 000000000007 621626*********0018 00 " + " " * 21)
    assert lines[-2:] == ["TOTAL 3 10001000 6008", ""]
    parsed = parse_statement(data)
    assert parsed == [replace(r, out_refund_no="") for r in rows]  # the file carries UnionPay's numbers only
    assert parsed[2].kind == StatementKind.REFUND and parsed[2].refund_no == "50300000000000000001"


def test_settlement_file_totals_must_match(unionpay_sandbox):
    with pytest.raises(ValueError, match="queryId too long"):
        unionpay_sandbox.statement(statement_rows(payer_id="x"), date(2026, 11, 24))
    data = unionpay_sandbox.statement(_unionpay_rows("x"), date(2026, 11, 24))
    with pytest.raises(ChannelError) as caught:
        parse_statement(data.replace(b"TOTAL 3 10001000", b"TOTAL 3 10001001"))
    assert caught.value.code == "statement_mismatch"
    with pytest.raises(ChannelError) as caught:
        parse_statement(data.replace(b"000000001234", b"00000001234"))
    assert caught.value.code == "malformed"
