"""Drift detection: does every confirmed resource of a course still exist and match what it was
made as? Reads only, at most one per resource.

A listing serves many resources: one ``list_channels`` answers for every channel of the server,
one ``list_roles`` for every role. A repository is read by its recorded id (``get_repo_by_id``),
so one renamed by hand shows as a changed name rather than a missing repository, and its
protection is read under the name it has now. Seeded content is not compared: the files are the
course's starting point and students change them (docs/operations-platform.md).

What a roster sync made is checked too: one ``list_guild_invites`` for every invite link (one
past its recorded expiry is missing: Discord drops it), one ``get_team`` per team (another id,
or no course marker in its description: changed) and one ``get_team_repo_permission`` per
grant. Memberships are not: people accept or leave on their own, which is state the sync reads
back, not drift.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from audit.models import SystemEvent
from audit.services import system_event_record
from courses.models import Course
from integrations.discord.client import DiscordClient
from integrations.errors import NotFoundError
from integrations.github.client import GitHubClient, RepoInfo, protection_differences
from provisioning.handlers.github import course_marker
from provisioning.models import DriftReport, ExternalResource, Operation, ResourceKind

OK, MISSING, CHANGED = "ok", "missing", "changed"
DISCORD = ExternalResource.Provider.DISCORD
GITHUB = ExternalResource.Provider.GITHUB
# What each kind's check reads; a seed is not compared (see the module's docstring).
CHECKED_KINDS = (
    ResourceKind.SERVER,
    ResourceKind.ROLE,
    ResourceKind.CHANNEL,
    ResourceKind.REPOSITORY,
    ResourceKind.PROTECTION,
    ResourceKind.INVITE,
    ResourceKind.TEAM,
    ResourceKind.TEAM_GRANT,
)
# GitHub answers a team's permission by its role name: what a grant gives as push reads write.
_ROLE_NAMES = {"pull": "read", "push": "write"}

Differences = dict[str, dict[str, Any]]


def _entry(resource: ExternalResource, state: str, differences: Differences) -> dict[str, Any]:
    return {
        "provider": resource.provider,
        "kind": resource.kind,
        "key": resource.key,
        "state": state,
        "differences": differences,
    }


def _compare(pairs: dict[str, tuple[Any, Any]]) -> Differences:
    """``{field: (expected, actual)}`` to the differing fields only."""
    return {
        name: {"expected": expected, "actual": actual}
        for name, (expected, actual) in pairs.items()
        if expected != actual
    }


def _overwrites(raw: list[dict[str, Any]]) -> list[list[Any]]:
    """Overwrites comparable whatever their order and whether allow/deny came as strings."""
    return sorted(
        [str(o["id"]), int(o["type"]), int(o["allow"]), int(o["deny"])] for o in raw or []
    )


class _Reads:
    """The course's reads, each made once and only when a resource needs it."""

    def __init__(self, *, discord: DiscordClient, github: GitHubClient, guild_id: str) -> None:
        self.discord, self.github, self.guild_id = discord, github, guild_id
        self._cache: dict[str, Any] = {}
        self.repos: dict[str, RepoInfo | None] = {}  # key -> as GitHub has it now (None: gone)
        self.teams_missing: set[str] = set()  # slugs of the teams found gone

    def _once(self, name: str, read: Any) -> Any:
        if name not in self._cache:
            self._cache[name] = read()
        return self._cache[name]

    def channels(self) -> dict[str, dict[str, Any]]:
        return self._once(
            "channels", lambda: {c["id"]: c for c in self.discord.list_channels(self.guild_id)}
        )

    def roles(self) -> dict[str, dict[str, Any]]:
        return self._once(
            "roles", lambda: {r["id"]: r for r in self.discord.list_roles(self.guild_id)}
        )

    def invites(self) -> dict[str, dict[str, Any]]:
        return self._once(
            "invites",
            lambda: {i["code"]: i for i in self.discord.list_guild_invites(self.guild_id)},
        )


def _check_server(resource: ExternalResource, reads: _Reads) -> dict[str, Any]:
    guild = reads.discord.get_my_guild(resource.external_id)
    if guild is None:  # deleted, or the bot was removed: either way nothing can be done by API
        return _entry(resource, MISSING, {})
    differences = _compare({"name": (resource.data.get("name"), guild.get("name"))})
    return _entry(resource, CHANGED if differences else OK, differences)


def _check_channel(resource: ExternalResource, reads: _Reads) -> dict[str, Any]:
    channel = reads.channels().get(resource.external_id)
    if channel is None:
        return _entry(resource, MISSING, {})
    differences = _compare(
        {
            "name": (resource.data.get("name"), channel.get("name")),
            "overwrites": (
                _overwrites(resource.data.get("overwrites", [])),
                _overwrites(channel.get("permission_overwrites", [])),
            ),
        }
    )
    return _entry(resource, CHANGED if differences else OK, differences)


def _check_role(resource: ExternalResource, reads: _Reads) -> dict[str, Any]:
    role = reads.roles().get(resource.external_id)
    if role is None:
        return _entry(resource, MISSING, {})
    differences = _compare({"name": (resource.data.get("name"), role.get("name"))})
    return _entry(resource, CHANGED if differences else OK, differences)


def _check_repository(resource: ExternalResource, reads: _Reads, course: Course) -> dict[str, Any]:
    try:
        repo = reads.github.get_repo_by_id(int(resource.external_id))
    except NotFoundError:
        reads.repos[resource.key] = None
        return _entry(resource, MISSING, {})
    reads.repos[resource.key] = repo
    marker = course_marker(course)
    differences = _compare(
        {
            "name": (resource.key, repo.name),
            "private": (True, repo.private),
            # As recorded: an archived course's repositories are expected archived.
            "archived": (bool(resource.data.get("archived", False)), repo.archived),
            "marker": (True, marker in repo.description),
        }
    )
    return _entry(resource, CHANGED if differences else OK, differences)


def _check_protection(resource: ExternalResource, reads: _Reads) -> dict[str, Any]:
    if "ruleset" in resource.data:
        # The semester's organization ruleset protects it: one read per name, shared.
        name = resource.data["ruleset"]
        ruleset = reads._once(f"ruleset:{name}", lambda: reads.github.find_org_ruleset(name))
        return _entry(resource, OK if ruleset else MISSING, {})
    repo = reads.repos.get(resource.key)
    if repo is None:  # its repository is gone (reported there): no branch to read
        return _entry(resource, MISSING, {})
    current = reads.github.get_protection(repo.name, branch=resource.external_id)
    if current is None:
        return _entry(resource, MISSING, {})
    differences = protection_differences(current)
    return _entry(resource, CHANGED if differences else OK, differences)


def _expired(resource: ExternalResource, now: datetime) -> bool:
    expires = str(resource.data.get("expires_at") or "")
    return bool(expires) and datetime.fromisoformat(expires.replace("Z", "+00:00")) <= now


def _check_invite(resource: ExternalResource, reads: _Reads, now: datetime) -> dict[str, Any]:
    """Past its recorded expiry a link is gone from Discord: missing without a look."""
    if _expired(resource, now) or resource.external_id not in reads.invites():
        return _entry(resource, MISSING, {})
    invite = reads.invites()[resource.external_id]
    differences = _compare(
        {
            "channel_id": (
                resource.data.get("channel_id"),
                (invite.get("channel") or {}).get("id"),
            ),
            "role_ids": (
                sorted(str(r) for r in resource.data.get("role_ids", [])),
                sorted(str(r["id"]) for r in invite.get("roles") or []),
            ),
        }
    )
    return _entry(resource, CHANGED if differences else OK, differences)


def _check_team(resource: ExternalResource, reads: _Reads, course: Course) -> dict[str, Any]:
    """Ours has the id recorded when the sync made it and the course's marker in its description,
    as the roster sync (``provisioning.handlers.memberships.team_not_ours``) and the tear down
    check: without either the sync sends the team nothing and the tear down leaves it, so verify
    reports either, from the one read it makes anyway. What staff do is in the repair plan
    (``provisioning.repair``)."""
    team = reads.github.get_team(str(resource.data.get("slug", resource.key)))
    if team is None:
        reads.teams_missing.add(resource.key)
        return _entry(resource, MISSING, {})
    differences = _compare(
        {
            # Deleted and made again by hand under the same name: another team, without the
            # grants.
            "id": (resource.data.get("id"), team.id),
            # Edited out of its description by hand (or, another id, a stranger's team).
            "marker": (True, course_marker(course) in team.description),
        }
    )
    return _entry(resource, CHANGED if differences else OK, differences)


def _role_name(permission: Any) -> Any:
    return _ROLE_NAMES.get(permission, permission)


def _check_grant(resource: ExternalResource, reads: _Reads) -> dict[str, Any]:
    slug = str(resource.data.get("team") or resource.key.split(":", 1)[0])
    repo_key = str(resource.data.get("repo") or resource.key.split(":", 1)[1])
    # Its team or its repository gone (reported there): nothing to read.
    if slug in reads.teams_missing or (repo_key in reads.repos and reads.repos[repo_key] is None):
        return _entry(resource, MISSING, {})
    repo = reads.repos.get(repo_key)
    actual = reads.github.get_team_repo_permission(slug, repo.name if repo else repo_key)
    if actual is None:
        return _entry(resource, MISSING, {})
    expected = resource.data.get("permission")
    if _role_name(expected) == _role_name(actual):
        return _entry(resource, OK, {})
    return _entry(resource, CHANGED, {"permission": {"expected": expected, "actual": actual}})


def course_drift_check(
    *, course: Course, discord: DiscordClient, github: GitHubClient
) -> list[dict[str, Any]]:
    """Compare each confirmed resource of the course with its platform: reads only."""
    resources = list(
        ExternalResource.objects.filter(
            course=course, state=ExternalResource.State.CONFIRMED, kind__in=CHECKED_KINDS
        ).order_by("id")
    )
    # Repositories before their protections and grants (read under the repository's name now),
    # teams before their grants.
    resources.sort(key=lambda r: CHECKED_KINDS.index(ResourceKind(r.kind)))
    server = next((r for r in resources if r.kind == ResourceKind.SERVER), None)
    reads = _Reads(discord=discord, github=github, guild_id=server.external_id if server else "")
    report = []
    now = timezone.now()
    for resource in resources:
        if resource.kind == ResourceKind.SERVER:
            report.append(_check_server(resource, reads))
        elif resource.kind == ResourceKind.CHANNEL:
            report.append(_check_channel(resource, reads))
        elif resource.kind == ResourceKind.ROLE:
            report.append(_check_role(resource, reads))
        elif resource.kind == ResourceKind.REPOSITORY:
            report.append(_check_repository(resource, reads, course))
        elif resource.kind == ResourceKind.INVITE:
            report.append(_check_invite(resource, reads, now))
        elif resource.kind == ResourceKind.TEAM:
            report.append(_check_team(resource, reads, course))
        elif resource.kind == ResourceKind.TEAM_GRANT:
            report.append(_check_grant(resource, reads))
        else:
            report.append(_check_protection(resource, reads))
    return report


def drift_report_record(
    *, course: Course, resources: list[dict[str, Any]], operation: Operation | None = None
) -> DriftReport:
    """Store a report; drift also records a system event for operators."""
    drifted = [r for r in resources if r["state"] != OK]
    report = DriftReport.objects.create(
        course=course,
        operation=operation,
        checked_at=timezone.now(),
        drifted=bool(drifted),
        resources=resources,
    )
    if drifted:
        system_event_record(
            kind=SystemEvent.Kind.DRIFT_DETECTED,
            message=f"Course {course}: {len(drifted)} resource(s) drifted on the platforms.",
            course_id=course.id,
            drifted=[f"{r['provider']} {r['kind']} {r['key']}: {r['state']}" for r in drifted],
        )
    return report
