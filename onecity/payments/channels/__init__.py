"""Payment channel adapters: verify each channel's notifications in its own message format
and signature scheme, and read its daily statement file. Every adapter reduces what it
reads to the same `ChannelNotification` and `StatementRow`.

    wallet      the city wallet: Ed25519-signed JSON, timestamp + nonce headers
    alipay      Alipay: form-encoded notify, RSA2 over sorted parameters (python-alipay-sdk);
                statement: zip of GBK CSV files
    wechat      WeChat Pay APIv3: Wechatpay-* header signatures (RSA-SHA256), AEAD_AES_256_GCM
                resource (wechatpayv3); statement: trade bill CSV with backtick-prefixed cells
    unionpay    UnionPay acp 5.1.0: SHA-256 then RSA signature by a certificate that must chain
                to UnionPay's root; statement: fixed-width GBK text

Each module also has a sandbox that plays the channel: it holds its own keys, signs
notifications exactly as the channel posts them, and writes the channel's statement file, so
the whole flow runs offline and tests go through the real verification code.
"""

from .base import (
    Channel,
    ChannelError,
    ChannelNotification,
    PaymentStatus,
    StatementKind,
    StatementRow,
    check_amount,
    dedupe_key,
    should_apply,
    yuan_to_fen,
)

__all__ = [
    "Channel",
    "ChannelError",
    "ChannelNotification",
    "PaymentStatus",
    "StatementKind",
    "StatementRow",
    "check_amount",
    "dedupe_key",
    "should_apply",
    "yuan_to_fen",
]
