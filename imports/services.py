"""Bulk import of courses: the plan (reads only), applying it, and following the import.

The plan runs every row through ``courses.services.course_check`` — the rules of
``POST /courses``, clashes with existing courses included — then through the clashes within the
file (two rows taking the same name, repositories or Discord server), counts the pool servers the
batch needs and what it will cost on the platforms (``imports.costs``). It writes nothing and
calls neither platform. Applying creates each valid course with ``course_create`` (the one way
to create a course), which enqueues its provisioning on commit.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from courses.models import Course
from courses.services import (
    CourseConflictError,
    LabGroupInput,
    course_check,
    course_create,
)
from imports.costs import batch_estimate, course_discord_calls, course_github_writes
from imports.models import Import, ImportRow
from imports.parsing import RowInput, import_file_parse
from provisioning.models import DiscordServer, ProvisioningStep
from provisioning.naming import course_slug, name_slug, repository_names
from provisioning.pool import discord_server_counts

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from api.models import ApiKey

logger = logging.getLogger(__name__)

# The services' field names, as the file spells its columns.
FILE_FIELDS = {"lab_groups": "groups", "discord_guild_id": "discordGuildId"}

# An apply records a row every few milliseconds (each course in its own transaction) or, all or
# nothing, commits every row at once after a few minutes at most (2,000 creates): an import still
# APPLYING with nothing recorded for this long lost the process that applied it.
APPLY_STALL = timedelta(minutes=10)


@dataclass
class RowPlan:
    line: int
    name: str
    semester: str  # normalized when valid
    type: str
    groups: list[str]
    discord_guild_id: str
    errors: list[dict[str, str]] = field(default_factory=list)
    github_writes: int = 0
    discord_calls: int = 0

    @property
    def valid(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "name": self.name,
            "semester": self.semester,
            "type": self.type,
            "groups": self.groups,
            "discordGuildId": self.discord_guild_id or None,
            "valid": self.valid,
            "errors": self.errors,
        }


@dataclass
class ImportPlan:
    rows: list[RowPlan]
    priority: str
    servers_needed: int
    servers_available: int
    github_writes: int
    discord_calls: int
    estimated_seconds: float
    estimate: str

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [{"line": row.line, **error} for row in self.rows for error in row.errors]

    @property
    def valid_rows(self) -> list[RowPlan]:
        return [row for row in self.rows if row.valid]

    def as_dict(self) -> dict[str, Any]:
        """The plan as the API, the CLI (``--dry-run --json``) and the import's record show it."""
        return {
            "rows": [row.as_dict() for row in self.rows],
            "errors": self.errors,
            "validRows": len(self.valid_rows),
            "invalidRows": len(self.rows) - len(self.valid_rows),
            "priority": self.priority,
            "serversNeeded": self.servers_needed,
            "serversAvailable": self.servers_available,
            "serversShortfall": max(0, self.servers_needed - self.servers_available),
            "githubWrites": self.github_writes,
            "discordCalls": self.discord_calls,
            "estimatedSeconds": self.estimated_seconds,
            "estimate": self.estimate,
        }


def import_plan(*, content: str, format: str, priority: str = Course.Priority.NORMAL) -> ImportPlan:
    """What importing ``content`` would do: reads only, no call to Discord or GitHub.

    Raises ``ImportFileError`` when the file as a whole cannot be read, ``ValidationError``
    for an unknown priority.
    """
    if priority not in Course.Priority.values:
        raise ValidationError({"priority": [f"Choose one of {', '.join(Course.Priority.values)}."]})
    rows = [_row_plan(row) for row in import_file_parse(content=content, format=format)]
    _file_clashes(rows)
    valid = [row for row in rows if row.valid]
    for row in valid:
        row.github_writes = course_github_writes(type=row.type, groups=len(row.groups))
        row.discord_calls = course_discord_calls(type=row.type, groups=len(row.groups))
    github_writes = sum(row.github_writes for row in valid) + _ruleset_writes(valid)
    discord_calls = sum(row.discord_calls for row in valid)
    estimate = batch_estimate(github_writes=github_writes, discord_calls=discord_calls)
    # Rows naming a pool server take it out of what the others may claim.
    named = {row.discord_guild_id for row in valid if row.discord_guild_id}
    named_available = DiscordServer.objects.filter(
        guild_id__in=named, status=DiscordServer.Status.AVAILABLE
    ).count()
    return ImportPlan(
        rows=rows,
        priority=priority,
        servers_needed=sum(1 for row in valid if not row.discord_guild_id),
        servers_available=max(0, discord_server_counts().available - named_available),
        github_writes=github_writes,
        discord_calls=discord_calls,
        estimated_seconds=estimate.seconds,
        estimate=estimate.summary,
    )


def _ruleset_writes(rows: list[RowPlan]) -> int:
    """In ruleset mode (if configured) protection is one organization ruleset per semester
    instead of one write per repository."""
    from django.conf import settings

    if getattr(settings, "GITHUB_PROTECTION_MODE", "branch") != "ruleset":
        return 0
    repositories = sum(row.github_writes for row in rows) // 5
    return len({row.semester for row in rows}) - repositories


def _row_plan(row: RowInput) -> RowPlan:
    plan = RowPlan(
        line=row.line,
        name=row.name,
        semester=row.semester,
        type=row.type,
        groups=row.groups,
        discord_guild_id=row.discord_guild_id,
        errors=list(row.errors),
    )
    if plan.errors:
        return plan
    for column in ("name", "semester", "type"):
        if not getattr(row, column):
            plan.errors.append({"field": column, "reason": "Required."})
    if plan.errors:
        return plan
    found = course_check(
        name=row.name.strip(),
        semester=row.semester,
        type=row.type,
        lab_groups=_groups(row.groups),
        discord_guild_id=row.discord_guild_id,
    )
    for name, messages in found.errors.items():
        plan.errors += [{"field": FILE_FIELDS.get(name, name), "reason": m} for m in messages]
    for conflict in found.conflicts:
        plan.errors.append(
            {"field": FILE_FIELDS.get(conflict.field, conflict.field), "reason": str(conflict)}
        )
    if found.semester:
        plan.semester = found.semester
    return plan


def _groups(names: list[str]) -> list[LabGroupInput]:
    return [LabGroupInput(name=name, number=n) for n, name in enumerate(names, start=1)]


def _file_clashes(rows: list[RowPlan]) -> None:
    """Refuse a row that takes what an earlier valid row of the file takes: the same name and
    semester, a repository name (``provisioning.naming``, as course_check compares them with
    existing courses) or a Discord server. The first row keeps it."""
    names: dict[tuple[str, str], int] = {}
    repositories: dict[str, int] = {}
    servers: dict[str, int] = {}
    for row in rows:
        if not row.valid:
            continue
        key = (row.name.strip(), row.semester)
        if key in names:
            row.errors.append(
                {
                    "field": "name",
                    "reason": f"Line {names[key]} already imports this name and semester.",
                }
            )
            continue
        wanted: list[str] = []
        if name_slug(row.name):  # otherwise named after its own id: nobody else's
            slug = course_slug(name=row.name.strip(), semester=row.semester, course_id=uuid.uuid4())
            wanted = repository_names(
                slug=slug, type=row.type, group_numbers=range(1, len(row.groups) + 1)
            )
        taken = sorted(name for name in wanted if name in repositories)
        if taken:
            row.errors.append(
                {
                    "field": "name",
                    "reason": f"Line {repositories[taken[0]]} already takes the GitHub "
                    f"repository {taken[0]} this course would create: choose another name.",
                }
            )
            continue
        if row.discord_guild_id and row.discord_guild_id in servers:
            row.errors.append(
                {
                    "field": "discordGuildId",
                    "reason": f"Line {servers[row.discord_guild_id]} already uses this Discord "
                    "server.",
                }
            )
            continue
        names[key] = row.line
        repositories.update(dict.fromkeys(wanted, row.line))
        if row.discord_guild_id:
            servers[row.discord_guild_id] = row.line


class ImportRejectedError(Exception):
    """``all_or_nothing`` and a row could not be created: nothing was."""


def import_apply(
    *,
    content: str,
    format: str,
    filename: str = "",
    priority: str = Course.Priority.NORMAL,
    all_or_nothing: bool = False,
    created_by_key: ApiKey | None = None,
    created_by_user: User | None = None,
) -> Import:
    """Plan the file again (the data may have changed since a dry run), then create its valid
    courses — each in its own transaction, or, with ``all_or_nothing``, all in one and only when
    every row is valid — and provision them. The import records what became of each row."""
    plan = import_plan(content=content, format=format, priority=priority)
    record = Import.objects.create(
        status=Import.Status.APPLYING,
        format=format,
        filename=filename[:255],
        priority=priority,
        all_or_nothing=all_or_nothing,
        plan={key: value for key, value in plan.as_dict().items() if key != "rows"},
        created_by_key=created_by_key,
        created_by_user=created_by_user,
    )
    creator = {"created_by_key": created_by_key, "created_by_user": created_by_user}
    if all_or_nothing:
        created = _apply_all_or_nothing(record, plan, creator)
    else:
        created = _apply_each(record, plan, creator)
    # Only from APPLYING: an apply stalled long enough to be taken for dead was marked
    # interrupted (imports_interrupted_mark), and that stands.
    applying = Import.objects.filter(id=record.id, status=Import.Status.APPLYING)
    if not created:
        applying.update(status=Import.Status.REJECTED, finished_at=timezone.now())
    else:
        # Until now a course finishing early (inline runs) could not finish the import.
        applying.update(status=Import.Status.PROVISIONING)
        import_refresh(import_id=record.id)
    record.refresh_from_db()
    return record


def _invalid_row(record: Import, row: RowPlan, errors: list[dict[str, str]]) -> ImportRow:
    return ImportRow(
        import_run=record,
        line=row.line,
        name=row.name[:255],
        semester=row.semester[:64],
        type=row.type[:32],
        outcome=ImportRow.Outcome.INVALID,
        errors=errors,
    )


def _create(record: Import, row: RowPlan, priority: str, creator: dict[str, Any]) -> ImportRow:
    course = course_create(
        name=row.name,
        semester=row.semester,
        type=row.type,
        lab_groups=_groups(row.groups),
        discord_guild_id=row.discord_guild_id,
        priority=priority,
        **creator,
    )
    return ImportRow.objects.create(
        import_run=record,
        line=row.line,
        name=course.name,
        semester=course.semester,
        type=course.type,
        outcome=ImportRow.Outcome.CREATED,
        course=course,
    )


def _failure(exc: Exception) -> list[dict[str, str]]:
    """A row that passed the plan and was refused on creation (another course won a race)."""
    if isinstance(exc, ValidationError):
        return [
            {"field": FILE_FIELDS.get(name, name), "reason": message}
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
    field_name = getattr(exc, "field", "name")
    return [{"field": FILE_FIELDS.get(field_name, field_name), "reason": str(exc)}]


def _apply_each(record: Import, plan: ImportPlan, creator: dict[str, Any]) -> int:
    created = 0
    for row in plan.rows:
        if not row.valid:
            _invalid_row(record, row, row.errors).save()
            continue
        try:
            # The course and its import row commit together: its run (started on commit) finds
            # the row when it ends.
            with transaction.atomic():
                _create(record, row, plan.priority, creator)
        except (ValidationError, CourseConflictError) as exc:
            _invalid_row(record, row, _failure(exc)).save()
            continue
        created += 1
    return created


def _apply_all_or_nothing(record: Import, plan: ImportPlan, creator: dict[str, Any]) -> int:
    def refuse(failed: RowPlan | None, errors: list[dict[str, str]]) -> int:
        ImportRow.objects.bulk_create(
            _invalid_row(record, row, errors if row is failed else row.errors)
            if row.errors or row is failed
            else ImportRow(
                import_run=record,
                line=row.line,
                name=row.name[:255],
                semester=row.semester[:64],
                type=row.type[:32],
                outcome=ImportRow.Outcome.NOT_CREATED,
            )
            for row in plan.rows
        )
        return 0

    if plan.errors:
        return refuse(None, [])
    current: RowPlan | None = None
    try:
        with transaction.atomic():
            for current in plan.rows:
                _create(record, current, plan.priority, creator)
    except (ValidationError, CourseConflictError) as exc:
        return refuse(current, _failure(exc))
    return len(plan.rows)


# --- following the import ----------------------------------------------------------------------


def import_refresh(*, import_id: uuid.UUID | str) -> Import | None:
    """Bring the import's status in line with its courses'; on the change to COMPLETED or FAILED
    (a compare-and-set: once, whoever notices it), emit ``import.completed``.

    A course counts as ended when its steps are (the runner tells a step's end before it
    releases the course, see imports.receivers).
    """
    record = Import.objects.filter(id=import_id).first()
    if record is not None and record.status == Import.Status.APPLYING:
        imports_interrupted_mark(import_id=record.id)  # seen first here, before any sweep
        record.refresh_from_db()
    if record is None or record.status not in (Import.Status.PROVISIONING, Import.Status.FAILED):
        return record
    courses = Course.objects.filter(import_rows__import_run=record).annotate(
        open_steps=Count("steps", filter=~Q(steps__status__in=ProvisioningStep.DONE)),
        failed_steps=Count("steps", filter=Q(steps__status=ProvisioningStep.Status.FAILED)),
    )
    completed = failed = running = 0
    for course in courses:
        if course.status == Course.Status.COMPLETED or course.open_steps == 0:
            completed += 1
        elif course.failed_steps:
            failed += 1
        else:
            running += 1
    if running:
        target = Import.Status.PROVISIONING
    else:
        # Interrupted: some rows were never created, whatever became of the others.
        bad = failed or record.interrupted_at is not None
        target = Import.Status.FAILED if bad else Import.Status.COMPLETED
    if target == record.status:
        return record
    finished_at = None if target == Import.Status.PROVISIONING else timezone.now()
    changed = Import.objects.filter(id=record.id, status=record.status).update(
        status=target, finished_at=finished_at
    )
    if changed and finished_at is not None:
        _emit_completed(record, target, completed=completed, failed=failed)
    record.status, record.finished_at = target, finished_at
    return record


def imports_interrupted_mark(
    *, import_id: uuid.UUID | None = None, now: datetime | None = None
) -> list[uuid.UUID]:
    """Mark the imports whose applying process is gone; return their ids.

    An import is applied by one request or command, row after row; a crash, a restart or a
    request cut by the server's timeout leaves it APPLYING for ever, with the courses of the rows
    before it created (each committed with its row) and the rest never made. One APPLYING with
    nothing recorded for ``APPLY_STALL`` is taken for dead: ``interrupted_at`` is set, and it
    follows the courses it did create (PROVISIONING, then FAILED once they ended: the rows not
    reached are missing), or, having created none (an all-or-nothing apply rolls back whole),
    ends FAILED at once, with ``import.completed``. The missing rows are not resumed — the file
    is not kept —: importing the file again creates them, its created courses being clashes.

    One whose every row is recorded is not interrupted (its apply died after its rows, or still
    runs its courses inline): it is finished as the apply would have finished it.

    Run by the recovery sweep (``provisioning.signals.recovery_swept``) and on reading an import
    that is APPLYING (``import_refresh``); ``import_id``: that one import only.
    """
    now = now or timezone.now()
    cutoff = now - APPLY_STALL
    stalled = (
        Import.objects.filter(status=Import.Status.APPLYING, created_at__lt=cutoff)
        .annotate(last_row=Max("rows__created_at"))
        .filter(Q(last_row__isnull=True) | Q(last_row__lt=cutoff))
    )
    if import_id is not None:
        stalled = stalled.filter(id=import_id)
    marked = []
    for record in stalled:
        created = record.rows.filter(outcome=ImportRow.Outcome.CREATED).exists()
        rows_in_plan = int(record.plan.get("validRows", 0)) + int(record.plan.get("invalidRows", 0))
        if rows_in_plan and record.rows.count() >= rows_in_plan:
            # Every row is recorded: the apply got past its rows (it died before its last
            # update, or it is still running its courses inline). Not interrupted: what
            # import_apply would have said.
            _applied(record, created=created, now=now)
            continue
        status = Import.Status.PROVISIONING if created else Import.Status.FAILED
        finished_at = None if created else now
        # A compare-and-set: two sweeps, or a sweep and a reader, mark it once.
        changed = Import.objects.filter(id=record.id, status=Import.Status.APPLYING).update(
            status=status, interrupted_at=now, finished_at=finished_at
        )
        if not changed:
            continue
        logger.warning(
            "import %s was interrupted while creating its courses (%s)",
            record.id,
            "its created courses go on" if created else "none was created",
        )
        marked.append(record.id)
        record.status, record.interrupted_at, record.finished_at = status, now, finished_at
        if created:
            import_refresh(import_id=record.id)  # its courses may all have ended already
        else:
            _emit_completed(record, status, completed=0, failed=0)
    return marked


def _applied(record: Import, *, created: bool, now: datetime) -> None:
    """An apply whose every row is recorded, finished as ``import_apply`` finishes it."""
    applying = Import.objects.filter(id=record.id, status=Import.Status.APPLYING)
    if created:
        if applying.update(status=Import.Status.PROVISIONING):
            import_refresh(import_id=record.id)
    else:
        applying.update(status=Import.Status.REJECTED, finished_at=now)


def _emit_completed(record: Import, status: str, *, completed: int, failed: int) -> None:
    from webhooks.services import webhook_event_emit

    rows = record.rows.values("outcome").annotate(count=Count("id"))
    counts = {row["outcome"]: row["count"] for row in rows}
    webhook_event_emit(
        type="import.completed",
        data={
            "importId": str(record.id),
            "status": status,
            "coursesCompleted": completed,
            "coursesFailed": failed,
            "rowsInvalid": counts.get(ImportRow.Outcome.INVALID, 0),
            # Its process stopped part way: rows after the last recorded one were not created.
            "interrupted": record.interrupted_at is not None,
        },
        api_key=record.created_by_key,
    )
