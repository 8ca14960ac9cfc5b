"""Refunds in each channel's own words: the request the platform sends, how a channel (here its
sandbox) reads it and answers, and how the platform reads the answer.

    body = request_body(channel, RefundRequest(...))     the channel's request shape
    read_request(channel, body)                          → (order key, out_refund_no, amount_fen)
    reply(channel, ...)                                  → (HTTP status, the channel's answer)
    parse_reply(channel, status, answer)                 → RefundAnswer
    query_body(channel, RefundQuery(...))                the channel's refund-query request
    query_reply(channel, ...) / parse_query(channel, …)  its answer, and our reading of it

Shapes, as far as the platform relies on them:

- WeChat Pay v3 (POST /v3/refund/domestic/refunds): `out_trade_no`, `out_refund_no`, `reason`,
  `amount: {refund, total, currency}` in fen; answer 200 `{refund_id, out_refund_no, status:
  SUCCESS|PROCESSING, amount: {...}}`, errors 4xx `{code: NOT_ENOUGH|RESOURCE_NOT_EXISTS|…, message}`.
  Query GET /v3/refund/domestic/refunds/{out_refund_no}: the same refund object, status SUCCESS |
  PROCESSING | ABNORMAL | CLOSED; the result is also notified (REFUND.SUCCESS / .ABNORMAL / .CLOSED).
- Alipay (alipay.trade.refund): `out_trade_no`, `trade_no`, `refund_amount` in yuan ("50.00"),
  `out_request_no` (names one part refund), `refund_reason`; answer
  `{alipay_trade_refund_response: {code: "10000", fund_change: "Y", refund_fee (all refunded so
  far, yuan), …}}`, errors `code "40004"` with `sub_code` (ACQ.TRADE_NOT_EXIST,
  ACQ.REFUND_AMT_NOT_EQUAL_TOTAL = 退款金额超限). Alipay gives no refund number: the platform keeps
  out_request_no. `fund_change: "N"` means accepted without money moving yet: query it
  (alipay.trade.fastpay.refund.query: `refund_status: REFUND_SUCCESS` once done; absent while not —
  the query never reports a refund as failed).
- UnionPay (back transaction, txnType 04 退货): `orderId` (the refund's own order), `origQryId`
  (the original trade's queryId), `txnAmt` in fen; answer `respCode "00"` with the refund's
  `queryId`, else respCode/respMsg (25 原交易不存在, 14 金额无效/超限); 03/04/05 (受理, 状态未明) mean
  "result later". Query txnType 00 by the refund's orderId: respCode 00 and the refund's own
  origRespCode (00 succeeded; 03/04/05 still processing; anything else failed).
- City wallet (JSON): `{out_trade_no, out_refund_no, amount_fen, reason}`; answer 200
  `{refund_no, status: "succeeded" | "processing", amount_fen}`, errors 4xx `{code, message}`;
  query `{out_refund_no}` → the same answer, status also "failed".

An answer that says "accepted, result later" (WeChat PROCESSING, Alipay fund_change N, UnionPay
03/04/05, the wallet's "processing") is read as `processing`: the refund waits for the channel's
refund notification or the refund-query job (decision 0019). The sandboxes answer so when told
to (settings.PAYMENTS_SANDBOX_REFUND_PROCESSING, gateways.SandboxClient).
"""

from __future__ import annotations

from dataclasses import dataclass

from onecity.payments.channels.base import (
    Channel,
    ChannelError,
    RefundStatus,
    fen_to_yuan,
    parse_fen,
    yuan_to_fen,
)
from onecity.payments.channels.wechat import REFUND_STATES as WECHAT_REFUND_STATES

#: the platform's reasons a channel refused a refund (stored on the refund as failure_code)
TRADE_NOT_FOUND = "trade_not_found"
AMOUNT_EXCEEDED = "amount_exceeded"
CHANNEL_ERROR = "channel_error"
#: the channel accepted the refund, then did not pay it out (WeChat ABNORMAL / CLOSED, a failed query)
REFUND_ABNORMAL = "refund_abnormal"
REFUND_CLOSED = "refund_closed"


@dataclass(frozen=True)
class RefundRequest:
    out_trade_no: str   # the attempt's public id (our order number at the channel)
    trade_no: str       # the channel's trade number of the payment
    out_refund_no: str  # the refund's public id
    amount_fen: int
    total_fen: int      # what the payment was
    reason: str


@dataclass(frozen=True)
class RefundQuery:
    out_trade_no: str   # the attempt's public id
    trade_no: str       # the channel's trade number of the payment
    out_refund_no: str  # the refund's public id
    refund_no: str      # the channel's refund number, when it gave one


@dataclass(frozen=True)
class RefundAnswer:
    """A channel's answer about a refund: refunded (ok), refused (failure_code), or accepted with
    the result to come (processing). `amount_fen` is what the channel says it refunds, if it says."""

    ok: bool
    refund_no: str = ""
    failure_code: str = ""
    message: str = ""
    processing: bool = False
    amount_fen: int | None = None


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
          refunded_total_fen: int = 0, processing: bool = False) -> tuple[int, dict]:
    """The channel's answer to `body`: success (`refund_no`, all refunded so far), accepted with
    the result to come (`processing`), or `error`."""
    out_trade_no, out_refund_no, amount_fen = read_request(channel, body)
    if channel == Channel.WECHAT:
        if error:
            status, code, message = _WECHAT_ERRORS[error]
            return status, {"code": code, "message": message}
        return 200, {"refund_id": refund_no, "out_refund_no": out_refund_no, "transaction_id": trade_no,
                     "out_trade_no": out_trade_no, "channel": "ORIGINAL",
                     "status": "PROCESSING" if processing else "SUCCESS",
                     "amount": {"refund": amount_fen, "total": body["amount"]["total"], "currency": "CNY"}}
    if channel == Channel.ALIPAY:
        if error:
            sub_code, sub_msg = _ALIPAY_ERRORS[error]
            return 200, {"alipay_trade_refund_response": {"code": "40004", "msg": "Business Failed",
                                                          "sub_code": sub_code, "sub_msg": sub_msg}}
        return 200, {"alipay_trade_refund_response": {"code": "10000", "msg": "Success", "trade_no": trade_no,
                                                      "out_trade_no": out_trade_no,
                                                      "fund_change": "N" if processing else "Y",
                                                      "refund_fee": fen_to_yuan(refunded_total_fen)}}
    if channel == Channel.UNIONPAY:
        if error:
            code, message = _UNIONPAY_ERRORS[error]
            return 200, {"respCode": code, "respMsg": message, "orderId": out_refund_no}
        if processing:
            return 200, {"respCode": "05", "respMsg": "交易已受理，请稍后查询交易结果", "txnType": "04",
                         "orderId": out_refund_no, "origQryId": out_trade_no, "queryId": refund_no,
                         "txnAmt": str(amount_fen)}
        return 200, {"respCode": "00", "respMsg": "成功[0000000]", "txnType": "04", "orderId": out_refund_no,
                     "origQryId": out_trade_no, "queryId": refund_no, "txnAmt": str(amount_fen)}
    if error:
        return (404 if error == TRADE_NOT_FOUND else 409), {"code": error, "message": error.replace("_", " ")}
    return 200, {"refund_no": refund_no, "status": "processing" if processing else "succeeded",
                 "amount_fen": amount_fen}


_BY_WECHAT_CODE = {"RESOURCE_NOT_EXISTS": TRADE_NOT_FOUND, "NOT_ENOUGH": AMOUNT_EXCEEDED}
_BY_ALIPAY_CODE = {"ACQ.TRADE_NOT_EXIST": TRADE_NOT_FOUND, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL": AMOUNT_EXCEEDED}
_BY_UNIONPAY_CODE = {"25": TRADE_NOT_FOUND, "14": AMOUNT_EXCEEDED}


def parse_reply(channel: str, status: int, answer: dict, *, request: dict) -> RefundAnswer:
    """The platform's reading of a channel's answer; anything unexpected is a failure."""
    if channel == Channel.WECHAT:
        if status == 200:
            return _wechat_refund(answer)
        code = str(answer.get("code", ""))
        return RefundAnswer(False, failure_code=_BY_WECHAT_CODE.get(code, CHANNEL_ERROR),
                            message=f"{code} {answer.get('message', '')}".strip())
    if channel == Channel.ALIPAY:
        inner = answer.get("alipay_trade_refund_response") or {}
        if inner.get("code") == "10000" and inner.get("fund_change") in ("Y", "N"):
            return RefundAnswer(inner["fund_change"] == "Y", refund_no=request["out_request_no"],
                                processing=inner["fund_change"] == "N", message="fund_change N")
        sub_code = str(inner.get("sub_code", ""))
        return RefundAnswer(False, failure_code=_BY_ALIPAY_CODE.get(sub_code, CHANNEL_ERROR),
                            message=f"{sub_code} {inner.get('sub_msg', '')}".strip())
    if channel == Channel.UNIONPAY:
        code = str(answer.get("respCode", ""))
        if code == "00":
            return RefundAnswer(True, refund_no=str(answer.get("queryId", "")))
        if code in _UNIONPAY_LATER:
            return RefundAnswer(False, refund_no=str(answer.get("queryId", "")), processing=True,
                                message=f"{code} {answer.get('respMsg', '')}".strip())
        return RefundAnswer(False, failure_code=_BY_UNIONPAY_CODE.get(code, CHANNEL_ERROR),
                            message=f"{code} {answer.get('respMsg', '')}".strip())
    if status == 200 and answer.get("status") in ("succeeded", "processing"):
        return RefundAnswer(answer["status"] == "succeeded", refund_no=str(answer.get("refund_no", "")),
                            processing=answer["status"] == "processing")
    code = str(answer.get("code", ""))
    return RefundAnswer(False, failure_code=code if code in (TRADE_NOT_FOUND, AMOUNT_EXCEEDED) else CHANNEL_ERROR,
                        message=str(answer.get("message", "")))


_UNIONPAY_LATER = ("03", "04", "05")  # 交易通讯超时 / 交易状态未明确 / 交易已受理: ask again later


def _wechat_refund(answer: dict) -> RefundAnswer:
    """A WeChat Pay refund object (the refund call's answer, the query's answer)."""
    status = str(answer.get("status", ""))
    refund_no = str(answer.get("refund_id", ""))
    amount = _amount(lambda: answer["amount"]["refund"], parse_fen)
    if status == "SUCCESS":
        return RefundAnswer(True, refund_no=refund_no, amount_fen=amount)
    if status == "ABNORMAL":
        return RefundAnswer(False, refund_no=refund_no, failure_code=REFUND_ABNORMAL, message=status, amount_fen=amount)
    if status == "CLOSED":
        return RefundAnswer(False, refund_no=refund_no, failure_code=REFUND_CLOSED, message=status, amount_fen=amount)
    return RefundAnswer(False, refund_no=refund_no, processing=True, message=status, amount_fen=amount)


def _amount(get, parse) -> int | None:
    try:
        return parse(get())
    except (KeyError, TypeError, ChannelError):
        return None


# --- refund query -------------------------------------------------------------------------------

def query_body(channel: str, q: RefundQuery) -> dict:
    if channel == Channel.WECHAT:
        return {"out_refund_no": q.out_refund_no}
    if channel == Channel.ALIPAY:
        return {"out_trade_no": q.out_trade_no, "trade_no": q.trade_no, "out_request_no": q.out_refund_no,
                "query_options": ["gmt_refund_pay"]}
    if channel == Channel.UNIONPAY:
        return {"version": "5.1.0", "encoding": "UTF-8", "signMethod": "01", "txnType": "00", "txnSubType": "00",
                "bizType": "000000", "accessType": "0", "orderId": q.out_refund_no}
    return {"out_refund_no": q.out_refund_no}


def query_refund_no(channel: str, body: dict) -> str:
    """The channel's side: which refund (our refund number) is asked about."""
    if channel == Channel.ALIPAY:
        return body["out_request_no"]
    if channel == Channel.UNIONPAY:
        return body["orderId"]
    return body["out_refund_no"]


def query_reply(channel: str, *, body: dict, status: RefundStatus | None, refund_no: str = "", trade_no: str = "",
                out_trade_no: str = "", amount_fen: int = 0, total_fen: int = 0) -> tuple[int, dict]:
    """The channel's answer to a refund query: the refund's `status`, or None when the channel
    never saw that refund."""
    out_refund_no = query_refund_no(channel, body)
    if channel == Channel.WECHAT:
        if status is None:
            return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"}
        wire = {v: k for k, v in WECHAT_REFUND_STATES.items()}[status]
        return 200, {"refund_id": refund_no, "out_refund_no": out_refund_no, "transaction_id": trade_no,
                     "out_trade_no": out_trade_no, "channel": "ORIGINAL", "status": wire,
                     "amount": {"refund": amount_fen, "total": total_fen, "currency": "CNY"}}
    if channel == Channel.ALIPAY:
        inner = {"code": "10000", "msg": "Success", "out_trade_no": body["out_trade_no"], "trade_no": trade_no,
                 "out_request_no": out_refund_no}
        if status is not None:
            inner.update(total_amount=fen_to_yuan(total_fen), refund_amount=fen_to_yuan(amount_fen))
        if status == RefundStatus.SUCCEEDED:  # otherwise Alipay leaves refund_status out
            inner["refund_status"] = "REFUND_SUCCESS"
        return 200, {"alipay_trade_fastpay_refund_query_response": inner}
    if channel == Channel.UNIONPAY:
        if status is None:
            return 200, {"respCode": "34", "respMsg": "查无此交易", "orderId": out_refund_no}
        orig = {RefundStatus.SUCCEEDED: ("00", "成功[0000000]"), RefundStatus.PROCESSING: ("05", "交易处理中")}.get(
            status, ("60", "交易失败"))
        return 200, {"respCode": "00", "respMsg": "成功[0000000]", "txnType": "00", "orderId": out_refund_no,
                     "origRespCode": orig[0], "origRespMsg": orig[1], "queryId": refund_no, "txnAmt": str(amount_fen)}
    if status is None:
        return 404, {"code": "refund_not_found", "message": "refund not found"}
    wallet = {RefundStatus.SUCCEEDED: "succeeded", RefundStatus.PROCESSING: "processing"}.get(status, "failed")
    return 200, {"refund_no": refund_no, "status": wallet, "amount_fen": amount_fen}



def parse_query(channel: str, status: int, answer: dict, *, request: dict) -> RefundAnswer:
    """The platform's reading of a refund-query answer: refunded, failed, or still processing.
    Anything that is not a clear result (an error, a refund the channel does not name) is read as
    still processing: the refund is asked about again, never failed on a guess."""
    if channel == Channel.WECHAT:
        if status == 200:
            return _wechat_refund(answer)
        return RefundAnswer(False, processing=True, message=f"{answer.get('code', '')} {answer.get('message', '')}")
    if channel == Channel.ALIPAY:
        inner = answer.get("alipay_trade_fastpay_refund_query_response") or {}
        if inner.get("code") == "10000" and inner.get("refund_status") == "REFUND_SUCCESS":
            return RefundAnswer(True, refund_no=request["out_request_no"],
                                amount_fen=_amount(lambda: inner["refund_amount"], yuan_to_fen))
        return RefundAnswer(False, processing=True, message=f"{inner.get('code', '')} {inner.get('sub_code', '')}")
    if channel == Channel.UNIONPAY:
        code, orig = str(answer.get("respCode", "")), str(answer.get("origRespCode", ""))
        message = f"{orig or code} {answer.get('origRespMsg') or answer.get('respMsg', '')}".strip()
        if code != "00" or orig in _UNIONPAY_LATER:
            return RefundAnswer(False, processing=True, message=message)
        amount = _amount(lambda: answer["txnAmt"], parse_fen)
        if orig == "00":
            return RefundAnswer(True, refund_no=str(answer.get("queryId", "")), amount_fen=amount)
        return RefundAnswer(False, failure_code=REFUND_ABNORMAL, message=message, amount_fen=amount)
    if status == 200 and answer.get("status") in ("succeeded", "failed"):
        amount = _amount(lambda: answer["amount_fen"], parse_fen)
        if answer["status"] == "succeeded":
            return RefundAnswer(True, refund_no=str(answer.get("refund_no", "")), amount_fen=amount)
        return RefundAnswer(False, failure_code=REFUND_ABNORMAL, message="failed", amount_fen=amount)
    return RefundAnswer(False, processing=True, message=str(answer.get("status") or answer.get("code", "")))
