"""The city wallet: Ed25519-signed notifications and the CSV statement."""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta

import pytest

from onecity.payments.channels import Channel, ChannelError, PaymentStatus, dedupe_key
from onecity.payments.channels.wallet import WalletSandbox, WalletVerifier, parse_statement

from .conftest import NOW, statement_rows


def _notify(sandbox, **kw):
    args = {"trade_no": "W2026112400000001", "out_trade_no": "OC01HZ0000000001", "amount_fen": 1234,
            "payer_id": "13800138000", "sent_at": NOW, "notify_id": "evt-1"}
    return sandbox.notification(**{**args, **kw})


def test_good_notification(wallet_sandbox):
    headers, body = _notify(wallet_sandbox)
    n = wallet_sandbox.verifier().verify(headers, body, now=NOW + timedelta(seconds=3))
    assert (n.channel, n.trade_no, n.out_trade_no, n.amount_fen, n.status, n.notify_id, n.payer_id) == (
        Channel.WALLET, "W2026112400000001", "OC01HZ0000000001", 1234, PaymentStatus.PAID, "evt-1", "13800138000")
    assert n.paid_at == NOW and n.notified_at == NOW
    assert "13800138000" not in repr(n) and "138****8000" in repr(n)


def test_header_names_are_case_insensitive(wallet_sandbox):
    headers, body = _notify(wallet_sandbox)
    lower = {k.lower(): v for k, v in headers.items()}
    assert wallet_sandbox.verifier().verify(lower, body, now=NOW).trade_no == "W2026112400000001"


def test_bad_signature(wallet_sandbox):
    headers, body = _notify(wallet_sandbox)
    forged = base64.b64encode(bytes(64)).decode()
    with pytest.raises(ChannelError) as caught:
        wallet_sandbox.verifier().verify({**headers, "OneCity-Wallet-Signature": forged}, body, now=NOW)
    assert caught.value.code == "bad_signature"
    assert str(caught.value) == ("The notification's signature does not verify: it was not sent by the channel, "
                                 "or it was changed on the way.")


def test_tampered_body(wallet_sandbox):
    headers, body = _notify(wallet_sandbox)
    tampered = body.replace(b'"amount_fen":1234', b'"amount_fen":1')
    assert tampered != body
    with pytest.raises(ChannelError) as caught:
        wallet_sandbox.verifier().verify(headers, tampered, now=NOW)
    assert caught.value.code == "bad_signature"


def test_tampered_timestamp_breaks_the_signature(wallet_sandbox):
    headers, body = _notify(wallet_sandbox, sent_at=NOW - timedelta(hours=1))
    fresh = str(int(NOW.timestamp()))
    with pytest.raises(ChannelError) as caught:
        wallet_sandbox.verifier().verify({**headers, "OneCity-Wallet-Timestamp": fresh}, body, now=NOW)
    assert caught.value.code == "bad_signature"


@pytest.mark.parametrize("skew", [timedelta(minutes=-6), timedelta(minutes=6), timedelta(days=1)])
def test_stale_timestamp(wallet_sandbox, skew):
    headers, body = _notify(wallet_sandbox, sent_at=NOW + skew)
    with pytest.raises(ChannelError) as caught:
        wallet_sandbox.verifier().verify(headers, body, now=NOW)
    assert caught.value.code == "stale"


def test_wrong_key(wallet_sandbox):
    other = WalletSandbox(kid="wallet-sandbox-1")  # same key id, another key
    headers, body = _notify(other)
    with pytest.raises(ChannelError) as caught:
        wallet_sandbox.verifier().verify(headers, body, now=NOW)
    assert caught.value.code == "bad_signature"
    with pytest.raises(ChannelError) as caught:
        WalletVerifier({}).verify(headers, body, now=NOW)
    assert caught.value.code == "unknown_key"
    assert str(caught.value) == ("The notification is signed with key wallet-sandbox-1, "
                                 "which this platform does not know.")


def test_missing_header(wallet_sandbox):
    headers, body = _notify(wallet_sandbox)
    del headers["OneCity-Wallet-Nonce"]
    with pytest.raises(ChannelError) as caught:
        wallet_sandbox.verifier().verify(headers, body, now=NOW)
    assert str(caught.value) == "The notification is malformed: header onecity-wallet-nonce is missing."


@pytest.mark.parametrize("amount", [-1, "12.34", None, True])
def test_bad_amount_in_a_signed_body(wallet_sandbox, amount):
    headers, body = _notify(wallet_sandbox, amount_fen=amount)
    with pytest.raises(ChannelError) as caught:
        wallet_sandbox.verifier().verify(headers, body, now=NOW)
    assert caught.value.code == "bad_amount"


def test_redelivery_is_a_duplicate(wallet_sandbox):
    verifier = wallet_sandbox.verifier()
    first = verifier.verify(*_notify(wallet_sandbox), now=NOW)
    again = verifier.verify(*_notify(wallet_sandbox, sent_at=NOW + timedelta(minutes=2)), now=NOW + timedelta(minutes=2))
    refund = verifier.verify(*_notify(wallet_sandbox, status=PaymentStatus.REFUNDED, notify_id="evt-2"), now=NOW)
    assert dedupe_key(first) == dedupe_key(again) != dedupe_key(refund)
    assert json.loads(_notify(wallet_sandbox)[1])["event"] == "trade.paid"


def test_statement_round_trip(wallet_sandbox):
    rows = statement_rows(payer_id="13800138000")
    data = wallet_sandbox.statement(rows, date(2026, 11, 24))
    assert data.decode().splitlines()[-1] == "# total,3,10001000,6008,2026-11-24"
    assert parse_statement(data) == rows


def test_statement_totals_are_checked(wallet_sandbox):
    data = wallet_sandbox.statement(statement_rows(payer_id="x"), date(2026, 11, 24))
    lines = data.decode().splitlines()
    with pytest.raises(ChannelError) as caught:
        parse_statement("\n".join(lines[:2] + lines[3:]).encode())
    assert caught.value.code == "statement_mismatch"
    with pytest.raises(ChannelError) as caught:
        parse_statement(b"not,a,statement\n")
    assert caught.value.code == "malformed"
