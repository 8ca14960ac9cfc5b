"""福码 codes: a static code per payee (the payer enters the amount) and short-lived dynamic
codes per bill, as URLs on the platform's own domain (`BASE_URL/pay/c/<token>`), rendered as
QR codes (SVG and PNG, segno).

The token is `django.core.signing.Signer` output over the code's public id, with the
purpose salt `onecity.payments.code` and HMAC-SHA256 under SECRET_KEY (key rotation:
SECRET_KEY_FALLBACKS still verifies old tokens). `key_id` records which key signed (the first 8
hex characters of a hash of salt and key). Verification is constant-time (Django's
`constant_time_compare`); the code row then decides: unknown, revoked or expired codes and
closed bills each give a clear reason (decision 0014).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from enum import StrEnum

import segno
from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core.audit import audit_record
from onecity.core.errors import NotFound, PermissionDenied
from onecity.payments import workflow
from onecity.payments.access import access_bill_by_id, cashier_payee_id
from onecity.payments.enums import CodeKind
from onecity.payments.models import Bill, PaymentCode
from onecity.payments.services.common import actor_or_none

SALT = "onecity.payments.code"
#: how long a dynamic bill code is valid
DYNAMIC_TTL = dt.timedelta(minutes=15)
#: a shown dynamic code is reused while it has at least this long left
REUSE_MIN_LEFT = dt.timedelta(minutes=5)
MAX_TOKEN_CHARS = 200


class CodeProblem(StrEnum):
    TAMPERED = "tampered"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    BILL_CLOSED = "bill_closed"


def code_problem_message(problem: CodeProblem | str) -> str:
    return {
        CodeProblem.TAMPERED: _("This payment code is not valid: it was not issued by e-Fuzhou or it was changed. "
                                "Do not pay with it; ask the payee for a new code."),
        CodeProblem.UNKNOWN: _("This payment code is not valid. Ask the payee for a new code."),
        CodeProblem.EXPIRED: _("This payment code has expired (bill codes are valid for 15 minutes). Open the "
                               "bill in e-Fuzhou or ask the payee for a new code."),
        CodeProblem.REVOKED: _("This payment code was withdrawn by the payee. Ask the payee for a new code."),
        CodeProblem.BILL_CLOSED: _("This bill cannot be paid any more: it is paid or was cancelled."),
    }[CodeProblem(problem)]


@dataclass(frozen=True)
class IssuedCode:
    code: PaymentCode
    token: str
    url: str  # absolute, on BASE_URL
    expires_at: dt.datetime | None


@dataclass(frozen=True)
class CodeCheck:
    """The outcome of opening a code URL: `code` (with `bill` for dynamic codes) or a problem."""

    code: PaymentCode | None
    bill: Bill | None
    problem: CodeProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def message(self) -> str:
        return code_problem_message(self.problem) if self.problem else ""


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT, algorithm="sha256", fallback_keys=settings.SECRET_KEY_FALLBACKS)


def key_id() -> str:
    return hashlib.sha256(f"{SALT}:{settings.SECRET_KEY}".encode()).hexdigest()[:8]


def code_token(code: PaymentCode) -> str:
    return _signer().sign(code.public_id)


def code_url(token: str) -> str:
    return settings.BASE_URL + reverse("payments:code", args=[token])


def _issued(code: PaymentCode) -> IssuedCode:
    token = code_token(code)
    return IssuedCode(code=code, token=token, url=code_url(token), expires_at=code.expires_at)


@transaction.atomic
def code_static_issue(*, actor, payee_id: int | None = None) -> IssuedCode:
    """The payee's static code (created on first use; the same code afterwards). A payee
    cashier gets their own unit's; the system (actor None) names `payee_id`."""
    if actor is not None:
        payee_id = cashier_payee_id(actor)
        if payee_id is None:
            raise PermissionDenied()
    code = PaymentCode.objects.filter(payee_id=payee_id, kind=CodeKind.STATIC, revoked_at__isnull=True).first()
    if code is None:
        try:
            with transaction.atomic():
                code = PaymentCode.objects.create(kind=CodeKind.STATIC, payee_id=payee_id, key_id=key_id(),
                                                  created_by=actor_or_none(actor), created_at=timezone.now())
        except IntegrityError:  # created concurrently: one static code per payee (constraint)
            code = PaymentCode.objects.get(payee_id=payee_id, kind=CodeKind.STATIC, revoked_at__isnull=True)
        else:
            audit_record(actor=actor, action="payments.code_static_issue", object_type="payment_code",
                         object_id=code.public_id, detail={"payee": payee_id})
    return _issued(code)


@transaction.atomic
def code_dynamic_issue(*, actor, bill_id: str) -> IssuedCode:
    """A dynamic code for a payable bill, valid for DYNAMIC_TTL; a code shown a moment ago with
    at least REUSE_MIN_LEFT left is given again. For the bill's resident, the payee's cashiers
    and the system."""
    bill = access_bill_by_id(actor, bill_id)
    if bill.state not in workflow.PAYABLE_STATES:
        raise NotFound(code_problem_message(CodeProblem.BILL_CLOSED), code="bill_closed")
    now = timezone.now()
    code = (PaymentCode.objects.filter(bill=bill, kind=CodeKind.DYNAMIC, revoked_at__isnull=True,
                                       expires_at__gte=now + REUSE_MIN_LEFT, key_id=key_id())
            .order_by("-expires_at").first())
    if code is None:
        code = PaymentCode.objects.create(kind=CodeKind.DYNAMIC, payee_id=bill.payee_id, bill=bill, key_id=key_id(),
                                          expires_at=now + DYNAMIC_TTL, created_by=actor_or_none(actor),
                                          created_at=now)
    return _issued(code)


def code_check(token: str) -> CodeCheck:
    """Verify a token from a code URL (signature first, constant time), then the code row."""
    token = (token or "").strip()
    if not token or len(token) > MAX_TOKEN_CHARS:
        return CodeCheck(None, None, CodeProblem.TAMPERED)
    try:
        public_id = _signer().unsign(token)
    except signing.BadSignature:
        return CodeCheck(None, None, CodeProblem.TAMPERED)
    code = PaymentCode.objects.filter(public_id=public_id).select_related("payee", "bill", "bill__payee").first()
    if code is None:
        return CodeCheck(None, None, CodeProblem.UNKNOWN)
    if code.revoked_at is not None:
        return CodeCheck(code, code.bill, CodeProblem.REVOKED)
    if code.kind == CodeKind.DYNAMIC:
        if code.expires_at <= timezone.now():
            return CodeCheck(code, code.bill, CodeProblem.EXPIRED)
        if code.bill.state not in workflow.PAYABLE_STATES:
            return CodeCheck(code, code.bill, CodeProblem.BILL_CLOSED)
    return CodeCheck(code, code.bill, None)


def qr_svg(url: str, *, title: str = "") -> str:
    """An inline SVG QR code (scales with its box)."""
    qr = segno.make(url, error="m")
    return qr.svg_inline(scale=4, border=2, dark="#111", title=title or None, omitsize=True)


def qr_svg_document(url: str) -> bytes:
    """A standalone SVG file of the QR code (for download and printing)."""
    qr = segno.make(url, error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="svg", scale=8, border=2)
    return buffer.getvalue()


def qr_png(url: str) -> bytes:
    qr = segno.make(url, error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()
