"""Columns of steps and resources, shared by provisioning's admin and the course page's inlines.

Kept apart from ``provisioning.admin`` so that courses' admin can use them without importing
another app's admin (and registering its models as a side effect).
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.safestring import SafeString

from common.admin_blocks import badge_column, duration_column, external_link
from provisioning.models import ExternalResource, ResourceKind


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
