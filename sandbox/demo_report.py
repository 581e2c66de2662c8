"""What ``manage.py demo`` prints: a report course staff can read.

Built from the course's rows and the sandbox's state (``GET /_sandbox/state``). Everything made
in the sandbox is marked "(sandbox)" and given by name and id, never as a discord.com or
github.com link: those objects exist only in this process's fake platforms. Permission
overwrites are decoded with the names of :mod:`integrations.discord.permissions` and said in
words ("members read, cannot write").
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from courses.models import Course
from integrations.discord.permissions import NAMES, SEND_MESSAGES, VIEW_CHANNEL
from provisioning.models import ProvisioningStep, ResourceKind

MEMBER_OVERWRITE = 1  # an overwrite's type: 0 a role, 1 a member


def role_label(name: str) -> str:
    """``@name``; Discord's @everyone role is already called ``@everyone``."""
    return name if name.startswith("@") else f"@{name}"


def permission_names(value: int | str) -> list[str]:
    bits = int(value or 0)
    return [name for bit, name in NAMES.items() if bits & bit]


def overwrite_in_words(allow: int | str, deny: int | str) -> str:
    """What an overwrite lets its holder do in the channel, then the bits by name."""
    allow_bits, deny_bits = int(allow or 0), int(deny or 0)
    if deny_bits & VIEW_CHANNEL:
        words = "cannot see the channel"
    elif deny_bits & SEND_MESSAGES:
        words = "read, cannot write"
    elif allow_bits & SEND_MESSAGES:
        words = "read and write"
    else:
        words = "read"
    named = []
    if allow_bits:
        named.append("allowed " + ", ".join(permission_names(allow_bits)))
    if deny_bits:
        named.append("denied " + ", ".join(permission_names(deny_bits)))
    return f"{words} ({'; '.join(named)})" if named else words


def course_report(course: Course, state: dict[str, Any]) -> list[str]:
    """The lines about one course: steps, its Discord server, its repositories."""
    lines = [
        f"{course.get_type_display()} \u201c{course.name}\u201d ({course.semester}): "
        f"{course.get_status_display().lower()}{_took(course)}",
        "  Steps:",
    ]
    for number, step in enumerate(course.steps.order_by("order"), 1):
        lines.append("    " + _step_line(number, step))
    guild = state["discord"]["guilds"].get(course.discord_guild_id)
    if guild:
        lines += _server_lines(guild, state["discord"]["bot"])
    for resource in course.resources.filter(kind=ResourceKind.REPOSITORY).order_by("key"):
        repo = state["github"]["repos"].get(f"{settings.GITHUB_ORG}/{resource.key}")
        if repo:
            lines += _repository_lines(repo)
    return lines


def _took(course: Course) -> str:
    times = course.steps.exclude(started_at=None).exclude(finished_at=None)
    started = min((step.started_at for step in times if step.started_at), default=None)
    finished = max((step.finished_at for step in times if step.finished_at), default=None)
    if started is None or finished is None:
        return ""
    return f" in {(finished - started).total_seconds():.2f} s"


def _step_line(number: int, step: ProvisioningStep) -> str:
    seconds = step.duration_seconds
    duration = f", {seconds:.2f} s" if seconds is not None else ""
    attempts = "1 attempt" if step.attempts == 1 else f"{step.attempts} attempts"
    line = f"{number}. {step.name:<31} {step.get_status_display().lower()} ({attempts}{duration})"
    return f"{line}: {step.last_error}" if step.last_error else line


def _server_lines(guild: dict[str, Any], bot: dict[str, Any]) -> list[str]:
    roles = {role["id"]: role for role in guild.get("roles", [])}
    lines = [f"  Discord server \u201c{guild['name']}\u201d (sandbox, id {guild['id']})"]
    labels = []
    for role in guild.get("roles", []):
        label = role_label(role["name"])
        if role["id"] == guild["id"]:
            label += " (every member)"
        elif role.get("managed"):
            label += " (the bot's own role)"
        labels.append(label)
    lines.append("    Roles: " + ", ".join(labels))
    lines.append("    Channels:")
    for channel in guild.get("channels", []):
        lines.append(f"      #{channel['name']}: {_channel_access(channel, guild, roles, bot)}")
    return lines


def _channel_access(
    channel: dict[str, Any], guild: dict[str, Any], roles: dict[str, Any], bot: dict[str, Any]
) -> str:
    overwrites = channel.get("permission_overwrites") or []
    if not overwrites:
        return "open to every member (the server's defaults)"
    parts = []
    for overwrite in overwrites:
        if overwrite["id"] == guild["id"]:
            who = "members"
        elif int(overwrite["type"]) == MEMBER_OVERWRITE:
            who = "the bot" if overwrite["id"] == bot["id"] else f"member {overwrite['id']}"
        else:
            who = role_label(roles.get(overwrite["id"], {}).get("name", overwrite["id"]))
        parts.append(f"{who} \u2014 {overwrite_in_words(overwrite['allow'], overwrite['deny'])}")
    return "; ".join(parts)


def _repository_lines(repo: dict[str, Any]) -> list[str]:
    branch = repo["default_branch"]
    visibility = "private" if repo.get("private") else "public"
    return [
        f"  GitHub repository {settings.GITHUB_ORG}/{repo['name']} (sandbox, {visibility})",
        f"    files: {', '.join(sorted(repo.get('files', {})))}",
        f"    commits on {branch}: {repo['commits']}",
        f"    protection of {branch}: {_protection(repo['protection'].get(branch))}",
    ]


def _protection(rules: dict[str, Any] | None) -> str:
    if not rules:
        return "none"
    reviews = rules.get("required_pull_request_reviews") or {}
    approvals = reviews.get("required_approving_review_count", 0)
    force = rules.get("allow_force_pushes")
    deletions = rules.get("allow_deletions")
    return (
        f"changes through a pull request with {approvals} approval{'s' if approvals != 1 else ''}; "
        f"force pushes {'allowed' if _enabled(force) else 'blocked'}; "
        f"deletion {'allowed' if _enabled(deletions) else 'blocked'}"
    )


def _enabled(setting: Any) -> bool:
    """GitHub shows these as ``{"enabled": bool}``; a request body sends a plain bool."""
    return bool(setting.get("enabled")) if isinstance(setting, dict) else bool(setting)


def closing_lines(database: dict[str, Any]) -> list[str]:
    """How to go on from here: the admin, the API docs, where the data is."""
    if database["ENGINE"] == "django.db.backends.sqlite3":
        data = f"the SQLite file {database['NAME']}"
    else:
        data = f"the database {database['NAME']} on {database.get('HOST') or 'localhost'}"
    return [
        "What next",
        "  Open the admin:  python manage.py createsuperuser   (once: your staff account)",
        "                   python manage.py runserver",
        "                   then http://127.0.0.1:8000/admin/ (the two demo courses are there)",
        "  API docs:        http://127.0.0.1:8000/api/docs (a key: python manage.py "
        "create_api_key NAME)",
        f"  Data:            {data}; the sandbox's servers and repositories lived in this "
        "process only and are gone",
    ]
