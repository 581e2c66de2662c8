"""Admin of provisioning: the steps, runs and resources (read-only), and the Discord server pool.

Steps, job executions and resources are written by the runner alone; staff read them here (and,
per course, on the course page). The pool is the one thing staff feed by hand: servers they made
in Discord and added the bot to.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from common.admin_blocks import (
    CourseFilter,
    ReadOnlyAdmin,
    badge_column,
    course_column,
    duration_column,
    external_link,
)
from courses.models import Course
from courses.services import SNOWFLAKE_PATTERN
from integrations.discord.permissions import NAMES, REQUIRED_BOT_PERMISSIONS, bot_invite_url
from integrations.errors import IntegrationError
from provisioning.admin_blocks import ResourceColumns, StepColumns
from provisioning.models import DiscordServer, ExternalResource, JobExecution, ProvisioningStep
from provisioning.pool import discord_server_add, discord_server_remove, discord_server_verify


@admin.register(ProvisioningStep)
class ProvisioningStepAdmin(StepColumns, ReadOnlyAdmin):
    list_display = (
        "course_link",
        "order",
        "name",
        "status_badge",
        "attempts",
        "duration",
        "started_at",
        "finished_at",
    )
    list_filter = ("status", "name", CourseFilter)
    list_select_related = ("course",)
    search_fields = ("course__name",)
    fields = (
        "course_link",
        ("order", "name"),
        ("status_badge", "attempts"),
        ("started_at", "finished_at", "duration"),
        "last_error",
    )
    course_link = course_column(ordering="course__created_at")


@admin.register(JobExecution)
class JobExecutionAdmin(ReadOnlyAdmin):
    list_display = (
        "started_at",
        "course_link",
        "outcome_badge",
        "duration",
        "task_id",
        "short_error",
    )
    list_filter = ("outcome", CourseFilter)
    list_select_related = ("course",)
    search_fields = ("=task_id", "course__name")
    fields = (
        "course_link",
        "task_id",
        "outcome_badge",
        ("started_at", "finished_at", "duration"),
        "error",
    )
    course_link = course_column(ordering="course__created_at")
    outcome_badge = badge_column("outcome")
    duration = duration_column(
        lambda job: (job.finished_at - job.started_at).total_seconds() if job.finished_at else None
    )

    @admin.display(description="error")
    def short_error(self, job: JobExecution) -> str:
        return Truncator(job.error).chars(120) if job.error else "-"


@admin.register(ExternalResource)
class ExternalResourceAdmin(ResourceColumns, ReadOnlyAdmin):
    list_display = ("course_link", "provider", "kind", "key", "lab_group", "state_badge", "link")
    list_filter = ("provider", "kind", "state", CourseFilter)
    list_select_related = ("course", "lab_group")
    search_fields = ("key", "external_id", "course__name")
    fields = (
        "course_link",
        ("provider", "kind", "key"),
        "lab_group",
        ("state_badge", "external_id"),
        "link",
        "data",
        ("created_at", "updated_at"),
    )
    course_link = course_column(ordering="course__created_at")


# --- Discord server pool ------------------------------------------------------------------------


class DiscordServerForm(forms.ModelForm):
    class Meta:
        model = DiscordServer
        fields = ("guild_id", "name")

    def clean_guild_id(self) -> str:
        guild_id = self.cleaned_data["guild_id"].strip()
        # The API's rule for a course's server id; provisioning.pool.discord_server_add (which
        # saves the row) checks the same thing again.
        if not SNOWFLAKE_PATTERN.fullmatch(guild_id):
            raise forms.ValidationError(
                "A Discord server id is a snowflake of 17 to 20 digits: in Discord, turn on "
                "Developer Mode, right-click the server and choose Copy Server ID."
            )
        # The pool's check (as `manage.py discord_servers add`): the bot must be in the server
        # with its permissions, or the form says what to do, invite link included.
        try:
            discord_server_verify(guild_id=guild_id)
        except IntegrationError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return guild_id


def invite_url(guild_id: str = "") -> str:
    """The bot's invite link with exactly the permissions the steps need; empty when the
    application id is not configured."""
    if not settings.DISCORD_APPLICATION_ID:
        return ""
    return bot_invite_url(settings.DISCORD_APPLICATION_ID, guild_id)


def required_permission_names() -> str:
    return ", ".join(name for bit, name in NAMES.items() if REQUIRED_BOT_PERMISSIONS & bit)


@admin.register(DiscordServer)
class DiscordServerAdmin(admin.ModelAdmin):
    form = DiscordServerForm
    list_display = ("__str__", "guild_id", "status_badge", "claimed_by", "invite")
    list_filter = ("status",)
    list_select_related = ("course",)
    search_fields = ("guild_id", "name", "course__name")
    # Bulk delete would remove claimed servers too; deleting goes one by one (see below).
    actions = None

    def get_fieldsets(self, request: HttpRequest, obj: DiscordServer | None = None) -> list:
        if obj is None:
            return [(None, {"fields": ("guild_id", "name"), "description": self._add_help()})]
        return [
            (None, {"fields": ("guild_id", "name", "status_badge")}),
            ("Claim", {"fields": ("claimed_by", "claimed_at")}),
            ("Bot", {"fields": ("invite", "permissions")}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: DiscordServer | None = None) -> tuple:
        if obj is None:
            return ()
        # The guild id and the claim are the pool's bookkeeping (claimed by compare-and-set):
        # only the label is staff's to change.
        return ("guild_id", "status_badge", "claimed_by", "claimed_at", "invite", "permissions")

    def has_delete_permission(self, request: HttpRequest, obj: DiscordServer | None = None) -> bool:
        # A claimed server's row records which course uses it, and a server a course names is
        # that course's: only an unused one may go (discord_server_remove decides at delete).
        if obj is not None and (
            obj.status == DiscordServer.Status.CLAIMED
            or Course.objects.filter(discord_guild_id=obj.guild_id).exists()
        ):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request: HttpRequest, obj: DiscordServer) -> None:
        try:  # a compare-and-set: a course may have claimed it since the page was shown
            discord_server_remove(guild_id=obj.guild_id)
        except ValueError as exc:
            raise PermissionDenied(str(exc)) from exc

    def save_model(
        self, request: HttpRequest, obj: DiscordServer, form: forms.ModelForm, change: bool
    ) -> None:
        if change:
            obj.save(update_fields=["name"])  # never overwrite a claim made meanwhile
            return
        # The form's clean checked the server on Discord a moment ago.
        server = discord_server_add(guild_id=obj.guild_id, name=obj.name, verify=False)
        obj.__dict__.update(server.__dict__)  # the admin goes on with obj (history, redirect)

    def _add_help(self) -> SafeString:
        url = invite_url()
        if not url:
            return mark_safe(
                "Set <code>DISCORD_APPLICATION_ID</code> to get the bot's invite link."
            )
        return format_html(
            "Create the server in Discord, add the bot to it with "
            '<a href="{}" target="_blank" rel="noopener">this invite link</a> '
            "(it asks for {}), then register the server's id here. "
            "A course without a server of its own claims the oldest available one.",
            url,
            required_permission_names(),
        )

    status_badge = badge_column("status")
    claimed_by = course_column(description="claimed by")

    @admin.display(description="bot invite")
    def invite(self, server: DiscordServer) -> SafeString | str:
        url = invite_url(server.guild_id)
        if not url:
            return "Set DISCORD_APPLICATION_ID"
        return external_link(url, "Add the bot")

    @admin.display(description="bot permissions")
    def permissions(self, server: DiscordServer) -> str:
        return f"{REQUIRED_BOT_PERMISSIONS} ({required_permission_names()})"
