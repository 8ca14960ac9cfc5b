"""Signing keys per purpose (identity codes first): Ed25519 keys with short key ids.

- The newest unretired key of a purpose signs; every unretired key verifies, so codes signed
  just before a rotation stay valid until they expire.
- The private key is stored as a PKCS#8 PEM in an EncryptedTextField (encrypted at rest); the
  public key as a JWK (JSON). Public keys are published as a JWKS for offline verifiers.
- A purpose's first key is created on first use; `signing_key_rotate` adds a new one and
  `signing_key_retire` withdraws one (it stops verifying at once). Two processes meeting an
  empty table at the same moment may each create a key; both verify and the newer one signs,
  so that race is harmless.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from jwcrypto import jwk

from onecity.core.audit import audit_record
from onecity.core.errors import ApplicationError, NotFound
from onecity.identity.enums import SigningKeyPurpose
from onecity.identity.models import SigningKey

ALGORITHM = "EdDSA"
KID_LENGTH = 8  # hex characters of the RFC 7638 thumbprint; short, because it travels in every QR code


@dataclass(frozen=True)
class PublicKeyInfo:
    kid: str
    purpose: str
    algorithm: str
    created_at: datetime
    retired_at: datetime | None
    signing: bool


def _new_key_row(purpose: str) -> SigningKey:
    """Generate an Ed25519 key and store it (private half encrypted). Retries on the rare kid
    collision (the kid is a truncated thumbprint and unique in the table)."""
    for _attempt in range(5):
        key = jwk.JWK.generate(kty="OKP", crv="Ed25519")
        # Hex, not the thumbprint's base64url: a kid may be typed on a command line, where a
        # leading "-" would read as an option.
        kid = base64.urlsafe_b64decode(key.thumbprint() + "==").hex()[:KID_LENGTH]
        public = key.export_public(as_dict=True)
        public.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
        try:
            with transaction.atomic():
                return SigningKey.objects.create(
                    purpose=purpose,
                    kid=kid,
                    algorithm=ALGORITHM,
                    private_key=key.export_to_pem(private_key=True, password=None).decode("ascii"),
                    public_key=json.dumps(public, sort_keys=True),
                )
        except IntegrityError:
            continue
    raise RuntimeError("could not allocate a unique signing key id")  # pragma: no cover


def _active(purpose: str):
    return SigningKey.objects.filter(purpose=purpose, retired_at__isnull=True).order_by("-created_at", "-id")


def signing_key_current(*, purpose: str = SigningKeyPurpose.IDENTITY_CODE) -> SigningKey:
    """The key that signs now: the newest unretired key of the purpose, created on first use."""
    key = _active(purpose).first()
    if key is None:
        with transaction.atomic():
            key = _new_key_row(purpose)
            audit_record(actor=None, action="signing_key.create", object_type="signing_key", object_id=key.kid,
                         detail={"purpose": purpose, "reason": "first use"})
    return key


def signing_key_private_jwk(key: SigningKey) -> jwk.JWK:
    """The private key, decrypted, for signing (never leaves the process)."""
    return jwk.JWK.from_pem(key.private_key.encode("ascii"), password=None)


def signing_keys_jwks(*, purpose: str = SigningKeyPurpose.IDENTITY_CODE) -> dict:
    """The published key set: public halves of every unretired key, newest first."""
    keys = [json.loads(row.public_key) for row in _active(purpose)]
    return {"keys": keys}


def signing_keys_list(*, purpose: str = SigningKeyPurpose.IDENTITY_CODE) -> list[PublicKeyInfo]:
    rows = list(SigningKey.objects.filter(purpose=purpose).order_by("-created_at", "-id"))
    signing_id = next((row.pk for row in rows if row.retired_at is None), None)
    return [
        PublicKeyInfo(kid=row.kid, purpose=row.purpose, algorithm=row.algorithm, created_at=row.created_at,
                      retired_at=row.retired_at, signing=row.pk == signing_id)
        for row in rows
    ]


@transaction.atomic
def signing_key_rotate(*, purpose: str = SigningKeyPurpose.IDENTITY_CODE, actor=None) -> SigningKey:
    """Add a new key that signs from now on; older unretired keys keep verifying."""
    if purpose not in SigningKeyPurpose.values:
        raise ApplicationError(_("Unknown signing key purpose."), code="unknown_purpose", field="purpose")
    previous = _active(purpose).first()
    key = _new_key_row(purpose)
    audit_record(actor=actor, action="signing_key.rotate", object_type="signing_key", object_id=key.kid,
                 detail={"purpose": purpose, "previous": previous.kid if previous else ""})
    return key


@transaction.atomic
def signing_key_retire(*, kid: str, actor=None) -> SigningKey:
    """Withdraw a key: codes signed with it stop verifying immediately (use after a compromise,
    or once every code it signed has expired). A purpose whose last key is retired gets a new
    key on next use."""
    updated = SigningKey.objects.filter(kid=kid, retired_at__isnull=True).update(retired_at=timezone.now())
    if not updated:
        raise NotFound(_("No active signing key has this key id."), code="unknown_key")
    key = SigningKey.objects.get(kid=kid)
    audit_record(actor=actor, action="signing_key.retire", object_type="signing_key", object_id=key.kid,
                 detail={"purpose": key.purpose})
    return key
