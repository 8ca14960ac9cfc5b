"""Identity codes: signing, verification (online and offline), replay per gate, key rotation."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from onecity.core.crypto import lookup_hash
from onecity.core.errors import ApplicationError, NotFound
from onecity.core.models import AuditEvent
from onecity.identity.enums import SigningKeyPurpose
from onecity.identity.models import GateScan, RealNameIdentity, SigningKey, User
from onecity.identity.services.idcode import (
    IdcodeReason,
    gate_scans_purge,
    idcode_issue,
    idcode_subject,
    idcode_verify,
    idcode_verify_jwks,
)
from onecity.identity.services.signing_keys import (
    signing_key_current,
    signing_key_retire,
    signing_key_rotate,
    signing_keys_jwks,
    signing_keys_list,
)

NOW = 1_790_000_000  # a fixed instant (2026-09-21) so every time check is deterministic


def make_citizen(phone="13800000001", legal_name="林则峰", id_number="350102199001011234"):
    user = User.objects.create_user(username=f"c{phone}", password="correct horse battery", phone=phone,
                                    phone_hash=lookup_hash(phone, purpose="phone"), display_name="小林")
    RealNameIdentity.objects.create(user=user, legal_name=legal_name, id_number=id_number,
                                    id_number_hash=lookup_hash(id_number, purpose="id_number"), registry="demo")
    return user


def b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@pytest.fixture
def citizen(db):
    return make_citizen()


@pytest.mark.django_db
def test_issue_then_verify_round_trip(citizen):
    issued = idcode_issue(user=citizen, now=NOW)
    header_part, claims_part, signature_part = issued.token.split(".")
    header = json.loads(b64decode(header_part))
    claims = json.loads(b64decode(claims_part))
    key = SigningKey.objects.get()
    assert header == {"alg": "EdDSA", "kid": key.kid}
    assert len(key.kid) == 8
    assert set(claims) == {"sub", "nm", "iat", "exp", "jti"}
    assert claims["nm"] == "林**"
    assert claims["iat"] == NOW
    assert claims["exp"] == NOW + 60
    assert claims["sub"] == idcode_subject(public_id=citizen.public_id)
    assert citizen.public_id not in issued.token
    assert len(b64decode(signature_part)) == 64
    assert len(issued.token) < 320  # comfortable QR size

    result = idcode_verify(payload=issued.token, now=NOW + 30)
    assert result.valid is True
    assert result.reason == "valid"
    assert result.masked_name == "林**"
    assert result.subject == claims["sub"]
    assert result.expires_at.timestamp() == NOW + 60
    assert GateScan.objects.count() == 0  # no gate, nothing recorded


@pytest.mark.django_db
def test_subject_is_stable_per_citizen_and_distinct_between_citizens(citizen):
    other = make_citizen(phone="13800000002", legal_name="陈丽", id_number="350102199202021238")
    first = idcode_issue(user=citizen, now=NOW)
    second = idcode_issue(user=citizen, now=NOW + 60)
    assert first.subject == second.subject
    assert first.token != second.token
    assert idcode_issue(user=other, now=NOW).subject != first.subject
    assert len(first.subject) == 22


@pytest.mark.django_db
def test_issue_refused_without_real_name():
    user = User.objects.create_user(username="c13900000009", password="x" * 12)
    with pytest.raises(ApplicationError) as excinfo:
        idcode_issue(user=user, now=NOW)
    assert excinfo.value.code == "realname_required"
    assert SigningKey.objects.count() == 0


@pytest.mark.django_db
def test_expired_code(citizen):
    issued = idcode_issue(user=citizen, now=NOW - 120)
    result = idcode_verify(payload=issued.token, gate="north-1", now=NOW)
    assert (result.valid, result.reason) == (False, "expired")
    assert result.masked_name == "林**"  # the signature was good, so the name is authentic
    assert GateScan.objects.count() == 0


@pytest.mark.django_db
def test_clock_skew_window(citizen):
    issued = idcode_issue(user=citizen, now=NOW)
    assert idcode_verify(payload=issued.token, now=NOW - 4).reason == "valid"
    assert idcode_verify(payload=issued.token, now=NOW - 6).reason == "not_yet_valid"
    assert idcode_verify(payload=issued.token, now=NOW + 64).reason == "valid"
    assert idcode_verify(payload=issued.token, now=NOW + 65).reason == "expired"


@pytest.mark.django_db
def test_bad_signature_when_a_byte_is_flipped(citizen):
    token = idcode_issue(user=citizen, now=NOW).token
    head, body, signature = token.split(".")
    raw = bytearray(b64decode(signature))
    raw[10] ^= 0x01
    forged_signature = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    result = idcode_verify(payload=f"{head}.{body}.{forged_signature}", gate="north-1", now=NOW)
    assert (result.valid, result.reason, result.masked_name) == (False, "bad_signature", "")
    # claims altered (a different name), original signature kept
    claims = json.loads(b64decode(body))
    claims["nm"] = "王*"
    altered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert idcode_verify(payload=f"{head}.{altered}.{signature}", now=NOW).reason == "bad_signature"
    assert GateScan.objects.count() == 0


@pytest.mark.django_db
def test_unknown_key_id(citizen):
    token = idcode_issue(user=citizen, now=NOW).token
    head, body, signature = token.split(".")
    header = base64.urlsafe_b64encode(b'{"alg":"EdDSA","kid":"nosuchk1"}').rstrip(b"=").decode()
    result = idcode_verify(payload=f"{header}.{body}.{signature}", now=NOW)
    assert (result.valid, result.reason, result.key_id) == (False, "unknown_key", "nosuchk1")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [
        "",
        "hello",
        "a.b.c",
        "...",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",  # alg none
        "eyJhbGciOiJIUzI1NiIsImtpZCI6ImFiYyJ9.e30.c2ln",  # HMAC algorithm
        "x" * 5000,
        "你好.世界.！",
    ],
)
def test_malformed_payloads(payload):
    result = idcode_verify(payload=payload, gate="north-1", now=NOW)
    assert (result.valid, result.reason) == (False, "malformed")
    assert GateScan.objects.count() == 0


@pytest.mark.django_db
def test_signed_but_wrong_claims_are_malformed(citizen):
    from jwcrypto import jws

    from onecity.identity.services.signing_keys import signing_key_private_jwk

    key = signing_key_current()
    for claims in ({"sub": "s", "nm": "林*", "iat": NOW, "exp": NOW + 3600, "jti": "j"},  # too long-lived
                   {"sub": "s", "nm": "林*", "iat": NOW, "exp": NOW + 60},  # no jti
                   [1, 2, 3]):
        token = jws.JWS(json.dumps(claims).encode())
        token.add_signature(signing_key_private_jwk(key), alg="EdDSA",
                            protected=json.dumps({"alg": "EdDSA", "kid": key.kid}))
        assert idcode_verify(payload=token.serialize(compact=True), now=NOW).reason == "malformed"


@pytest.mark.django_db
def test_replay_at_same_gate_refused_but_other_gate_accepts(citizen):
    token = idcode_issue(user=citizen, now=NOW).token
    first = idcode_verify(payload=token, gate="library-east", now=NOW + 1)
    again = idcode_verify(payload=token, gate="library-east", now=NOW + 2)
    elsewhere = idcode_verify(payload=token, gate="museum-1", now=NOW + 3)
    assert (first.valid, first.reason) == (True, "valid")
    assert (again.valid, again.reason) == (False, "already_used")
    assert again.masked_name == "林**"
    assert (elsewhere.valid, elsewhere.reason) == (True, "valid")
    scans = sorted(GateScan.objects.values_list("gate", "subject"))
    subject = idcode_subject(public_id=citizen.public_id)
    assert scans == [("library-east", subject), ("museum-1", subject)]


@pytest.mark.django_db
def test_gate_id_is_validated(citizen):
    token = idcode_issue(user=citizen, now=NOW).token
    with pytest.raises(ApplicationError) as excinfo:
        idcode_verify(payload=token, gate="g" * 65, now=NOW)
    assert excinfo.value.field == "gate"
    assert GateScan.objects.count() == 0


@pytest.mark.django_db
def test_rotation_new_key_signs_old_key_still_verifies(citizen):
    old_token = idcode_issue(user=citizen, now=NOW).token
    old_key = SigningKey.objects.get()
    new_key = signing_key_rotate(purpose=SigningKeyPurpose.IDENTITY_CODE, actor=None)
    assert new_key.kid != old_key.kid
    new_token = idcode_issue(user=citizen, now=NOW).token
    assert json.loads(b64decode(new_token.split(".")[0]))["kid"] == new_key.kid
    assert idcode_verify(payload=old_token, now=NOW).reason == "valid"
    assert idcode_verify(payload=new_token, now=NOW).reason == "valid"
    assert [k["kid"] for k in signing_keys_jwks()["keys"]] == [new_key.kid, old_key.kid]
    assert [(info.kid, info.signing) for info in signing_keys_list()] == [(new_key.kid, True), (old_key.kid, False)]
    assert AuditEvent.objects.filter(action="signing_key.rotate", object_id=new_key.kid).count() == 1

    signing_key_retire(kid=old_key.kid)
    assert idcode_verify(payload=old_token, now=NOW).reason == "unknown_key"
    assert idcode_verify(payload=new_token, now=NOW).reason == "valid"
    with pytest.raises(NotFound):
        signing_key_retire(kid=old_key.kid)


@pytest.mark.django_db
def test_private_key_is_encrypted_at_rest_and_jwks_is_public_only(citizen):
    from django.db import connection

    idcode_issue(user=citizen, now=NOW)
    key = SigningKey.objects.get()
    with connection.cursor() as cursor:
        cursor.execute("SELECT private_key FROM identity_signingkey")
        stored = cursor.fetchone()[0]
    assert "PRIVATE KEY" not in stored
    assert key.private_key.startswith("-----BEGIN PRIVATE KEY-----")
    (published,) = signing_keys_jwks()["keys"]
    assert set(published) == {"kty", "crv", "x", "kid", "alg", "use"}
    assert (published["kty"], published["crv"], published["alg"], published["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")


@pytest.mark.django_db
def test_offline_verification_from_jwks_json_only(citizen):
    token = idcode_issue(user=citizen, now=NOW).token
    jwks_json = json.dumps(signing_keys_jwks())
    SigningKey.objects.all().delete()  # the gate has no database access to keys at all
    result = idcode_verify_jwks(payload=token, jwks=json.loads(jwks_json), now=NOW + 10)
    assert (result.valid, result.masked_name) == (True, "林**")
    assert idcode_verify_jwks(payload=token, jwks=jwks_json, now=NOW + 10).valid is True
    assert idcode_verify_jwks(payload=token, jwks={"keys": []}, now=NOW).reason == "unknown_key"
    assert idcode_verify_jwks(payload=token, jwks="not json", now=NOW).reason == "unknown_key"
    # the service wrapper accepts the same offline keys and still records the gate scan
    assert idcode_verify(payload=token, gate="bus-7", offline_keys=json.loads(jwks_json), now=NOW).valid is True
    assert idcode_verify(payload=token, gate="bus-7", offline_keys=json.loads(jwks_json), now=NOW).reason == (
        "already_used"
    )


@pytest.mark.django_db
def test_messages_are_translated(citizen):
    token = idcode_issue(user=citizen, now=NOW - 300).token
    with translation.override("en"):
        assert idcode_verify(payload=token, now=NOW).message.startswith("This code has expired.")
    with translation.override("zh-hans"):
        assert idcode_verify(payload=token, now=NOW).message.startswith("此码已过期")


@pytest.mark.django_db
def test_reason_codes_are_the_documented_set():
    assert {r.value for r in IdcodeReason} == {
        "valid", "expired", "bad_signature", "unknown_key", "malformed", "already_used", "not_yet_valid"}


@pytest.mark.django_db
def test_gate_scans_purge_keeps_recent(citizen):
    token = idcode_issue(user=citizen, now=time.time()).token
    idcode_verify(payload=token, gate="north-1")
    GateScan.objects.create(gate="north-1", jti="old", subject="s", scanned_at=timezone.now() - timedelta(days=40))
    assert gate_scans_purge(older_than=timedelta(days=30)) == 1
    assert list(GateScan.objects.values_list("gate", flat=True)) == ["north-1"]
    with pytest.raises(ApplicationError):
        gate_scans_purge(older_than=timedelta(seconds=10))
    assert GateScan.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_scans_of_one_code_at_one_gate_admit_exactly_one():
    """Real parallel connections (run on PostgreSQL too): the unique (gate, jti) constraint
    decides, so of N turnstiles racing on one code exactly one opens."""
    import threading

    from django.db import connection, connections

    if connection.vendor == "sqlite":
        pytest.skip("the in-memory SQLite test database fails locked tables at once instead of waiting "
                    "(busy_timeout does not apply to shared-cache locks); races run on PostgreSQL")
    token = idcode_issue(user=make_citizen(), now=time.time()).token
    signing_keys_jwks()  # key loaded before the race
    barrier = threading.Barrier(4)
    reasons: list[str] = []
    lock = threading.Lock()

    def scan():
        try:
            barrier.wait(timeout=10)
            result = idcode_verify(payload=token, gate="turnstile-A")
            with lock:
                reasons.append(result.reason)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scan) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(reasons) == ["already_used", "already_used", "already_used", "valid"]
    assert GateScan.objects.filter(gate="turnstile-A").count() == 1


@pytest.mark.django_db
def test_key_ids_are_hex_so_they_never_read_as_command_line_options():
    kids = [signing_key_rotate(purpose=SigningKeyPurpose.IDENTITY_CODE).kid for _ in range(20)]
    assert all(len(kid) == 8 and set(kid) <= set("0123456789abcdef") for kid in kids)
    assert len(set(kids)) == 20
