"""The state machines of bills, payment attempts and refunds. Pure: no database, no settings.

Bill (缴费单)::

    issued          待缴       issued to a resident, nothing paid yet
    partially_paid  部分缴纳   part paid (bills that allow part payments); paid_fen < amount_fen
    overdue         已逾期     past its due date and not fully paid (still payable)
    paid            已缴清     paid_fen == amount_fen                               [final*]
    cancelled       已作废     withdrawn by the payee before any payment            [final]
    refunded        已退款     everything paid was refunded                          [final]

    [final*]: leaves only through refunds.

    issue        (new)                        → issued          payee cashier, partner API
    pay_part     issued, partially_paid, overdue → partially_paid  system (a succeeded attempt)
                 (from overdue the bill stays overdue: `overdue` wins over `partially_paid`)
    pay_full     issued, partially_paid, overdue → paid            system
    overdue      issued, partially_paid       → overdue         system (daily job)
    cancel       issued, overdue (nothing paid) → cancelled     payee cashier
    refund_part  paid, partially_paid, overdue → (unchanged)    system (a succeeded refund)
    refund_full  paid, partially_paid, overdue → refunded       system

Payment attempt (支付尝试)::

    created → pending → succeeded | failed | cancelled | expired

    submit       created            → pending     system (the order was placed with the channel)
    succeed      created, pending, cancelled, expired, failed → succeeded   system (channel
                 notification; a late success after cancel/expiry — or after a failure the channel
                 reported for one try, when the payer then paid — is still money received: it is
                 recorded, and what the bill cannot absorb is kept as `excess_fen` for refunding)
    fail         created, pending   → failed      system (with a failure code)
    cancel       created, pending   → cancelled   payer, system (superseded by a newer attempt)
    expire       created, pending   → expired     system (periodic job)

Refund (退款)::

    requested → approved → succeeded | failed ;  requested → rejected
    approved → processing → succeeded | failed
    (approver must not be the requester — a database constraint)

    process      approved           → processing  system (the channel accepted it, result later)
    succeed      approved, processing → succeeded system (the channel's answer, its refund
                                                   notification or the refund query)
    fail         approved, processing → failed    system (likewise; what it held is free again)
"""

from __future__ import annotations

from onecity.payments.enums import AttemptState, BillAction, BillState, RefundState

B = BillState
A = AttemptState

BILL_TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    # action: (source states, target state; None = computed by the service)
    BillAction.PAY_PART: (frozenset({B.ISSUED, B.PARTIALLY_PAID, B.OVERDUE}), None),
    BillAction.PAY_FULL: (frozenset({B.ISSUED, B.PARTIALLY_PAID, B.OVERDUE}), B.PAID),
    BillAction.OVERDUE: (frozenset({B.ISSUED, B.PARTIALLY_PAID}), B.OVERDUE),
    BillAction.CANCEL: (frozenset({B.ISSUED, B.OVERDUE}), B.CANCELLED),
    BillAction.REFUND_PART: (frozenset({B.PAID, B.PARTIALLY_PAID, B.OVERDUE}), None),
    BillAction.REFUND_FULL: (frozenset({B.PAID, B.PARTIALLY_PAID, B.OVERDUE}), B.REFUNDED),
}

#: a resident may pay a bill in these states
PAYABLE_STATES = frozenset({B.ISSUED, B.PARTIALLY_PAID, B.OVERDUE})
#: "due" in the resident's list
OPEN_STATES = PAYABLE_STATES
FINAL_STATES = frozenset({B.PAID, B.CANCELLED, B.REFUNDED})

ATTEMPT_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "submit": (frozenset({A.CREATED}), A.PENDING),
    "succeed": (frozenset({A.CREATED, A.PENDING, A.CANCELLED, A.EXPIRED, A.FAILED}), A.SUCCEEDED),
    "fail": (frozenset({A.CREATED, A.PENDING}), A.FAILED),
    "cancel": (frozenset({A.CREATED, A.PENDING}), A.CANCELLED),
    "expire": (frozenset({A.CREATED, A.PENDING}), A.EXPIRED),
}
OPEN_ATTEMPT_STATES = frozenset({A.CREATED, A.PENDING})

REFUND_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "approve": (frozenset({RefundState.REQUESTED}), RefundState.APPROVED),
    "reject": (frozenset({RefundState.REQUESTED}), RefundState.REJECTED),
    "process": (frozenset({RefundState.APPROVED}), RefundState.PROCESSING),
    "succeed": (frozenset({RefundState.APPROVED, RefundState.PROCESSING}), RefundState.SUCCEEDED),
    "fail": (frozenset({RefundState.APPROVED, RefundState.PROCESSING}), RefundState.FAILED),
}


def bill_can(action: str, state: str) -> bool:
    sources, _target = BILL_TRANSITIONS[action]
    return state in sources


def bill_state_after_payment(*, state: str, amount_fen: int, paid_fen: int) -> str:
    """The bill's state once `paid_fen` (the new total) has been received."""
    if paid_fen >= amount_fen:
        return B.PAID
    return B.OVERDUE if state == B.OVERDUE else B.PARTIALLY_PAID


def bill_state_after_refund(*, state: str, paid_fen: int, refunded_fen: int) -> str:
    return B.REFUNDED if refunded_fen >= paid_fen else state


def attempt_can(action: str, state: str) -> bool:
    sources, _target = ATTEMPT_TRANSITIONS[action]
    return state in sources


def attempt_target(action: str) -> str:
    return ATTEMPT_TRANSITIONS[action][1]


def refund_can(action: str, state: str) -> bool:
    sources, _target = REFUND_TRANSITIONS[action]
    return state in sources
