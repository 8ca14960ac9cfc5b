"""Payments endpoints of the partner API (/api/v1/payments/...): a payee's system issues bills
and starts payment attempts. Each create needs an `Idempotency-Key` header: the same key with
the same body returns the same response (201 with the same object), the same key with a
different body is refused (422 `idempotency_mismatch`). The calling client must be linked to a
payee unit (PartnerClient); it sees only its payee's bills (others: 404)."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _
from ninja import Field, Header, Router, Schema

from onecity.core.errors import ApplicationError, NotFound
from onecity.payments.enums import AttemptState, BillKind, BillState, Channel, FailureCode, RefundState
from onecity.payments.selectors import bill_for_client
from onecity.payments.services.attempts import attempt_create
from onecity.payments.services.bills import BillInput, bill_issue
from onecity.payments.services.refunds import refund_request

router = Router(tags=["payments"])


class ErrorOut(Schema):
    code: str
    message: str
    field: str | None = None


class BillIn(Schema):
    kind: BillKind
    title: str = Field(max_length=120)
    amount_fen: int = Field(gt=0, le=1_000_000_000, description="Integer fen (¥1.00 = 100)")
    due_date: dt.date
    resident_phone: str = Field("", max_length=20, description="The payer's mobile number (finds the resident)")
    payer_id_number: str = Field("", max_length=18, description="Or the payer's resident ID number")
    payer_name: str = Field("", max_length=40, description="Required when the payer has not registered")
    allow_partial: bool = False
    min_partial_fen: int = Field(0, ge=0)
    external_ref: str = Field("", max_length=64, description="Your reference; unique per payee")
    description: str = Field("", max_length=500)


class BillOut(Schema):
    id: str = Field(description="Public id")
    kind: BillKind
    title: str
    amount_fen: int
    paid_fen: int
    refunded_fen: int
    due_date: dt.date
    allow_partial: bool
    min_partial_fen: int
    state: BillState
    external_ref: str
    payer_masked: str = Field(description="The payer's number, masked")
    issued_at: dt.datetime


class AttemptIn(Schema):
    bill_id: str = Field(max_length=26)
    channel: Channel
    amount_fen: int = Field(gt=0, le=1_000_000_000)


class AttemptOut(Schema):
    id: str
    bill_id: str | None
    channel: Channel
    amount_fen: int
    state: AttemptState
    failure_code: FailureCode | None
    created_at: dt.datetime
    expires_at: dt.datetime


def _bill_out(bill) -> dict:
    return {"id": bill.public_id, "kind": bill.kind, "title": bill.title, "amount_fen": bill.amount_fen,
            "paid_fen": bill.paid_fen, "refunded_fen": bill.refunded_fen, "due_date": bill.due_date,
            "allow_partial": bill.allow_partial, "min_partial_fen": bill.min_partial_fen, "state": bill.state,
            "external_ref": bill.external_ref, "payer_masked": bill.payer_masked, "issued_at": bill.issued_at.astimezone(dt.UTC)}


def _attempt_out(attempt) -> dict:
    return {"id": attempt.public_id, "bill_id": attempt.bill.public_id if attempt.bill_id else None,
            "channel": attempt.channel, "amount_fen": attempt.amount_fen, "state": attempt.state,
            "failure_code": attempt.failure_code or None, "created_at": attempt.created_at.astimezone(dt.UTC),
            "expires_at": attempt.expires_at.astimezone(dt.UTC)}


def _key(value: str | None) -> str:
    if not value:
        raise ApplicationError(_("Send an Idempotency-Key header with every create request."),
                               code="idempotency_key_required", field="Idempotency-Key", status=400)
    return value


@router.post("/payments/bills", response={201: BillOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut,
                                          422: ErrorOut}, summary="Issue a bill")
def bill_create(request, payload: BillIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    key = _key(idempotency_key)
    data = BillInput(**payload.dict())
    bill = bill_issue(actor=None, data=data, client_id=request.auth.client_id, idempotency_key=key)
    return 201, _bill_out(bill)


@router.get("/payments/bills/{bill_id}", response={200: BillOut, 404: ErrorOut}, summary="A bill")
def bill_get(request, bill_id: str):
    bill = bill_for_client(client_id=request.auth.client_id, bill_id=bill_id)
    if bill is None:
        raise NotFound()
    return 200, _bill_out(bill)


@router.post("/payments/attempts", response={201: AttemptOut, 400: ErrorOut, 404: ErrorOut,
                                             409: ErrorOut, 422: ErrorOut}, summary="Start a payment attempt")
def attempt_create_api(request, payload: AttemptIn,
                       idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    key = _key(idempotency_key)
    client_id = request.auth.client_id
    attempt = attempt_create(bill_id=payload.bill_id, channel=payload.channel, amount_fen=payload.amount_fen,
                             idempotency_key=key, actor=None, client_id=client_id)
    return 201, _attempt_out(attempt)


class RefundIn(Schema):
    attempt_id: str = Field(max_length=26, description="The succeeded payment attempt to refund")
    amount_fen: int = Field(gt=0, le=1_000_000_000, description="Integer fen, at most what is left of the payment")
    reason: str = Field(max_length=300)


class RefundOut(Schema):
    id: str
    attempt_id: str
    bill_id: str | None
    amount_fen: int
    reason: str
    state: RefundState = Field(description="requested until a cashier of the payee approves or rejects it")
    failure_code: str | None
    created_at: dt.datetime


def _refund_out(refund) -> dict:
    return {"id": refund.public_id, "attempt_id": refund.attempt.public_id,
            "bill_id": refund.bill.public_id if refund.bill_id else None, "amount_fen": refund.amount_fen,
            "reason": refund.reason, "state": refund.state, "failure_code": refund.failure_code or None,
            "created_at": refund.created_at.astimezone(dt.UTC)}


@router.post("/payments/refunds", response={201: RefundOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut,
                                            422: ErrorOut}, summary="Ask for a refund")
def refund_create_api(request, payload: RefundIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    """A refund request of the payee's partner system; a cashier of the payee approves it in the
    payee console, then the money goes back through the payment's channel."""
    key = _key(idempotency_key)
    refund = refund_request(actor=None, attempt_id=payload.attempt_id, amount_fen=payload.amount_fen,
                            reason=payload.reason, idempotency_key=key, client_id=request.auth.client_id)
    return 201, _refund_out(refund)
