"""`onecity qr ...`: inspect merchant-presented payment codes.

    onecity qr emv-decode PAYLOAD   print the records of an EMVCo merchant-presented payload as
                                    JSON (id, name, length, value, nested records of templates).
        PAYLOAD "-" reads the code from standard input (a scanner in keyboard mode).
        Exit status: 0 valid, 1 not valid (the reason on standard error), 2 usage error.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from onecity.payments.emv import EmvError, decode

EXIT_INVALID = 1


class Command(BaseCommand):
    help = "Inspect merchant-presented payment codes (EMVCo QR)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        emv = actions.add_parser("emv-decode", help="Print an EMVCo merchant-presented payload as JSON; "
                                                    "exit 1 with the reason if it is not valid.")
        emv.add_argument("payload", help='The scanned code text, or "-" to read it from standard input.')

    def handle(self, *args, **options):
        action = options["action"].replace("-", "_")
        return getattr(self, f"do_{action}")(options)

    def do_emv_decode(self, options):
        payload = options["payload"]
        if payload == "-":
            payload = sys.stdin.readline().rstrip("\r\n")
        try:
            decoded = decode(payload)
        except EmvError as exc:
            raise CommandError(_("Not a valid EMVCo payment code: %(reason)s") % {"reason": exc.message},
                               returncode=EXIT_INVALID) from None
        self.stdout.write(json.dumps(decoded.as_dict(), ensure_ascii=False, indent=2))
