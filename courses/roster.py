"""The course roster: who is in a course, checked, imported, removed and handed out links.

A roster file (``courses.roster_files``) is planned first: every line checked against the rules
and the live roster, nothing written (``roster_plan``). An import is all or nothing: a file with
one bad line imports no one (``RosterInvalidError``), since a roster with holes gives some
people no access and others the wrong one; the fix is one edit and a resend. A file adds and
updates members, never removes them (a partial file must not drop anyone): ``member_remove``
does that. After a change the roster is carried to Discord and GitHub by a SYNC_MEMBERS
operation (``provisioning.people.members_sync``), started at once when the course is COMPLETED
and idle; otherwise the roster is saved and the sync is *pending*: the answer says why, and the
recovery sweep starts it once the course is idle and COMPLETED again
(``provisioning.people.roster_syncs_due``); a sync started by hand meanwhile carries it too.

A line: ``name`` (required, printable, at most 200 characters); ``email`` and ``github`` (at
least one; an email as Django validates it, a username by GitHub's rule: 1 to 39 letters, digits
or single hyphens, not at either end, a leading ``@`` dropped); ``role`` instructor, ta or
student in any case, empty meaning student (most lines of a roster are students); ``group`` the
lab group's number, required for a laboratory's students and empty for staff (who see every
group) and in a lecture. A name or email starting with ``= + - @`` is refused: a spreadsheet
would run it as a formula when the export or link sheet is opened.

Who is who: a line names a live member by email or by GitHub username (any case). One that
names nobody adds a member; one that names a member updates their name, role and group, and
sets an email or username given where it differs (an empty cell keeps the member's: a file of
emails and one of usernames can be imported one after the other). A line naming two members
(one's email, another's username) or a member another line already named is an error, so
that the live roster never holds one person twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from courses.models import Course, CourseMember, LabGroup
from courses.roster_files import FORMULA_STARTS, RosterRow, roster_csv
from courses.validators import unsafe_character
from provisioning.models import ExternalResource, Operation, ResourceKind
from provisioning.operations import OperationBusyError, OperationNotAllowedError
from provisioning.people import members_sync

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from api.models import ApiKey

ROLES = tuple(CourseMember.Role.values)  # instructor, ta, student
# GitHub's rule for a username: 1 to 39 letters, digits or single hyphens, not at either end.
GITHUB_USERNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
GROUP_NUMBER = re.compile(r"[0-9]{1,3}")
NAME_MAX = CourseMember._meta.get_field("name").max_length or 200
EMAIL_MAX = CourseMember._meta.get_field("email").max_length or 254
LINK_SHEET_COLUMNS = (
    "name",
    "email",
    "github",
    "role",
    "group",
    "invite",
    "repository",
    "githubState",
    "githubDetail",
    "waitingUntil",
)
_validate_email = EmailValidator()
# Instructors, TAs, then students by group and name.
ROSTER_ORDER = (
    Case(
        *(When(role=role, then=Value(rank)) for rank, role in enumerate(ROLES)),
        output_field=IntegerField(),
    ),
    "lab_group__number",
    "name",
    "id",
)


class RosterInvalidError(Exception):
    """The file has bad lines: nothing was imported. ``plan`` lists every one."""

    def __init__(self, plan: RosterPlan) -> None:
        self.plan = plan
        super().__init__(
            f"{len(plan.errors)} bad line(s) in the roster: nothing was imported "
            "(fix them and send the whole file again)."
        )


class RosterNotAllowedError(OperationNotAllowedError):
    """The course's roster cannot change (the course was torn down)."""


class RosterChangedError(OperationBusyError):
    """The live roster changed while the file was imported (another import won the race)."""


@dataclass
class RosterChange:
    """What a valid line does: add a member, update one (``fields`` changed), or nothing."""

    line: int
    action: str  # "add" | "update" | "unchanged"
    name: str
    email: str
    github: str
    role: str
    group: int | None
    member: CourseMember | None = None
    fields: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "action": self.action,
            "memberId": str(self.member.id) if self.member else None,
            "name": self.name,
            "email": self.email,
            "github": self.github,
            "role": self.role,
            "group": self.group,
            "changes": self.fields,
        }


@dataclass
class RosterPlan:
    """The dry run of a roster file against a course: its bad lines and what the rest would do."""

    errors: list[dict[str, Any]] = field(default_factory=list)  # {line, field, reason}
    changes: list[RosterChange] = field(default_factory=list)
    absent: int = 0  # live members the file does not name: left as they are

    def counts(self) -> dict[str, int]:
        actions = [change.action for change in self.changes]
        return {
            "added": actions.count("add"),
            "updated": actions.count("update"),
            "unchanged": actions.count("unchanged"),
            "absent": self.absent,
            "invalidLines": len({error["line"] for error in self.errors}),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": not self.errors,
            "errors": self.errors,
            "counts": self.counts(),
            "rows": [change.as_dict() for change in self.changes],
        }


@dataclass
class RosterSync:
    """Whether a change started its sync: the operation, or why the sync is pending."""

    operation: Operation | None = None
    pending: bool = False
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "started": self.operation is not None,
            "operationId": self.operation.id if self.operation else None,
            "pending": self.pending,
            "reason": self.reason,
        }


@dataclass
class RosterImportResult:
    counts: dict[str, int]
    sync: RosterSync

    def as_dict(self) -> dict[str, Any]:
        return {"counts": self.counts, "sync": self.sync.as_dict()}


@dataclass
class LinkRow:
    """One line of the link sheet: a member and where they go."""

    member: CourseMember
    invite: str
    repository: str  # staff: every repository of the course, space-separated

    def cells(self) -> list[str]:
        member = self.member
        waiting = member.waiting_until
        return [
            member.name,
            member.email,
            member.github_username,
            member.role,
            str(member.lab_group.number) if member.lab_group else "",
            self.invite,
            self.repository,
            member.github_state,
            member.github_detail,
            waiting.isoformat().replace("+00:00", "Z") if waiting else "",
        ]


# --- planning --------------------------------------------------------------------------------


def roster_plan(*, course: Course, rows: list[RosterRow]) -> RosterPlan:
    """Check every line against the rules and the live roster; write nothing.

    Each problem is ``{line, field, reason}``; a line may have several. Valid lines become
    changes (add, update, unchanged).
    """
    groups = {group.number: group for group in course.lab_groups.all()}
    live = list(_live(course))
    by_email = {m.email.lower(): m for m in live if m.email}
    by_github = {m.github_username.lower(): m for m in live if m.github_username}
    seen_email: dict[str, int] = {}
    seen_github: dict[str, int] = {}
    claimed: dict[Any, int] = {}  # member id -> the line that named it
    plan = RosterPlan()

    for row in rows:
        errors: list[tuple[str, str]] = list(row.errors)
        name, email, github = row.name.strip(), row.email.strip(), row.github.strip()
        github = github.removeprefix("@")
        role = (row.role.strip() or CourseMember.Role.STUDENT).lower()

        errors += _name_errors(name)
        email_errors = _email_errors(email)
        github_errors = _github_errors(github)
        errors += email_errors + github_errors
        if not email and not github:
            errors.append(("email", "Give an email or a GitHub username (or both)."))
        if role not in ROLES:
            errors.append(("role", f"Choose one of {', '.join(ROLES)} (empty: student)."))
            group_number = None
        else:
            group_number, group_errors = _group(course, groups, role, row.group.strip())
            errors += group_errors

        # Within the file: each email and username once.
        if email and not email_errors:
            earlier = seen_email.setdefault(email.lower(), row.line)
            if earlier != row.line:
                errors.append(("email", f"Same email as line {earlier}."))
        if github and not github_errors:
            earlier = seen_github.setdefault(github.lower(), row.line)
            if earlier != row.line:
                errors.append(("github", f"Same GitHub username as line {earlier}."))

        # Against the live roster: the member the line names, if any, and only one.
        by_mail = by_email.get(email.lower()) if email else None
        by_login = by_github.get(github.lower()) if github else None
        member = by_mail or by_login
        if by_mail and by_login and by_mail.id != by_login.id:
            errors.append(
                (
                    "github",
                    f"{github} is the GitHub username of another member ({_who(by_login)}), "
                    f"while {email} is {_who(by_mail)}'s email.",
                )
            )
        elif member is not None and not errors:
            earlier = claimed.setdefault(member.id, row.line)
            if earlier != row.line:
                errors.append(("email" if by_mail else "github", f"Same member as line {earlier}."))

        if errors:
            plan.errors += [
                {"line": row.line, "field": where, "reason": why} for where, why in errors
            ]
            continue
        plan.changes.append(
            _change(
                row.line,
                member,
                name=name,
                email=email,
                github=github,
                role=role,
                group=group_number,
            )
        )
    plan.absent = len(live) - len(claimed)
    plan.errors.sort(key=lambda error: error["line"])
    return plan


def _live(course: Course) -> QuerySet[CourseMember]:
    return CourseMember.objects.filter(course=course, removed_at__isnull=True).select_related(
        "lab_group"
    )


def _who(member: CourseMember) -> str:
    return member.name or member.email or member.github_username


def _name_errors(name: str) -> list[tuple[str, str]]:
    if not name:
        return [("name", "Give the member's name.")]
    if len(name) > NAME_MAX:
        return [("name", f"At most {NAME_MAX} characters.")]
    char = unsafe_character(name)
    if char:
        return [("name", f"Use printable text only: {char} is not allowed.")]
    if name.startswith(FORMULA_STARTS):
        return [("name", "Must not start with = + - or @ (a spreadsheet would run it).")]
    return []


def _email_errors(email: str) -> list[tuple[str, str]]:
    if not email:
        return []
    if len(email) > EMAIL_MAX:
        return [("email", f"At most {EMAIL_MAX} characters.")]
    if email.startswith(FORMULA_STARTS):
        return [("email", "Must not start with = + - or @ (a spreadsheet would run it).")]
    try:
        _validate_email(email)
    except ValidationError:
        return [("email", f"Not a valid email address: {email[:100]}.")]
    return []


def _github_errors(github: str) -> list[tuple[str, str]]:
    if github and not GITHUB_USERNAME.fullmatch(github):
        return [
            (
                "github",
                "Not a GitHub username: 1 to 39 letters, digits or single hyphens, "
                "not starting or ending with a hyphen.",
            )
        ]
    return []


def _group(
    course: Course, groups: dict[int, LabGroup], role: str, value: str
) -> tuple[int | None, list[tuple[str, str]]]:
    """The lab group number of a line, and what is wrong with it."""
    numbers = ", ".join(str(number) for number in sorted(groups))
    if course.type == Course.Type.LECTURE:
        return None, [("group", "A lecture has no lab groups: leave it empty.")] if value else []
    if role in CourseMember.STAFF:
        if value:
            return None, [("group", "Staff belong to no lab group (they see every group).")]
        return None, []
    if not value:
        return None, [("group", f"A student of a laboratory needs a group: one of {numbers}.")]
    if not GROUP_NUMBER.fullmatch(value) or int(value) not in groups:
        return None, [("group", f"No lab group {value[:20]} in this course: one of {numbers}.")]
    return int(value), []


def _change(
    line: int,
    member: CourseMember | None,
    *,
    name: str,
    email: str,
    github: str,
    role: str,
    group: int | None,
) -> RosterChange:
    if member is None:
        return RosterChange(line, "add", name, email, github, role, group)
    # An empty cell keeps what the member has (see the module docstring), and so does one that
    # differs only in case (emails and usernames ignore it).
    if email.lower() == member.email.lower() or not email:
        email = member.email
    if github.lower() == member.github_username.lower() or not github:
        github = member.github_username
    current = member.lab_group.number if member.lab_group else None
    changed = [
        label
        for label, differs in (
            ("name", name != member.name),
            ("email", email.lower() != member.email.lower()),
            ("github", github.lower() != member.github_username.lower()),
            ("role", role != member.role),
            ("group", group != current),
        )
        if differs
    ]
    action = "update" if changed else "unchanged"
    return RosterChange(line, action, name, email, github, role, group, member, changed)


# --- writing ---------------------------------------------------------------------------------


def roster_import(
    *,
    course: Course,
    rows: list[RosterRow],
    requested_by_key: ApiKey | None = None,
    requested_by_user: User | None = None,
) -> RosterImportResult:
    """Add and update the file's members in one transaction, then start their sync.

    All or nothing: ``RosterInvalidError`` (nothing written) when any line is bad. The file is
    planned again under the course's lock, against the roster as it is then.
    """
    _writable(course)
    plan = roster_plan(course=course, rows=rows)
    if plan.errors:
        raise RosterInvalidError(plan)
    try:
        with transaction.atomic():
            Course.objects.select_for_update().filter(id=course.id).first()
            plan = roster_plan(course=course, rows=rows)
            if plan.errors:
                raise RosterInvalidError(plan)
            _apply(course, plan)
    except IntegrityError as exc:
        raise RosterChangedError(
            f"The roster of course {course.id} changed while this file was imported: send it again."
        ) from exc
    counts = plan.counts()
    del counts["invalidLines"]
    if not counts["added"] and not counts["updated"]:
        return RosterImportResult(counts, RosterSync(reason="Nothing changed: no sync needed."))
    sync = _sync_after_change(
        course=course, requested_by_key=requested_by_key, requested_by_user=requested_by_user
    )
    return RosterImportResult(counts, sync)


def _apply(course: Course, plan: RosterPlan) -> None:
    groups = {group.number: group for group in course.lab_groups.all()}
    added = [
        CourseMember(
            course=course,
            name=change.name,
            email=change.email,
            github_username=change.github,
            role=change.role,
            lab_group=groups.get(change.group) if change.group is not None else None,
        )
        for change in plan.changes
        if change.action == "add"
    ]
    CourseMember.objects.bulk_create(added)
    now = timezone.now()
    updated = []
    for change in plan.changes:
        member = change.member
        if change.action != "update" or member is None:
            continue
        # A new identity on GitHub (another username, or the email of one invited by email) is
        # a new invitation: the sync starts that member over.
        identity = "github" in change.fields or ("email" in change.fields and not change.github)
        member.name, member.email, member.github_username = change.name, change.email, change.github
        member.role = change.role
        member.lab_group = groups.get(change.group) if change.group is not None else None
        member.updated_at = now
        if identity:
            member.github_state = CourseMember.GitHubState.NOT_SYNCED
            member.github_detail, member.waiting_until = "", None
        updated.append(member)
    CourseMember.objects.bulk_update(
        updated,
        [
            "name",
            "email",
            "github_username",
            "role",
            "lab_group",
            "updated_at",
            "github_state",
            "github_detail",
            "waiting_until",
        ],
    )


def member_remove(
    *,
    member: CourseMember,
    requested_by_key: ApiKey | None = None,
    requested_by_user: User | None = None,
) -> RosterSync:
    """Take a member off the roster (the row stays as the record) and start the sync that
    removes their access. A member already removed: nothing happens."""
    _writable(member.course)
    now = timezone.now()
    taken = CourseMember.objects.filter(id=member.id, removed_at__isnull=True).update(
        removed_at=now, updated_at=now
    )
    if not taken:
        member.refresh_from_db()
        return RosterSync(reason="Already removed.")
    member.removed_at = now
    return _sync_after_change(
        course=member.course,
        requested_by_key=requested_by_key,
        requested_by_user=requested_by_user,
    )


def roster_sync(
    *,
    course: Course,
    requested_by_key: ApiKey | None = None,
    requested_by_user: User | None = None,
) -> Operation:
    """Start a sync now; ``OperationBusyError`` / ``OperationNotAllowedError`` when it cannot."""
    _writable(course)
    return members_sync(
        course=course, requested_by_key=requested_by_key, requested_by_user=requested_by_user
    )


def _writable(course: Course) -> None:
    if course.deleted_at is not None:
        raise RosterNotAllowedError(
            f"Course {course.id} was torn down: its roster can no longer change."
        )


def _sync_after_change(
    *,
    course: Course,
    requested_by_key: ApiKey | None,
    requested_by_user: User | None,
) -> RosterSync:
    """Start the sync of a changed roster when the course is COMPLETED and idle; otherwise the
    change is saved and waits for the next sync, and the answer says why."""
    course.refresh_from_db(fields=["status", "run_token"])
    if course.status != Course.Status.COMPLETED:
        what = (
            "being provisioned or changed"
            if course.status in Course.ACTIVE
            else "FAILED (retry it first)"
        )
        return RosterSync(
            pending=True,
            reason=f"Course {course.id} is {what}: the roster is saved and reaches Discord and "
            "GitHub with the next sync, which the sweep starts once the course is COMPLETED "
            "and idle.",
        )
    try:
        operation = members_sync(
            course=course,
            requested_by_key=requested_by_key,
            requested_by_user=requested_by_user,
        )
    except (OperationBusyError, OperationNotAllowedError) as exc:
        return RosterSync(
            pending=True,
            reason=f"{exc} The roster is saved and reaches Discord and GitHub with the next sync, "
            "which the sweep starts once the course is idle.",
        )
    return RosterSync(operation=operation)


# --- reading ---------------------------------------------------------------------------------


def roster_members(*, course: Course, removed: bool = False) -> QuerySet[CourseMember]:
    """The course's members (``removed``: taken-off ones too): instructors, TAs, then students
    by group and name."""
    members = CourseMember.objects.filter(course=course).select_related("lab_group")
    if not removed:
        members = members.filter(removed_at__isnull=True)
    return members.order_by(*ROSTER_ORDER)


def roster_unsynced(*, course: Course) -> int:
    """Members whose last change no sync has carried yet, as far as their GitHub state tells:
    live ones never synced, and removed ones still in (or invited to) the organization."""
    members = CourseMember.objects.filter(course=course)
    fresh = members.filter(
        removed_at__isnull=True, github_state=CourseMember.GitHubState.NOT_SYNCED
    )
    gone = members.filter(removed_at__isnull=False).exclude(
        github_state__in=(CourseMember.GitHubState.REMOVED, CourseMember.GitHubState.NOT_SYNCED)
    )
    return fresh.count() + gone.count()


def roster_export(*, course: Course) -> str:
    """The live roster as a roster file (CSV): importing it again changes nothing."""
    return roster_csv(
        [
            [
                member.name,
                member.email,
                member.github_username,
                member.role,
                str(member.lab_group.number) if member.lab_group else "",
            ]
            for member in roster_members(course=course)
        ]
    )


def course_invites(*, course: Course) -> QuerySet[ExternalResource]:
    """The course's Discord invite links (made by the sync): ``group-<n>``, ``staff``,
    ``members``."""
    return (
        ExternalResource.objects.filter(
            course=course, provider=ExternalResource.Provider.DISCORD, kind=ResourceKind.INVITE
        )
        .select_related("lab_group")
        .order_by("key", "id")
    )


def link_sheet(*, course: Course) -> list[LinkRow]:
    """Per live member: their Discord invite link and repository URL, with their GitHub state.

    A laboratory's student gets their group's invite and repository; a lecture's students the
    ``members`` invite and the course's repository; staff the ``staff`` invite and every
    repository of the course (they have access to all; space-separated, by group number).
    Empty where the sync (invites) or provisioning (repositories) has not made it yet, and
    where the invite expired (``DISCORD_INVITE_MAX_AGE``): the next sync makes a new one.
    """
    now = timezone.now()
    invites = {
        invite.key: invite.url
        for invite in course_invites(course=course).filter(state=ExternalResource.State.CONFIRMED)
        if not _expired(invite, now)
    }
    repositories = list(
        ExternalResource.objects.filter(
            course=course,
            provider=ExternalResource.Provider.GITHUB,
            kind=ResourceKind.REPOSITORY,
            state=ExternalResource.State.CONFIRMED,
        )
        .exclude(url="")
        .select_related("lab_group")
    )
    repositories.sort(key=lambda repo: (repo.lab_group.number if repo.lab_group else 0, repo.id))
    by_group = {repo.lab_group_id: repo.url for repo in repositories}
    every = " ".join(repo.url for repo in repositories)
    rows = []
    for member in roster_members(course=course):
        if member.role in CourseMember.STAFF:
            invite, repository = invites.get("staff", ""), every
        elif course.type == Course.Type.LECTURE:
            invite, repository = invites.get("members", ""), by_group.get(None, "")
        else:
            number = member.lab_group.number if member.lab_group else None
            invite = invites.get(f"group-{number}", "") if number is not None else ""
            repository = by_group.get(member.lab_group_id, "") if member.lab_group_id else ""
        rows.append(LinkRow(member=member, invite=invite, repository=repository))
    return rows


def _expired(invite: ExternalResource, now: datetime) -> bool:
    expires = str(invite.data.get("expires_at") or "")
    return bool(expires) and datetime.fromisoformat(expires.replace("Z", "+00:00")) <= now


def link_sheet_csv(*, course: Course) -> str:
    return roster_csv([row.cells() for row in link_sheet(course=course)], header=LINK_SHEET_COLUMNS)


def member_json(member: CourseMember) -> dict[str, Any]:
    """A member as the API shows it (camelCase)."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat().replace("+00:00", "Z") if value else None

    return {
        "id": str(member.id),
        "name": member.name,
        "email": member.email,
        "github": member.github_username,
        "role": member.role,
        "group": member.lab_group.number if member.lab_group else None,
        "githubState": member.github_state,
        "githubDetail": member.github_detail,
        "waitingUntil": iso(member.waiting_until),
        "createdAt": iso(member.created_at),
        "updatedAt": iso(member.updated_at),
        "removedAt": iso(member.removed_at),
    }
