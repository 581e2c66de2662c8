"""Courses and their lab groups."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinLengthValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

MAX_LAB_GROUPS = 50


class Course(models.Model):
    class Type(models.TextChoices):
        LECTURE = "LECTURE", "Lecture"
        LABORATORY = "LABORATORY", "Laboratory"

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        IN_PROGRESS = "IN_PROGRESS", "In progress"
        COMPLETED = "COMPLETED", "Completed"
        FAILED = "FAILED", "Failed"

    class Priority(models.TextChoices):
        HIGH = "high", "High"
        NORMAL = "normal", "Normal"
        LOW = "low", "Low"

    # A run may still work on these; nothing will change these any more without a retry.
    ACTIVE = (Status.PENDING, Status.IN_PROGRESS)
    TERMINAL = (Status.COMPLETED, Status.FAILED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, validators=[MinLengthValidator(1)])
    semester = models.CharField(
        max_length=32, help_text="YYYY-<term>, e.g. 2026-fall (see SEMESTER_TERMS)."
    )
    # What the course's repositories are named after (provisioning.naming): set once at creation,
    # so that the check for clashes and the GitHub handlers agree, and unique so that two courses
    # created at the same moment cannot both get it.
    slug = models.CharField(max_length=150, blank=True, default="", editable=False)
    type = models.CharField(max_length=16, choices=Type.choices)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    # Who goes first when courses share the platforms' rate budgets: a course due tomorrow before a
    # batch due next week. Also a hint to the broker (provisioning.services.provisioning_send).
    priority = models.CharField(
        max_length=8, choices=Priority.choices, default=Priority.NORMAL, db_index=True
    )
    # The GitHub organization owning the course's repositories, lowercase (GitHub logins ignore
    # case); empty = GITHUB_ORG. Stored empty for GITHUB_ORG too, so the unique slug below is per
    # organization whichever way the default was spelled.
    github_org = models.CharField(
        max_length=39,
        blank=True,
        default="",
        help_text="The GitHub organization for its repositories; empty for GITHUB_ORG.",
    )
    discord_guild_id = models.CharField(
        max_length=20,
        blank=True,
        default="",
        help_text="The staff-made Discord server to use; empty to claim one from the pool.",
    )
    # Who asked for the course: the API key of an API request, or the staff member signed in to
    # the admin (or calling the API with their session); neither from the CLI. Each is held to the
    # cap on active courses (courses.api.caps) for what it created.
    created_by_key = models.ForeignKey(
        "api.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="courses",
    )
    created_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="created_courses",
    )
    # The run currently executing this course's steps, and when it last proved it is alive.
    # A run claims the course by compare-and-set on these two fields (see provisioning.runner).
    run_token = models.UUIDField(null=True, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set when a tear down has removed what the course made: the row stays as the record of what
    # was made and removed (its operations, steps and audit), hidden from lists unless asked, and
    # its name, semester, server and slug are free for a new course (the constraints below hold
    # among live courses only).
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    # Set when an ARCHIVE operation completes, cleared when an UNARCHIVE does (semester end).
    archived_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "semester"],
                condition=models.Q(deleted_at__isnull=True),
                name="course_unique_name_semester",
            ),
            models.UniqueConstraint(
                fields=["discord_guild_id"],
                condition=~models.Q(discord_guild_id="") & models.Q(deleted_at__isnull=True),
                name="course_unique_discord_guild",
            ),
            models.UniqueConstraint(
                fields=["github_org", "slug"],
                condition=~models.Q(slug="") & models.Q(deleted_at__isnull=True),
                name="course_unique_org_slug",
            ),
        ]
        indexes = [
            # The clash check of every create looks for the semester's courses made without a
            # slug (courses.services._name_clash): almost none, so a tiny index instead of reading
            # every live course (what the query planner did without one).
            models.Index(
                fields=["semester", "github_org"],
                condition=models.Q(slug="") & models.Q(deleted_at__isnull=True),
                name="course_unnamed_by_semester",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.semester})"


class LabGroup(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lab_groups")
    name = models.CharField(max_length=100, validators=[MinLengthValidator(1)])
    number = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(999)]
    )

    class Meta:
        ordering = ["course", "number"]
        constraints = [
            models.UniqueConstraint(fields=["course", "number"], name="labgroup_unique_number"),
            models.UniqueConstraint(fields=["course", "name"], name="labgroup_unique_name"),
        ]

    def __str__(self) -> str:
        return f"Group {self.number}: {self.name}"


class OwnedRepository(models.Model):
    """A GitHub repository name a live course owns (``provisioning.naming``), one row per name.

    Unique per organization, so that two courses created, or given lab groups, at the same moment
    cannot both own a name: the clash check (``courses.services._name_clash``) reads before it
    writes, and a lecture "Grp2 Group 1" and a laboratory "Grp2" with group 1 could both pass it.
    Written with the course (``course_create``) and its added groups (``course_add_groups``);
    released when the course is torn down (``deleted_at``): a torn-down course owns nothing.
    A rename keeps the names (they follow ``Course.slug``, fixed at creation).
    """

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="owned_repositories")
    # As Course.github_org: lowercase, empty for GITHUB_ORG.
    github_org = models.CharField(max_length=39, blank=True, default="")
    name = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["github_org", "name"], name="ownedrepository_unique_org_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.github_org or '(GITHUB_ORG)'}/{self.name}"


class CourseMember(models.Model):
    """A person on a course's roster: who they are, and how far each platform has let them in.

    ``removed_at`` is set when the person is taken off the roster: the next sync removes their
    team memberships and cancels their pending invitation, then the row stays as the record.
    The platform state (``github_state``) is written by the sync (provisioning.handlers.people);
    on Discord a bot cannot add anyone, so members join through their group's invite link.
    """

    class Role(models.TextChoices):
        INSTRUCTOR = "instructor", "Instructor"
        TA = "ta", "Teaching assistant"
        STUDENT = "student", "Student"

    STAFF = (Role.INSTRUCTOR, Role.TA)

    class GitHubState(models.TextChoices):
        NOT_SYNCED = "not_synced", "Not synced yet"
        # Over the organization's invitation budget: sent when the window allows (waiting_until).
        WAITING = "waiting", "Waiting for the invitation budget"
        PENDING = "pending", "Invited, not accepted yet"
        ACTIVE = "active", "Member"
        REMOVED = "removed", "Removed"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="members")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STUDENT)
    lab_group = models.ForeignKey(
        LabGroup, on_delete=models.SET_NULL, null=True, blank=True, related_name="members"
    )
    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254, blank=True, default="")
    github_username = models.CharField(max_length=39, blank=True, default="")
    github_state = models.CharField(
        max_length=16, choices=GitHubState.choices, default=GitHubState.NOT_SYNCED
    )
    github_detail = models.CharField(max_length=500, blank=True, default="")
    waiting_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    removed_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["course", "role", "name", "id"]
        constraints = [
            # One live row per person and course, whichever way they are named.
            models.UniqueConstraint(
                Lower("email"),
                "course",
                condition=~models.Q(email="") & models.Q(removed_at__isnull=True),
                name="member_unique_email",
            ),
            models.UniqueConstraint(
                Lower("github_username"),
                "course",
                condition=~models.Q(github_username="") & models.Q(removed_at__isnull=True),
                name="member_unique_github",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"
