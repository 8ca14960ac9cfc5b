"""Encryption at rest and keyed lookup hashes for personal data.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, authenticated) through
MultiFernet: the first key in FIELD_ENCRYPTION_KEYS encrypts, every key decrypts, and
`rotate()` re-encrypts a token under the first key. Equality look-ups use an HMAC-SHA256 of a
normalised value under LOOKUP_HASH_KEY, so the database never needs the plaintext.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class DecryptionError(Exception):
    pass


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError) as exc:
        raise DecryptionError("personal data could not be decrypted with any configured key") from exc


def rotate(token: str) -> str:
    """Re-encrypt a token under the current primary key (no-op in meaning, new ciphertext)."""
    try:
        return fernet().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise DecryptionError("personal data could not be decrypted with any configured key") from exc


def lookup_hash(value: str, *, purpose: str) -> str:
    """Keyed hash of a normalised value; `purpose` separates domains (phone, id_number...)."""
    key = hashlib.sha256(f"{settings.LOOKUP_HASH_KEY}:{purpose}".encode()).digest()
    return hmac.new(key, value.strip().upper().encode("utf-8"), hashlib.sha256).hexdigest()
