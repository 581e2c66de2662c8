"""``manage.py run_sandbox``: serve the fake Discord and GitHub standalone, in the foreground.

The sandbox starts the way a course team's platforms look before the first course: the GitHub
organization exists, and staff have already made a few Discord servers and added the bot to them
(the platform cannot create servers for a bot that is in ten or more). Point the web app and the
worker at it with ``INTEGRATIONS_MODE=sandbox SANDBOX_URL=<the printed URL>``.
"""

from __future__ import annotations

import re
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox.core import Sandbox
from sandbox.server import RunningSandbox, build_sandbox

# GitHub's rule for logins: letters, digits and single hyphens, no hyphen at either end, <= 39.
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_MAX_GUILDS = 100  # a guard against typos (--guilds 3000), not a platform limit


class Command(BaseCommand):
    help = (
        "Serve the fake Discord and GitHub in the foreground, seeded with a GitHub organization "
        "and Discord servers that staff made and added the bot to."
    )
    # The sandbox touches no model and reads one setting: don't let an unrelated check failure
    # keep the fake platforms (and everything that waits for them) from starting.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
        parser.add_argument(
            "--port", default="8001", help="port to listen on (0: any free port); default 8001"
        )
        parser.add_argument(
            "--org",
            default=None,
            help="login of the seeded GitHub organization; default GITHUB_ORG",
        )
        parser.add_argument(
            "--guilds", default="3", help="how many staff-made Discord servers to seed; default 3"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Validated here rather than by argparse types: call_command(port=...) bypasses them.
        host = str(options["host"] or "").strip()
        if not host:
            raise CommandError("--host must not be empty")
        port = _parse_int("--port", options["port"], 0, 65535)
        guilds = _parse_int("--guilds", options["guilds"], 0, _MAX_GUILDS)
        org = options["org"] if options["org"] is not None else settings.GITHUB_ORG
        org = str(org or "").strip()
        if not _LOGIN.match(org):
            raise CommandError(
                f"--org {org!r} is not a GitHub login: letters, digits and single hyphens, "
                "at most 39 characters"
                if org
                else "--org is required when GITHUB_ORG is not set"
            )

        # Seed before listening, so the very first request already sees the staff-made state.
        sandbox = build_sandbox()
        created_org, created_guilds = seed_sandbox(sandbox, org=org, guilds=guilds)
        try:
            running = RunningSandbox(host=host, port=port, sandbox=sandbox)
        except OSError as exc:  # port in use, unknown host, privileged port...
            raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc

        self._announce(running, created_org, created_guilds)
        self._serve_until_stopped(running)
        self.stdout.write("Sandbox stopped.")

    def _announce(
        self, running: RunningSandbox, org: dict[str, Any], guilds: list[dict[str, Any]]
    ) -> None:
        out = self.stdout
        out.write(self.style.SUCCESS(f"Sandbox listening on {running.url}"))
        out.write(f"  Discord API: {running.discord_api_url}")
        out.write(f"  GitHub API:  {running.github_api_url}")
        out.write(f"  Control:     {running.url}/_sandbox/state (reset, faults, requests)")
        out.write(f"GitHub organization: {org.get('login')} (plan {org.get('plan', 'team')})")
        out.write(f"Discord servers made by staff, bot already added: {len(guilds)}")
        for guild in guilds:
            out.write(f"  {guild.get('id')}  {guild.get('name')}")
        out.write(f"Use it with: INTEGRATIONS_MODE=sandbox SANDBOX_URL={running.url}")
        out.write("Quit with CONTROL-C.")
        # The output is a pipe under docker compose: without a flush it shows up at exit only.
        out.flush()

    def _serve_until_stopped(self, running: RunningSandbox) -> None:
        """Serve until Ctrl-C (SIGINT) or SIGTERM (``docker stop``), then shut down cleanly."""
        stop = threading.Event()
        previous: dict[int, Any] = {}
        # Both signals just ask the loop below to stop. SIGTERM: as PID 1 in a container its
        # default action is ignored. SIGINT: a shell starting us in the background sets it to
        # "ignore", which Python then leaves alone, and Ctrl-C should work anyway.
        # signal.signal only works in the main thread (not, say, call_command from a thread).
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, lambda signum, frame: stop.set())
        running.start()
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:  # the handler was not installed (not the main thread)
            pass
        finally:
            running.stop()
            for number, handler in previous.items():
                signal.signal(number, handler)


def seed_sandbox(
    sandbox: Sandbox, *, org: str, guilds: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Create what staff prepare by hand: the organization and ``guilds`` Discord servers."""
    try:
        with sandbox.lock:
            created_org = sandbox.platforms["github"].staff_create_org(login=org, plan="team")
            created_guilds = [
                sandbox.platforms["discord"].staff_create_guild(name=f"Course server {number}")
                for number in range(1, guilds + 1)
            ]
    except Exception as exc:
        # A command-line boundary: whatever the fake refuses, say it in one line.
        raise CommandError(f"cannot seed the sandbox: {exc}") from exc
    return dict(created_org), [dict(guild) for guild in created_guilds]


def _parse_int(option: str, value: object, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise CommandError(f"{option} must be a whole number, got {value!r}") from None
    if not low <= number <= high:
        raise CommandError(f"{option} must be between {low} and {high}, got {number}")
    return number
