"""`onecity idcode ...`: output and exit status (0 valid, 1 not valid, 2 usage error)."""

from __future__ import annotations

import io
import json
from unittest import mock

import pytest

from onecity.cli import main
from onecity.identity.models import GateScan, SigningKey
from onecity.identity.services.idcode import idcode_issue
from onecity.identity.services.signing_keys import signing_keys_jwks
from onecity.identity.tests.test_idcode import NOW, make_citizen


def run(*argv: str) -> int:
    """Run `onecity ARGV...` exactly as the console does and return its exit status. The
    command-line path closes every database connection when it finishes
    (BaseCommand.run_from_argv); that is kept from closing the test's transaction."""
    with mock.patch("django.core.management.base.connections.close_all"):
        try:
            main(list(argv))
        except SystemExit as exc:
            return int(exc.code or 0)
    return 0


@pytest.fixture
def token(db):
    return idcode_issue(user=make_citizen()).token


@pytest.mark.django_db
def test_verify_valid_code_exits_0(token, capsys):
    assert run("idcode", "verify", token, "--language", "en") == 0
    out = capsys.readouterr().out
    assert out.startswith("VALID  林**  (until ")
    assert "Valid identity code: the holder is a real-name verified OneCity citizen." in out


@pytest.mark.django_db
def test_verify_json_and_replay_at_gate(token, capsys):
    assert run("idcode", "verify", token, "--gate", "east-1", "--json") == 0
    first = json.loads(capsys.readouterr().out)
    assert (first["valid"], first["reason"], first["masked_name"]) == (True, "valid", "林**")
    assert run("idcode", "verify", token, "--gate", "east-1", "--json", "--language", "zh-hans") == 1
    second = json.loads(capsys.readouterr().out)
    assert (second["valid"], second["reason"]) == (False, "already_used")
    assert second["message"] == "此码已在本入口使用过，请持码人刷新后重新出示。"
    assert GateScan.objects.count() == 1


@pytest.mark.django_db
def test_verify_invalid_code_exits_1_with_reason(capsys):
    assert run("idcode", "verify", "garbage", "--language", "en") == 1
    out = capsys.readouterr().out
    assert out.splitlines() == ["NOT VALID  malformed", "This is not a OneCity identity code."]


@pytest.mark.django_db
def test_verify_expired_code_exits_1(capsys):
    old = idcode_issue(user=make_citizen(), now=NOW).token
    assert run("idcode", "verify", old, "--language", "en") == 1
    assert capsys.readouterr().out.startswith("NOT VALID  expired  林**")


@pytest.mark.django_db
def test_verify_offline_with_jwks_file(token, tmp_path, capsys):
    jwks_file = tmp_path / "idcode-keys.json"
    jwks_file.write_text(json.dumps(signing_keys_jwks()), encoding="utf-8")
    other = tmp_path / "other-keys.json"
    other.write_text('{"keys": []}', encoding="utf-8")
    SigningKey.objects.all().delete()  # the server's keys are not consulted
    assert run("idcode", "verify", token, "--jwks", str(jwks_file), "--json") == 0
    assert json.loads(capsys.readouterr().out)["valid"] is True
    assert run("idcode", "verify", token, "--jwks", str(other), "--json") == 1
    assert json.loads(capsys.readouterr().out)["reason"] == "unknown_key"


@pytest.mark.django_db
def test_verify_reads_stdin(token, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(token + "\n"))
    assert run("idcode", "verify", "-", "--json") == 0
    assert json.loads(capsys.readouterr().out)["valid"] is True


@pytest.mark.django_db
def test_usage_errors_exit_2(token, tmp_path, capsys):
    assert run("idcode", "verify") == 2  # no payload
    assert run("idcode", "verify", token, "--jwks", str(tmp_path / "missing.json")) == 2
    assert "cannot read the key set file" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert run("idcode", "verify", token, "--jwks", str(bad)) == 2
    assert "is not a JSON key set" in capsys.readouterr().err
    assert run("idcode", "verify", token, "--gate", "g" * 65) == 2
    assert GateScan.objects.count() == 0
    assert run("idcode", "no-such-action") == 2


@pytest.mark.django_db
def test_rotate_key_then_keys_and_retire(token, capsys):
    old_kid = SigningKey.objects.get().kid
    assert run("idcode", "rotate-key") == 0
    out = capsys.readouterr().out
    new_kid = SigningKey.objects.exclude(kid=old_kid).get().kid
    assert f"New identity-code signing key {new_kid} signs from now on." in out
    assert run("idcode", "keys", "--json") == 0
    keys = json.loads(capsys.readouterr().out)
    assert [(k["kid"], k["signing"], k["retired_at"]) for k in keys] == [(new_kid, True, None), (old_kid, False, None)]
    assert run("idcode", "verify", token, "--json") == 0  # the old key still verifies
    capsys.readouterr()
    assert run("idcode", "retire-key", old_kid) == 0
    capsys.readouterr()
    assert run("idcode", "verify", token, "--json") == 1
    assert json.loads(capsys.readouterr().out)["reason"] == "unknown_key"
    assert run("idcode", "retire-key", old_kid) == 1  # already retired: a command error


@pytest.mark.django_db
def test_jwks_command_prints_public_keys(token, capsys):
    assert run("idcode", "jwks") == 0
    jwks = json.loads(capsys.readouterr().out)
    assert jwks == signing_keys_jwks()
    assert all("d" not in key for key in jwks["keys"])
