"""Identity codes (入口身份码): a short-lived signed token a real-name-verified citizen shows as
a QR code at a gate, a counter or a venue entrance.

Format (docs/decisions/0003-identity-code.md): a JWS in compact serialization, signed with
EdDSA (Ed25519).

    header  {"alg": "EdDSA", "kid": "<8-char key id>"}
    claims  {"sub": pseudonymous subject, "nm": masked legal name, "iat": issued (unix s),
             "exp": iat + IDCODE_TTL_SECONDS (at most 60 s), "jti": random token id}

Verification needs only the published public keys (JWKS), so a gate can check a code offline
(`idcode_verify_jwks`). `idcode_verify` wraps it with the server's own keys and, when a gate
id is given, records the scan: the (gate, jti) pair is unique in the database, so the same
code is accepted once per gate and reported as `already_used` after that.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from jwcrypto import jwk, jws
from jwcrypto.common import JWException

from onecity.core.audit import audit_record
from onecity.core.crypto import lookup_hash
from onecity.core.errors import ApplicationError
from onecity.core.masking import mask_name
from onecity.identity.enums import SigningKeyPurpose
from onecity.identity.models import GateScan, RealNameIdentity
from onecity.identity.services.signing_keys import (
    ALGORITHM,
    signing_key_current,
    signing_key_private_jwk,
    signing_keys_jwks,
)

CLOCK_SKEW_SECONDS = 5  # leeway for gate clocks that run a little fast or slow
MAX_TTL_SECONDS = 60
MAX_PAYLOAD_CHARS = 1024  # a genuine code is about 280 characters
MAX_GATE_CHARS = 64
SUBJECT_PURPOSE = "idcode_subject"


class IdcodeReason(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_KEY = "unknown_key"
    MALFORMED = "malformed"
    ALREADY_USED = "already_used"
    NOT_YET_VALID = "not_yet_valid"


def reason_message(reason: IdcodeReason | str) -> str:
    """A plain sentence for the person at the gate, in the active language."""
    messages = {
        IdcodeReason.VALID: _("Valid identity code: the holder is a real-name verified OneCity citizen."),
        IdcodeReason.EXPIRED: _("This code has expired. Ask the holder to refresh the code on their phone."),
        IdcodeReason.BAD_SIGNATURE: _("This code was not issued by OneCity or has been altered. Do not accept it."),
        IdcodeReason.UNKNOWN_KEY: _(
            "This code is signed with a key this device does not know. Update the published keys and scan again."
        ),
        IdcodeReason.MALFORMED: _("This is not a OneCity identity code."),
        IdcodeReason.ALREADY_USED: _("This code has already been used at this gate. Ask the holder to refresh it."),
        IdcodeReason.NOT_YET_VALID: _(
            "This code is dated in the future. Check the clock of this device, then scan again."
        ),
    }
    return str(messages[IdcodeReason(reason)])


@dataclass(frozen=True)
class IdcodeResult:
    valid: bool
    reason: str
    message: str
    masked_name: str = ""
    subject: str = ""
    expires_at: datetime | None = None
    key_id: str = ""
    token_id: str = ""

    def as_dict(self) -> dict:
        return {
            "valid": self.valid,
            "reason": self.reason,
            "message": self.message,
            "masked_name": self.masked_name,
            "subject": self.subject,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "key_id": self.key_id,
        }


@dataclass(frozen=True)
class IssuedIdcode:
    token: str
    masked_name: str
    subject: str
    issued_at: datetime
    expires_at: datetime
    ttl_seconds: int
    key_id: str


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def idcode_subject(*, public_id: str) -> str:
    """Pseudonymous subject: a keyed hash of the citizen's public id (128 bits, base64url).
    Stable per citizen, unlinkable to the public id without the server's hash key."""
    return _b64url(bytes.fromhex(lookup_hash(public_id, purpose=SUBJECT_PURPOSE))[:16])


def _ttl_seconds() -> int:
    return max(1, min(int(getattr(settings, "IDCODE_TTL_SECONDS", MAX_TTL_SECONDS)), MAX_TTL_SECONDS))


def _legal_name(user) -> str | None:
    identity = RealNameIdentity.objects.filter(user_id=user.pk).only("legal_name").first()
    return identity.legal_name if identity else None


def idcode_issue(*, user, now: float | None = None) -> IssuedIdcode:
    """Sign a fresh identity code for a real-name verified citizen. Nothing is stored: codes are
    verified from their signature, and their replay is stopped per gate."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise ApplicationError(_("Sign in to see your identity code."), code="login_required", status=401)
    legal_name = _legal_name(user)
    if not legal_name:
        raise ApplicationError(
            _("Your identity code is available after real-name verification."), code="realname_required", status=403
        )
    key = signing_key_current(purpose=SigningKeyPurpose.IDENTITY_CODE)
    iat = int(time.time() if now is None else now)
    ttl = _ttl_seconds()
    claims = {
        "sub": idcode_subject(public_id=user.public_id),
        "nm": mask_name(legal_name),
        "iat": iat,
        "exp": iat + ttl,
        "jti": _b64url(secrets.token_bytes(12)),
    }
    token = jws.JWS(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    token.add_signature(
        signing_key_private_jwk(key),
        alg=ALGORITHM,
        protected=json.dumps({"alg": ALGORITHM, "kid": key.kid}, separators=(",", ":")),
    )
    return IssuedIdcode(
        token=token.serialize(compact=True),
        masked_name=claims["nm"],
        subject=claims["sub"],
        issued_at=datetime.fromtimestamp(iat, tz=UTC),
        expires_at=datetime.fromtimestamp(claims["exp"], tz=UTC),
        ttl_seconds=ttl,
        key_id=key.kid,
    )


def _invalid(reason: IdcodeReason, **fields) -> IdcodeResult:
    return IdcodeResult(valid=False, reason=str(reason), message=reason_message(reason), **fields)


def _find_key(jwks: dict, kid: str) -> jwk.JWK | None:
    for entry in jwks.get("keys", []) if isinstance(jwks, dict) else []:
        if not isinstance(entry, dict) or entry.get("kid") != kid:
            continue
        if entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519" or entry.get("alg", ALGORITHM) != ALGORITHM:
            continue
        try:
            return jwk.JWK(**{k: v for k, v in entry.items() if k in {"kty", "crv", "x", "kid"}})
        except (JWException, ValueError, TypeError):
            return None
    return None


def _valid_claims(claims) -> bool:
    if not isinstance(claims, dict):
        return False
    text_fields = {"sub": 64, "nm": 40, "jti": 40}
    for name, limit in text_fields.items():
        value = claims.get(name)
        if not isinstance(value, str) or not value or len(value) > limit:
            return False
    for name in ("iat", "exp"):
        value = claims.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return False
    return 0 < claims["exp"] - claims["iat"] <= MAX_TTL_SECONDS


def idcode_verify_jwks(*, payload: str, jwks: dict | str, now: float | None = None) -> IdcodeResult:
    """Check an identity code with nothing but a published key set (offline-capable, no
    database). Checks, in order: shape, key id, EdDSA signature, claims, time window."""
    if isinstance(jwks, str | bytes):
        try:
            jwks = json.loads(jwks)
        except ValueError:
            jwks = {}
    payload = (payload or "").strip() if isinstance(payload, str) else ""
    if not payload or len(payload) > MAX_PAYLOAD_CHARS or payload.count(".") != 2:
        return _invalid(IdcodeReason.MALFORMED)
    try:
        header = json.loads(_b64url_decode(payload.split(".", 1)[0]))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return _invalid(IdcodeReason.MALFORMED)
    if (
        not isinstance(header, dict)
        or header.get("alg") != ALGORITHM
        or not isinstance(header.get("kid"), str)
        or set(header) - {"alg", "kid", "typ"}
    ):
        return _invalid(IdcodeReason.MALFORMED)
    kid = header["kid"]
    key = _find_key(jwks, kid)
    if key is None:
        return _invalid(IdcodeReason.UNKNOWN_KEY, key_id=kid[:40])
    token = jws.JWS()
    try:
        token.deserialize(payload)
    except (JWException, ValueError, TypeError):
        return _invalid(IdcodeReason.MALFORMED)
    try:
        token.verify(key, alg=ALGORITHM)
    except jws.InvalidJWSSignature:
        return _invalid(IdcodeReason.BAD_SIGNATURE, key_id=kid)
    except (JWException, ValueError, TypeError):
        return _invalid(IdcodeReason.MALFORMED)
    try:
        claims = json.loads(token.payload.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return _invalid(IdcodeReason.MALFORMED)
    if not _valid_claims(claims):
        return _invalid(IdcodeReason.MALFORMED)

    authentic = {
        "masked_name": claims["nm"],
        "subject": claims["sub"],
        "expires_at": datetime.fromtimestamp(claims["exp"], tz=UTC),
        "key_id": kid,
        "token_id": claims["jti"],
    }
    current = time.time() if now is None else now
    if current < claims["iat"] - CLOCK_SKEW_SECONDS:
        return _invalid(IdcodeReason.NOT_YET_VALID, **authentic)
    if current >= claims["exp"] + CLOCK_SKEW_SECONDS:
        return _invalid(IdcodeReason.EXPIRED, **authentic)
    return IdcodeResult(valid=True, reason=str(IdcodeReason.VALID), message=reason_message(IdcodeReason.VALID),
                        **authentic)


def _clean_gate(gate: str | None) -> str:
    gate = (gate or "").strip()
    if len(gate) > MAX_GATE_CHARS or any(not ch.isprintable() for ch in gate):
        raise ApplicationError(
            _("A gate id has at most %(limit)d printable characters.") % {"limit": MAX_GATE_CHARS},
            code="invalid_gate",
            field="gate",
        )
    return gate


def idcode_verify(*, payload: str, gate: str | None = None, offline_keys: dict | str | None = None,
                  now: float | None = None) -> IdcodeResult:
    """Verify a code (with the given JWKS, or the server's published keys) and, for a gate,
    accept it once: the GateScan row's unique (gate, jti) constraint decides, so two parallel
    scans of one code at one gate cannot both pass."""
    gate = _clean_gate(gate)
    jwks = offline_keys if offline_keys is not None else signing_keys_jwks(purpose=SigningKeyPurpose.IDENTITY_CODE)
    result = idcode_verify_jwks(payload=payload, jwks=jwks, now=now)
    if not result.valid or not gate:
        return result
    try:
        with transaction.atomic():
            GateScan.objects.create(gate=gate, jti=result.token_id, subject=result.subject)
    except IntegrityError:
        return replace(result, valid=False, reason=str(IdcodeReason.ALREADY_USED),
                       message=reason_message(IdcodeReason.ALREADY_USED))
    return result


@transaction.atomic
def gate_scans_purge(*, older_than: timedelta, actor=None) -> int:
    """Delete gate scan records older than the retention period. Only records of codes that
    expired long ago are removed, so replay protection is unaffected."""
    if older_than < timedelta(seconds=MAX_TTL_SECONDS + CLOCK_SKEW_SECONDS):
        raise ApplicationError(_("Keep gate scans at least as long as a code is valid."), code="retention_too_short")
    deleted, _by_model = GateScan.objects.filter(scanned_at__lt=timezone.now() - older_than).delete()
    if deleted:
        audit_record(actor=actor, action="gate_scan.purge", object_type="gate_scan",
                     detail={"deleted": deleted, "older_than_seconds": int(older_than.total_seconds())})
    return deleted
