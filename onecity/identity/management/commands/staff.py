"""`onecity staff ...`: staff accounts from the command line, above all a deployment's first
administrator.

    onecity staff create --username U --org USCC_OR_PUBLIC_ID --role administrator [--role R ...]
                         [--display-name NAME] [--password-stdin]
    onecity staff roles --username U --role R [--role R ...]
    onecity staff password --username U [--password-stdin]
    onecity staff deactivate --username U
    onecity staff reactivate --username U
    onecity staff list [--json]

Without --password-stdin the password is asked for twice on the terminal (never echoed, never
an argument, so it stays out of shell history and process lists). Passwords must pass the
same checks as on the web. The command line acts as the system: what it does is recorded in
the audit log without a person's name. Exit status: 0 done, 1 refused (the reason is
printed), 2 wrong usage.
"""

from __future__ import annotations

import getpass
import json
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone, translation

from onecity.core.errors import ApplicationError
from onecity.identity.enums import Role, UserKind
from onecity.identity.models import User
from onecity.identity.selectors.accounts import organization_get_by_reference, staff_list_for_administrator
from onecity.identity.services.accounts import (
    staff_create,
    staff_deactivate,
    staff_password_set,
    staff_reactivate,
    staff_roles_set,
)

ROLE_HELP = "Role (repeat for several): " + ", ".join(Role.values) + "."


class Command(BaseCommand):
    help = "Manage staff accounts: create the first administrator, set roles and passwords, list accounts."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=CommandParser)

        create = actions.add_parser("create", help="Create a staff account.")
        create.add_argument("--username", required=True, help="User name for signing in, e.g. zhang.jianxin.")
        create.add_argument("--org", required=True,
                            help="The organization: its unified social credit code or its public id.")
        create.add_argument("--role", action="append", required=True, dest="roles", choices=Role.values,
                            metavar="ROLE", help=ROLE_HELP)
        create.add_argument("--display-name", default="", help="The person's name (default: the user name).")
        create.add_argument("--password-stdin", action="store_true",
                            help="Read the password from the first line of standard input.")

        roles = actions.add_parser("roles", help="Replace a staff member's roles.")
        roles.add_argument("--username", required=True)
        roles.add_argument("--role", action="append", required=True, dest="roles", choices=Role.values,
                           metavar="ROLE", help=ROLE_HELP)

        password = actions.add_parser("password", help="Set a staff member's password (lifts a sign-in lockout).")
        password.add_argument("--username", required=True)
        password.add_argument("--password-stdin", action="store_true",
                              help="Read the password from the first line of standard input.")

        for name, text in (("deactivate", "Stop a staff account from signing in."),
                           ("reactivate", "Let a deactivated staff account sign in again.")):
            sub = actions.add_parser(name, help=text)
            sub.add_argument("--username", required=True)

        listing = actions.add_parser("list", help="List the staff accounts.")
        listing.add_argument("--json", action="store_true", help="Print a JSON array.")

    def handle(self, *args, **options):
        # The command's own output is English; so are the services' messages, for one language per run.
        with translation.override("en"):
            try:
                return getattr(self, f"do_{options['action']}")(options)
            except ApplicationError as exc:
                raise CommandError(str(exc)) from None

    # --- helpers ----------------------------------------------------------------------------
    def read_password(self, options) -> str:
        if options.get("password_stdin"):
            line = sys.stdin.readline()
            return line[:-1] if line.endswith("\n") else line
        if not sys.stdin.isatty():
            raise CommandError("No terminal to ask for the password: pipe it in with --password-stdin.", returncode=2)
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Password (again): ")
        if first != second:
            raise CommandError("The two passwords are not the same.")
        return first

    @staticmethod
    def staff_member(username: str) -> User:
        member = User.objects.filter(kind=UserKind.STAFF, username=(username or "").strip().lower()).first()
        if member is None:
            raise CommandError(f"No staff account has the user name “{username}”.")
        return member

    def warn_if_no_administrator(self) -> None:
        if not User.objects.filter(kind=UserKind.STAFF, is_active=True, roles__role=Role.ADMINISTRATOR).exists():
            self.stderr.write(self.style.WARNING(
                "No active administrator is left: create one with `onecity staff create ... --role administrator`."))

    @staticmethod
    def roles_text(roles) -> str:
        return ", ".join(sorted(str(r) for r in roles))

    # --- actions ----------------------------------------------------------------------------
    def do_create(self, options) -> None:
        organization = organization_get_by_reference(options["org"])
        if organization is None:
            raise CommandError(f"No organization has the credit code or id “{options['org']}”. "
                               "Create it first with `onecity org create`.")
        password = self.read_password(options)
        member = staff_create(actor=None, username=options["username"], password=password,
                              display_name=options["display_name"] or options["username"],
                              organization=organization, roles=options["roles"])
        self.stdout.write(self.style.SUCCESS(
            f"Staff account “{member.username}” created in {organization.name} "
            f"with roles: {self.roles_text(options['roles'])}."))
        self.stdout.write(f"Sign in at {settings.BASE_URL}/login/ with the user name {member.username}.")

    def do_roles(self, options) -> None:
        member = staff_roles_set(actor=None, user=self.staff_member(options["username"]), roles=options["roles"])
        self.stdout.write(self.style.SUCCESS(
            f"Roles of “{member.username}”: {self.roles_text(member.roles.values_list('role', flat=True))}."))
        self.warn_if_no_administrator()

    def do_password(self, options) -> None:
        member = self.staff_member(options["username"])
        staff_password_set(actor=None, user=member, password=self.read_password(options))
        self.stdout.write(self.style.SUCCESS(f"Password of “{member.username}” set; its sessions are signed out."))

    def do_deactivate(self, options) -> None:
        member = staff_deactivate(actor=None, user=self.staff_member(options["username"]))
        self.stdout.write(self.style.SUCCESS(f"“{member.username}” deactivated: it can no longer sign in."))
        self.warn_if_no_administrator()

    def do_reactivate(self, options) -> None:
        member = staff_reactivate(actor=None, user=self.staff_member(options["username"]))
        self.stdout.write(self.style.SUCCESS(f"“{member.username}” reactivated."))

    def do_list(self, options) -> None:
        rows = [{
            "username": member.username,
            "display_name": member.display_name,
            "organization": member.organization.name if member.organization_id else "",
            "organization_uscc": member.organization.uscc if member.organization_id else "",
            "roles": sorted(r.role for r in member.roles.all()),
            "active": member.is_active,
            "last_login": timezone.localtime(member.last_login).isoformat() if member.last_login else None,
        } for member in staff_list_for_administrator(actor=None)]
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        if not rows:
            self.stdout.write("No staff accounts yet. Create the first administrator with "
                              "`onecity staff create --username U --org USCC --role administrator`.")
            return
        header = ("USER NAME", "NAME", "ORGANIZATION", "ROLES", "ACTIVE", "LAST SIGN-IN")
        table = [header] + [(r["username"], r["display_name"], r["organization"], ",".join(r["roles"]),
                             "yes" if r["active"] else "no", (r["last_login"] or "never")[:16].replace("T", " "))
                            for r in rows]
        widths = [max(_width(row[i]) for row in table) for i in range(len(header))]
        for row in table:
            self.stdout.write("  ".join(cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row)).rstrip())


def _width(text: str) -> int:
    """Columns a string takes on a terminal (CJK characters take two)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
