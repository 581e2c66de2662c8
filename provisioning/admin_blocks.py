"""Columns of steps and resources, shared by provisioning's admin and the course page's inlines.

Kept apart from ``provisioning.admin`` so that courses' admin can use them without importing
another app's admin (and registering its models as a side effect).
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from common.admin_blocks import badge, badge_column, duration_column, external_link, when
from provisioning.models import ExternalResource, Operation, ResourceKind

# The tone of each attempt's outcome (common.admin_blocks.TONES knows the statuses).
ATTEMPT_TONES = {
    "RUNNING": "running",
    "SUCCEEDED": "success",
    "SKIPPED": "warning",
    "RETRYING": "warning",
    "DEFERRED": "warning",
    "FAILED": "failure",
    "INTERRUPTED": "failure",
}


def resource_url(resource: ExternalResource) -> str:
    """Where staff can see the resource: the recorded URL, else one derived from its ids."""
    if resource.url:
        return resource.url
    guild_id = resource.course.discord_guild_id
    if resource.provider == ExternalResource.Provider.DISCORD and resource.external_id and guild_id:
        if resource.kind == ResourceKind.CHANNEL:
            return f"https://discord.com/channels/{guild_id}/{resource.external_id}"
        if resource.kind == ResourceKind.SERVER:
            return f"https://discord.com/channels/{guild_id}"
    return ""


def resource_label(resource: ExternalResource) -> str:
    """What to call a resource in a link: its repository's full name, #channel, or its id."""
    data = resource.data if isinstance(resource.data, dict) else {}
    if data.get("full_name"):
        return data["full_name"]
    if resource.kind == ResourceKind.CHANNEL and data.get("name"):
        return f"#{data['name']}"
    if resource.kind == ResourceKind.SEED and resource.external_id:
        return f"commit {resource.external_id[:12]}"
    if resource.kind == ResourceKind.PROTECTION and resource.external_id:
        return f"rules of {resource.external_id}"
    return data.get("name") or resource.external_id


class StepColumns:
    """A step's status and duration."""

    status_badge = badge_column("status")
    duration = duration_column("duration_seconds")


class ResourceColumns:
    """A resource's state, and a link to it on Discord or GitHub."""

    state_badge = badge_column("state")

    @admin.display(description="link")
    def link(self, resource: ExternalResource) -> SafeString | str:
        return external_link(resource_url(resource), resource_label(resource))


class OperationColumns:
    """An operation: its status, who asked, and each step with every attempt and its error.

    Reads ``operation.steps`` and ``step.attempt_log``: prefetch both (``OPERATION_PREFETCH``).
    """

    status_badge = badge_column("status")

    @admin.display(description="asked by")
    def asked_by(self, operation: Operation) -> str:
        return operation.requested_by

    @admin.display(description="steps and attempts")
    def steps_and_attempts(self, operation: Operation) -> SafeString:
        rows = []
        for step in operation.steps.all():
            attempts = format_html_join(
                "",
                "<li>{} {} {}{}</li>",
                (
                    (
                        f"#{attempt.number}",
                        badge(
                            attempt.outcome,
                            attempt.get_outcome_display(),
                            ATTEMPT_TONES.get(attempt.outcome),
                        ),
                        when(attempt.started_at, with_seconds=True),
                        f" - {attempt.error}" if attempt.error else "",
                    )
                    for attempt in step.attempt_log.all()
                ),
            )
            rows.append(
                format_html(
                    '<li>{} {}<ul class="attempts">{}</ul></li>',
                    step.name,
                    badge(step.status, step.get_status_display()),
                    attempts,
                )
            )
        return format_html(
            '<ul class="operation-steps">{}</ul>', format_html_join("", "{}", ((r,) for r in rows))
        )


OPERATION_PREFETCH = ("steps", "steps__attempt_log")
