"""The `onecity` console entry point.

Every subcommand is a Django management command, so `onecity demo`, `onecity seed --demo`,
`onecity serve --port 8000`, `onecity worker`, `onecity oidc client create ...` and
`onecity idcode verify PAYLOAD` are all `manage.py` commands too. `onecity manage ARGS...`
reaches any of Django's own commands (migrate, createsuperuser, shell...).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onecity.settings")
    from django.core.management import execute_from_command_line

    if argv[:1] == ["manage"]:
        argv = argv[1:]
    if argv[:1] == ["worker"]:
        argv = ["run_huey", *argv[1:]]
    execute_from_command_line(["onecity", *argv])


if __name__ == "__main__":
    main()
