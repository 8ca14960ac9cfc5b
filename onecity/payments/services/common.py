"""Helpers shared by the payments services: money parsing, hashing of requests, client keys."""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from onecity.core.errors import ApplicationError

#: the largest amount a single bill or payment may have: ¥10,000,000.00
MAX_FEN = 1_000_000_000
_YUAN_RE = re.compile(r"^[0-9]+(\.[0-9]{1,2})?$")


def yuan_to_fen(text, *, field: str = "amount") -> int:
    """"1234.5" → 123450. Accepts digits with at most two decimals (a leading ¥ and thousands
    separators are ignored); anything else, zero or above MAX_FEN is an ApplicationError."""
    if isinstance(text, int | Decimal) and not isinstance(text, bool):
        text = str(text)
    elif isinstance(text, float):
        text = repr(text)
    value = str(text or "").strip().replace(",", "").replace("，", "").lstrip("¥￥").strip()
    if not _YUAN_RE.match(value):
        raise ApplicationError(_("Enter an amount in yuan with at most two decimals, e.g. 1280.50."),
                               code="amount_format", field=field)
    try:
        fen = int(Decimal(value) * 100)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise ApplicationError(_("Enter an amount in yuan with at most two decimals, e.g. 1280.50."),
                               code="amount_format", field=field) from None
    if fen <= 0:
        raise ApplicationError(_("The amount must be more than zero."), code="amount_positive", field=field)
    if fen > MAX_FEN:
        raise ApplicationError(_("The amount can be at most ¥10,000,000.00."), code="amount_too_large", field=field)
    return fen


def request_hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def client_key_for(*, actor=None, client_id: str = "", code_id: str = "") -> str:
    """Who supplied an idempotency key: an API client, a signed-in person, a code's scanner."""
    if client_id:
        return f"api:{client_id}"
    if getattr(actor, "pk", None):
        return f"user:{actor.public_id}"
    if code_id:
        return f"code:{code_id}"
    return "system"


def idempotency_key_clean(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > 64 or not re.fullmatch(r"[A-Za-z0-9._:-]+", key):
        raise ApplicationError(
            _("Send an Idempotency-Key of 1 to 64 letters, digits, dots, dashes, underscores or colons."),
            code="idempotency_key_invalid", field="Idempotency-Key", status=400)
    return key


def idempotency_mismatch() -> ApplicationError:
    return ApplicationError(
        _("This Idempotency-Key was already used for a different request. Use a new key for a new request."),
        code="idempotency_mismatch", status=422)


def actor_or_none(actor):
    return actor if getattr(actor, "pk", None) else None
