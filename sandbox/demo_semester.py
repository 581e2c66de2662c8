"""The demo's second part: what happens to a provisioned course during its semester.

Played on the demo's laboratory against the same sandbox, through the services the API, the
admin and the CLI call: a roster file checked (dry run) and imported, its sync (teams, grants,
invitations, invite links), a student joining through their group's link, a verify, a channel
deleted by hand found and repaired, then the semester archived. Each line says what happened
and what it cost, as a report for course staff.
"""

from __future__ import annotations

from collections.abc import Iterator

from courses.models import Course
from courses.roster import link_sheet, roster_import, roster_plan
from courses.roster_files import roster_parse
from integrations.discord.permissions import SEND_MESSAGES
from provisioning.archive import semester_archive_plan, semester_archive_start
from provisioning.models import ExternalResource, Operation, ResourceKind
from provisioning.repair import course_repair
from provisioning.verify import course_verify, drift_report_latest
from sandbox.control_client import SandboxControl

# One bad line (an email that is none, a group the laboratory does not have): the dry run
# reports it and writes nothing; the file without it is imported.
ROSTER = """name,email,github,role,group
Irene Instructor,,irene-prof,instructor,
Teo Assistant,teo@uni.example,,ta,
Ada Student,,ada-student,student,1
Ben Student,ben@uni.example,,student,1
Cleo Student,,cleo-student,student,2
Dan Student,dan@uni.example,,student,2
"""
BAD_LINE = "Eve Student,eve-at-uni,,student,7\n"


def semester_lines(control: SandboxControl, laboratory: Course) -> Iterator[str]:
    yield f"\nThe semester of \u201c{laboratory.name}\u201d"
    yield from _roster(control, laboratory)
    yield from _verify_and_repair(control, laboratory)
    yield from _archive(laboratory)


def _writes(control: SandboxControl, since: int) -> str:
    calls = control.requests(since=since)
    writes = [c for c in calls if c["method"] != "GET"]
    return f"{len(calls)} requests, {len(writes)} of them writes"


def _roster(control: SandboxControl, course: Course) -> Iterator[str]:
    plan = roster_plan(course=course, rows=roster_parse(content=ROSTER + BAD_LINE))
    yield "  Roster file checked (dry run, nothing written):"
    for error in plan.errors:
        yield f"    line {error['line']}, {error['field']}: {error['reason']}"
    seen = len(control.requests())
    result = roster_import(course=course, rows=roster_parse(content=ROSTER))
    operation = result.sync.operation
    if operation is not None:
        operation.refresh_from_db()
    status = operation.status.lower() if operation else f"pending ({result.sync.reason})"
    yield (
        f"  Roster imported without that line: {result.counts['added']} members; their sync "
        f"{status} ({_writes(control, seen)}: the staff role in every channel, an invite link "
        "per group and for staff, a team per group and for staff with their repositories, "
        "a team membership or an email invitation per person)."
    )
    yield "  Link sheet (what the instructor sends out):"
    for row in link_sheet(course=course):
        member = row.member
        group = f", group {member.lab_group.number}" if member.lab_group else ""
        yield (
            f"    {member.name} ({member.get_role_display().lower()}{group}): {row.invite}; "
            f"GitHub {member.get_github_state_display().lower()}"
        )
    invite = ExternalResource.objects.get(
        course=course, kind=ResourceKind.INVITE, key="group-1", state="confirmed"
    )
    joined = control.accept_discord_invite(invite.external_id, "ada-student")
    role = ExternalResource.objects.get(course=course, kind=ResourceKind.ROLE, key="group-1")
    has_role = role.external_id in {str(r) for r in joined.get("roles", [])}
    yield (
        "  Ada opens her group's link: she joins the server "
        + ("with the role of group 1." if has_role else "WITHOUT her group's role.")
    )


def _verify_and_repair(control: SandboxControl, course: Course) -> Iterator[str]:
    seen = len(control.requests())
    course_verify(course=course)
    report = drift_report_latest(course=course)
    checked = len(report.resources) if report else 0
    yield f"  Verify: {checked} resources compared with the platforms, {_writes(control, seen)}."
    channel = ExternalResource.objects.get(
        course=course, kind=ResourceKind.CHANNEL, key__startswith="group-2-"
    )
    control.delete_channel(channel.external_id)
    course_verify(course=course)
    report = drift_report_latest(course=course)
    drifted = [r for r in (report.resources if report else []) if r["state"] != "ok"]
    found = ", ".join(f"{r['kind']} {r['key']} {r['state']}" for r in drifted)
    yield f"  Someone deletes #{channel.key} by hand; the next verify finds: {found}."
    seen = len(control.requests())
    operation = course_repair(course=course)
    operation.refresh_from_db()
    report = drift_report_latest(course=course)
    clean = report is not None and not report.drifted
    yield (
        f"  Repair {operation.status.lower()} ({_writes(control, seen)}): the channel is made "
        "again with its overwrites, its invite link anew; "
        + ("the verify that ends it finds nothing amiss." if clean else "DRIFT REMAINS.")
    )


def _archive(course: Course) -> Iterator[str]:
    plan = semester_archive_plan(semester=course.semester)
    seconds = plan["estimatedSeconds"]
    takes = f"about {seconds:.0f} s" if seconds >= 1 else "under a second"
    yield (
        f"  Semester end, {course.semester}: the plan archives {len(plan['courses'])} courses "
        f"for {plan['githubWrites']} GitHub and {plan['discordWrites']} Discord writes "
        f"({takes} under the write budget)."
    )
    started = semester_archive_start(semester=course.semester)
    done = [o for o in started.operations if _refreshed(o).status == Operation.Status.COMPLETED]
    course.refresh_from_db()
    channel = ExternalResource.objects.get(
        course=course, kind=ResourceKind.CHANNEL, key__startswith="group-1-"
    )
    role = ExternalResource.objects.get(course=course, kind=ResourceKind.ROLE, key="group-1")
    read_only = any(
        str(o["id"]) == role.external_id and int(o["deny"]) & SEND_MESSAGES
        for o in channel.data.get("overwrites", [])
    )
    yield (
        f"  Archived: {len(done)} of {len(started.operations)} courses; repositories read-only, "
        f"servers renamed \u201c[archived] \u2026\u201d, "
        + (
            "group members can read but no longer post (staff still can)."
            if read_only
            else "CHANNELS STILL OPEN."
        )
    )


def _refreshed(operation: Operation) -> Operation:
    operation.refresh_from_db()
    return operation
