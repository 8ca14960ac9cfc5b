"""Open311 API keys: created and revoked by operators from the console (`onecity open311 key`),
presented by clients as the `api_key` parameter when filing a request.

A key is 48 random hex characters shown once at creation. Only its keyed hash
(onecity.core.crypto.lookup_hash, purpose "open311_key") is stored, plus its first 8
characters so that people can recognise it in lists; a leaked database does not leak keys.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core.audit import audit_record
from onecity.core.crypto import lookup_hash
from onecity.core.errors import ApplicationError, NotFound
from onecity.hotline.models import Open311Key

KEY_BYTES = 24
PREFIX_LENGTH = 8
NAME_MAX = 100


@dataclass(frozen=True)
class Open311KeyCreated:
    public_id: str
    name: str
    prefix: str
    key: str  # shown once, never stored
    created_at: dt.datetime


def key_hash(key: str) -> str:
    return lookup_hash(key, purpose="open311_key")


@transaction.atomic
def open311_key_create(*, actor, name: str) -> Open311KeyCreated:
    """Create a key for the client `name`; the returned `key` is the only copy."""
    name = " ".join((name or "").split())
    if not name:
        raise ApplicationError(_("Please name the client this key is for."), code="name_required", field="name")
    if len(name) > NAME_MAX:
        raise ApplicationError(_("This can have at most %(max)d characters.") % {"max": NAME_MAX},
                               code="name_length", field="name")
    key = secrets.token_hex(KEY_BYTES)
    now = timezone.now()
    row = Open311Key.objects.create(name=name, prefix=key[:PREFIX_LENGTH], key_hash=key_hash(key),
                                    created_by=actor if getattr(actor, "pk", None) else None, created_at=now)
    audit_record(actor=actor, action="open311_key_create", object_type="open311_key", object_id=row.public_id,
                 detail={"name": name, "prefix": row.prefix})
    return Open311KeyCreated(public_id=row.public_id, name=name, prefix=row.prefix, key=key, created_at=now)


@transaction.atomic
def open311_key_revoke(*, actor, key_id: str) -> Open311Key:
    """Revoke the key with public id `key_id` (or its 8-character prefix if unambiguous).
    Revoking twice is an error, so an operator notices a typo."""
    row = _key_by_id_or_prefix(key_id)
    now = timezone.now()
    if not Open311Key.objects.filter(pk=row.pk, revoked_at__isnull=True).update(revoked_at=now):
        raise ApplicationError(_("This key was already revoked."), code="already_revoked", status=409)
    audit_record(actor=actor, action="open311_key_revoke", object_type="open311_key", object_id=row.public_id,
                 detail={"name": row.name, "prefix": row.prefix})
    row.revoked_at = now
    return row


def _key_by_id_or_prefix(key_id: str) -> Open311Key:
    key_id = (key_id or "").strip()
    row = Open311Key.objects.filter(public_id=key_id).first() if key_id else None
    if row is None and len(key_id) == PREFIX_LENGTH:
        matches = list(Open311Key.objects.filter(prefix=key_id.lower())[:2])
        row = matches[0] if len(matches) == 1 else None
    if row is None:
        raise NotFound(_("There is no such key."))
    return row


def open311_key_list() -> list[Open311Key]:
    return list(Open311Key.objects.order_by("-created_at", "-id"))


def open311_key_authenticate(key: str) -> Open311Key | None:
    """The active key matching `key`, with its last use recorded; None if unknown or revoked."""
    key = (key or "").strip().lower()
    if not key:
        return None
    row = Open311Key.objects.filter(key_hash=key_hash(key), revoked_at__isnull=True).first()
    if row is not None:
        now = timezone.now()
        Open311Key.objects.filter(pk=row.pk).update(last_used_at=now)
        row.last_used_at = now
    return row
