"""``manage.py demo``: provision a lecture and a laboratory course against the in-process sandbox.

Needs no service: the sandbox (fake Discord and GitHub) is served on a free loopback port in this
process, tasks run in-process, the database is the embedded SQLite unless DATABASE_URL says
otherwise. It plays the staff's part too: it creates three Discord servers with the bot in them
and registers them in the pool, and an organization on GitHub's Team plan.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from audit.models import AuditLog
from config.celery import app as celery_app
from courses.models import Course
from courses.services import LabGroupInput, course_create
from provisioning.models import DiscordServer
from provisioning.pool import discord_server_add
from provisioning.runner import run_course
from sandbox.control_client import SandboxControl
from sandbox.server import RunningSandbox

DEMO_SEMESTER = "2026-fall"
LECTURE = "Introduction to Programming"
LABORATORY = "Operating Systems Lab"
POOL_NAME = "Demo staff server"


class Command(BaseCommand):
    help = "Provision a demo lecture and laboratory course end to end against the sandbox."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=0, help="Sandbox port (default: any).")

    def handle(self, *args: Any, **options: Any) -> None:
        logging.getLogger("celery").setLevel(logging.WARNING)
        logging.getLogger("kombu").setLevel(logging.ERROR)  # "no hostname": in-process broker
        with RunningSandbox(port=options["port"]) as sandbox:
            self._point_clients_at(sandbox)
            control = SandboxControl(sandbox.url)
            self._play_staff(control)
            self.stdout.write(f"Sandbox (fake Discord and GitHub) at {sandbox.url}\n")
            lecture = course_create(name=LECTURE, semester=DEMO_SEMESTER, type="LECTURE")
            laboratory = course_create(
                name=LABORATORY,
                semester=DEMO_SEMESTER,
                type="LABORATORY",
                lab_groups=[
                    LabGroupInput(name="Monday morning", number=1),
                    LabGroupInput(name="Thursday afternoon", number=2),
                ],
            )
            state = control.state()
            for course in (lecture, laboratory):
                course.refresh_from_db()
                self._show(course, state)
            received = len(control.requests())
            self.stdout.write(
                f"\nRequests the sandbox received: {received}; audit rows written: "
                f"{AuditLog.objects.filter(course__in=[lecture, laboratory]).count()}"
            )
            before = received
            for course in (lecture, laboratory):
                run_course(course.id)
            again = len(control.requests()) - before
            self.stdout.write(f"Re-running both completed courses sent {again} requests.")

    def _point_clients_at(self, sandbox: RunningSandbox) -> None:
        settings.DISCORD_API_URL = sandbox.discord_api_url
        settings.GITHUB_API_URL = sandbox.github_api_url
        settings.DISCORD_BOT_TOKEN = "sandbox-discord-token"
        settings.GITHUB_TOKEN = "sandbox-github-token"
        celery_app.conf.CELERY_TASK_ALWAYS_EAGER = True  # Django's name: namespace CELERY

    def _play_staff(self, control: SandboxControl) -> None:
        """Forget earlier demos, then do what staff do by hand on the real platforms."""
        Course.objects.filter(semester=DEMO_SEMESTER, name__in=[LECTURE, LABORATORY]).delete()
        DiscordServer.objects.filter(name__startswith=POOL_NAME).delete()
        control.reset()
        control.create_org(settings.GITHUB_ORG, plan="team")
        for number in range(1, 4):
            guild = control.create_guild(name=f"{POOL_NAME} {number}")
            discord_server_add(guild_id=guild["id"], name=f"{POOL_NAME} {number}")

    def _show(self, course: Course, state: dict[str, Any]) -> None:
        write = self.stdout.write
        write(f"\n{course.get_type_display()} {course.name!r} ({course.semester}): {course.status}")
        write("  Steps:")
        for step in course.steps.order_by("order"):
            duration = f"{step.duration_seconds:.2f}s" if step.duration_seconds is not None else ""
            error = f"  {step.last_error}" if step.last_error else ""
            write(
                f"    {step.name:<32} {step.status:<10} attempts={step.attempts} {duration}{error}"
            )
        write("  Resources:")
        for resource in course.resources.order_by("id"):
            write(
                f"    {resource.provider:<8} {resource.kind:<11} {resource.key:<40} "
                f"{resource.url or resource.external_id}"
            )
        guild = state["discord"]["guilds"].get(course.discord_guild_id)
        if guild:
            write(f"  Discord server {guild['name']!r}:")
            for role in guild.get("roles", []):
                write(f"    role    @{role['name']}")
            for channel in guild.get("channels", []):
                overwrites = ", ".join(
                    f"{o['id']}:+{o['allow']}/-{o['deny']}"
                    for o in channel.get("permission_overwrites", [])
                )
                write(f"    channel #{channel['name']:<36} {overwrites}")
        for resource in course.resources.filter(kind="repository"):
            repo = state["github"]["repos"].get(f"{settings.GITHUB_ORG}/{resource.key}")
            if repo:
                files = ", ".join(sorted(repo.get("files", {})))
                write(f"  Repository {resource.url} (private={repo.get('private')})")
                write(f"    files: {files}")
                rules = repo["protection"].get(repo["default_branch"])
                write(f"    commits on {repo['default_branch']}: {repo['commits']}")
                write(f"    protection: {_describe(rules)}")


def _describe(rules: dict[str, Any] | None) -> str:
    if not rules:
        return "none"
    reviews = rules.get("required_pull_request_reviews") or {}
    return (
        f"pull request with {reviews.get('required_approving_review_count', 0)} approval(s); "
        f"force pushes {'allowed' if rules.get('allow_force_pushes') else 'blocked'}; "
        f"deletions {'allowed' if rules.get('allow_deletions') else 'blocked'}"
    )
