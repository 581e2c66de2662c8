"""The audit trail: one append-only row per HTTP request sent to Discord or GitHub."""

from __future__ import annotations

from django.db import models


class AuditLog(models.Model):
    class Provider(models.TextChoices):
        DISCORD = "discord", "Discord"
        GITHUB = "github", "GitHub"

    provider = models.CharField(max_length=16, choices=Provider.choices, db_index=True)
    method = models.CharField(max_length=8)
    route = models.CharField(max_length=200, help_text="Route template, ids left as {names}.")
    url = models.CharField(max_length=1000)
    request_body = models.JSONField(null=True, blank=True, help_text="Secrets redacted.")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True, db_index=True)
    response_excerpt = models.TextField(blank=True, default="")
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    course = models.ForeignKey(
        "courses.Course",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_logs",
        db_index=True,
    )
    step = models.CharField(max_length=64, blank=True, default="")
    attempt = models.PositiveIntegerField(null=True, blank=True)
    task_id = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["course", "-created_at"], name="audit_course_time")]

    def __str__(self) -> str:
        return f"{self.method} {self.route} -> {self.response_status}"


class SystemEvent(models.Model):
    """Something an operator must notice: recovered runs, exhausted retries, limits hit..."""

    class Kind(models.TextChoices):
        ORPHANED_RUN_RECOVERED = "orphaned_run_recovered", "Orphaned run recovered"
        RETRIES_EXHAUSTED = "retries_exhausted", "Retries exhausted"
        RATE_LIMITED = "rate_limited", "Rate limit hit"
        DUPLICATE_RUN_PREVENTED = "duplicate_run_prevented", "Duplicate run prevented"
        CONCURRENCY_LIMIT = "concurrency_limit", "Concurrency limit hit"
        TIME_LIMIT = "time_limit", "Worker time limit"
        ENQUEUE_FAILED = "enqueue_failed", "Enqueue failed (broker unreachable)"
        PLATFORM_UNREACHABLE = "platform_unreachable", "Platform unreachable"
        THROTTLE_STORE_DOWN = "throttle_store_down", "API throttle counting in-process"
        DRIFT_DETECTED = "drift_detected", "Drift detected (verify)"

    class Severity(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    kind = models.CharField(max_length=32, choices=Kind.choices, db_index=True)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.WARNING)
    message = models.TextField()
    course = models.ForeignKey(
        "courses.Course",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="system_events",
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message[:80]}"
