"""SMS one-time codes: send, verify. Codes are 6 digits, stored as a keyed hash, expire after
settings.OTP_TTL_SECONDS, are single-use and allow settings.OTP_MAX_ATTEMPTS wrong guesses.
Sending is rate-limited per client IP and per phone number."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core.crypto import lookup_hash
from onecity.core.errors import ApplicationError
from onecity.core.ratelimit import ratelimit_hit
from onecity.core.validators import normalise_phone, validate_phone
from onecity.identity.enums import OtpPurpose
from onecity.identity.models import OneTimeCode
from onecity.notifications.enums import Channel
from onecity.notifications.services import message_enqueue

SMS_TEMPLATES = {
    OtpPurpose.REGISTER: "【e福州】您正在注册一网通账号，验证码 {code}，{minutes}分钟内有效。如非本人操作请忽略。",
    OtpPurpose.LOGIN: "【e福州】您正在登录，验证码 {code}，{minutes}分钟内有效。请勿告诉他人。",
    OtpPurpose.STEP_UP: "【e福州】您正在进行身份核验，验证码 {code}，{minutes}分钟内有效。请勿告诉他人。",
    OtpPurpose.RESET: "【e福州】您正在重置密码，验证码 {code}，{minutes}分钟内有效。如非本人操作请忽略。",
}


def _code_hash(phone: str, purpose: str, code: str) -> str:
    return lookup_hash(f"{phone}:{purpose}:{code}", purpose="otp")


@transaction.atomic
def otp_send(*, phone: str, purpose: str, ip: str | None = None, recipient=None) -> OneTimeCode:
    """Create a code for `phone` and queue the SMS. Raises ApplicationError on a bad number
    and RateLimited when the IP or the number asked too often."""
    from django.core.exceptions import ValidationError

    try:
        validate_phone(phone)
    except ValidationError as exc:
        raise ApplicationError(exc.messages[0], code="phone_format", field="phone") from None
    if purpose not in OtpPurpose.values:
        raise ApplicationError(_("Unknown verification purpose."), code="otp_purpose")
    phone = normalise_phone(phone)
    ratelimit_hit("otp_send", ip or "unknown")
    ratelimit_hit("otp_phone", f"{phone}:{purpose}")
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = timezone.now()
    otp = OneTimeCode.objects.create(
        purpose=purpose,
        phone_hash=lookup_hash(phone, purpose="phone"),
        code_hash=_code_hash(phone, purpose, code),
        created_at=now,
        expires_at=now + dt.timedelta(seconds=settings.OTP_TTL_SECONDS),
    )
    message_enqueue(
        channel=Channel.SMS,
        template=f"otp_{purpose}",
        body=SMS_TEMPLATES[purpose].format(code=code, minutes=settings.OTP_TTL_SECONDS // 60),
        recipient=recipient,
        address=phone,
    )
    return otp


def otp_verify(*, phone: str, purpose: str, code: str, ip: str | None = None) -> None:
    """Consume the newest unexpired code for (phone, purpose). Raises ApplicationError with a
    clear reason: wrong, expired, used up or too many attempts. A code works once."""
    phone = normalise_phone(phone)
    ratelimit_hit("otp_verify", ip or "unknown")
    code = (code or "").strip()
    now = timezone.now()
    phone_hash = lookup_hash(phone, purpose="phone")
    otp = (
        OneTimeCode.objects.filter(phone_hash=phone_hash, purpose=purpose, used_at__isnull=True)
        .order_by("-created_at")
        .first()
    )
    if otp is None:
        raise ApplicationError(_("Please request a verification code first."), code="otp_missing", field="code")
    if otp.expires_at <= now:
        raise ApplicationError(_("This verification code has expired. Please request a new one."),
                               code="otp_expired", field="code")
    if otp.attempts >= settings.OTP_MAX_ATTEMPTS:
        raise ApplicationError(_("Too many wrong codes. Please request a new one."),
                               code="otp_attempts", field="code")
    if not code.isdigit() or len(code) != 6 or otp.code_hash != _code_hash(phone, purpose, code):
        OneTimeCode.objects.filter(pk=otp.pk).update(attempts=F("attempts") + 1)
        raise ApplicationError(_("The verification code is wrong."), code="otp_wrong", field="code")
    used = OneTimeCode.objects.filter(pk=otp.pk, used_at__isnull=True).update(used_at=now)
    if not used:  # a parallel request consumed it first
        raise ApplicationError(_("Please request a verification code first."), code="otp_missing", field="code")


def otp_purge_expired(*, older_than: dt.datetime) -> int:
    """Delete one-time codes that expired before `older_than`; returns how many. Idempotent."""
    deleted, _per_model = OneTimeCode.objects.filter(expires_at__lt=older_than).delete()
    return deleted
