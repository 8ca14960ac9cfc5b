"""`onecity idcode ...`: check identity codes and manage their signing keys.

    onecity idcode verify PAYLOAD [--gate GATE] [--jwks FILE] [--json] [--language en]
        PAYLOAD "-" reads the code from standard input (a scanner in keyboard mode).
        --jwks FILE verifies offline against a saved copy of /.well-known/idcode-keys.json.
        Exit status: 0 valid, 1 not valid, 2 usage error.
    onecity idcode rotate-key          add a new signing key (older keys keep verifying)
    onecity idcode keys [--json]       list the keys, newest first
    onecity idcode retire-key KID      withdraw a key (its codes stop verifying at once)
    onecity idcode jwks                print the published key set (to copy to gate devices)
    onecity idcode purge-scans --days N   delete gate scan records older than N days
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from onecity.core.errors import ApplicationError
from onecity.identity.enums import SigningKeyPurpose
from onecity.identity.services.idcode import gate_scans_purge, idcode_verify
from onecity.identity.services.signing_keys import (
    signing_key_current,
    signing_key_retire,
    signing_key_rotate,
    signing_keys_jwks,
    signing_keys_list,
)

EXIT_INVALID = 1
EXIT_USAGE = 2


class UsageError(CommandError):
    def __init__(self, message: str):
        super().__init__(message, returncode=EXIT_USAGE)


class Command(BaseCommand):
    help = "Verify identity codes (入口身份码) and manage their signing keys."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        verify = actions.add_parser("verify", help="Check an identity code; exit 0 if valid, 1 if not.")
        verify.add_argument("payload", help='The scanned code text, or "-" to read it from standard input.')
        verify.add_argument("--gate", default=None, help="Gate id: a code is accepted once per gate.")
        verify.add_argument("--jwks", default=None, type=Path,
                            help="Verify offline with this JWKS file (a copy of /.well-known/idcode-keys.json).")
        verify.add_argument("--json", action="store_true", help="Print the result as JSON.")
        verify.add_argument("--language", choices=["zh-hans", "en"], default=None,
                            help="Language of the message (default: the site language).")

        actions.add_parser("rotate-key", help="Add a new signing key; older keys keep verifying until retired.")

        keys = actions.add_parser("keys", help="List identity-code signing keys, newest first.")
        keys.add_argument("--json", action="store_true")

        retire = actions.add_parser("retire-key", help="Withdraw a signing key: its codes stop verifying.")
        retire.add_argument("kid", help="The key id")

        actions.add_parser("jwks", help="Print the published key set as JSON (for gate devices).")

        purge = actions.add_parser("purge-scans", help="Delete gate scan records older than the retention period.")
        purge.add_argument("--days", type=int, default=90, help="Retention in days (default 90).")

    def handle(self, *args, **options):
        action = options["action"].replace("-", "_")
        return getattr(self, f"do_{action}")(options)

    # --- verify ---------------------------------------------------------------------------
    def do_verify(self, options):
        payload = options["payload"]
        if payload == "-":
            payload = sys.stdin.readline()
        jwks = None
        if options["jwks"] is not None:
            try:
                jwks = json.loads(options["jwks"].read_text(encoding="utf-8"))
            except OSError as exc:
                raise UsageError(f"cannot read the key set file {options['jwks']}: {exc.strerror}") from None
            except ValueError:
                raise UsageError(f"{options['jwks']} is not a JSON key set (JWKS)") from None
            if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
                raise UsageError(f"{options['jwks']} is not a JSON key set (JWKS): no \"keys\" list")
        with translation.override(options["language"] or translation.get_language()):
            try:
                result = idcode_verify(payload=payload, gate=options["gate"], offline_keys=jwks)
            except ApplicationError as exc:
                raise UsageError(str(exc)) from None
            if options["json"]:
                self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
            elif result.valid:
                until = result.expires_at.astimezone().strftime("%H:%M:%S") if result.expires_at else ""
                self.stdout.write(self.style.SUCCESS(f"VALID  {result.masked_name}  (until {until})"))
                self.stdout.write(result.message)
            else:
                name = f"  {result.masked_name}" if result.masked_name else ""
                self.stdout.write(self.style.ERROR(f"NOT VALID  {result.reason}{name}"))
                self.stdout.write(result.message)
        if not result.valid:
            sys.stdout.flush()
            raise SystemExit(EXIT_INVALID)

    # --- keys -----------------------------------------------------------------------------
    def do_rotate_key(self, options):
        key = signing_key_rotate(purpose=SigningKeyPurpose.IDENTITY_CODE, actor=None)
        self.stdout.write(self.style.SUCCESS(f"New identity-code signing key {key.kid} signs from now on."))
        self.stdout.write("Older keys keep verifying until you retire them (onecity idcode retire-key KID); "
                          "gate devices pick up the new public key from /.well-known/idcode-keys.json.")

    def do_keys(self, options):
        signing_key_current(purpose=SigningKeyPurpose.IDENTITY_CODE)  # there is always one to show
        rows = signing_keys_list(purpose=SigningKeyPurpose.IDENTITY_CODE)
        if options["json"]:
            self.stdout.write(json.dumps([
                {"kid": r.kid, "algorithm": r.algorithm, "created_at": r.created_at.isoformat(),
                 "retired_at": r.retired_at.isoformat() if r.retired_at else None, "signing": r.signing}
                for r in rows
            ]))
            return
        for r in rows:
            state = "signing" if r.signing else ("retired " + r.retired_at.isoformat() if r.retired_at else "verifying")
            self.stdout.write(f"{r.kid}  {r.algorithm}  created {r.created_at.isoformat()}  {state}")

    def do_retire_key(self, options):
        try:
            key = signing_key_retire(kid=options["kid"], actor=None)
        except ApplicationError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.WARNING(f"Key {key.kid} retired: codes it signed no longer verify."))

    def do_jwks(self, options):
        signing_key_current(purpose=SigningKeyPurpose.IDENTITY_CODE)
        self.stdout.write(json.dumps(signing_keys_jwks(purpose=SigningKeyPurpose.IDENTITY_CODE), indent=2))

    def do_purge_scans(self, options):
        try:
            deleted = gate_scans_purge(older_than=timedelta(days=options["days"]), actor=None)
        except ApplicationError as exc:
            raise UsageError(str(exc)) from None
        self.stdout.write(f"Deleted {deleted} gate scan record(s) older than {options['days']} days.")
