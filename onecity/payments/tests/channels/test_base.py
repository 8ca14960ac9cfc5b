"""Rules shared by every channel: amounts, duplicates, delivery order, masking."""

from __future__ import annotations

from datetime import timedelta

import pytest

from onecity.payments.channels import (
    Channel,
    ChannelError,
    ChannelNotification,
    PaymentStatus,
    check_amount,
    dedupe_key,
    should_apply,
    yuan_to_fen,
)
from onecity.payments.channels.base import check_fresh, fen_to_yuan, key_file, mask_payer, parse_fen

from .conftest import NOW


@pytest.mark.parametrize(("text", "fen"), [
    ("12.34", 1234), ("0.01", 1), ("0.1", 10), ("12", 1200), ("12.3", 1230), ("0", 0), ("0.00", 0),
    ("999999999999.99", 99999999999999), ("19.99", 1999),  # float(19.99) * 100 == 1998.9999999999998
])
def test_yuan_to_fen_is_exact(text, fen):
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize("text", ["12.345", "-1.00", "1e3", "", " ", "012.00", "12.", ".5", "12,34", "NaN", "１２"])
def test_yuan_to_fen_refuses(text):
    with pytest.raises(ChannelError) as caught:
        yuan_to_fen(text)
    assert caught.value.code == "bad_amount"
    assert str(caught.value) == f"{text!r} is not an amount in yuan with at most two decimals."


def test_negative_yuan_only_where_allowed():
    assert yuan_to_fen("-0.07", allow_negative=True) == -7
    assert [fen_to_yuan(f) for f in (0, 7, -7, 1234, 100_000_00)] == ["0.00", "0.07", "-0.07", "12.34", "100000.00"]


@pytest.mark.parametrize(("value", "ok"), [("1234", 1234), (1234, 1234), ("0", 0), ("-1", None), ("12.00", None),
                                           (True, None), ("", None), (-5, None)])
def test_parse_fen(value, ok):
    if ok is None:
        with pytest.raises(ChannelError):
            parse_fen(value)
    else:
        assert parse_fen(value) == ok


def _n(status: PaymentStatus, **kw) -> ChannelNotification:
    base = {"channel": Channel.WECHAT, "trade_no": "4200000000202611240000000001", "out_trade_no": "OC1",
            "amount_fen": 1234, "status": status, "paid_at": NOW, "notified_at": NOW, "notify_id": "EV-1",
            "payer_id": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}
    return ChannelNotification(**{**base, **kw})


def test_duplicates_share_a_key_and_new_states_do_not():
    first = _n(PaymentStatus.PAID)
    retry = _n(PaymentStatus.PAID, notify_id="EV-1", notified_at=NOW + timedelta(minutes=15))
    refund = _n(PaymentStatus.REFUNDED, notify_id="EV-2")
    assert dedupe_key(first) == dedupe_key(retry) == "wechat:4200000000202611240000000001:paid"
    assert dedupe_key(refund) == "wechat:4200000000202611240000000001:refunded"
    assert dedupe_key(_n(PaymentStatus.PAID, channel=Channel.ALIPAY)) != dedupe_key(first)


def test_out_of_order_delivery_never_moves_a_trade_back():
    assert should_apply(None, PaymentStatus.PAID)
    assert should_apply(PaymentStatus.PENDING, PaymentStatus.PAID)
    assert should_apply(PaymentStatus.FAILED, PaymentStatus.PAID)
    assert should_apply(PaymentStatus.PAID, PaymentStatus.REFUNDED)
    # a retried "paid" overtaken by the refund, and a late "pending", are old news
    assert not should_apply(PaymentStatus.REFUNDED, PaymentStatus.PAID)
    assert not should_apply(PaymentStatus.PAID, PaymentStatus.PENDING)
    assert not should_apply(PaymentStatus.PAID, PaymentStatus.PAID)  # a duplicate
    assert not should_apply(PaymentStatus.PAID, PaymentStatus.CLOSED)
    assert not should_apply(PaymentStatus.CLOSED, PaymentStatus.PAID)


def test_wrong_amount_is_refused():
    check_amount(_n(PaymentStatus.PAID), expected_fen=1234)
    with pytest.raises(ChannelError) as caught:
        check_amount(_n(PaymentStatus.PAID), expected_fen=1235)
    assert caught.value.code == "amount_mismatch"
    assert str(caught.value) == "The channel reports 1234 fen for order OC1, but the bill is for 1235 fen."


def test_freshness_window_is_five_minutes_both_ways():
    check_fresh(NOW, now=NOW + timedelta(minutes=5))
    check_fresh(NOW, now=NOW - timedelta(minutes=5))
    for now in (NOW + timedelta(minutes=5, seconds=1), NOW - timedelta(minutes=5, seconds=1)):
        with pytest.raises(ChannelError) as caught:
            check_fresh(NOW, now=now)
        assert caught.value.code == "stale"
        assert str(caught.value) == ("The notification was signed at 2026-11-24 10:00:00, "
                                     "more than 5 minutes from now.")


def test_payer_ids_never_show_in_repr():
    n = _n(PaymentStatus.PAID)
    assert "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" not in repr(n)
    assert "payer='o****o'" in repr(n)
    assert (mask_payer("074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5"), mask_payer("ab"), mask_payer("x")) == (
        "0****5", "**", "*")
    assert mask_payer("6216261000000000018") == "**** 0018"
    assert mask_payer("621626*********0018") == "**** 0018"
    assert mask_payer("") == ""


def test_key_file_keeps_the_first_file_written_when_processes_race(tmp_path):
    """Two web workers starting at once both create a sandbox key: the one whose file is linked
    first wins, and the other returns that file, not its own."""
    def created_while_another_process_wrote_it():
        (tmp_path / "keys" / "k.pem").write_bytes(b"theirs")
        return b"ours"

    assert key_file(tmp_path / "keys", "k.pem", created_while_another_process_wrote_it) == b"theirs"
    assert key_file(tmp_path / "keys", "k.pem", lambda: b"later") == b"theirs"
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["k.pem"]  # no temporary file left
    assert key_file(tmp_path / "new", "k.pem", lambda: b"mine") == b"mine"
    assert (tmp_path / "new" / "k.pem").stat().st_mode & 0o777 == 0o600
