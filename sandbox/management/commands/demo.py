"""``manage.py demo``: provision a lecture and a laboratory course against the in-process sandbox,
then play the laboratory's semester: roster, sync, verify, repair, archive (sandbox.demo_semester).

Needs no service: the sandbox (fake Discord and GitHub) is served on a free loopback port in this
process, tasks run in-process, the database is the embedded SQLite unless DATABASE_URL says
otherwise. It plays the staff's part too: it creates three Discord servers with the bot in them
and registers them in the pool, and an organization on GitHub's Team plan.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.models import AuditLog
from config.celery import app as celery_app
from courses.models import Course
from courses.services import LabGroupInput, course_create
from provisioning.models import DiscordServer
from provisioning.pool import discord_server_add
from provisioning.runner import run_course
from sandbox.control_client import SandboxControl
from sandbox.demo_report import closing_lines, course_report
from sandbox.demo_semester import semester_lines
from sandbox.server import RunningSandbox

DEMO_SEMESTER = "2026-fall"
LECTURE = "Introduction to Programming"
LABORATORY = "Operating Systems Lab"
POOL_NAME = "Demo staff server"
FINISH_TIMEOUT_SECONDS = 120


class Command(BaseCommand):
    help = "Provision a demo lecture and laboratory course end to end against the sandbox."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=0, help="Sandbox port (default: any).")

    def handle(self, *args: Any, **options: Any) -> None:
        # The demo replaces its own courses and adds fake servers to the pool: never in a
        # deployment that talks to the real platforms.
        if settings.INTEGRATIONS_MODE != "sandbox":
            raise CommandError(
                f"The demo runs only with INTEGRATIONS_MODE=sandbox (here: "
                f"{settings.INTEGRATIONS_MODE}): it replaces its demo courses and adds fake "
                "servers to the pool of this database."
            )
        logging.getLogger("celery").setLevel(logging.WARNING)
        logging.getLogger("kombu").setLevel(logging.ERROR)  # "no hostname": in-process broker
        # The report says what verify found; the drift warning would interrupt it.
        logging.getLogger("provisioning.events").setLevel(logging.ERROR)
        started = time.monotonic()
        write = self.stdout.write
        with RunningSandbox(port=options["port"]) as sandbox:
            self._point_clients_at(sandbox)
            control = SandboxControl(sandbox.url)
            write("Course provisioning demo")
            write(
                f"Against the sandbox: a fake Discord and a fake GitHub served at {sandbox.url} "
                "by this command, gone when it ends. Nothing here touches the real platforms.\n"
            )
            self._play_staff(control)
            seen = len(control.requests())
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
            courses = [_finished(course) for course in (lecture, laboratory)]
            state = control.state()
            for course in courses:
                write("")
                for line in course_report(course, state):
                    write(line)
            received = len(control.requests()) - seen
            audited = AuditLog.objects.filter(course__in=courses).count()
            write(
                f"\nCalls: the two courses sent {received} requests to the sandbox; "
                f"{audited} audit rows record them."
            )
            before = len(control.requests())
            for course in courses:
                run_course(course.id)
            again = len(control.requests()) - before
            write(f"Re-running both completed courses sent {again} requests: nothing to redo.")
            for line in semester_lines(control, courses[1]):
                write(line)
        write(f"Total time: {time.monotonic() - started:.1f} s\n")
        for line in closing_lines(settings.DATABASES["default"]):
            write(line)

    def _point_clients_at(self, sandbox: RunningSandbox) -> None:
        settings.DISCORD_API_URL = sandbox.discord_api_url
        settings.GITHUB_API_URL = sandbox.github_api_url
        settings.DISCORD_BOT_TOKEN = "sandbox-discord-token"
        settings.GITHUB_TOKEN = "sandbox-github-token"
        # Provision in this command, before course_create returns: in-process tasks, and the
        # "inline" mode rather than the web process's background thread.
        celery_app.conf.CELERY_TASK_ALWAYS_EAGER = True  # Django's name: namespace CELERY
        settings.PROVISIONING_EXECUTION = "inline"

    def _play_staff(self, control: SandboxControl) -> None:
        """Forget earlier demos, then do what staff do by hand on the real platforms."""
        Course.objects.filter(semester=DEMO_SEMESTER, name__in=[LECTURE, LABORATORY]).delete()
        DiscordServer.objects.filter(name__startswith=POOL_NAME).delete()
        control.reset()
        control.create_org(settings.GITHUB_ORG, plan="team")
        for number in range(1, 4):
            guild = control.create_guild(name=f"{POOL_NAME} {number}")
            # As `manage.py discord_servers add`: checks on Discord that the bot is in it.
            discord_server_add(guild_id=guild["id"], name=f"{POOL_NAME} {number}")
        self.stdout.write(
            "Staff's part, done by hand on the real platforms: 3 Discord servers created with "
            "the bot in them and registered in the pool (each checked: the bot is in it with "
            f"its permissions); the GitHub organization {settings.GITHUB_ORG} on the Team plan."
        )


def _finished(course: Course) -> Course:
    """The course once its provisioning ended: it runs inline here, but should a background mode
    take over, wait for it rather than print a half-made course."""
    deadline = time.monotonic() + FINISH_TIMEOUT_SECONDS
    course.refresh_from_db()
    while course.status not in Course.TERMINAL:
        if time.monotonic() > deadline:
            raise CommandError(
                f"{course.name} is still {course.status} after {FINISH_TIMEOUT_SECONDS} s"
            )
        time.sleep(0.1)
        course.refresh_from_db()
    return course
