"""Finishing a field-key rotation: `onecity fieldkeys rotate` re-encrypts personal data under
the newest key, after which the old key can leave ONECITY_FIELD_KEYS."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from onecity.core.crypto import lookup_hash
from onecity.core.fieldkeys import encrypted_columns, fieldkeys_status
from onecity.core.models import AuditEvent
from onecity.identity.enums import UserKind
from onecity.identity.models import DemoResident, User
from onecity.identity.registry import demo_resident_add


def _raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.fixture
def keys(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    return old, new


def _outdated() -> dict[str, int]:
    return {s.column.label: s.outdated for s in fieldkeys_status() if s.total}


@pytest.mark.django_db
def test_rotate_re_encrypts_every_value_under_the_new_key(settings, keys):
    old, new = keys
    resident = demo_resident_add(legal_name="林志远", id_number="350102199001011238")
    user = User.objects.create(username="c-rotation", kind=UserKind.CITIZEN, display_name="林志远",
                               phone="13800138000", phone_hash=lookup_hash("13800138000", purpose="phone"))
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert _outdated() == {"identity.DemoResident.legal_name": 1, "identity.DemoResident.id_number": 1,
                           "identity.User.phone": 1}
    before = _raw("identity_demoresident", "id_number", resident.pk)

    out = io.StringIO()
    call_command("fieldkeys", "rotate", stdout=out)

    assert "older keys can be removed" in out.getvalue()
    assert _raw("identity_demoresident", "id_number", resident.pk) != before
    assert _outdated() == {"identity.DemoResident.legal_name": 0, "identity.DemoResident.id_number": 0,
                           "identity.User.phone": 0}
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key is gone: everything still reads
    resident = DemoResident.objects.get(pk=resident.pk)
    assert (resident.legal_name, resident.id_number) == ("林志远", "350102199001011238")
    assert User.objects.get(pk=user.pk).phone == "13800138000"
    event = AuditEvent.objects.get(action="crypto.fieldkeys_rotate")
    assert event.detail["rotated"] == 3

    call_command("fieldkeys", "rotate", stdout=io.StringIO())  # nothing left to do
    assert AuditEvent.objects.filter(action="crypto.fieldkeys_rotate").count() == 1


@pytest.mark.django_db
def test_a_value_under_an_unknown_key_stops_the_rotation_and_changes_nothing(settings, keys):
    old, new = keys
    resident = demo_resident_add(legal_name="林志远", id_number="350102199001011238")
    raw = {c: _raw("identity_demoresident", c, resident.pk) for c in ("legal_name", "id_number")}
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key was dropped too early

    with pytest.raises(CommandError, match="ONECITY_FIELD_KEYS"):
        call_command("fieldkeys", "rotate", stdout=io.StringIO())

    assert {c: _raw("identity_demoresident", c, resident.pk) for c in ("legal_name", "id_number")} == raw
    assert not AuditEvent.objects.filter(action="crypto.fieldkeys_rotate").exists()


def test_every_encrypted_column_is_found():
    labels = {c.label for c in encrypted_columns()}
    assert {"identity.User.phone", "identity.RealNameIdentity.legal_name", "identity.RealNameIdentity.id_number",
            "identity.DemoResident.legal_name", "identity.DemoResident.id_number",
            "identity.SigningKey.private_key"} <= labels
