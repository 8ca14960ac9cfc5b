"""Every channel end to end: a sandbox in its own key directory (as another process would
run it) posts a notification; the verifier built from the same directory accepts it, and a
bill for another amount is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from onecity.payments.channels import ChannelError, PaymentStatus, check_amount
from onecity.payments.channels.alipay import AlipaySandbox
from onecity.payments.channels.unionpay import UnionpaySandbox
from onecity.payments.channels.wallet import WalletSandbox
from onecity.payments.channels.wechat import WechatSandbox

from .conftest import NOW

SANDBOXES = [WalletSandbox, AlipaySandbox, WechatSandbox, UnionpaySandbox]


@pytest.mark.parametrize("sandbox_class", SANDBOXES, ids=lambda c: c.__name__)
def test_keys_kept_in_a_directory_serve_both_sides(sandbox_class, tmp_path):
    channel_side = sandbox_class(tmp_path)
    platform_side = sandbox_class(tmp_path).verifier()  # e.g. the web process, reading the same files
    headers, body = channel_side.notification(trade_no="582611240959570000001", out_trade_no="OC01HZ0000000001",
                                              amount_fen=1234, sent_at=NOW)
    n = platform_side.verify(headers, body, now=NOW + timedelta(seconds=1))
    assert (n.out_trade_no, n.amount_fen, n.status) == ("OC01HZ0000000001", 1234, PaymentStatus.PAID)
    check_amount(n, expected_fen=1234)
    with pytest.raises(ChannelError) as caught:
        check_amount(n, expected_fen=1230)
    assert caught.value.code == "amount_mismatch"
    assert sorted(p.stat().st_mode & 0o777 for p in tmp_path.iterdir()) == [0o600] * len(list(tmp_path.iterdir()))


@pytest.mark.parametrize(("sandbox_class", "code"), [
    (WalletSandbox, "bad_signature"),       # same key id, another key
    (AlipaySandbox, "bad_signature"),
    (WechatSandbox, "unknown_key"),         # another platform certificate serial
    (UnionpaySandbox, "bad_certificate"),   # not chained to this root
], ids=lambda v: getattr(v, "__name__", v))
def test_a_fresh_directory_is_another_channel(sandbox_class, code, tmp_path):
    headers, body = sandbox_class(tmp_path / "a").notification(
        trade_no="582611240959570000001", out_trade_no="OC1", amount_fen=1, sent_at=NOW)
    with pytest.raises(ChannelError) as caught:
        sandbox_class(tmp_path / "b").verifier().verify(headers, body, now=NOW)
    assert caught.value.code == code
