"""Refunds in each channel's own words: the request the platform sends, how a channel (here its
sandbox) reads it and answers, and how the platform reads the answer.

    body = request_body(channel, RefundRequest(...))     the channel's request shape
    read_request(channel, body)                          → (order key, out_refund_no, amount_fen)
    reply(channel, ...)                                  → (HTTP status, the channel's answer)
    parse_reply(channel, status, answer)                 → RefundAnswer

Shapes, as far as the platform relies on them:

- WeChat Pay v3 (POST /v3/refund/domestic/refunds): `out_trade_no`, `out_refund_no`, `reason`,
  `amount: {refund, total, currency}` in fen; answer 200 `{refund_id, out_refund_no, status:
  SUCCESS|PROCESSING, amount: {...}}`, errors 4xx `{code: NOT_ENOUGH|RESOURCE_NOT_EXISTS|…, message}`.
- Alipay (alipay.trade.refund): `out_trade_no`, `trade_no`, `refund_amount` in yuan ("50.00"),
  `out_request_no` (names one part refund), `refund_reason`; answer
  `{alipay_trade_refund_response: {code: "10000", fund_change: "Y", refund_fee (all refunded so
  far, yuan), …}}`, errors `code "40004"` with `sub_code` (ACQ.TRADE_NOT_EXIST,
  ACQ.REFUND_AMT_NOT_EQUAL_TOTAL = 退款金额超限). Alipay gives no refund number: the platform keeps
  out_request_no.
- UnionPay (back transaction, txnType 04 退货): `orderId` (the refund's own order), `origQryId`
  (the original trade's queryId), `txnAmt` in fen; answer `respCode "00"` with the refund's
  `queryId`, else respCode/respMsg (25 原交易不存在, 14 金额无效/超限).
- City wallet (JSON): `{out_trade_no, out_refund_no, amount_fen, reason}`; answer 200
  `{refund_no, status: "succeeded", amount_fen}`, errors 4xx `{code, message}`.

The sandbox answers at once with the final result (WeChat Pay's real answer is often
PROCESSING, settled later by a refund notification: PROCESSING is read as "not final" and the
refund then fails here with `processing`, to be retried by hand — see decision 0019).
"""

from __future__ import annotations

from dataclasses import dataclass

from onecity.payments.channels.base import Channel, fen_to_yuan, parse_fen, yuan_to_fen

#: the platform's reasons a channel refused a refund (stored on the refund as failure_code)
TRADE_NOT_FOUND = "trade_not_found"
AMOUNT_EXCEEDED = "amount_exceeded"
CHANNEL_ERROR = "channel_error"
PROCESSING = "processing"


@dataclass(frozen=True)
class RefundRequest:
    out_trade_no: str   # the attempt's public id (our order number at the channel)
    trade_no: str       # the channel's trade number of the payment
    out_refund_no: str  # the refund's public id
    amount_fen: int
    total_fen: int      # what the payment was
    reason: str


@dataclass(frozen=True)
class RefundAnswer:
    ok: bool
    refund_no: str = ""
    failure_code: str = ""
    message: str = ""


def request_body(channel: str, r: RefundRequest) -> dict:
    if channel == Channel.WECHAT:
        return {"out_trade_no": r.out_trade_no, "out_refund_no": r.out_refund_no, "reason": r.reason[:80],
                "amount": {"refund": r.amount_fen, "total": r.total_fen, "currency": "CNY"}}
    if channel == Channel.ALIPAY:
        return {"out_trade_no": r.out_trade_no, "trade_no": r.trade_no, "refund_amount": fen_to_yuan(r.amount_fen),
                "out_request_no": r.out_refund_no, "refund_reason": r.reason[:256]}
    if channel == Channel.UNIONPAY:
        return {"version": "5.1.0", "encoding": "UTF-8", "signMethod": "01", "txnType": "04", "txnSubType": "00",
                "bizType": "000201", "accessType": "0", "channelType": "07", "orderId": r.out_refund_no,
                "origQryId": r.trade_no, "txnAmt": str(r.amount_fen), "currencyCode": "156"}
    return {"out_trade_no": r.out_trade_no, "out_refund_no": r.out_refund_no, "amount_fen": r.amount_fen,
            "reason": r.reason}


def read_request(channel: str, body: dict) -> tuple[str, str, int]:
    """The channel's side: (order key, refund number, amount in fen). The order key is
    out_trade_no, except at UnionPay, which names the original trade by its queryId."""
    if channel == Channel.WECHAT:
        return body["out_trade_no"], body["out_refund_no"], parse_fen(body["amount"]["refund"])
    if channel == Channel.ALIPAY:
        return body["out_trade_no"], body["out_request_no"], yuan_to_fen(body["refund_amount"])
    if channel == Channel.UNIONPAY:
        return body["origQryId"], body["orderId"], parse_fen(body["txnAmt"])
    return body["out_trade_no"], body["out_refund_no"], parse_fen(body["amount_fen"])


_WECHAT_ERRORS = {TRADE_NOT_FOUND: (404, "RESOURCE_NOT_EXISTS", "订单不存在"),
                  AMOUNT_EXCEEDED: (403, "NOT_ENOUGH", "退款金额超过可退金额")}
_ALIPAY_ERRORS = {TRADE_NOT_FOUND: ("ACQ.TRADE_NOT_EXIST", "交易不存在"),
                  AMOUNT_EXCEEDED: ("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")}
_UNIONPAY_ERRORS = {TRADE_NOT_FOUND: ("25", "原交易不存在"), AMOUNT_EXCEEDED: ("14", "退货金额超限")}


def reply(channel: str, *, body: dict, error: str = "", refund_no: str = "", trade_no: str = "",
          refunded_total_fen: int = 0) -> tuple[int, dict]:
    """The channel's answer to `body`: success (`refund_no`, all refunded so far) or `error`."""
    out_trade_no, out_refund_no, amount_fen = read_request(channel, body)
    if channel == Channel.WECHAT:
        if error:
            status, code, message = _WECHAT_ERRORS[error]
            return status, {"code": code, "message": message}
        return 200, {"refund_id": refund_no, "out_refund_no": out_refund_no, "transaction_id": trade_no,
                     "out_trade_no": out_trade_no, "channel": "ORIGINAL", "status": "SUCCESS",
                     "amount": {"refund": amount_fen, "total": body["amount"]["total"], "currency": "CNY"}}
    if channel == Channel.ALIPAY:
        if error:
            sub_code, sub_msg = _ALIPAY_ERRORS[error]
            return 200, {"alipay_trade_refund_response": {"code": "40004", "msg": "Business Failed",
                                                          "sub_code": sub_code, "sub_msg": sub_msg}}
        return 200, {"alipay_trade_refund_response": {"code": "10000", "msg": "Success", "trade_no": trade_no,
                                                      "out_trade_no": out_trade_no, "fund_change": "Y",
                                                      "refund_fee": fen_to_yuan(refunded_total_fen)}}
    if channel == Channel.UNIONPAY:
        if error:
            code, message = _UNIONPAY_ERRORS[error]
            return 200, {"respCode": code, "respMsg": message, "orderId": out_refund_no}
        return 200, {"respCode": "00", "respMsg": "成功[0000000]", "txnType": "04", "orderId": out_refund_no,
                     "origQryId": out_trade_no, "queryId": refund_no, "txnAmt": str(amount_fen)}
    if error:
        return (404 if error == TRADE_NOT_FOUND else 409), {"code": error, "message": error.replace("_", " ")}
    return 200, {"refund_no": refund_no, "status": "succeeded", "amount_fen": amount_fen}


_BY_WECHAT_CODE = {"RESOURCE_NOT_EXISTS": TRADE_NOT_FOUND, "NOT_ENOUGH": AMOUNT_EXCEEDED}
_BY_ALIPAY_CODE = {"ACQ.TRADE_NOT_EXIST": TRADE_NOT_FOUND, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL": AMOUNT_EXCEEDED}
_BY_UNIONPAY_CODE = {"25": TRADE_NOT_FOUND, "14": AMOUNT_EXCEEDED}


def parse_reply(channel: str, status: int, answer: dict, *, request: dict) -> RefundAnswer:
    """The platform's reading of a channel's answer; anything unexpected is a failure."""
    if channel == Channel.WECHAT:
        if status == 200 and answer.get("status") == "SUCCESS":
            return RefundAnswer(True, refund_no=str(answer.get("refund_id", "")))
        if status == 200:
            return RefundAnswer(False, failure_code=PROCESSING, message=str(answer.get("status", "")))
        code = str(answer.get("code", ""))
        return RefundAnswer(False, failure_code=_BY_WECHAT_CODE.get(code, CHANNEL_ERROR),
                            message=f"{code} {answer.get('message', '')}".strip())
    if channel == Channel.ALIPAY:
        inner = answer.get("alipay_trade_refund_response") or {}
        if inner.get("code") == "10000" and inner.get("fund_change") == "Y":
            return RefundAnswer(True, refund_no=request["out_request_no"])
        sub_code = str(inner.get("sub_code", ""))
        return RefundAnswer(False, failure_code=_BY_ALIPAY_CODE.get(sub_code, CHANNEL_ERROR),
                            message=f"{sub_code} {inner.get('sub_msg', '')}".strip())
    if channel == Channel.UNIONPAY:
        code = str(answer.get("respCode", ""))
        if code == "00":
            return RefundAnswer(True, refund_no=str(answer.get("queryId", "")))
        return RefundAnswer(False, failure_code=_BY_UNIONPAY_CODE.get(code, CHANNEL_ERROR),
                            message=f"{code} {answer.get('respMsg', '')}".strip())
    if status == 200 and answer.get("status") == "succeeded":
        return RefundAnswer(True, refund_no=str(answer.get("refund_no", "")))
    code = str(answer.get("code", ""))
    return RefundAnswer(False, failure_code=code if code in (TRADE_NOT_FOUND, AMOUNT_EXCEEDED) else CHANNEL_ERROR,
                        message=str(answer.get("message", "")))
