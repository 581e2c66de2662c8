"""Webhooks in the admin: endpoints (the secret shown once), and every delivery with its
attempts, read-only, with a "redeliver" action."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from common.admin_blocks import ReadOnlyAdmin, ReadOnlyMixin, http_status_badge
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import EVENTS, webhook_delivery_redeliver
from webhooks.signing import webhook_secret_generate
from webhooks.targets import TargetRefused, webhook_url_validate


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=[(e, e) for e in EVENTS], widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["api_key", "url", "events"]

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            webhook_url_validate(url=url)  # the API's rule: in production no private target
        except TargetRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "api_key", "course", "events", "created_at"]
    list_filter = ["api_key"]
    search_fields = ["url"]
    fields = ["api_key", "url", "events", "course", "created_at"]
    readonly_fields = ["course", "created_at"]

    def get_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> list[Any]:
        return ["api_key", "url", "events"] if obj is None else list(self.fields or ())

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool
    ) -> None:
        if not change:
            obj.secret = webhook_secret_generate()
        super().save_model(request, obj, form, change)

    def response_add(
        self, request: HttpRequest, obj: WebhookEndpoint, post_url_continue: str | None = None
    ) -> HttpResponse:
        """Show the signing secret once, on its own page."""
        context = {
            **self.admin_site.each_context(request),
            "endpoint": obj,
            "opts": self.opts,
            "title": "Webhook endpoint created",
        }
        return TemplateResponse(request, "webhooks/endpoint_created.html", context)


class WebhookAttemptInline(ReadOnlyMixin, admin.TabularInline):
    model = WebhookAttempt
    fields = ["number", "status", "succeeded", "duration_ms", "response_excerpt", "error"]
    extra = 0

    @admin.display(description="HTTP status")
    def status(self, obj: WebhookAttempt) -> Any:
        return http_status_badge(obj.response_status)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["event_type", "url", "status", "attempts", "next_attempt_at", "created_at"]
    list_filter = ["status", "event__type"]
    search_fields = ["url", "event__id"]
    fields = [
        "event",
        "event_type",
        "endpoint",
        "url",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
        "finished_at",
    ]
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]  # type: ignore[assignment]  # the read-only base has none
    list_select_related = ["event"]

    @admin.display(description="event", ordering="event__type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.type

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("webhooks.change_webhookendpoint")

    @admin.action(description="Redeliver the selected deliveries now", permissions=["redeliver"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        restarted = sum(webhook_delivery_redeliver(delivery=d) for d in queryset)
        self.message_user(request, f"{restarted} delivery(ies) sent again.")


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdmin):
    list_display = ["delivery", "number", "response_status", "succeeded", "duration_ms"]
    list_filter = ["succeeded"]
    fields = [
        "delivery",
        "number",
        "response_status",
        "succeeded",
        "duration_ms",
        "response_excerpt",
        "error",
        "created_at",
    ]
    list_select_related = ["delivery__event"]
