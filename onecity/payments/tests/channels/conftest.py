"""Sandboxes are built once per test session: RSA key generation is the slow part."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from onecity.payments.channels.alipay import AlipaySandbox
from onecity.payments.channels.base import StatementKind, StatementRow
from onecity.payments.channels.unionpay import UnionpaySandbox
from onecity.payments.channels.wallet import WalletSandbox
from onecity.payments.channels.wechat import WechatSandbox

NOW = datetime(2026, 11, 24, 2, 0, 0, tzinfo=UTC)
CHINA = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture(scope="session")
def wallet_sandbox():
    return WalletSandbox()


@pytest.fixture(scope="session")
def alipay_sandbox():
    return AlipaySandbox()


@pytest.fixture(scope="session")
def wechat_sandbox():
    return WechatSandbox()


@pytest.fixture(scope="session")
def unionpay_sandbox():
    return UnionpaySandbox()


def statement_rows(*, payer_id: str) -> list[StatementRow]:
    at = datetime(2026, 11, 24, 9, 30, 5, tzinfo=CHINA)
    return [
        StatementRow(trade_no="2026112422001400000000000001", out_trade_no="OC01HZ0000000001",
                     kind=StatementKind.PAYMENT, amount_fen=1234, fee_fen=7, occurred_at=at, payer_id=payer_id),
        StatementRow(trade_no="2026112422001400000000000002", out_trade_no="OC01HZ0000000002",
                     kind=StatementKind.PAYMENT, amount_fen=100_000_00, fee_fen=6000,
                     occurred_at=at.replace(hour=23, minute=59, second=59), payer_id=payer_id),
        StatementRow(trade_no="2026112422001400000000000001", out_trade_no="OC01HZ0000000001",
                     kind=StatementKind.REFUND, amount_fen=234, fee_fen=1, occurred_at=at.replace(hour=11),
                     refund_no="50300000000000000001", out_refund_no="RF01HZ0000000001", payer_id=payer_id),
    ]
