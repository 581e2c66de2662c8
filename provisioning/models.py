"""What provisioning records: steps, the external resources they made, task runs, the server pool.

The database is the checkpoint, not the queue: every step and every resource is written down so
that any later run (a retry, a redelivered task, the recovery sweeper) can finish the job without
creating anything twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from courses.models import Course, CourseMember, LabGroup


class StepName(models.TextChoices):
    """Every step of every course type (provisioning.steps orders them per type)."""

    SETUP_DISCORD_SERVER = "SETUP_DISCORD_SERVER", "Set up the Discord server"
    CREATE_DISCORD_CHANNELS = "CREATE_DISCORD_CHANNELS", "Create the Discord channels"
    CREATE_GITHUB_REPO = "CREATE_GITHUB_REPO", "Create the GitHub repository"
    SEED_GITHUB_CONTENT = "SEED_GITHUB_CONTENT", "Seed the repository"
    APPLY_BRANCH_PROTECTION = "APPLY_BRANCH_PROTECTION", "Protect the main branch"
    CREATE_GROUP_ROLES = "CREATE_GROUP_ROLES", "Create the group roles"
    CREATE_GROUP_CHANNELS = "CREATE_GROUP_CHANNELS", "Create the group channels"
    CREATE_GROUP_REPOS = "CREATE_GROUP_REPOS", "Create the group repositories"
    SEED_GROUP_CONTENT = "SEED_GROUP_CONTENT", "Seed the group repositories"
    APPLY_GROUP_BRANCH_PROTECTIONS = (
        "APPLY_GROUP_BRANCH_PROTECTIONS",
        "Protect the group repositories' main branches",
    )
    RENAME_DISCORD_SERVER = "RENAME_DISCORD_SERVER", "Rename the Discord server"
    DESCRIBE_GITHUB_REPOS = "DESCRIBE_GITHUB_REPOS", "Describe the repositories anew"
    VERIFY_RESOURCES = "VERIFY_RESOURCES", "Compare the resources with the platforms"
    ARCHIVE_DISCORD_CHANNELS = "ARCHIVE_DISCORD_CHANNELS", "Make the channels read-only"
    ARCHIVE_DISCORD_SERVER = "ARCHIVE_DISCORD_SERVER", "Mark the Discord server archived"
    ARCHIVE_GITHUB_REPOS = "ARCHIVE_GITHUB_REPOS", "Archive the repositories"
    UNARCHIVE_GITHUB_REPOS = "UNARCHIVE_GITHUB_REPOS", "Unarchive the repositories"
    UNARCHIVE_DISCORD_SERVER = "UNARCHIVE_DISCORD_SERVER", "Give the Discord server its name back"
    UNARCHIVE_DISCORD_CHANNELS = "UNARCHIVE_DISCORD_CHANNELS", "Open the channels again"
    DELETE_DISCORD_CHANNELS = "DELETE_DISCORD_CHANNELS", "Delete the course's channels"
    DELETE_DISCORD_ROLES = "DELETE_DISCORD_ROLES", "Delete the course's roles"
    REMOVE_GITHUB_TEAMS = "REMOVE_GITHUB_TEAMS", "Delete the course's teams"
    REMOVE_GITHUB_REPOS = "REMOVE_GITHUB_REPOS", "Delete (or archive) the repositories"
    RELEASE_DISCORD_SERVER = "RELEASE_DISCORD_SERVER", "Give the Discord server back"
    REPAIR_RESOURCES = "REPAIR_RESOURCES", "Put drifted resources back"
    SYNC_STAFF_ROLE = "SYNC_STAFF_ROLE", "Staff role in every channel"
    SYNC_INVITE_LINKS = "SYNC_INVITE_LINKS", "Discord invite links"
    SYNC_GITHUB_TEAMS = "SYNC_GITHUB_TEAMS", "GitHub teams and their repositories"
    SYNC_GITHUB_MEMBERS = "SYNC_GITHUB_MEMBERS", "Team memberships and invitations"


class ResourceKind(models.TextChoices):
    """What an ``ExternalResource`` is; with its provider and key, it names the resource."""

    SERVER = "server", "Discord server"
    CHANNEL = "channel", "Channel"
    ROLE = "role", "Role"
    REPOSITORY = "repository", "Repository"
    SEED = "seed", "Seeded content"
    PROTECTION = "protection", "Branch protection"
    TEAM = "team", "GitHub team"
    TEAM_GRANT = "team_grant", "Team's access to a repository"
    MEMBERSHIP = "membership", "Team membership or invitation"
    INVITE = "invite", "Discord invite link"
    STAFF_ACCESS = "staff_access", "Staff role's overwrite in a channel"


class Operation(models.Model):
    """One operation on a course: provisioning it, or a change to it, as an ordered list of steps.

    The runner executes one operation of a course at a time (the course's lease); a new operation
    is refused while another is pending or running (provisioning.operations).
    """

    class Kind(models.TextChoices):
        PROVISION = "PROVISION", "Provision"
        ADD_GROUPS = "ADD_GROUPS", "Add lab groups"
        RENAME = "RENAME", "Rename"
        VERIFY = "VERIFY", "Verify (drift detection)"
        ARCHIVE = "ARCHIVE", "Archive"
        UNARCHIVE = "UNARCHIVE", "Unarchive"
        TEARDOWN = "TEARDOWN", "Tear down"
        REPAIR = "REPAIR", "Repair"
        SYNC_MEMBERS = "SYNC_MEMBERS", "Sync the roster"

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        IN_PROGRESS = "IN_PROGRESS", "In progress"
        COMPLETED = "COMPLETED", "Completed"
        FAILED = "FAILED", "Failed"

    ACTIVE = (Status.PENDING, Status.IN_PROGRESS)
    # Operations that only read: when one fails, nothing on the platforms changed, so the course
    # keeps its status (COMPLETED) rather than turning FAILED, and the failed check is final —
    # the next operation does not run it again first; verifying again is asking anew.
    READ_ONLY = (Kind.VERIFY,)

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="operations")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    # What the operation works on, beyond the course (e.g. the lab group numbers added).
    params = models.JSONField(default=dict, blank=True)
    requested_by_key = models.ForeignKey(
        "api.ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["course", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.status})"

    @property
    def requested_by(self) -> str:
        if self.requested_by_key_id:
            return f"API key {self.requested_by_key}"
        if self.requested_by_user_id:
            return f"user {self.requested_by_user}"
        return "command line"


class ProvisioningStep(models.Model):
    """A step of an operation. ``order`` runs on across the course's operations, so that ordering
    a course's steps by it lists them operation after operation."""

    # The contract's words (the NestJS service's API): a running step is IN_PROGRESS.
    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        IN_PROGRESS = "IN_PROGRESS", "In progress"
        COMPLETED = "COMPLETED", "Completed"
        FAILED = "FAILED", "Failed"
        SKIPPED = "SKIPPED", "Skipped"

    DONE = (Status.COMPLETED, Status.SKIPPED)

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="steps")
    # Set by the services; a step written without one (by hand, or by old code) is attached to
    # the course's provisioning when a run finds it (provisioning.runner).
    operation = models.ForeignKey(
        Operation, on_delete=models.CASCADE, null=True, blank=True, related_name="steps"
    )
    name = models.CharField(max_length=64, choices=StepName.choices)
    order = models.PositiveSmallIntegerField()
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["course", "order"]
        constraints = [
            models.UniqueConstraint(fields=["operation", "name"], name="step_unique_per_operation")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class StepAttempt(models.Model):
    """One attempt of a step: why each attempt failed survives the next one."""

    class Outcome(models.TextChoices):
        RUNNING = "RUNNING", "Running"
        SUCCEEDED = "SUCCEEDED", "Succeeded"
        SKIPPED = "SKIPPED", "Skipped"
        RETRYING = "RETRYING", "Failed, retried"
        DEFERRED = "DEFERRED", "Failed, re-scheduled"
        FAILED = "FAILED", "Failed"
        # The run stopped during the attempt (killed, lease lost, time limit): found by the next.
        INTERRUPTED = "INTERRUPTED", "Interrupted"

    step = models.ForeignKey(ProvisioningStep, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    error = models.TextField(blank=True, default="")
    retry_after = models.FloatField(
        null=True, blank=True, help_text="Seconds waited before the next attempt."
    )

    class Meta:
        ordering = ["step", "number", "id"]

    def __str__(self) -> str:
        return f"attempt {self.number} {self.outcome}"


class ExternalResource(models.Model):
    """Something a step made on Discord or GitHub, recorded before and after its creation.

    ``INTENDED`` is written before the create call: if the run dies before the answer is recorded,
    the next run knows to look on the platform before creating again. ``CONFIRMED`` carries the
    platform's id: the next run makes no call at all for it.
    """

    class Provider(models.TextChoices):
        DISCORD = "discord", "Discord"
        GITHUB = "github", "GitHub"

    class State(models.TextChoices):
        INTENDED = "intended", "Intended"
        CONFIRMED = "confirmed", "Confirmed"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="resources")
    lab_group = models.ForeignKey(
        LabGroup, on_delete=models.CASCADE, null=True, blank=True, related_name="resources"
    )
    # For a membership or an invitation (people): whose it is.
    member = models.ForeignKey(
        CourseMember, on_delete=models.SET_NULL, null=True, blank=True, related_name="resources"
    )
    provider = models.CharField(max_length=16, choices=Provider.choices)
    kind = models.CharField(max_length=32, choices=ResourceKind.choices)
    key = models.CharField(max_length=200, help_text="Deterministic name of the resource.")
    external_id = models.CharField(max_length=200, blank=True, default="")
    url = models.URLField(max_length=500, blank=True, default="")
    state = models.CharField(max_length=16, choices=State.choices, default=State.INTENDED)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["course", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["course", "provider", "kind", "key"], name="resource_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.kind} {self.key}"


class DriftReport(models.Model):
    """What a VERIFY operation found: per confirmed resource, ``ok``, ``missing`` or ``changed``
    with the differing fields (``provisioning.drift``). The latest one is the course's drift."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="drift_reports")
    operation = models.ForeignKey(
        Operation, on_delete=models.SET_NULL, null=True, blank=True, related_name="drift_reports"
    )
    checked_at = models.DateTimeField(db_index=True)
    drifted = models.BooleanField(default=False)
    # [{"provider", "kind", "key", "state", "differences": {field: {"expected", "actual"}}}]
    resources = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["course", "-checked_at", "-id"]

    def __str__(self) -> str:
        return f"drift {'found' if self.drifted else 'none'} at {self.checked_at:%Y-%m-%d %H:%M}"


class JobExecution(models.Model):
    """One execution of the provisioning task for a course (a Celery task run, or eager)."""

    class Outcome(models.TextChoices):
        RUNNING = "RUNNING", "Running"
        COMPLETED = "COMPLETED", "Completed"
        FAILED = "FAILED", "Failed"
        DEFERRED = "DEFERRED", "Re-scheduled (rate limited)"
        BUSY = "BUSY", "Another run held the course"
        CRASHED = "CRASHED", "Crashed"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="job_executions")
    task_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.task_id or 'eager'} {self.outcome}"


class DiscordServer(models.Model):
    """A server that staff created and added the bot to, waiting for a course to claim it."""

    class Status(models.TextChoices):
        AVAILABLE = "available", "Available"
        CLAIMED = "claimed", "Claimed"

    guild_id = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.AVAILABLE, db_index=True
    )
    course = models.OneToOneField(
        Course, on_delete=models.SET_NULL, null=True, blank=True, related_name="discord_server"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name or self.guild_id


class InvitationWindow(models.Model):
    """One row per GitHub organization: the lock that serializes spending its invitations.

    GitHub allows an organization a fixed number of invitations per 24 hours, whichever course
    or worker sends them. A worker about to invite locks this row (``select_for_update``) while
    it counts the invitations recorded in the last 24 hours (the ``MEMBERSHIP`` resources that
    invite) and writes the intent of the next one, so two workers never both take the last slot
    (``provisioning.invitations``). The row holds no count: the resources are the ledger.
    """

    org = models.CharField(max_length=100, unique=True, help_text="Organization login, lowercase.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["org"]

    def __str__(self) -> str:
        return self.org
