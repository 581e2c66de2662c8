"""What provisioning records: steps, the external resources they made, task runs, the server pool.

The database is the checkpoint, not the queue: every step and every resource is written down so
that any later run (a retry, a redelivered task, the recovery sweeper) can finish the job without
creating anything twice.
"""

from __future__ import annotations

from django.db import models

from courses.models import Course, LabGroup


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


class ResourceKind(models.TextChoices):
    """What an ``ExternalResource`` is; with its provider and key, it names the resource."""

    SERVER = "server", "Discord server"
    CHANNEL = "channel", "Channel"
    ROLE = "role", "Role"
    REPOSITORY = "repository", "Repository"
    SEED = "seed", "Seeded content"
    PROTECTION = "protection", "Branch protection"


class ProvisioningStep(models.Model):
    # The contract's words (the NestJS service's API): a running step is IN_PROGRESS.
    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        IN_PROGRESS = "IN_PROGRESS", "In progress"
        COMPLETED = "COMPLETED", "Completed"
        FAILED = "FAILED", "Failed"
        SKIPPED = "SKIPPED", "Skipped"

    DONE = (Status.COMPLETED, Status.SKIPPED)

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="steps")
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
            models.UniqueConstraint(fields=["course", "name"], name="step_unique_per_course")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


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
