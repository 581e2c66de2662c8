"""Repair a course: put back what its latest verify found missing or changed.

A REPAIR operation of one step (``provisioning.handlers.repair``) checks the platforms afresh,
makes again what is missing through the course's own provisioning handlers (a channel with its
overwrites, a repository with its seed and protection) and fixes in place what was changed (a
channel's overwrites or name, a repository's name, visibility or archiving, branch protection,
the server's name), then stores a last drift report. It starts only from a drift report that
found something: with none, or a clean one, there is nothing known to repair (verify first).
A team of ours whose marker was edited out of its description is reported, not repaired: whose
team it is is for staff to tell (``provisioning.handlers.repair._team_made_again``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

from courses.models import Course
from provisioning.drift import CHANGED, MISSING, OK
from provisioning.handlers.github import course_marker
from provisioning.models import Operation, ResourceKind
from provisioning.operations import OperationNotAllowedError, course_lock_idle, operation_start
from provisioning.verify import drift_report_latest

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from api.models import ApiKey


def repair_plan(*, course: Course) -> dict[str, Any]:
    """What a repair would put back, from the latest drift report (reads the database only):
    ``{"courseId", "changes": [str, ...], "checkedAt": str | None}``."""
    report = drift_report_latest(course=course)
    if report is None:
        return {"courseId": str(course.id), "changes": [], "checkedAt": None}
    return {
        "courseId": str(course.id),
        "changes": [
            _change(entry, course=course) for entry in report.resources if entry["state"] != OK
        ],
        "checkedAt": report.checked_at.isoformat().replace("+00:00", "Z"),
    }


def course_repair(
    *, course: Course, requested_by_key: ApiKey | None = None, requested_by_user: User | None = None
) -> Operation:
    """Start a REPAIR operation; refused (409) while another operation runs, and when the latest
    drift report is missing or clean: there is nothing known to repair, verify first."""
    with transaction.atomic():
        locked = course_lock_idle(course=course)
        report = drift_report_latest(course=locked)
        if report is None:
            raise OperationNotAllowedError(
                f"Course {course.id} has not been verified: nothing to repair. Verify it first "
                f"(POST /courses/{course.id}/verify, or manage.py course verify {course.id})."
            )
        if not report.drifted:
            checked = report.checked_at.isoformat().replace("+00:00", "Z")
            raise OperationNotAllowedError(
                f"Course {course.id} has nothing to repair: its latest verify ({checked}) found "
                "no drift. Verify it again first if something changed since."
            )
        operation = operation_start(
            course=locked,
            kind=Operation.Kind.REPAIR,
            params={"driftReportId": report.id},
            requested_by_key=requested_by_key,
            requested_by_user=requested_by_user,
        )
    course.refresh_from_db()
    return operation


def _change(entry: dict[str, Any], *, course: Course) -> str:
    """One line of the plan for one drifted resource of a report."""
    kind, key, differences = entry["kind"], entry["key"], entry.get("differences", {})
    if kind == ResourceKind.SERVER:
        if entry["state"] == MISSING:
            return (
                "Discord server: the bot is no longer in it (or it is gone). Not repairable by "
                "API: staff re-invite the bot with the invite link, then repair."
            )
        return f"Discord server: rename it back to {differences['name']['expected']!r}"
    if kind == ResourceKind.ROLE:
        if entry["state"] == MISSING:
            return f"Discord role {key}: make it again, and give its channel the new role's access"
        return f"Discord role {key}: renamed by hand, not repairable by API (rename it back)"
    if kind == ResourceKind.CHANNEL:
        if entry["state"] == MISSING:
            return f"Discord channel {key}: make it again with its permission overwrites"
        what = [
            label
            for field, label in (("overwrites", "its permission overwrites"), ("name", "its name"))
            if field in differences
        ]
        return f"Discord channel {key}: put back {' and '.join(what)}"
    if kind == ResourceKind.REPOSITORY:
        if entry["state"] == MISSING:
            return f"Repository {key}: make it again, seed it and protect its branch"
        return f"Repository {key}: " + "; ".join(_repository_fixes(differences))
    if kind == ResourceKind.PROTECTION:
        return f"Repository {key}: put back its branch protection"
    if kind == ResourceKind.INVITE:
        if entry["state"] == CHANGED:
            # The old link still lets people in: revoked once the new one is recorded.
            return (
                f"Discord invite link {key}: make a new one (the link sheet shows it) and "
                "delete the old one"
            )
        return f"Discord invite link {key}: make a new one (the link sheet shows it)"
    if kind == ResourceKind.TEAM:
        if entry["state"] != MISSING and "marker" in differences and "id" not in differences:
            # Left as it is (provisioning.handlers.repair._team_made_again): staff tell whose it is.
            return (
                f"GitHub team {key}: its description lacks this course's marker "
                f"{course_marker(course)}, so the roster sync sends it nothing and a tear down "
                "leaves it. Not repaired: put the marker back in its description on GitHub if "
                "the team is this course's; if it is someone else's, rename or delete it on "
                "GitHub, then verify and repair the course (ours is made again). Then sync its "
                "roster again"
            )
        if entry["state"] != MISSING:
            # Another id under its slug: a stranger's team holds the name (sync_github_teams).
            return (
                f"GitHub team {key}: deleted by hand and another team made under its name; "
                "rename or delete that one on GitHub first, then ours is made again"
            )
        return (
            f"GitHub team {key}: make it again with its grants; the next roster sync adds its "
            "people"
        )
    if kind == ResourceKind.TEAM_GRANT:
        return f"GitHub team access {key}: give it again"
    return f"{entry['provider']} {kind} {key}: {entry['state']}"


def _repository_fixes(differences: dict[str, Any]) -> list[str]:
    fixes = []
    if "archived" in differences:
        expected = differences["archived"]["expected"]
        fixes.append("archive it again" if expected else "unarchive it")
    if "name" in differences:
        fixes.append(f"rename it back from {differences['name']['actual']!r}")
    if "marker" in differences:
        fixes.append("put the course's marker back in its description")
    if "private" in differences:
        fixes.append("make it private again")
    return fixes or [CHANGED]
