"""Bulk imports of courses: the file's rows, what became of each, and the import's own status."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Now

from courses.models import Course


class Import(models.Model):
    class Status(models.TextChoices):
        # Creating the courses: the import cannot end before they all exist.
        APPLYING = "APPLYING", "Creating courses"
        # Courses were created and are being provisioned.
        PROVISIONING = "PROVISIONING", "Provisioning"
        # Every course created by the import reached COMPLETED.
        COMPLETED = "COMPLETED", "Completed"
        # Every course created by the import ended, at least one FAILED (retry it: the import
        # follows its courses and turns COMPLETED once they all are); or the import was
        # interrupted (``interrupted_at``): rows after the last recorded one were never created.
        FAILED = "FAILED", "Failed"
        # Nothing was created: no valid row, or --all-or-nothing with a bad row.
        REJECTED = "REJECTED", "Rejected"

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        JSON = "json", "JSON"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, db_index=True)
    format = models.CharField(max_length=8, choices=Format.choices)
    filename = models.CharField(max_length=255, blank=True, default="")
    priority = models.CharField(
        max_length=8, choices=Course.Priority.choices, default=Course.Priority.NORMAL
    )
    all_or_nothing = models.BooleanField(default=False)
    # The plan's figures when applied (serversNeeded, githubWrites, estimatedSeconds...).
    plan = models.JSONField(default=dict, blank=True)
    created_by_key = models.ForeignKey(
        "api.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="imports",
    )
    created_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="imports",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the import was found APPLYING with its process gone (a crash, a restart, a request cut
    # by the server's timeout): see imports.services.imports_interrupted_mark.
    interrupted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Import {str(self.id)[:8]} ({self.created_at:%Y-%m-%d %H:%M})"


class ImportRow(models.Model):
    class Outcome(models.TextChoices):
        CREATED = "CREATED", "Created"
        INVALID = "INVALID", "Invalid"
        # Valid, but not created: --all-or-nothing refused the file for another row.
        NOT_CREATED = "NOT_CREATED", "Not created"

    import_run = models.ForeignKey(Import, on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField()
    name = models.CharField(max_length=255, blank=True, default="")
    semester = models.CharField(max_length=64, blank=True, default="")
    type = models.CharField(max_length=32, blank=True, default="")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    # [{field, reason}] for an invalid row.
    errors = models.JSONField(default=list, blank=True)
    course = models.ForeignKey(
        Course, on_delete=models.SET_NULL, null=True, blank=True, related_name="import_rows"
    )
    # The apply's progress: an import APPLYING whose newest row is old lost its process. The
    # database default serves rows inserted by a previous release while a deploy rolls.
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now())

    class Meta:
        ordering = ["import_run", "line"]
        constraints = [
            models.UniqueConstraint(fields=["import_run", "line"], name="importrow_unique_line")
        ]

    def __str__(self) -> str:
        return f"Line {self.line}: {self.name}"
