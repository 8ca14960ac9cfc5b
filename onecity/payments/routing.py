"""Which app opened a 福码 URL, told apart by its User-Agent (pure; decision 0014).

    Alipay          "AlipayClient/10.5.90"      → alipay
    WeChat          "MicroMessenger/8.0.47"     → wechat
    UnionPay        "UnionPay/1.0 CloudPay"     → unionpay   (云闪付)
    the city app    "eFuzhou/3.2.0"             → city_app   (e福州; the app sends this token)
    anything else                                → browser    (a page naming the apps that can pay)

Checked in this order; the tokens are matched case-sensitively as the apps send them.
"""

from __future__ import annotations

from onecity.payments.enums import Channel, ScanApp

CITY_APP_TOKEN = "eFuzhou/"

_RULES: tuple[tuple[str, ScanApp], ...] = (
    ("AlipayClient", ScanApp.ALIPAY),
    ("MicroMessenger", ScanApp.WECHAT),
    ("UnionPay/", ScanApp.UNIONPAY),
    (CITY_APP_TOKEN, ScanApp.CITY_APP),
)

#: the channel each app pays through (the browser has none)
CHANNEL_OF_APP: dict[str, str] = {
    ScanApp.ALIPAY: Channel.ALIPAY,
    ScanApp.WECHAT: Channel.WECHAT,
    ScanApp.UNIONPAY: Channel.UNIONPAY,
    ScanApp.CITY_APP: Channel.CITY_WALLET,
}


def scan_app(user_agent: str | None) -> ScanApp:
    ua = user_agent or ""
    for token, app in _RULES:
        if token in ua:
            return app
    return ScanApp.BROWSER


def channel_for(user_agent: str | None) -> str | None:
    return CHANNEL_OF_APP.get(scan_app(user_agent))
