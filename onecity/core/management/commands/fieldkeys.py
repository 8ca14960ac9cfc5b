"""`onecity fieldkeys status|rotate`: personal data under the newest field key.

    onecity fieldkeys status   count, per encrypted column, the values still under older keys
    onecity fieldkeys rotate   re-encrypt them under the first key of ONECITY_FIELD_KEYS

See docs/operations.md (keys and their rotation).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from onecity.core.crypto import DecryptionError
from onecity.core.fieldkeys import fieldkeys_rotate, fieldkeys_status


class Command(BaseCommand):
    help = "Show or finish a rotation of the personal-data encryption keys (ONECITY_FIELD_KEYS)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "rotate"])
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, **options):
        if options["action"] == "status":
            statuses = fieldkeys_status(batch_size=options["batch_size"])
        else:
            try:
                statuses = fieldkeys_rotate(batch_size=options["batch_size"])
            except DecryptionError as exc:
                raise CommandError(f"{exc}: add the key that encrypted it to ONECITY_FIELD_KEYS and run again.") from None
        for status in statuses:
            line = f"{status.column.label:<45} {status.total:>8} values, {status.outdated:>8} under older keys"
            if options["action"] == "rotate":
                line += f", {status.rotated} re-encrypted"
            self.stdout.write(line)
        outdated = sum(s.outdated - s.rotated for s in statuses)
        if outdated:
            self.stdout.write(f"{outdated} values are still under older keys: run `onecity fieldkeys rotate`.")
        else:
            self.stdout.write(self.style.SUCCESS("Every value is under the first key: older keys can be removed."))
