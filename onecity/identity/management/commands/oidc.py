"""`onecity oidc ...`: manage the OIDC provider.

    onecity oidc client create --name NAME --redirect-uri URI [--redirect-uri URI2]
                               [--post-logout-redirect-uri URI] [--purpose TEXT]
                               [--name-en TEXT] [--purpose-en TEXT] [--operator USCC] [--json]
    onecity oidc client list [--json]
    onecity oidc key show
    onecity oidc key rotate

The client secret is printed once, at creation; only its hash is stored.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser
from oauth2_provider.models import get_application_model

from onecity.core.errors import ApplicationError
from onecity.identity.models import ClientProfile, Organization
from onecity.identity.oidc_keys import key_id, load_keys, rotate_keys
from onecity.identity.services.oidc import client_create


class Command(BaseCommand):
    help = "Manage the OIDC provider: register relying parties, list them, rotate the signing key."

    def add_arguments(self, parser: CommandParser) -> None:
        groups = parser.add_subparsers(dest="group", required=True, parser_class=CommandParser)

        client = groups.add_parser("client", help="Relying parties (city and province apps).")
        client_actions = client.add_subparsers(dest="action", required=True, parser_class=CommandParser)
        create = client_actions.add_parser("create", help="Register an app and print its id and secret.")
        create.add_argument("--name", required=True, help="Name shown to citizens (Chinese).")
        create.add_argument("--name-en", default="", help="Name shown to citizens using English.")
        create.add_argument("--redirect-uri", action="append", required=True, dest="redirect_uris",
                            help="Allowed redirect URI (repeat for several).")
        create.add_argument("--post-logout-redirect-uri", action="append", default=[],
                            dest="post_logout_redirect_uris", help="Allowed address after sign-out (repeatable).")
        create.add_argument("--purpose", default="", help="Why the app needs citizens' data (Chinese).")
        create.add_argument("--purpose-en", default="", help="The purpose in English.")
        create.add_argument("--operator", default="", help="Unified social credit code of the operating unit.")
        create.add_argument("--json", action="store_true", help="Print a JSON object.")
        listing = client_actions.add_parser("list", help="List the registered apps.")
        listing.add_argument("--json", action="store_true", help="Print a JSON array.")

        key = groups.add_parser("key", help="The ID-token signing key.")
        key_actions = key.add_subparsers(dest="action", required=True, parser_class=CommandParser)
        key_actions.add_parser("show", help="Print the key ids published in the JWKS.")
        key_actions.add_parser("rotate", help="Make a new signing key; the current one stays published.")

    def handle(self, *args, **options):
        handler = getattr(self, f"{options['group']}_{options['action']}")
        return handler(options)

    # --- clients --------------------------------------------------------------------------
    def client_create(self, options) -> None:
        operator = None
        if options["operator"]:
            operator = Organization.objects.filter(uscc=options["operator"].strip().upper()).first()
            if operator is None:
                raise CommandError(f"No organization has the credit code {options['operator']}.")
        try:
            credentials = client_create(
                actor=None,
                name=options["name"],
                display_name_en=options["name_en"],
                redirect_uris=options["redirect_uris"],
                post_logout_redirect_uris=options["post_logout_redirect_uris"],
                purpose=options["purpose"],
                purpose_en=options["purpose_en"],
                operator=operator,
            )
        except ApplicationError as error:
            raise CommandError(str(error)) from None
        if options["json"]:
            self.stdout.write(json.dumps({
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
                "name": credentials.name,
                "redirect_uris": credentials.redirect_uris,
            }, ensure_ascii=False))
            return
        self.stdout.write(f"name:          {credentials.name}")
        self.stdout.write(f"client_id:     {credentials.client_id}")
        self.stdout.write(f"client_secret: {credentials.client_secret}")
        self.stdout.write(f"redirect_uris: {' '.join(credentials.redirect_uris)}")
        self.stdout.write("Store the secret now: it is not shown again.")

    def client_list(self, options) -> None:
        Application = get_application_model()
        profiles = {p.application_id: p for p in ClientProfile.objects.select_related("operator")}
        rows = []
        for app in Application.objects.order_by("created"):
            profile = profiles.get(app.pk)
            rows.append({
                "client_id": app.client_id,
                "name": profile.display_name if profile else app.name,
                "operator": profile.operator.name if profile and profile.operator else "",
                "redirect_uris": app.redirect_uris.split(),
                "created": app.created.isoformat(),
            })
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False))
            return
        if not rows:
            self.stdout.write("No clients registered. Add one with: onecity oidc client create --help")
        for row in rows:
            self.stdout.write(f"{row['client_id']}  {row['name']}  {' '.join(row['redirect_uris'])}")

    # --- signing key --------------------------------------------------------------------------
    def key_show(self, options) -> None:
        keys = load_keys()
        self.stdout.write(f"active:   {key_id(keys.active_pem)}  ({keys.active_path})")
        for pem in keys.previous_pems:
            self.stdout.write(f"previous: {key_id(pem)}")

    def key_rotate(self, options) -> None:
        try:
            keys = rotate_keys()
        except RuntimeError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"new active key: {key_id(keys.active_pem)}")
        for pem in keys.previous_pems:
            self.stdout.write(f"still published: {key_id(pem)}")
        self.stdout.write("Restart the web processes so they sign with the new key.")
