"""`onecity api ...`: partner REST API administration.

    onecity api client create --name NAME [--json]
        Register a partner system as a confidential OAuth 2.0 client-credentials client with
        the `api` scope. The secret is printed once and stored only hashed.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from onecity.core.errors import ApplicationError
from onecity.identity.services.api_clients import api_client_create


class Command(BaseCommand):
    help = "Administer the partner REST API (/api/v1/)."

    def add_arguments(self, parser):
        areas = parser.add_subparsers(dest="area", required=True, metavar="AREA")
        client = areas.add_parser("client", help="API clients (partner systems).")
        client_actions = client.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = client_actions.add_parser("create", help="Register a client-credentials API client.")
        create.add_argument("--name", required=True, help="Who the client is, e.g. “鼓楼区智慧门禁系统”.")
        create.add_argument("--json", action="store_true", help="Print the credentials as JSON.")

    def handle(self, *args, **options):
        if (options["area"], options["action"]) == ("client", "create"):
            return self.client_create(options)
        raise CommandError("unknown action")  # pragma: no cover - argparse allows nothing else

    def client_create(self, options):
        try:
            credentials = api_client_create(actor=None, name=options["name"])
        except ApplicationError as exc:
            raise CommandError(str(exc), returncode=2) from None
        token_url = f"{settings.BASE_URL}{credentials.token_url_path}"
        if options["json"]:
            self.stdout.write(json.dumps({
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
                "name": credentials.name,
                "scope": credentials.scope,
                "token_url": token_url,
                "api_base_url": f"{settings.BASE_URL}/api/v1/",
            }, ensure_ascii=False))
            return
        self.stdout.write(self.style.SUCCESS(f"API client “{credentials.name}” registered."))
        self.stdout.write(f"client_id:     {credentials.client_id}")
        self.stdout.write(f"client_secret: {credentials.client_secret}")
        self.stdout.write("The secret is shown only now; it is stored hashed. Keep it in the partner system's vault.")
        lifetime = int(settings.OAUTH2_PROVIDER.get("ACCESS_TOKEN_EXPIRE_SECONDS", 36000)) // 60
        self.stdout.write(f"Get an access token (valid {lifetime} minutes) and call the API:")
        self.stdout.write(f"  curl -u CLIENT_ID:CLIENT_SECRET -d grant_type=client_credentials -d scope={credentials.scope} "
                          f"{token_url}")
        self.stdout.write(f"  curl -H 'Authorization: Bearer ACCESS_TOKEN' {settings.BASE_URL}/api/v1/organizations")
