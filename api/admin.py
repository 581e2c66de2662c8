"""API keys in the admin: create one (its secret shown once), revoke, see when each was used."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from api.models import ApiKey
from api.services import api_key_revoke, api_key_set_secret


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "prefix",
        "active",
        "is_admin",
        "is_bootstrap",
        "created_at",
        "last_used_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "is_admin", "is_bootstrap"]
    search_fields = ["name", "prefix"]
    fields = [
        "name",
        "is_admin",
        "prefix",
        "is_bootstrap",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = ["prefix", "is_bootstrap", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(boolean=True, description="Active")
    def active(self, obj: ApiKey) -> bool:
        return obj.is_active

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[Any]:
        return ["name", "is_admin"] if obj is None else list(self.fields or ())

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if not change:
            # Kept on the request for response_add only: never stored, never in a cookie.
            request._api_key_secret = api_key_set_secret(api_key=obj)  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        """Show the key once, on its own page, instead of the usual "added" redirect."""
        context = {
            **self.admin_site.each_context(request),
            "api_key": obj,
            "raw_key": request._api_key_secret,  # type: ignore[attr-defined]
            "opts": self.opts,
            "title": "API key created",
        }
        # The admin's views are never_cache already: the page is not kept by the browser.
        return TemplateResponse(request, "api/apikey_created.html", context)

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False  # revoke instead: courses keep pointing at the key that made them

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        keys = list(queryset.filter(revoked_at__isnull=True))
        for api_key in keys:
            api_key_revoke(api_key=api_key)
        self.message_user(request, f"Revoked {len(keys)} API key(s): they stop working at once.")
