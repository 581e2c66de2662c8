"""``manage.py preflight [--json]``: is everything ready to provision? One line per check."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from provisioning.preflight import preflight_as_json, preflight_passed, preflight_run


class Command(BaseCommand):
    help = (
        "Check Discord (reachable, bot token, application id), GitHub (reachable, token, owner "
        "of GITHUB_ORG, plan) and the server pool; exit 0 only when every check passes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the checks as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        checks = preflight_run()
        if options["json"]:
            self.stdout.write(json.dumps(preflight_as_json(checks), indent=2))
        else:
            width = max(len(check.name) for check in checks)
            for check in checks:
                self.stdout.write(f"{check.status:<7} {check.name:<{width}}  {check.message}")
        if not preflight_passed(checks):
            failed = [check.name for check in checks if not check.passed]
            raise CommandError(f"not ready: {', '.join(failed)}")
