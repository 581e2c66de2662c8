"""Platform calls per course: reads and writes of a first run and of a re-run.

Provisions a lecture course and a laboratory course with four groups against the in-process
sandbox, counting the requests the fake Discord and GitHub received (GET = read, anything else =
write), then runs both again with every step reset to PENDING, as a redelivered or retried task
would. Then the same two courses again, in another semester, with
``GITHUB_PROTECTION_MODE=ruleset``: one organization ruleset per semester replaces one
protection write per repository, so GitHub sees 4 writes per repository (create, tree,
commit, ref) plus one per semester.

Then the operations of a semester on the two branch-mode courses, in order: verify, a roster
import and its sync (the lecture 2 staff and 30 students; the laboratory 3 staff and 120
students, half by GitHub username, half by email only), verify again, archive, unarchive, repair
of one channel deleted by hand (found by a verify first, not counted), tear down. Each has a
first run and a re-run: a verify and a roster sync are simply started again (a re-sync of an
unchanged roster); archive, unarchive, repair and tear down cannot start twice, so their steps
are reset to PENDING and the course run again, as a redelivered task would. Each row is compared
with the least the docs allow (docs/operations-platform.md, docs/people-platform.md); a figure
that differs is marked and named below the table. Prints figures; asserts nothing.
Usage: ``make bench-calls`` (SQLite in a temporary file).
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
_db = Path(tempfile.mkdtemp()) / "bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ["DATABASE_URL"] = f"sqlite:///{_db}"
os.environ.pop("CELERY_BROKER_URL", None)  # in-process execution
# ERROR: the verify that finds the channel deleted for the repair logs a drift warning.
os.environ.setdefault("LOG_LEVEL", "ERROR")
# Counting calls, not timing them: GitHub's write pacing (70 a minute by default) would make the
# laboratory's roster sync (136 writes) wait a minute for nothing this benchmark measures.
os.environ["GITHUB_WRITE_BUDGET"] = "100000/60"
# The organization is on the Team plan (GitHub allows 500 invitations a day): the whole roster is
# invited at once instead of 50 and the rest waiting.
os.environ["GITHUB_INVITATION_BUDGET"] = "500"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from courses.models import Course  # noqa: E402
from courses.roster import roster_import  # noqa: E402
from courses.roster_files import roster_parse  # noqa: E402
from courses.services import LabGroupInput, course_create  # noqa: E402
from provisioning.archive import course_archive, course_unarchive  # noqa: E402
from provisioning.models import ExternalResource, Operation, ResourceKind  # noqa: E402
from provisioning.people import members_sync  # noqa: E402
from provisioning.pool import discord_server_add  # noqa: E402
from provisioning.repair import course_repair  # noqa: E402
from provisioning.runner import run_course  # noqa: E402
from provisioning.teardown import course_teardown  # noqa: E402
from provisioning.verify import course_verify  # noqa: E402
from sandbox.control_client import SandboxControl  # noqa: E402
from sandbox.server import RunningSandbox  # noqa: E402

Figures = Counter[tuple[str, str]]
# (discord reads, discord writes, github reads, github writes); None: the docs state no figure.
Minimum = tuple[int | None, int | None, int | None, int | None]
LAB_GROUPS = 4


def count(log: list[dict[str, Any]]) -> Figures:
    return Counter(
        (entry["provider"], "read" if entry["method"] == "GET" else "write") for entry in log
    )


@dataclass
class Row:
    operation: str
    course: str
    run: str
    figures: Figures
    minimum: Minimum

    def measured(self) -> tuple[int, int, int, int]:
        f = self.figures
        return (
            f["discord", "read"],
            f["discord", "write"],
            f["github", "read"],
            f["github", "write"],
        )

    def differences(self) -> list[str]:
        labels = ("Discord reads", "Discord writes", "GitHub reads", "GitHub writes")
        return [
            f"{label} {got} (least {least})"
            for label, got, least in zip(labels, self.measured(), self.minimum, strict=True)
            if least is not None and got != least
        ]


# -- the least each operation needs, from the docs' per-kind tables ------------------------------
@dataclass(frozen=True)
class Shape:
    """What a course has on the platforms, as the docs count it."""

    channels: int
    roles: int  # group roles, plus the staff role once the roster is synced
    repos: int
    teams: int = 0
    grants: int = 0
    invite_links: int = 0
    members: int = 0


def least_verify(s: Shape) -> Minimum:
    # get_my_guild, list_channels, list_roles (when the course has roles), list_guild_invites
    # (once a sync made links); per repository get_repo_by_id and get_protection; get_team per
    # team and get_team_repo_permission per grant.
    discord = 2 + (1 if s.roles else 0) + (1 if s.invite_links else 0)
    return (discord, 0, 2 * s.repos + s.teams + s.grants, 0)


def least_sync(s: Shape) -> Minimum:
    # people-platform.md: the staff role and its overwrite on every channel, one write per invite
    # link; on GitHub ensure_team reads by slug then creates (1 R + 1 W), one PUT per grant, one
    # write per membership or invitation; the members' step reads each team again before its
    # first seat (1 R: still ours, by its id).
    return (0, 1 + s.channels + s.invite_links, 2 * s.teams, s.teams + s.grants + s.members)


def least_resync(s: Shape) -> Minimum:
    # Nothing to write; the pending invitations read back, one page per 100.
    return (0, 0, math.ceil(s.members / 100), 0)


def least_archive(s: Shape) -> Minimum:
    return (1, s.channels + 1, 0, s.repos)


def least_unarchive(s: Shape) -> Minimum:
    # list_channels once, as for archive (operations-platform.md): an overwrite added while
    # archived, such as the staff role's, is kept.
    return (1, s.channels + 1, 0, s.repos)


def least_repair_channel(links: int) -> Minimum:
    # Repair: the docs state its writes only (1 per drifted item), not its reads. A missing
    # channel is one create_channel with its overwrites, the staff role's included; each invite
    # link that was on it (Discord deleted it with the channel) one create_invite.
    return (None, 1 + links, None, 0)


def least_teardown(s: Shape) -> Minimum:
    # Channels and roles deleted, the pool server renamed back; each repository read by id and
    # deleted; each team read by slug (its id checked) and deleted (teardown_plan's count:
    # memberships and grants go with it).
    return (0, s.channels + s.roles + 1, s.repos + s.teams, s.repos + s.teams)


NONE: Minimum = (None, 0, None, 0)  # a repeat of a completed operation: no write


# -- the semester's operations on one course ------------------------------------------------------
def completed(operation: Operation) -> Operation:
    """The operation, which has run by now (inline), checked to have completed."""
    operation.refresh_from_db()
    if operation.status != Operation.Status.COMPLETED:
        raise SystemExit(f"{operation.kind} ended {operation.status}: the benchmark stops.")
    return operation


def rerun(course: Course, operation: Operation) -> Operation:
    """Run a completed operation again from its first step, as a redelivered task would."""
    operation.steps.update(status="PENDING")
    Course.objects.filter(id=course.id).update(status="PENDING")
    run_course(course.id)
    return completed(operation)


class Bench:
    def __init__(self, control: SandboxControl, course: Course, label: str) -> None:
        self.control, self.course, self.label = control, course, label
        self.rows: list[Row] = []

    def measure(self, action: Callable[[], Operation]) -> tuple[Operation, Figures]:
        seen = len(self.control.requests())
        operation = completed(action())
        return operation, count(self.control.requests(since=seen))

    def record(self, operation: str, run: str, figures: Figures, minimum: Minimum) -> None:
        self.rows.append(Row(operation, self.label, run, figures, minimum))

    def started_twice(
        self, name: str, start: Callable[[], Operation], least: Minimum, again: Minimum
    ) -> None:
        """An operation that may simply be asked again (verify, a roster sync)."""
        self.record(name, "first", self.measure(start)[1], least)
        self.record(name, "again", self.measure(start)[1], again)

    def run_and_rerun(self, name: str, start: Callable[[], Operation], least: Minimum) -> None:
        """An operation that cannot start twice: its steps are reset and the course run again."""
        operation, figures = self.measure(start)
        self.record(name, "first", figures, least)
        self.record(name, "re-run", self.measure(lambda: rerun(self.course, operation))[1], NONE)


def roster_sync_by_import(course: Course, content: str) -> Operation:
    """Import the roster file; the import starts the sync (inline: done when it returns)."""
    result = roster_import(course=course, rows=roster_parse(content=content))
    if result.sync.operation is None:
        raise SystemExit(f"The roster import started no sync: {result.sync.reason}")
    return result.sync.operation


def roster_csv(course: Course, students: int) -> str:
    """Staff and students; every other student by GitHub username (with an email), the others by
    email only; a laboratory's students spread over its groups in turn."""
    lab = course.type == Course.Type.LABORATORY
    prefix = "lab" if lab else "lec"
    lines = [
        "name,email,github,role,group",
        f"Ines Prof,ines.{prefix}@uni.example,ines-{prefix},instructor,",
        f"Tom Assistant,,tom-{prefix},ta,",
    ]
    if lab:
        lines.append(f"Tara Assistant,tara.{prefix}@uni.example,,ta,")
    for n in range(students):
        github = f"{prefix}-student-{n}" if n % 2 == 0 else ""
        group = str(n % LAB_GROUPS + 1) if lab else ""
        lines.append(f"Student {n:03d},{prefix}{n}@uni.example,{github},student,{group}")
    return "\n".join(lines) + "\n"


def semester(control: SandboxControl, course: Course, label: str) -> list[Row]:
    lab = course.type == Course.Type.LABORATORY
    groups = LAB_GROUPS if lab else 0
    students = 120 if lab else 30
    members = students + (3 if lab else 2)
    provisioned = Shape(channels=groups if lab else 4, roles=groups, repos=groups if lab else 1)
    synced = Shape(
        channels=provisioned.channels,
        roles=provisioned.roles + 1,  # the staff role
        repos=provisioned.repos,
        teams=1 + (groups if lab else 1),  # staff, and a team per group or the students'
        grants=2 * groups if lab else 2,  # staff on every repository; each team on its own
        invite_links=groups + 1 if lab else 2,  # per group (or the members') and the staff's
        members=members,
    )
    bench = Bench(control, course, label)

    def verify() -> Operation:
        return course_verify(course=course)

    bench.started_twice("verify", verify, least_verify(provisioned), least_verify(provisioned))
    content = roster_csv(course, students)
    sync = f"sync roster ({members})"
    _, figures = bench.measure(lambda: roster_sync_by_import(course, content))
    bench.record(sync, "first", figures, least_sync(synced))
    _, figures = bench.measure(lambda: members_sync(course=course))
    bench.record(sync, "again", figures, least_resync(synced))
    bench.started_twice("verify", verify, least_verify(synced), least_verify(synced))
    bench.run_and_rerun("archive", lambda: course_archive(course=course), least_archive(synced))
    bench.run_and_rerun(
        "unarchive", lambda: course_unarchive(course=course), least_unarchive(synced)
    )
    # Someone deletes a channel by hand; a verify finds it (not counted), then the repair.
    channel = ExternalResource.objects.filter(course=course, kind=ResourceKind.CHANNEL).last()
    assert channel is not None
    links = ExternalResource.objects.filter(
        course=course, kind=ResourceKind.INVITE, data__channel_id=channel.external_id
    ).count()
    control.delete_channel(channel.external_id)
    completed(verify())
    bench.run_and_rerun(
        "repair (1 channel)", lambda: course_repair(course=course), least_repair_channel(links)
    )
    bench.run_and_rerun("tear down", lambda: course_teardown(course=course), least_teardown(synced))
    return bench.rows


def main() -> None:
    began = time.monotonic()
    call_command("migrate", verbosity=0)
    # The embedded default runs in background threads: course_create would return before the
    # run, and the count would miss it. Inline, the run is over when course_create returns (and an
    # operation when its service returns: in this script's autocommit, on_commit runs at once).
    settings.PROVISIONING_EXECUTION = "inline"
    with RunningSandbox() as sandbox:
        settings.DISCORD_API_URL = sandbox.discord_api_url
        settings.GITHUB_API_URL = sandbox.github_api_url
        control = SandboxControl(sandbox.url)
        control.create_org(settings.GITHUB_ORG, plan="team")
        for number in range(4):
            guild = control.create_guild(name=f"Bench server {number}")
            discord_server_add(guild_id=guild["id"], name=guild["name"])

        rows = []
        cases: list[tuple[str, dict[str, Any]]] = [
            ("lecture", {"type": "LECTURE"}),
            (
                "laboratory, 4 groups",
                {
                    "type": "LABORATORY",
                    "lab_groups": [
                        LabGroupInput(name=f"Group {n}", number=n) for n in range(1, LAB_GROUPS + 1)
                    ],
                },
            ),
        ]
        provisioned: list[tuple[str, Course]] = []
        for mode, semester_name in (("branch", "2026-fall"), ("ruleset", "2027-spring")):
            settings.GITHUB_PROTECTION_MODE = mode
            for label, kwargs in cases:
                seen = len(control.requests())
                course = course_create(name=f"Bench {label}", semester=semester_name, **kwargs)
                first = count(control.requests(since=seen))
                course.steps.update(status="PENDING")
                Course.objects.filter(id=course.id).update(status="PENDING")
                seen = len(control.requests())
                run_course(course.id)
                again = count(control.requests(since=seen))
                rows.append((mode, label, first, again))
                if mode == "branch":
                    provisioned.append((label, course))

        settings.GITHUB_PROTECTION_MODE = "branch"
        operation_rows: list[Row] = []
        for label, course in provisioned:
            course.refresh_from_db()
            operation_rows += semester(control, course, label)

    print(f"{'protection':<11} {'course':<22} {'run':<8} {'discord r/w':>12} {'github r/w':>12}")
    for mode, label, first, again in rows:
        for run, figures in (("first", first), ("re-run", again)):
            discord = f"{figures['discord', 'read']}/{figures['discord', 'write']}"
            github = f"{figures['github', 'read']}/{figures['github', 'write']}"
            print(f"{mode:<11} {label:<22} {run:<8} {discord:>12} {github:>12}")
    print(
        "ruleset mode: the semester's first course also writes its ruleset (one write per "
        "semester); every repository takes 4 GitHub writes."
    )
    print()
    print(
        f"{'operation':<19} {'course':<21} {'run':<7} {'discord r/w':>11} {'github r/w':>11}"
        f"  {'least d r/w':>11} {'least g r/w':>11}"
    )
    notes = []
    for row in operation_rows:
        d_read, d_write, g_read, g_write = row.measured()
        least = ["-" if v is None else str(v) for v in row.minimum]
        mark = " *" if row.differences() else ""
        print(
            f"{row.operation:<19} {row.course:<21} {row.run:<7} {f'{d_read}/{d_write}':>11} "
            f"{f'{g_read}/{g_write}':>11}  {f'{least[0]}/{least[1]}':>11} "
            f"{f'{least[2]}/{least[3]}':>11}{mark}"
        )
        if row.differences():
            notes.append(
                f"* {row.operation}, {row.course}, {row.run}: {'; '.join(row.differences())}"
            )
    print(
        "least: what docs/operations-platform.md and docs/people-platform.md allow ('-': no "
        "figure stated; a repeat of a completed operation writes nothing)."
    )
    for note in notes:
        print(note)
    print(f"took {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
