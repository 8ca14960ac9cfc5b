"""`onecity open311 ...`: API keys of Open311 GeoReport v2 clients.

    onecity open311 key create --name "福州市民通 App" [--json]
                                   create a key; it is printed once and only its hash is kept
    onecity open311 key list [--json]
                                   the keys: id, prefix, name, created, last used, revoked
    onecity open311 key revoke ID  revoke a key by its id (or its 8-character prefix)
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from onecity.core.errors import ApplicationError
from onecity.hotline.open311.keys import open311_key_create, open311_key_list, open311_key_revoke


def _when(moment) -> str | None:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


class Command(BaseCommand):
    help = "Open311 GeoReport v2 API keys: create, list, revoke."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="topic", required=True)
        key = sub.add_parser("key", help="API keys of Open311 clients.")
        actions = key.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Create a key (printed once).")
        create.add_argument("--name", required=True, help="the client the key is for")
        create.add_argument("--json", action="store_true", help="print one JSON object")
        listing = actions.add_parser("list", help="List the keys.")
        listing.add_argument("--json", action="store_true", help="print one JSON object per line")
        revoke = actions.add_parser("revoke", help="Revoke a key.")
        revoke.add_argument("key_id", help="the key's id, or its 8-character prefix")
        revoke.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        try:
            getattr(self, "handle_" + options["action"])(**options)
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from None

    def _json(self, payload) -> None:
        self.stdout.write(json.dumps(payload, ensure_ascii=False, sort_keys=True))

    def handle_create(self, *, name, json, **options):
        created = open311_key_create(actor=None, name=name)
        if json:
            self._json({"id": created.public_id, "name": created.name, "prefix": created.prefix,
                        "api_key": created.key, "created_at": _when(created.created_at)})
            return
        self.stdout.write(f"API key for {created.name} (id {created.public_id}):")
        self.stdout.write(created.key)
        self.stdout.write("Store it now: it is shown only once. Clients send it as api_key.")

    def handle_list(self, *, json, **options):
        for row in open311_key_list():
            item = {"id": row.public_id, "name": row.name, "prefix": row.prefix,
                    "created_at": _when(row.created_at), "last_used_at": _when(row.last_used_at),
                    "revoked_at": _when(row.revoked_at)}
            if json:
                self._json(item)
            else:
                state = f"revoked {item['revoked_at']}" if row.revoked_at else "active"
                self.stdout.write(f"{row.public_id}  {row.prefix}…  {state:<34}  last used "
                                  f"{item['last_used_at'] or '-'}  {row.name}")

    def handle_revoke(self, *, key_id, json, **options):
        row = open311_key_revoke(actor=None, key_id=key_id)
        if json:
            self._json({"id": row.public_id, "name": row.name, "revoked_at": _when(row.revoked_at)})
        else:
            self.stdout.write(f"Revoked {row.public_id} ({row.name}).")
