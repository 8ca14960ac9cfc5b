"""`onecity org ...`: organizations from the command line, above all a deployment's first one.

    onecity org create --name 福州市数据管理局 --kind department --uscc 11350100MB0000000X --region 350100
                       [--parent USCC_OR_PUBLIC_ID] [--name-en NAME] [--short-name NAME]
                       [--payee-type TYPE] [--json]
    onecity org list [--json]

The unified social credit code is checked in full (format, both check characters). Exit status:
0 done, 1 refused (the reason is printed), 2 wrong usage.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from onecity.core.errors import ApplicationError
from onecity.identity.enums import OrganizationKind, PayeeType
from onecity.identity.models import Organization
from onecity.identity.selectors.accounts import (
    organization_get_by_reference,
    organization_list_for_administrator,
)
from onecity.identity.services.organizations import organization_create


class Command(BaseCommand):
    help = "Manage organizations: create the first one of a deployment, list them."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=CommandParser)
        create = actions.add_parser("create", help="Create an organization.")
        create.add_argument("--name", required=True, help="Official Chinese name, e.g. 福州市数据管理局.")
        create.add_argument("--kind", required=True, choices=OrganizationKind.values,
                            help="department, district, subunit or payee.")
        create.add_argument("--uscc", required=True, help="Unified social credit code (统一社会信用代码), 18 characters.")
        create.add_argument("--region", required=True, dest="region_code",
                            help="6-digit administrative region code (GB/T 2260), e.g. 350100 for Fuzhou.")
        create.add_argument("--parent", default="", help="Parent organization: credit code or public id.")
        create.add_argument("--name-en", default="", help="English name.")
        create.add_argument("--short-name", default="", help="Short name, e.g. 市数据局.")
        create.add_argument("--payee-type", default="", choices=["", *PayeeType.values],
                            help="For payee units: " + ", ".join(PayeeType.values) + ".")
        create.add_argument("--json", action="store_true", help="Print a JSON object.")
        listing = actions.add_parser("list", help="List the organizations.")
        listing.add_argument("--json", action="store_true", help="Print a JSON array.")

    def handle(self, *args, **options):
        # The command's own output is English; so are the services' messages, for one language per run.
        with translation.override("en"):
            try:
                return getattr(self, f"do_{options['action']}")(options)
            except ApplicationError as exc:
                raise CommandError(str(exc)) from None

    @staticmethod
    def as_dict(organization: Organization) -> dict:
        return {"public_id": organization.public_id, "name": organization.name, "name_en": organization.name_en,
                "short_name": organization.short_name, "kind": organization.kind,
                "payee_type": organization.payee_type, "uscc": organization.uscc,
                "region_code": organization.region_code,
                "parent": organization.parent.uscc if organization.parent_id else "",
                "active": organization.is_active}

    def do_create(self, options) -> None:
        parent = None
        if options["parent"]:
            parent = organization_get_by_reference(options["parent"])
            if parent is None:
                raise CommandError(f"No organization has the credit code or id “{options['parent']}”.")
        organization = organization_create(
            actor=None, name=options["name"], kind=options["kind"], uscc=options["uscc"],
            region_code=options["region_code"], parent=parent, name_en=options["name_en"],
            short_name=options["short_name"], payee_type=options["payee_type"])
        if options["json"]:
            self.stdout.write(json.dumps(self.as_dict(organization), ensure_ascii=False))
            return
        self.stdout.write(self.style.SUCCESS(f"Organization “{organization.name}” created."))
        self.stdout.write(f"public id: {organization.public_id}")
        self.stdout.write(f"credit code: {organization.uscc}")
        self.stdout.write("Its first administrator: onecity staff create --username USER "
                          f"--org {organization.uscc} --role administrator")

    def do_list(self, options) -> None:
        rows = [self.as_dict(o) for o in organization_list_for_administrator(actor=None)]
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        if not rows:
            self.stdout.write("No organizations yet. Create the first with `onecity org create`.")
            return
        for row in rows:
            state = "" if row["active"] else "  (inactive)"
            self.stdout.write(f"{row['uscc']}  {row['region_code']}  {row['kind']:<10}  {row['name']}{state}")
